import { describe, expect, it } from 'vitest';
import { defaultConfig, type MachineConfig } from '../../src/config/machine.js';
import { MAX_PIECES, PAGE_SIZE, POISON_BYTE, PhysMem } from '../../src/hw/physmem.js';

function mem(ramMib = 16): PhysMem {
  const cfg: MachineConfig = defaultConfig();
  cfg.ram_mib = ramMib;
  return new PhysMem(cfg);
}

/** Claims the lowest unclaimed frame, as an owner that allocates would. */
function claim(m: PhysMem): number {
  let pfn = 0;
  while (m.isClaimed(pfn)) pfn++;
  m.claim(pfn);
  return pfn;
}


describe('PhysMem claims', () => {
  it('a frame is claimed once, released once; reads of an unclaimed frame are poison', () => {
    const m = mem();
    expect(m.isClaimed(5)).toBe(false);
    expect(m.readByte(5, 0)).toBe(POISON_BYTE);
    m.claim(5);
    expect([m.isClaimed(5), m.claimedCount]).toEqual([true, 1]);
    expect(() => m.claim(5)).toThrow(/claimed already/);
    m.release(5);
    expect(() => m.release(5)).toThrow(/not claimed/);
    expect(() => m.claim(m.totalFrames)).toThrow(RangeError);
    m.claim(m.totalFrames - 1);
    expect(m.claimedCount).toBe(1);
  });
});

describe('PhysMem contents', () => {
  it('a new frame is poison until cleared; ZERO, FILL, BYTES round trip', () => {
    const m = mem();
    const a = claim(m);
    expect(m.contentTag(a)).toBe('poison');
    expect(m.isPoisoned(a)).toBe(true);
    expect(m.readByte(a, 100)).toBe(POISON_BYTE);
    m.zero(a);
    expect(m.contentTag(a)).toBe('zero');
    expect(m.sumBytes(a, 0, PAGE_SIZE)).toBe(0);
    m.fill(a, 0, PAGE_SIZE, 7);
    expect(m.contentTag(a)).toBe('fill:7');
    expect(m.readByte(a, 4095)).toBe(7);
    expect(m.sumBytes(a, 10, 100)).toBe(700);
    m.fill(a, 0, PAGE_SIZE, 0);
    expect(m.contentTag(a)).toBe('zero');
    m.fill(a, 0, PAGE_SIZE, 7);
    m.fill(a, 8, 4, 9);
    expect(m.contentTag(a)).toBe('bytes');
    expect([m.readByte(a, 7), m.readByte(a, 8), m.readByte(a, 11), m.readByte(a, 12)]).toEqual([7, 9, 9, 7]);
    expect(m.sumBytes(a, 0, PAGE_SIZE)).toBe(7 * PAGE_SIZE + 4 * 2);
    expect(m.bytesFrames).toBe(1);
    m.zero(a);
    expect(m.bytesFrames).toBe(0);
  });

  it('a partial fill of a ZERO frame materialises bytes; the same byte does not', () => {
    const m = mem();
    const a = claim(m);
    m.zero(a);
    m.fill(a, 0, 100, 0);
    expect(m.contentTag(a)).toBe('zero');
    m.writeByte(a, 5, 0);
    expect(m.contentTag(a)).toBe('zero');
    m.writeByte(a, 5, 1);
    expect(m.contentTag(a)).toBe('bytes');
    expect(m.readByte(a, 5)).toBe(1);
    expect(m.readByte(a, 6)).toBe(0);
  });

  it('writing a poisoned frame keeps the other bytes poison', () => {
    const m = mem();
    const a = claim(m);
    m.writeByte(a, 0, POISON_BYTE);
    expect(m.contentTag(a)).toBe('bytes');
    m.writeByte(a, 1, 3);
    expect([m.readByte(a, 0), m.readByte(a, 1), m.readByte(a, 2)]).toEqual([POISON_BYTE, 3, POISON_BYTE]);
  });

  it('freeing poisons the frame and recycles its byte buffer; writes to a free frame throw', () => {
    const m = mem();
    const a = claim(m);
    m.fill(a, 0, 10, 1);
    m.release(a);
    expect(m.contentTag(a)).toBe('poison');
    expect(m.readByte(a, 3)).toBe(POISON_BYTE);
    expect(m.bytesFrames).toBe(0);
    expect(() => m.writeByte(a, 0, 1)).toThrow(/unclaimed frame/);
    expect(() => m.zero(a)).toThrow(/unclaimed frame/);
    const b = claim(m);
    expect(b).toBe(a);
    expect(m.contentTag(b)).toBe('poison');
    m.writeByte(b, 0, 2);
    expect(m.readByte(b, 3)).toBe(POISON_BYTE);
    expect(m.readByte(b, 0)).toBe(2);
  });

  it('readInto/writeFrom and copy move real bytes; copying poison gives FILL(0xA5)', () => {
    const m = mem();
    const a = claim(m);
    const b = claim(m);
    m.zero(a);
    const src = new Uint8Array(300);
    for (let i = 0; i < src.length; i++) src[i] = i & 0xff;
    m.writeFrom(a, 4000, src, 200, 96);
    const dst = new Uint8Array(100);
    m.readInto(a, 3998, dst, 1, 98);
    expect(Array.from(dst.subarray(0, 6))).toEqual([0, 0, 0, 200, 201, 202]);
    m.copy(b, a);
    expect(m.contentTag(b)).toBe('bytes');
    expect(m.sameContents(a, b)).toBe(true);
    m.writeByte(a, 4095, 1);
    expect(m.sameContents(a, b)).toBe(false);
    const c = claim(m);
    m.copy(b, c);
    expect(m.contentTag(b)).toBe('fill:165');
    expect(m.isPoisoned(b)).toBe(false);
    expect(m.bytesFrames).toBe(1);
  });

  it('sameContents compares symbolic and real contents by value', () => {
    const m = mem();
    const [a, b, c] = [claim(m), claim(m), claim(m)];
    m.fill(a, 0, PAGE_SIZE, 3);
    m.fill(b, 0, PAGE_SIZE, 3);
    m.zero(c);
    expect(m.sameContents(a, b)).toBe(true);
    expect(m.sameContents(a, c)).toBe(false);
    m.writeByte(b, 17, 3);
    m.fill(b, 0, 17, 4);
    m.fill(b, 0, 17, 3);
    expect(m.contentTag(b)).toBe('bytes');
    expect(m.sameContents(a, b)).toBe(true);
    expect(m.sameContents(b, a)).toBe(true);
    m.writeByte(b, 4095, 0);
    expect(m.sameContents(a, b)).toBe(false);
  });

  it('rejects ranges outside a frame', () => {
    const m = mem();
    const a = claim(m);
    expect(() => m.fill(a, 4000, 97, 1)).toThrow(RangeError);
    expect(() => m.readByte(a, 4096)).toThrow(RangeError);
  });
});

