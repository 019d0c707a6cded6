/**
 * Physical memory: 4 KiB frames and their contents. Which frames are in use
 * and what the operating system keeps about each is not the hardware's: an
 * owner claims a frame before it writes it and releases it when done, and
 * a write to a frame nobody claimed throws (a use after free caught early).
 *
 * Host memory follows the frames claimed, not the size of simulated RAM: the
 * per-frame array covers pfns [0, capacity) and doubles (capped at the RAM
 * size) when a higher pfn is claimed.
 *
 * Contents are kept symbolically where possible, so a gigabyte of filled
 * memory costs no host gigabyte:
 *   ZERO         every byte 0
 *   FILL(b)      every byte b
 *   BYTES        4096 real bytes in a pooled buffer
 *   POISON       a frame that is unclaimed or was never cleared since it was
 *                claimed; reads 0xA5, like xv6's kfree junk, so a read
 *                through a stale mapping yields visibly wrong data rather
 *                than a right answer. Writing an unclaimed frame throws.
 *
 * Encoding of `content[pfn]` (one Int32 per frame):
 *   >= 0            BYTES, the value is the pool slot
 *   CONTENT_POISON  (-1) claimed, not yet cleared by its owner
 *   CONTENT_ZERO    (-2)
 *   CONTENT_FREE    (-3) unclaimed; reads as POISON
 *   -256 - b        FILL(b), b in 1..255 (a fill with 0 is ZERO)
 *
 * The byte pool hands out 4 KiB slots carved from 256 KiB chunks; each chunk
 * has a Uint8Array and a Uint32Array view, so a page-table walk step reads an
 * entry as two word loads from the chunk's word view.
 */
import type { HardwareConfig } from './config.js';
import { PAGE_SIZE, type Pfn } from './types.js';

export { PAGE_SHIFT, PAGE_SIZE } from './types.js';
/** Value a read of a poisoned (freed or never cleared) frame returns. */
export const POISON_BYTE = 0xa5;

export const CONTENT_POISON = -1;
export const CONTENT_ZERO = -2;
export const CONTENT_FREE = -3;
const CONTENT_FILL_BASE = -256;

/** Slots per pool chunk: 64 x 4 KiB = 256 KiB per host allocation. */
export const CHUNK_SHIFT = 6;
const CHUNK_SLOTS = 1 << CHUNK_SHIFT;
export const CHUNK_MASK = CHUNK_SLOTS - 1;
/** 32-bit words in one frame. */
export const FRAME_WORDS = PAGE_SIZE / 4;

const INITIAL_CAPACITY = 1024;

function fillCode(byte: number): number {
  const b = byte & 0xff;
  return b === 0 ? CONTENT_ZERO : CONTENT_FILL_BASE - b;
}

export class PhysMem {
  readonly totalFrames: number;

  /** Content encoding per frame, see the file header; replaced (not resized) when it grows. */
  content: Int32Array;

  /** Word views of the byte pool's chunks; a BYTES frame's words start at (slot & 63) * 1024 of chunk slot >> 6. */
  readonly chunkWords: Uint32Array[] = [];
  private readonly chunkBytes: Uint8Array[] = [];

  private claimed = 0;
  /** Free list of pool slots (LIFO) and the next never-used slot. */
  private slotStack: Int32Array;
  private slotTop = 0;
  private slotNext = 0;
  /** Pool slots currently holding a frame's bytes. */
  private slotsInUse = 0;

  constructor(cfg: HardwareConfig) {
    this.totalFrames = cfg.ram_mib * 256;
    this.content = new Int32Array(Math.min(INITIAL_CAPACITY, this.totalFrames)).fill(CONTENT_FREE);
    this.slotStack = new Int32Array(64);
  }

  /** Frames currently claimed. */
  get claimedCount(): number {
    return this.claimed;
  }
  /** Frames currently holding real bytes (page tables, partly written pages). */
  get bytesFrames(): number {
    return this.slotsInUse;
  }

  /** Takes an unclaimed frame into use: its contents read as POISON until written. Throws if it is claimed already. */
  claim(pfn: Pfn): void {
    if (!(pfn >= 0 && pfn < this.totalFrames)) throw new RangeError(`PhysMem.claim: pfn ${pfn} outside RAM`);
    if (pfn >= this.content.length) this.grow(pfn + 1);
    if (this.content[pfn] !== CONTENT_FREE) throw new Error(`PhysMem.claim: pfn ${pfn} is claimed already`);
    this.content[pfn] = CONTENT_POISON;
    this.claimed++;
  }

  /** Gives a claimed frame up: its contents become POISON and writes to it throw until it is claimed again. */
  release(pfn: Pfn): void {
    if (!this.isClaimed(pfn)) throw new Error(`PhysMem.release: pfn ${pfn} is not claimed`);
    this.setUniform(pfn, CONTENT_FREE);
    this.claimed--;
  }

