/**
 * TlbSets: the storage of Tlb (tlb.ts) and the set operations its slow paths
 * share. tlb.ts holds the TLB's behaviour and its hot paths.
 *
 * Each set of each of the three arrays is a record in one Int32Array,
 * [hints][LRU order][flags x ways], and its keys and pfns are adjacent in
 * one Float64Array, [key x ways][pfn x ways]; ways stay where they were
 * filled, padded to a multiple of four. A look-up tests four ways per step
 * by 8-bit hints (8 bits of the tag above the set index mixed with the PCID
 * and the size bit, see Geo.hint) and compares keys only where a hint
 * matches; the LRU order is packed and kept by lru.ts, the one LRU of the
 * hardware (TLBs, caches and PWC).
 */
import type { HardwareConfig } from './config.js';
import { MAX_WAYS, orderDemote, orderInit, orderRotateLru, orderTouch, orderWords } from './lru.js';

/** PCID values: CR3 holds a 12-bit PCID. */
const PCIDS = 4096;
// "has a zero byte" bit trick (hints)
const ONES = 0x01010101;
const HIGHS = 0x80808080 | 0;

/** Geometry of one of the three arrays (every CPU's sets): where its records start in the Tlb's two typed arrays. */
export class Geo {
  readonly sets: number;
  readonly ways: number;
  /** Ways padded to a multiple of four, hint words and order words per set. */
  readonly pad: number;
  readonly hw: number;
  readonly ow: number;
  /** Int32 record size; Float64 words per set (keys, then pfns). */
  readonly rec: number;
  readonly fw: number;
  /** sets - 1 when sets is a power of two, else -1 (index with %). */
  readonly mask: number;
  /** Bits of the first order word that hold position 0 (the MRU way). */
  readonly mruMask: number;
  readonly inv: number;
  /** First record in the Int32Array and first key in the Float64Array. */
  readonly base: number;
  readonly fbase: number;

  constructor(entries: number, ways: number, field: string, base: number, fbase: number) {
    const sets = entries / ways;
    if (!Number.isInteger(ways) || ways < 1 || ways > MAX_WAYS || !Number.isInteger(sets) || sets < 1) {
      throw new Error(
        `tlb.${field}_entries / tlb.${field}_ways: ${entries} entries in ${ways} ways must make a whole number of sets, with 1..${MAX_WAYS} ways`,
      );
    }
    this.sets = sets;
    this.ways = ways;
    this.hw = (ways + 3) >>> 2;
    this.pad = this.hw * 4;
    this.ow = orderWords(ways);
    this.rec = this.hw + this.ow + this.pad;
    this.fw = 2 * this.pad;
    this.mask = (sets & (sets - 1)) === 0 ? sets - 1 : -1;
    this.mruMask = this.ow === 2 ? 15 : 255;
    this.inv = 1 / sets;
    this.base = base;
    this.fbase = fbase;
  }

  /** Set of CPU cpu that `tag` maps to (an index over every CPU's sets). */
  set(cpu: number, tag: number): number {
    return cpu * this.sets + (this.mask >= 0 ? tag & this.mask : tag % this.sets);
  }

  hint(tag: number, pcid: number, huge: number): number {
    return ((tag * this.inv) ^ pcid ^ (huge << 7)) & 255;
  }
}

export class TlbSets {
  protected readonly g1: Geo;
  protected readonly g2: Geo;
  protected readonly g3: Geo;
  // The 4 KiB L1's and the STLB's geometry again as plain fields, for the
  // hot paths (lookup, the 4 KiB half of missL1, insert after a miss), which
  // write their look-ups and fills out: V8 checks an object's map at each
  // use of its fields, and inlines only a small total of callees.
  protected readonly l1Sets: number;
  protected readonly l1Mask: number;
  protected readonly l1Inv: number;
  protected readonly l1Rec: number;
  protected readonly l1Hw: number;
  protected readonly l1Ow: number;
  protected readonly l1Pad: number;
  protected readonly l1Fw: number;
  protected readonly l1Mru: number;
  protected readonly stSets: number;
  protected readonly stMask: number;
  protected readonly stInv: number;
  protected readonly stRec: number;
  protected readonly stHw: number;
  protected readonly stOw: number;
  protected readonly stPad: number;
  protected readonly stFw: number;
  protected readonly stBase: number;
  protected readonly stFbase: number;
  /** Every set's record: [hints][order][flags x ways]. */
  protected readonly a: Int32Array;
  /** Every set's keys and pfns: [key x ways][pfn x ways]. */
  protected readonly f: Float64Array;

