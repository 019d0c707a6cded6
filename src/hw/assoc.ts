/**
 * SetAssoc: a standalone tag store of one set-associative array, with true
 * LRU (LruSets), in flat typed arrays: Float64 keys of any size, one object
 * per array. The caches and TLBs no longer use it; they keep each set as one
 * record next to their other per-way state (cachesets.ts, tlb.ts), with the
 * same hint scheme.
 *
 * Way w of set s is slot s * ways + w. Each slot holds a key (a Float64: line
 * numbers and TLB keys exceed 2^32; -1 marks an empty way) and an 8-bit hint,
 * a function of the key chosen by the owner. Hints are packed four to an
 * Int32 word, way w in bits 8*(w%4) .. 8*(w%4)+7 of word w/4, so that a
 * lookup tests four ways per word for a matching hint (the "has a zero
 * byte" bit trick) and compares full keys only where a hint matches:
 * a 16-way miss costs four word tests instead of sixteen Float64 compares,
 * and the set's hints sit in one host cache line. The packing is done with
 * shifts, not a byte view, so it does not depend on host endianness.
 */
import { LruSets, MAX_WAYS } from './lru.js';

const ONES = 0x01010101;
const HIGHS = 0x80808080 | 0;

export class SetAssoc {
  readonly sets: number;
  readonly ways: number;
  readonly key: Float64Array;
  readonly lru: LruSets;
  /** Hint words per set. */
  private readonly hw: number;
  private readonly hint: Int32Array;

  constructor(sets: number, ways: number) {
    if (!Number.isInteger(ways) || ways < 1 || ways > MAX_WAYS) throw new Error(`associativity ${ways} out of range 1..${MAX_WAYS}`);
    this.sets = sets;
    this.ways = ways;
    this.key = new Float64Array(sets * ways).fill(-1);
    this.lru = new LruSets(sets, ways);
    this.hw = (ways + 3) >>> 2;
    this.hint = new Int32Array(sets * this.hw);
  }

  /** Way of set s holding `key` (whose hint is k), or -1. */
  find(s: number, key: number, k: number): number {
    const hint = this.hint;
    const keys = this.key;
    const ways = this.ways;
    const hb = s * this.hw;
    const kb = s * ways;
    const pat = Math.imul(k, ONES);
    for (let q = 0; q < this.hw; q++) {
      const v = hint[hb + q] ^ pat;
      // high bit of each byte of v that is zero (exact for the lowest; a
      // higher one may be a false positive, which the key compare rejects)
      const m = ((v - ONES) | 0) & ~v & HIGHS;
      if (m === 0) continue;
      const w = q << 2;
      if ((m & 0x80) !== 0 && keys[kb + w] === key) return w;
      if ((m & 0x8000) !== 0 && w + 1 < ways && keys[kb + w + 1] === key) return w + 1;
      if ((m & 0x800000) !== 0 && w + 2 < ways && keys[kb + w + 2] === key) return w + 2;
      if (m < 0 && w + 3 < ways && keys[kb + w + 3] === key) return w + 3;
    }
    return -1;
  }

  /** Stores key (hint k) in way w of set s and makes it the most recently used. */
  put(s: number, w: number, key: number, k: number): void {
    this.key[s * this.ways + w] = key;
    const i = s * this.hw + (w >>> 2);
    const sh = (w & 3) << 3;
    this.hint[i] = (this.hint[i] & ~(255 << sh)) | (k << sh);
    this.lru.touch(s, w);
  }

  /** Empties way w of set s; it becomes the next victim. */
  clear(s: number, w: number): void {
    this.key[s * this.ways + w] = -1;
    this.lru.demote(s, w);
  }
}