  isClaimed(pfn: Pfn): boolean {
    return pfn >= 0 && pfn < this.content.length && this.content[pfn] !== CONTENT_FREE;
  }

  private grow(minCap: number): void {
    let cap = this.content.length;
    while (cap < minCap) cap *= 2;
    cap = Math.min(cap, this.totalFrames);
    const c = new Int32Array(cap).fill(CONTENT_FREE);
    c.set(this.content);
    this.content = c;
  }

  /** Host bytes of the content array and the slot stack per claimed frame, excluding the 4 KiB of frames that hold real bytes. */
  hostBytesPerFrame(): number {
    return this.claimed === 0 ? 0 : (this.content.length * 4 + this.slotStack.length * 4) / this.claimed;
  }

  // ---- the byte pool ----

  private takeSlot(): number {
    if (this.slotTop > 0) {
      this.slotsInUse++;
      return this.slotStack[--this.slotTop]!;
    }
    const slot = this.slotNext++;
    if ((slot & CHUNK_MASK) === 0) {
      const buf = new ArrayBuffer(CHUNK_SLOTS * PAGE_SIZE);
      this.chunkBytes.push(new Uint8Array(buf));
      this.chunkWords.push(new Uint32Array(buf));
    }
    this.slotsInUse++;
    return slot;
  }

  private releaseSlot(slot: number): void {
    if (this.slotTop === this.slotStack.length) {
      const s = new Int32Array(this.slotStack.length * 2);
      s.set(this.slotStack);
      this.slotStack = s;
    }
    this.slotStack[this.slotTop++] = slot;
    this.slotsInUse--;
  }

  /** Byte view of a BYTES frame and the offset of its first byte. */
  private bytesOf(slot: number): Uint8Array {
    return this.chunkBytes[slot >> CHUNK_SHIFT]!;
  }

  private static base(slot: number): number {
    return (slot & CHUNK_MASK) * PAGE_SIZE;
  }

  /** Current value every byte reads as, or -1 for a BYTES frame. */
  private code(pfn: number): number {
    return pfn < this.content.length ? this.content[pfn]! : CONTENT_FREE;
  }

  private uniformByte(pfn: number): number {
    const c = this.code(pfn);
    if (c >= 0) return -1;
    if (c === CONTENT_ZERO) return 0;
    if (c === CONTENT_POISON || c === CONTENT_FREE) return POISON_BYTE;
    return CONTENT_FILL_BASE - c;
  }

  /** Turns a frame into BYTES holding what it read as before; returns the slot. */
  materialize(pfn: number): number {
    this.checkWritable(pfn);
    const c = this.content[pfn]!;
    if (c >= 0) return c;
    const b = this.uniformByte(pfn);
    const slot = this.takeSlot();
    const base = PhysMem.base(slot);
    this.bytesOf(slot).fill(b, base, base + PAGE_SIZE);
    this.content[pfn] = slot;
    return slot;
  }

  private setUniform(pfn: number, code: number): void {
    const c = this.content[pfn]!;
    if (c >= 0) this.releaseSlot(c);
    this.content[pfn] = code;
  }

  /** A ZERO or FILL frame that a write of this byte leaves as it is (a POISON frame always materialises: it is no longer uncleared). */
  private keepsUniform(pfn: number, byte: number): boolean {
    const c = this.content[pfn]!;
    return (c === CONTENT_ZERO || c <= CONTENT_FILL_BASE) && this.uniformByte(pfn) === (byte & 0xff);
  }

  /** Reads are allowed from any frame in RAM: a free frame reads as poison. */
  private check(pfn: number): void {
    if (!(pfn >= 0 && pfn < this.totalFrames)) throw new RangeError(`PhysMem: pfn ${pfn} outside RAM`);
  }

  private checkWritable(pfn: number): void {
    if (!this.isClaimed(pfn)) throw new Error(`PhysMem: write to unclaimed frame ${pfn}`);
  }

  private static checkRange(off: number, len: number): void {
    if (!(off >= 0 && len >= 0 && off + len <= PAGE_SIZE)) throw new RangeError(`PhysMem: range ${off}+${len} outside a frame`);
  }

  // ---- contents ----

  isPoisoned(pfn: number): boolean {
    const c = this.code(pfn);
    return c === CONTENT_POISON || c === CONTENT_FREE;
  }

  /** 'zero' | 'fill:<byte>' | 'bytes' | 'poison', for tests and debugging. */
  contentTag(pfn: number): string {
    const c = this.code(pfn);
    if (c >= 0) return 'bytes';
    if (c === CONTENT_ZERO) return 'zero';
    if (c === CONTENT_POISON || c === CONTENT_FREE) return 'poison';
    return `fill:${CONTENT_FILL_BASE - c}`;
  }