describe('PhysMem contents in pieces', () => {
  it('a few bytes written over a uniform frame are kept in pieces; more than MAX_PIECES turn it into a byte slot', () => {
    const m = mem();
    const a = claim(m);
    m.fill(a, 0, PAGE_SIZE, 7);
    m.writeByte(a, 100, 1);
    m.fill(a, 2000, 20, 2);
    expect([m.inPieces(a), m.piecesFrames, m.bytesFrames, m.contentTag(a)]).toEqual([true, 1, 1, 'bytes']);
    expect([m.readByte(a, 99), m.readByte(a, 100), m.readByte(a, 2019), m.readByte(a, 2020)]).toEqual([7, 1, 2, 7]);
    expect(m.sumBytes(a, 0, PAGE_SIZE)).toBe(7 * PAGE_SIZE - 6 + 20 * 2 - 20 * 7);
    for (let p = 0; p < MAX_PIECES; p++) m.writeByte(a, 3000 + p * 64, 9);
    expect([m.inPieces(a), m.piecesFrames, m.bytesFrames]).toEqual([false, 0, 1]);
    expect([m.readByte(a, 100), m.readByte(a, 2019), m.readByte(a, 3000 + 64 * (MAX_PIECES - 1)), m.readByte(a, 5)]).toEqual([1, 2, 9, 7]);
  });

  it('every operation reads and compares as on plain bytes (random operations against a byte-array model)', () => {
    let x = 12345;
    const rnd = (n: number): number => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return (x >>> 8) % n;
    };
    for (let round = 0; round < 30; round++) {
      const m = mem();
      const frames = [claim(m), claim(m), claim(m)];
      const model = frames.map(() => new Uint8Array(PAGE_SIZE).fill(POISON_BYTE));
      for (let i = 0; i < 300; i++) {
        const f = rnd(3);
        const pfn = frames[f]!;
        const off = rnd(PAGE_SIZE);
        const len = Math.min(PAGE_SIZE - off, rnd(4) === 0 ? rnd(200) : rnd(20));
        const byte = rnd(3) === 0 ? 0 : rnd(256);
        switch (rnd(8)) {
          case 0:
            m.writeByte(pfn, off, byte);
            model[f]![off] = byte;
            break;
          case 1:
            m.fill(pfn, off, len, byte);
            model[f]!.fill(byte, off, off + len);
            break;
          case 2: {
            const src = new Uint8Array(len).map(() => rnd(256));
            m.writeFrom(pfn, off, src, 0, len);
            model[f]!.set(src, off);
            break;
          }
          case 3:
            if (rnd(4) === 0) {
              m.fill(pfn, 0, PAGE_SIZE, byte);
              model[f]!.fill(byte);
            }
            break;
          case 4: {
            const g = rnd(3);
            m.copy(pfn, frames[g]!);
            model[f]!.set(model[g]!);
            break;
          }
          case 5:
            expect(m.sameContents(pfn, frames[(f + 1) % 3]!)).toBe(model[f]!.every((v, k) => v === model[(f + 1) % 3]![k]));
            break;
          case 6:
            expect(m.sumBytes(pfn, off, len)).toBe(model[f]!.subarray(off, off + len).reduce((s, v) => s + v, 0));
            break;
          default: {
            const dst = new Uint8Array(len);
            m.readInto(pfn, off, dst, 0, len);
            expect(Array.from(dst)).toEqual(Array.from(model[f]!.subarray(off, off + len)));
          }
        }
        expect(m.readByte(pfn, off)).toBe(model[f]![off]);
      }
      for (let f = 0; f < 3; f++) {
        const all = new Uint8Array(PAGE_SIZE);
        m.readInto(frames[f]!, 0, all, 0, PAGE_SIZE);
        expect(all).toEqual(model[f]);
      }
    }
  });
});