  constructor(cfg: HardwareConfig) {
    const t = cfg.tlb;
    const cpus = cfg.cpus;
    // the 4 KiB L1 first, at 0, so that lookup() needs no base offsets
    const g1 = new Geo(t.l1_entries, t.l1_ways, 'l1', 0, 0);
    const g2 = new Geo(t.l1_2m_entries, t.l1_2m_ways, 'l1_2m', cpus * g1.sets * g1.rec, cpus * g1.sets * g1.fw);
    const g3 = new Geo(t.stlb_entries, t.stlb_ways, 'stlb', g2.base + cpus * g2.sets * g2.rec, g2.fbase + cpus * g2.sets * g2.fw);
    this.g1 = g1;
    this.g2 = g2;
    this.g3 = g3;
    this.l1Sets = g1.sets;
    this.l1Mask = g1.mask;
    this.l1Inv = g1.inv;
    this.l1Rec = g1.rec;
    this.l1Hw = g1.hw;
    this.l1Ow = g1.ow;
    this.l1Pad = g1.pad;
    this.l1Fw = g1.fw;
    this.l1Mru = g1.mruMask;
    this.stSets = g3.sets;
    this.stMask = g3.mask;
    this.stInv = g3.inv;
    this.stRec = g3.rec;
    this.stHw = g3.hw;
    this.stOw = g3.ow;
    this.stPad = g3.pad;
    this.stFw = g3.fw;
    this.stBase = g3.base;
    this.stFbase = g3.fbase;
    this.a = new Int32Array(g3.base + cpus * g3.sets * g3.rec);
    this.f = new Float64Array(g3.fbase + cpus * g3.sets * g3.fw);
    for (const g of [g1, g2, g3]) {
      for (let s = 0; s < cpus * g.sets; s++) {
        orderInit(this.a, g.base + s * g.rec + g.hw, g.ways);
        this.f.fill(-1, g.fbase + s * g.fw, g.fbase + s * g.fw + g.pad);
      }
    }
  }

  /** Way of set s of array g holding key (whose hint is h), or -1. */
  protected find(g: Geo, s: number, key: number, h: number): number {
    const a = this.a;
    const f = this.f;
    const r = g.base + s * g.rec;
    const fk = g.fbase + s * g.fw;
    const pat = Math.imul(h, ONES);
    const hw = g.hw;
    for (let q = 0; q < hw; q++) {
      const v = a[r + q] ^ pat;
      // high bit of each byte of v that is zero (exact for the lowest; a
      // higher one may be a false positive, which the key compare rejects)
      const m = ((v - ONES) | 0) & ~v & HIGHS;
      if (m === 0) continue;
      const i = fk + (q << 2);
      if ((m & 0x80) !== 0 && f[i] === key) return q << 2;
      if ((m & 0x8000) !== 0 && f[i + 1] === key) return (q << 2) + 1;
      if ((m & 0x800000) !== 0 && f[i + 2] === key) return (q << 2) + 2;
      if (m < 0 && f[i + 3] === key) return (q << 2) + 3;
    }
    return -1;
  }

  /** Stores an entry in way w of set s of array g (hint h); the caller updates the LRU order. */
  protected store(g: Geo, s: number, w: number, key: number, h: number, pfn: number, flags: number): void {
    const r = g.base + s * g.rec;
    const fk = g.fbase + s * g.fw;
    this.f[fk + w] = key;
    this.f[fk + g.pad + w] = pfn;
    this.a[r + g.hw + g.ow + w] = flags;
    const j = r + (w >>> 2);
    const sh = (w & 3) << 3;
    this.a[j] = (this.a[j] & ~(255 << sh)) | (h << sh);
  }

  /** Installs an entry known to be absent from set s of array g in its LRU way. */
  protected fill(g: Geo, s: number, key: number, h: number, pfn: number, flags: number): void {
    const w = orderRotateLru(this.a, g.base + s * g.rec + g.hw, g.ways);
    this.store(g, s, w, key, h, pfn, flags);
  }

  /** Installs or refreshes an entry: in place of its old entry (made most recent), else in the LRU way. */
  protected put(g: Geo, s: number, key: number, h: number, pfn: number, flags: number): void {
    const w = this.find(g, s, key, h);
    if (w < 0) {
      this.fill(g, s, key, h, pfn, flags);
      return;
    }
    orderTouch(this.a, g.base + s * g.rec + g.hw, g.ways, w);
    this.store(g, s, w, key, h, pfn, flags);
  }

  /** Empties the entry of key (hint h) in set s of array g, if present; it becomes the set's next victim. */
  protected drop(g: Geo, s: number, key: number, h: number): void {
    const w = this.find(g, s, key, h);
    if (w < 0) return;
    this.f[g.fbase + s * g.fw + w] = -1;
    orderDemote(this.a, g.base + s * g.rec + g.hw, g.ways, w);
  }

  protected setFlagsIn(g: Geo, s: number, key: number, h: number, flags: number): void {
    const w = this.find(g, s, key, h);
    if (w >= 0) this.a[g.base + s * g.rec + g.hw + g.ow + w] = flags;
  }

  /** Empties every way of CPU cpu's sets in array g whose key satisfies `pcid < 0 || key % 4096 === pcid`. */
  protected flushIn(g: Geo, cpu: number, pcid: number): void {
    for (let s = cpu * g.sets, e = s + g.sets; s < e; s++) {
      const fk = g.fbase + s * g.fw;
      for (let w = 0; w < g.ways; w++) {
        const key = this.f[fk + w];
        if (key < 0 || (pcid >= 0 && key % PCIDS !== pcid)) continue;
        this.f[fk + w] = -1;
        // a set whose ways are all emptied may keep any order
        if (pcid >= 0) orderDemote(this.a, g.base + s * g.rec + g.hw, g.ways, w);
      }
    }
  }

}
