/**
 * Physical memory: 4 KiB frames, their metadata and their contents.
 *
 * Host memory follows the frames handed out, not the size of simulated RAM:
 * every per-frame array covers pfns [0, capacity) and doubles (capped at the
 * RAM size) when a higher pfn is allocated. Frames are handed out lowest
 * never-used pfn first; freed frames go on a LIFO stack and are reused
 * first, as the kernel's per-CPU hot lists hand back the most recently freed
 * (cache-warm) page.
 *
 * Contents are kept symbolically where possible, so a gigabyte of filled
 * memory costs no host gigabyte:
 *   ZERO         every byte 0
 *   FILL(b)      every byte b
 *   BYTES        4096 real bytes in a pooled buffer
 *   POISON       a frame that is free or was never cleared since allocation;
 *                reads 0xA5, like xv6's kfree junk, so a read through a stale
 *                mapping yields visibly wrong data rather than a right answer.
 *                Writing a free frame throws (a use after free caught early).
 *
 * Encoding of `content[pfn]` (one Int32 per frame):
 *   >= 0            BYTES, the value is the pool slot
 *   CONTENT_POISON  (-1) allocated, not yet cleared by the kernel
 *   CONTENT_ZERO    (-2)
 *   CONTENT_FREE    (-3) free or never handed out; reads as POISON
 *   -256 - b        FILL(b), b in 1..255 (a fill with 0 is ZERO)
 *
 * The byte pool hands out 4 KiB slots carved from 256 KiB chunks; each chunk
 * has a Uint8Array and a Uint32Array view, so a page-table walk step reads an
 * entry as two word loads from the chunk's word view.
 */
import type { HardwareConfig } from './config.js';

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;
/** Frames in a 2 MiB compound page. */
export const HPAGE_NR = 512;

/** Value a read of a poisoned (freed or never cleared) frame returns. */
export const POISON_BYTE = 0xa5;

