/**
 * LruSets: the true-LRU order of every set of a set-associative array, kept
 * as a doubly linked list of ways per set in typed arrays. Every operation is
 * O(1) and branch-light: a victim is the list's tail, with no scan of age
 * stamps (a scan of 16 stamps with an unpredictable minimum costs more host
 * time than the tag compare it follows).
 *
 * Slot numbering is the owner's: slot = set * ways + way. Emptied ways are
 * moved to the tail (demote), so empty ways form a suffix of the order and
 * the tail is an empty way whenever the set has one.
 */

/** Ways are numbered in bytes: a set's order of 16 ways takes 34 bytes, within a host cache line or two. */
export const MAX_WAYS = 255;

export class LruSets {
  readonly sets: number;
  readonly ways: number;
  /**
   * One record per set, so that a set's whole order sits in one or two host
   * cache lines: [head (MRU way), tail (LRU way), next[ways], prev[ways]],
   * where next points towards the tail and prev towards the head.
   */
  private readonly rec: Uint8Array;
  private readonly stride: number;

  constructor(sets: number, ways: number) {
    if (!Number.isInteger(ways) || ways < 1 || ways > MAX_WAYS) throw new Error(`associativity ${ways} out of range 1..${MAX_WAYS}`);
    this.sets = sets;
    this.ways = ways;
    this.stride = 2 + 2 * ways;
    this.rec = new Uint8Array(sets * this.stride);
    for (let s = 0; s < sets; s++) {
      const r = s * this.stride;
      this.rec[r] = 0;
      this.rec[r + 1] = ways - 1;
      for (let w = 0; w < ways; w++) {
        this.rec[r + 2 + w] = w + 1;
        this.rec[r + 2 + ways + w] = w - 1;
      }
    }
  }

  /** The most recently used way of set s. */
  mru(s: number): number {
    return this.rec[s * this.stride];
  }

  /** The least recently used way of set s: the next victim (an empty way if the set has one). */
  lru(s: number): number {
    return this.rec[s * this.stride + 1];
  }

  /** Makes way w of set s the most recently used. */
  touch(s: number, w: number): void {
    const rec = this.rec;
    const r = s * this.stride;
    const h = rec[r];
    if (h === w) return;
    const nx = r + 2; // next[] of this set
    const pv = nx + this.ways; // prev[] of this set
    const p = rec[pv + w];
    // unlink (w is not the head, so it has a predecessor)
    if (rec[r + 1] === w) rec[r + 1] = p;
    else rec[pv + rec[nx + w]] = p;
    rec[nx + p] = rec[nx + w];
    // push in front of the head
    rec[nx + w] = h;
    rec[pv + h] = w;
    rec[r] = w;
  }

  /** Makes way w of set s the least recently used: it was emptied, so it is the next victim. */
  demote(s: number, w: number): void {
    const rec = this.rec;
    const r = s * this.stride;
    const t = rec[r + 1];
    if (t === w) return;
    const nx = r + 2;
    const pv = nx + this.ways;
    const n = rec[nx + w];
    // unlink (w is not the tail, so it has a successor)
    if (rec[r] === w) rec[r] = n;
    else rec[nx + rec[pv + w]] = n;
    rec[pv + n] = rec[pv + w];
    // append after the tail
    rec[pv + w] = t;
    rec[nx + t] = w;
    rec[r + 1] = w;
  }

  /** Ways of set s from most to least recently used (for tests and dumps). */
  order(s: number): number[] {
    const out: number[] = [];
    const r = s * this.stride;
    for (let w = this.rec[r], k = 0; k < this.ways; k++, w = this.rec[r + 2 + w]) out.push(w);
    return out;
  }
}
