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
 *   PIECES       a uniform base byte with up to MAX_PIECES 16-byte pieces of
 *                real bytes over it (a page in which a few bytes were
 *                written: ~150 host bytes, not 4 KiB); a write that needs
 *                more pieces turns the frame into BYTES
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
 *   -1024 - r       PIECES, r the record in the piece pool
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

/** PIECES: code = CONTENT_PIECES_BASE - record. */
const CONTENT_PIECES_BASE = -1024;
/** Bytes of one piece (aligned in the frame) and pieces a record holds. */
const PIECE_SHIFT = 4;
const PIECE = 1 << PIECE_SHIFT;
export const MAX_PIECES = 8;

function isFillCode(c: number): boolean {
  return c <= CONTENT_FILL_BASE && c > CONTENT_PIECES_BASE;
}

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
  /** Per pool slot, the frame whose bytes it holds, -1 for none: lets the walker check a remembered slot (walker.ts); replaced (not resized) when it grows. */
  slotPfn: Float64Array = new Float64Array(0);
  /** Free list of pool slots (LIFO) and the next never-used slot. */
  private slotStack: Int32Array;
  private slotTop = 0;
  private slotNext = 0;
  /** Pool slots currently holding a frame's bytes. */
  private slotsInUse = 0;

  // The piece pool: per record its base byte, piece count, each piece's
  // index in the frame (offset / PIECE) and bytes; records are reused LIFO.
  private pcBase: Uint8Array = new Uint8Array(0);
  private pcCount: Uint8Array = new Uint8Array(0);
  private pcIndex: Uint8Array = new Uint8Array(0);
  private pcBytes: Uint8Array = new Uint8Array(0);
  private pcFree: number[] = [];
  private pcNext = 0;
  private piecesInUse = 0;

  constructor(cfg: HardwareConfig) {
    this.totalFrames = cfg.ram_mib * 256;
    this.content = new Int32Array(Math.min(INITIAL_CAPACITY, this.totalFrames)).fill(CONTENT_FREE);
    this.slotStack = new Int32Array(64);
  }

  /** Frames currently claimed. */
  get claimedCount(): number {
    return this.claimed;
  }
  /** Frames currently holding real bytes (page tables, partly written pages), in a 4 KiB slot or in pieces. */
  get bytesFrames(): number {
    return this.slotsInUse + this.piecesInUse;
  }
  /** Whether a frame's written bytes are kept in pieces over a uniform base. */
  inPieces(pfn: Pfn): boolean {
    return this.code(pfn) <= CONTENT_PIECES_BASE;
  }
  /** Frames whose written bytes are kept in pieces over a uniform base. */
  get piecesFrames(): number {
    return this.piecesInUse;
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

  /** Host bytes of the content array and the slot stack per claimed frame, excluding the 4 KiB of frames that hold real bytes and the piece pool. */
  hostBytesPerFrame(): number {
    return this.claimed === 0 ? 0 : (this.content.length * 4 + this.slotStack.length * 4) / this.claimed;
  }

  // ---- the piece pool ----

  private takeRecord(base: number): number {
    let r = this.pcFree.pop();
    if (r === undefined) {
      r = this.pcNext++;
      if (r >= this.pcBase.length) {
        const cap = Math.max(64, this.pcBase.length * 2);
        const grow = (a: Uint8Array, n: number): Uint8Array => {
          const b = new Uint8Array(cap * n);
          b.set(a);
          return b;
        };
        this.pcBase = grow(this.pcBase, 1);
        this.pcCount = grow(this.pcCount, 1);
        this.pcIndex = grow(this.pcIndex, MAX_PIECES);
        this.pcBytes = grow(this.pcBytes, MAX_PIECES * PIECE);
      }
    }
    this.pcBase[r] = base;
    this.pcCount[r] = 0;
    this.piecesInUse++;
    return r;
  }

  private releaseRecord(r: number): void {
    this.pcFree.push(r);
    this.piecesInUse--;
  }

  /** Offset in pcBytes of record r's piece holding frame piece index pi, or -1. */
  private pieceAt(r: number, pi: number): number {
    const n = this.pcCount[r]!;
    const ib = r * MAX_PIECES;
    for (let k = 0; k < n; k++) if (this.pcIndex[ib + k] === pi) return (ib + k) * PIECE;
    return -1;
  }

  /**
   * Makes room for writing [off, off + len) of a uniform or PIECES frame in
   * pieces; returns the record, or -1 when the frame needs more than
   * MAX_PIECES (the caller then writes it as BYTES).
   */
  private piecesFor(pfn: number, off: number, len: number): number {
    const c = this.content[pfn]!;
    const first = off >>> PIECE_SHIFT;
    const last = (off + len - 1) >>> PIECE_SHIFT;
    let r: number;
    if (c <= CONTENT_PIECES_BASE) r = CONTENT_PIECES_BASE - c;
    else {
      if (last - first + 1 > MAX_PIECES) return -1;
      r = this.takeRecord(this.uniformByte(pfn));
      this.content[pfn] = CONTENT_PIECES_BASE - r;
    }
    let missing = 0;
    for (let pi = first; pi <= last; pi++) if (this.pieceAt(r, pi) < 0) missing++;
    if (this.pcCount[r]! + missing > MAX_PIECES) return -1;
    for (let pi = first; pi <= last; pi++) {
      if (this.pieceAt(r, pi) >= 0) continue;
      const k = this.pcCount[r]!++;
      const at = (r * MAX_PIECES + k) * PIECE;
      this.pcIndex[r * MAX_PIECES + k] = pi;
      this.pcBytes.fill(this.pcBase[r]!, at, at + PIECE);
    }
    return r;
  }

  /** Byte at off of PIECES record r. */
  private pieceByte(r: number, off: number): number {
    const at = this.pieceAt(r, off >>> PIECE_SHIFT);
    return at < 0 ? this.pcBase[r]! : this.pcBytes[at + (off & (PIECE - 1))]!;
  }

  /** Whether a small write goes to pieces: the frame is uniform (not free) or already in pieces. */
  private takesPieces(pfn: number): boolean {
    const c = this.content[pfn]!;
    return c < 0 && c !== CONTENT_FREE;
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
      const sp = new Float64Array(slot + CHUNK_SLOTS).fill(-1);
      sp.set(this.slotPfn);
      this.slotPfn = sp;
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
    this.slotPfn[slot] = -1;
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

  /** Writes byte v at off of a PIECES frame whose piece for off exists (piecesFor made it). */
  private writePiece(pfn: number, off: number, v: number): void {
    const r = CONTENT_PIECES_BASE - this.content[pfn]!;
    this.pcBytes[this.pieceAt(r, off >>> PIECE_SHIFT) + (off & (PIECE - 1))] = v;
  }

  /** The byte every byte of a uniform frame reads as (-1 for BYTES or PIECES). */
  private uniformByte(pfn: number): number {
    const c = this.code(pfn);
    if (c >= 0 || c <= CONTENT_PIECES_BASE) return -1;
    if (c === CONTENT_ZERO) return 0;
    if (c === CONTENT_POISON || c === CONTENT_FREE) return POISON_BYTE;
    return CONTENT_FILL_BASE - c;
  }

  /** Turns a frame into BYTES holding what it read as before; returns the slot. */
  materialize(pfn: number): number {
    this.checkWritable(pfn);
    const c = this.content[pfn]!;
    if (c >= 0) return c;
    const slot = this.takeSlot();
    const base = PhysMem.base(slot);
    const bytes = this.bytesOf(slot);
    if (c <= CONTENT_PIECES_BASE) {
      const r = CONTENT_PIECES_BASE - c;
      bytes.fill(this.pcBase[r]!, base, base + PAGE_SIZE);
      for (let k = 0; k < this.pcCount[r]!; k++) {
        const at = (r * MAX_PIECES + k) * PIECE;
        bytes.set(this.pcBytes.subarray(at, at + PIECE), base + this.pcIndex[r * MAX_PIECES + k]! * PIECE);
      }
      this.releaseRecord(r);
    } else {
      bytes.fill(this.uniformByte(pfn), base, base + PAGE_SIZE);
    }
    this.content[pfn] = slot;
    this.slotPfn[slot] = pfn;
    return slot;
  }

  private setUniform(pfn: number, code: number): void {
    const c = this.content[pfn]!;
    if (c >= 0) this.releaseSlot(c);
    else if (c <= CONTENT_PIECES_BASE) this.releaseRecord(CONTENT_PIECES_BASE - c);
    this.content[pfn] = code;
  }

  /** A ZERO or FILL frame that a write of this byte leaves as it is (a POISON frame always materialises: it is no longer uncleared). */
  private keepsUniform(pfn: number, byte: number): boolean {
    const c = this.content[pfn]!;
    return (c === CONTENT_ZERO || isFillCode(c)) && this.uniformByte(pfn) === (byte & 0xff);
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
    // a frame in pieces holds real bytes as much as one in a slot: only the host storage differs
    if (c >= 0 || c <= CONTENT_PIECES_BASE) return 'bytes';
    if (c === CONTENT_ZERO) return 'zero';
    if (c === CONTENT_POISON || c === CONTENT_FREE) return 'poison';
    return `fill:${CONTENT_FILL_BASE - c}`;
  }

  readByte(pfn: Pfn, off: number): number {
    this.check(pfn);
    PhysMem.checkRange(off, 1);
    const c = this.code(pfn);
    if (c >= 0) return this.bytesOf(c)[PhysMem.base(c) + off]!;
    if (c <= CONTENT_PIECES_BASE) return this.pieceByte(CONTENT_PIECES_BASE - c, off);
    return this.uniformByte(pfn);
  }

  writeByte(pfn: Pfn, off: number, v: number): void {
    this.checkWritable(pfn);
    PhysMem.checkRange(off, 1);
    if (this.keepsUniform(pfn, v)) return;
    if (this.takesPieces(pfn)) {
      const r = this.piecesFor(pfn, off, 1);
      if (r >= 0) {
        this.pcBytes[this.pieceAt(r, off >>> PIECE_SHIFT) + (off & (PIECE - 1))] = v;
        return;
      }
    }
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
    if (this.takesPieces(pfn) && this.piecesFor(pfn, off, len) >= 0) {
      for (let i = 0; i < len; i++) this.writePiece(pfn, off + i, byte & 0xff);
      return;
    }
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
    const sc = this.code(srcPfn);
    if (sc <= CONTENT_PIECES_BASE) {
      // the copy keeps the source's pieces over its base
      const sr = CONTENT_PIECES_BASE - sc;
      this.setUniform(dstPfn, fillCode(this.pcBase[sr]!));
      const dr = this.takeRecord(this.pcBase[sr]!);
      const n = this.pcCount[sr]!;
      this.pcCount[dr] = n;
      this.pcIndex.copyWithin(dr * MAX_PIECES, sr * MAX_PIECES, sr * MAX_PIECES + n);
      this.pcBytes.copyWithin(dr * MAX_PIECES * PIECE, sr * MAX_PIECES * PIECE, (sr * MAX_PIECES + n) * PIECE);
      this.content[dstPfn] = CONTENT_PIECES_BASE - dr;
      return;
    }
    if (sc < 0) {
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
    if (c <= CONTENT_PIECES_BASE) {
      const r = CONTENT_PIECES_BASE - c;
      for (let i = 0; i < len; i++) dst[dstOff + i] = this.pieceByte(r, off + i);
      return;
    }
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
    if (len < PAGE_SIZE && this.takesPieces(pfn) && this.piecesFor(pfn, off, len) >= 0) {
      for (let i = 0; i < len; i++) this.writePiece(pfn, off + i, src[srcOff + i]!);
      return;
    }
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
    if (ca <= CONTENT_PIECES_BASE || cb <= CONTENT_PIECES_BASE) {
      for (let i = 0; i < PAGE_SIZE; i++) if (this.readByte(a, i) !== this.readByte(b, i)) return false;
      return true;
    }
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
    if (c <= CONTENT_PIECES_BASE) {
      let sum = 0;
      for (let i = 0; i < len; i++) sum += this.pieceByte(CONTENT_PIECES_BASE - c, off + i);
      return sum;
    }
    if (c < 0) return this.uniformByte(pfn) * len;
    const bytes = this.bytesOf(c);
    const base = PhysMem.base(c) + off;
    let s = 0;
    for (let i = 0; i < len; i++) s += bytes[base + i]!;
    return s;
  }
}