// Page flags, named after include/linux/page-flags.h. The bit positions are
// our own; only the names and meanings follow the kernel.
export const PG_locked = 1 << 0;
export const PG_referenced = 1 << 1;
export const PG_uptodate = 1 << 2;
export const PG_dirty = 1 << 3;
export const PG_lru = 1 << 4;
export const PG_active = 1 << 5;
export const PG_slab = 1 << 6;
export const PG_reserved = 1 << 7;
export const PG_private = 1 << 8;
export const PG_writeback = 1 << 9;
/** First frame of a 2 MiB compound page. */
export const PG_head = 1 << 10;
/** Frames 1..511 of a 2 MiB compound page. */
export const PG_tail = 1 << 11;
export const PG_swapcache = 1 << 12;
export const PG_swapbacked = 1 << 13;
export const PG_mlocked = 1 << 14;
export const PG_hwpoison = 1 << 15;
/** Anonymous page (Linux encodes this in page->mapping's low bit). */
export const PG_anon = 1 << 16;
/** KSM-merged page (Linux: PAGE_MAPPING_KSM). */
export const PG_ksm = 1 << 17;
/** Holds a page table (Linux: PageTable, a page type). */
export const PG_pagetable = 1 << 18;
/** The shared zero page. */
export const PG_zero = 1 << 19;
export const PG_workingset = 1 << 20;

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

  // Per-frame metadata over pfns [0, capacity). Replaced (not resized) when
  // they grow, so hold the PhysMem, not the arrays, across allocations.
  refcount: Int32Array;
  mapcount: Int32Array;
  flags: Uint32Array;
  /** Free for the kernel: the owning mapping's id. */
  owner: Int32Array;
  /** Free for the kernel: the page offset in its mapping, or a swap slot. */
  index: Float64Array;
  /** Content encoding, see the file header. */
  content: Int32Array;

  /** Word views of the byte pool's chunks; a BYTES frame's words start at (slot & 63) * 1024 of chunk slot >> 6. */
  readonly chunkWords: Uint32Array[] = [];
  private readonly chunkBytes: Uint8Array[] = [];

  private capacity = 0;
  /** pfns below this have been handed out at least once. */
  private highWater = 0;
  private freeStack: Int32Array;
  private freeTop = 0;
  private used = 0;
  /** Free list of pool slots (LIFO) and the next never-used slot. */
  private slotStack: Int32Array;
  private slotTop = 0;
  private slotNext = 0;
  /** Pool slots currently holding a frame's bytes. */
  private slotsInUse = 0;

  constructor(cfg: HardwareConfig) {
    this.totalFrames = cfg.ram_mib * 256;
    const cap = Math.min(INITIAL_CAPACITY, this.totalFrames);
    this.refcount = new Int32Array(cap);
    this.mapcount = new Int32Array(cap);
    this.flags = new Uint32Array(cap);
    this.owner = new Int32Array(cap);
    this.index = new Float64Array(cap);
    this.content = new Int32Array(cap).fill(CONTENT_FREE);
    this.capacity = cap;
    this.freeStack = new Int32Array(64);
    this.slotStack = new Int32Array(64);
  }

  get freeCount(): number {
    return this.totalFrames - this.used;
  }
  get usedCount(): number {
    return this.used;
  }
  /** Frames currently holding real bytes (page tables, partly written pages). */
  get bytesFrames(): number {
    return this.slotsInUse;
  }

  /** A free frame's pfn with cleared metadata and POISON contents, or -1 when none is free. */
  alloc(): number {
    let pfn: number;
    if (this.freeTop > 0) {
      pfn = this.freeStack[--this.freeTop]!;
    } else if (this.highWater < this.totalFrames) {
      pfn = this.highWater++;
      if (pfn >= this.capacity) this.grow(pfn + 1);
    } else {
      return -1;
    }
    this.content[pfn] = CONTENT_POISON;
    this.used++;
    return pfn;
  }

  /**
   * `n` (a power of two) free frames, contiguous and starting at a multiple
   * of `n`, as a buddy allocator hands out a block of that order; returns the
   * first pfn or -1. Never-used frames are taken first (the frames skipped
   * to reach alignment go on the free stack); otherwise the lowest block
   * whose frames are all free is taken. Each frame is as alloc() leaves it.
   */
  allocAligned(n: number): number {
    let base = Math.ceil(this.highWater / n) * n;
    if (base + n <= this.totalFrames) {
      if (base + n > this.capacity) this.grow(base + n);
      for (let p = this.highWater; p < base; p++) this.pushFree(p);
      this.highWater = base + n;
    } else {
      base = -1;
      for (let b = 0; b + n <= this.highWater && base < 0; b += n) {
        let all = true;
        for (let p = b; p < b + n && all; p++) all = this.content[p] === CONTENT_FREE;
        if (all) base = b;
      }
      if (base < 0) return -1;
      let w = 0;
      for (let r = 0; r < this.freeTop; r++) {
        const p = this.freeStack[r]!;
        if (p < base || p >= base + n) this.freeStack[w++] = p;
      }
      this.freeTop = w;
    }
    for (let p = base; p < base + n; p++) this.content[p] = CONTENT_POISON;
    this.used += n;
    return base;
  }

  private pushFree(pfn: number): void {
    if (this.freeTop === this.freeStack.length) {
      const s = new Int32Array(this.freeStack.length * 2);
      s.set(this.freeStack);
      this.freeStack = s;
    }
    this.freeStack[this.freeTop++] = pfn;
  }

  /**
   * Returns a frame to the free pool. Its contents become POISON and its
   * metadata is cleared. A frame still referenced or mapped, or already free,
   * is a kernel bug: throws.
   */
  free(pfn: number): void {
    if (!(pfn >= 0 && pfn < this.highWater) || this.isFree(pfn)) {
      throw new Error(`PhysMem.free: pfn ${pfn} is not allocated`);
    }
    if (this.refcount[pfn] !== 0 || this.mapcount[pfn] !== 0) {
      throw new Error(`PhysMem.free: pfn ${pfn} still has refcount ${this.refcount[pfn]} mapcount ${this.mapcount[pfn]}`);
    }
    this.setUniform(pfn, CONTENT_FREE);
    this.flags[pfn] = 0;
    this.owner[pfn] = 0;
    this.index[pfn] = 0;
    if (this.freeTop === this.freeStack.length) {
      const s = new Int32Array(this.freeStack.length * 2);
      s.set(this.freeStack);
      this.freeStack = s;
    }
    this.freeStack[this.freeTop++] = pfn;
    this.used--;
  }

  /** True for a frame that is free or was never handed out. */
  isFree(pfn: number): boolean {
    return pfn >= this.highWater || this.content[pfn] === CONTENT_FREE;
  }

  private grow(minCap: number): void {
    let cap = this.capacity;
    while (cap < minCap) cap *= 2;
    cap = Math.min(cap, this.totalFrames);
    const g32 = (a: Int32Array): Int32Array => {
      const n = new Int32Array(cap);
      n.set(a);
      return n;
    };
    this.refcount = g32(this.refcount);
    this.mapcount = g32(this.mapcount);
    this.owner = g32(this.owner);
    const f = new Uint32Array(cap);
    f.set(this.flags);
    this.flags = f;
    const ix = new Float64Array(cap);
    ix.set(this.index);
    this.index = ix;
    const c = new Int32Array(cap).fill(CONTENT_FREE);
    c.set(this.content);
    this.content = c;
    this.capacity = cap;
  }

  /**
   * Host bytes of bookkeeping per frame, excluding the 4 KiB of frames that
   * hold real bytes: the six metadata arrays, at their current capacity,
   * spread over the frames in use.
   */
  hostBytesPerPage(): number {
    const perFrame = 4 + 4 + 4 + 4 + 8 + 4;
    const fixed = (this.freeStack.length + this.slotStack.length) * 4;
    return this.used === 0 ? 0 : (this.capacity * perFrame + fixed) / this.used;
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
    return pfn < this.capacity ? this.content[pfn]! : CONTENT_FREE;
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
    if (this.isFree(pfn) || !(pfn >= 0)) throw new Error(`PhysMem: write to free frame ${pfn}`);
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

  readByte(pfn: number, off: number): number {
    this.check(pfn);
    PhysMem.checkRange(off, 1);
    const c = this.code(pfn);
    if (c >= 0) return this.bytesOf(c)[PhysMem.base(c) + off]!;
    return this.uniformByte(pfn);
  }

  writeByte(pfn: number, off: number, v: number): void {
    this.checkWritable(pfn);
    PhysMem.checkRange(off, 1);
    if (this.keepsUniform(pfn, v)) return;
    const slot = this.materialize(pfn);
    this.bytesOf(slot)[PhysMem.base(slot) + off] = v;
  }

  /** Sets len bytes at off to byte. A whole-page fill stays symbolic. */
  fill(pfn: number, off: number, len: number, byte: number): void {
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

  zero(pfn: number): void {
    this.checkWritable(pfn);
    this.setUniform(pfn, CONTENT_ZERO);
  }

  /** dst gets src's contents. A poisoned source copies as FILL(0xA5): the destination holds that data but is not free. */
  copy(dstPfn: number, srcPfn: number): void {
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

  readInto(pfn: number, off: number, dst: Uint8Array, dstOff: number, len: number): void {
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

  writeFrom(pfn: number, off: number, src: Uint8Array, srcOff: number, len: number): void {
    this.checkWritable(pfn);
    PhysMem.checkRange(off, len);
    if (len === 0) return;
    const slot = this.materialize(pfn);
    this.bytesOf(slot).set(src.subarray(srcOff, srcOff + len), PhysMem.base(slot) + off);
  }

  /** Byte-for-byte equality of two frames (KSM's memcmp_pages); O(1) unless both hold bytes or one is uniform and the other bytes. */
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