  readByte(pfn: Pfn, off: number): number {
    this.check(pfn);
    PhysMem.checkRange(off, 1);
    const c = this.code(pfn);
    if (c >= 0) return this.bytesOf(c)[PhysMem.base(c) + off]!;
    return this.uniformByte(pfn);
  }

  writeByte(pfn: Pfn, off: number, v: number): void {
    this.checkWritable(pfn);
    PhysMem.checkRange(off, 1);
    if (this.keepsUniform(pfn, v)) return;
    const slot = this.materialize(pfn);
    this.bytesOf(slot)[PhysMem.base(slot) + off] = v;
  }

  /** Sets len bytes at off to byte. A whole-page fill stays symbolic. */
  fill(pfn: Pfn, off: number, len: number, byte: number): void {
    this.checkWritable(pfn);
    PhysMem.checkRange(off, len);
    if (len === 0) return;
    if (len === PAGE_SIZE) {
      this.setUniform(pfn, fillCode(byte));
      return;
    }
    if (this.keepsUniform(pfn, byte)) return;
    const slot = this.materialize(pfn);
    const base = PhysMem.base(slot) + off;
    this.bytesOf(slot).fill(byte & 0xff, base, base + len);
  }

  zero(pfn: Pfn): void {
    this.checkWritable(pfn);
    this.setUniform(pfn, CONTENT_ZERO);
  }

  /** dst gets src's contents. A poisoned source copies as FILL(0xA5): the destination holds that data but is not free. */
  copy(dstPfn: Pfn, srcPfn: Pfn): void {
    this.checkWritable(dstPfn);
    this.check(srcPfn);
    if (dstPfn === srcPfn) return;
    if (this.code(srcPfn) < 0) {
      this.setUniform(dstPfn, fillCode(this.uniformByte(srcPfn)));
      return;
    }
    const d = this.materialize(dstPfn);
    const s = this.content[srcPfn]!;
    const sb = PhysMem.base(s);
    this.bytesOf(d).set(this.bytesOf(s).subarray(sb, sb + PAGE_SIZE), PhysMem.base(d));
  }

  readInto(pfn: Pfn, off: number, dst: Uint8Array, dstOff: number, len: number): void {
    this.check(pfn);
    PhysMem.checkRange(off, len);
    const c = this.code(pfn);
    if (c < 0) {
      dst.fill(this.uniformByte(pfn), dstOff, dstOff + len);
      return;
    }
    const base = PhysMem.base(c) + off;
    dst.set(this.bytesOf(c).subarray(base, base + len), dstOff);
  }

  writeFrom(pfn: Pfn, off: number, src: Uint8Array, srcOff: number, len: number): void {
    this.checkWritable(pfn);
    PhysMem.checkRange(off, len);
    if (len === 0) return;
    const slot = this.materialize(pfn);
    this.bytesOf(slot).set(src.subarray(srcOff, srcOff + len), PhysMem.base(slot) + off);
  }

  /** Byte-for-byte equality of two frames; O(1) unless both hold bytes or one is uniform and the other bytes. */
  sameContents(a: number, b: number): boolean {
    this.check(a);
    this.check(b);
    if (a === b) return true;
    const ca = this.code(a);
    const cb = this.code(b);
    if (ca < 0 && cb < 0) return this.uniformByte(a) === this.uniformByte(b);
    if (ca >= 0 && cb >= 0) {
      const x = this.chunkWords[ca >> CHUNK_SHIFT]!;
      const y = this.chunkWords[cb >> CHUNK_SHIFT]!;
      const xb = (ca & CHUNK_MASK) * FRAME_WORDS;
      const yb = (cb & CHUNK_MASK) * FRAME_WORDS;
      for (let i = 0; i < FRAME_WORDS; i++) if (x[xb + i] !== y[yb + i]) return false;
      return true;
    }
    const slot = ca >= 0 ? ca : cb;
    const u = ca >= 0 ? this.uniformByte(b) : this.uniformByte(a);
    const bytes = this.bytesOf(slot);
    const base = PhysMem.base(slot);
    for (let i = 0; i < PAGE_SIZE; i++) if (bytes[base + i] !== u) return false;
    return true;
  }

  /** Sum of len bytes from off: a cheap checksum for tests and workloads that verify data. */
  sumBytes(pfn: number, off: number, len: number): number {
    this.check(pfn);
    PhysMem.checkRange(off, len);
    const c = this.code(pfn);
    if (c < 0) return this.uniformByte(pfn) * len;
    const bytes = this.bytesOf(c);
    const base = PhysMem.base(c) + off;
    let s = 0;
    for (let i = 0; i < len; i++) s += bytes[base + i]!;
    return s;
  }
}
