/**
 * Tlb: every CPU's data TLBs, in flat typed arrays.
 *
 * Per CPU, three set-associative arrays with true LRU:
 *   L1 dTLB, 4 KiB pages    tlb.l1_entries / tlb.l1_ways sets
 *   L1 dTLB, 2 MiB pages    tlb.l1_2m_entries / tlb.l1_2m_ways sets
 *   STLB, both sizes        tlb.stlb_entries / tlb.stlb_ways sets
 * A lookup probes both L1 arrays (the hardware does so in parallel), then the
 * STLB for a 4 KiB and a 2 MiB entry. An STLB hit copies the entry into the
 * L1 array of its size. insert() fills the L1 array and the STLB; the STLB is
 * neither inclusive nor exclusive of the L1 (an eviction from one leaves the
 * other alone), so every invalidation visits all three arrays.
 *
 * Set index and key of an entry:
 *
 *   vpn (4 KiB page number, < 2^35)   | ........ vpn2m ........ | 9 bits |
 *   tag   = vpn for a 4 KiB entry, vpn2m = floor(vpn / 512) for a 2 MiB one
 *   set   = tag & (sets - 1) when sets is a power of two, else tag % sets
 *   key   = (tag * 2 + huge) * 4096 + pcid      (< 2^49: exact in a double)
 *
 * One Float64 compare matches page number, size and PCID at once; -1 marks
 * an empty way. vpn exceeds 2^32, so tags are never shifted with `>>`;
 * `tag & mask` is safe because ToInt32 keeps the low 32 bits, which hold
 * every set-index bit.
 *
 * Layout, for host speed (as in cachesets.ts): each set of each array is a
 * record in one Int32Array, [hints][LRU order][flags x ways], and its keys
 * and pfns are adjacent in one Float64Array, [key x ways][pfn x ways]; ways
 * stay where they were filled, padded to a multiple of four. A look-up tests
 * four ways per step by 8-bit hints (8 bits of the tag above the set index
 * mixed with the PCID and the size bit) and compares keys only where a hint
 * matches; the LRU order is packed (lru.ts). lookup() tries the MRU way of
 * the 4 KiB L1 set first and is kept small so that the MMU can inline it;
 * the rest of a lookup is in missL1().
 *
 * Two shortcuts change nothing but host time: until a CPU may hold a 2 MiB
 * entry (from its first 2 MiB insert to its next full flush) its lookups
 * skip the 2 MiB probes, which could not hit; and the insert that follows a
 * full miss (the walk's result) fills the LRU ways without searching the
 * sets the miss just searched, as long as nothing was installed between.
 *
 * The TLB charges no cycles: the MMU composes costs (cfg.cost.stlb_hit,
 * invlpg, tlb_flush_*). Callers pass valid CPU numbers, PCIDs 0..4095 and
 * vpns below 2^35; the hot path checks nothing.
 */
import type { MachineConfig } from './config.js';
import { MAX_WAYS, NIBBLE_WAYS as LRU_NIBBLE_WAYS, orderDemote, orderInit, orderRotateLru, orderTouch, orderWords } from './lru.js';

export const TLB_W = 1,
  TLB_U = 2,
  TLB_D = 4,
  TLB_NX = 8;

/** PCID values: CR3 holds a 12-bit PCID. */
const PCIDS = 4096;
/** 4 KiB pages in a 2 MiB page. */
const HUGE_PAGES = 512;
// "has a zero byte" / "has a zero nibble" bit tricks (hints; packed LRU orders)
const ONES = 0x01010101;
const HIGHS = 0x80808080 | 0;
const NIB = 0x11111111;
const NIB_HIGHS = 0x88888888 | 0;
/** lru.ts's NIBBLE_WAYS as a literal, which V8 folds (an imported binding is a cell load per use). */
const NIBBLE_WAYS = 16;
if (NIBBLE_WAYS !== LRU_NIBBLE_WAYS) throw new Error('tlb.ts: NIBBLE_WAYS differs from lru.ts');

const C_L1_HIT = 0;
const C_L1_MISS = 1;
const C_STLB_HIT = 2;
const C_STLB_MISS = 3;
const C_INVLPG = 4;
const C_FLUSH_PCID = 5;
const C_FLUSH_ALL = 6;
const COUNTER_NAMES = [
  'dtlb_l1_hit',
  'dtlb_l1_miss',
  'stlb_hit',
  'stlb_miss',
  'tlb_invlpg',
  'tlb_flush_pcid',
  'tlb_flush_all',
] as const;
const NC = COUNTER_NAMES.length;

/** Geometry of one of the three arrays (every CPU's sets): where its records start in the Tlb's two typed arrays. */
class Geo {
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

export class Tlb {
  /** Incremented whenever cpu's L1 dTLB contents change other than by an LRU touch (insert, eviction, invalidation, flush): lets the MMU memoize its last translation. */
  readonly epoch: Uint32Array;
  readonly cpus: number;
  /** Translation found by the last hitting lookup(): pfn of the vpn asked for, its TLB_* flags, and whether a 2 MiB entry held it. */
  pfn = 0;
  flags = 0;
  huge = false;

  private readonly g1: Geo;
  private readonly g2: Geo;
  private readonly g3: Geo;
  // The 4 KiB L1's and the STLB's geometry again as plain fields, for the
  // hot paths (lookup, the 4 KiB half of missL1, insert after a miss), which
  // write their look-ups and fills out: V8 checks an object's map at each
  // use of its fields, and inlines only a small total of callees.
  private readonly l1Sets: number;
  private readonly l1Mask: number;
  private readonly l1Inv: number;
  private readonly l1Rec: number;
  private readonly l1Hw: number;
  private readonly l1Ow: number;
  private readonly l1Pad: number;
  private readonly l1Fw: number;
  private readonly l1Mru: number;
  private readonly stSets: number;
  private readonly stMask: number;
  private readonly stInv: number;
  private readonly stRec: number;
  private readonly stHw: number;
  private readonly stOw: number;
  private readonly stPad: number;
  private readonly stFw: number;
  private readonly stBase: number;
  private readonly stFbase: number;
  /** Every set's record: [hints][order][flags x ways]. */
  private readonly a: Int32Array;
  /** Every set's keys and pfns: [key x ways][pfn x ways]. */
  private readonly f: Float64Array;
  /** Per CPU, 1 once it may hold a 2 MiB entry (until its next full flush). */
  private readonly hugeSeen: Uint8Array;
  /**
   * The 4 KiB key the last full miss was for, its CPU and that CPU's epoch
   * then: while the epoch is unchanged nothing was installed since, so an
   * insert of that key need not search the L1 and STLB sets again.
   */
  private missKey = -1;
  private missCpu = -1;
  private missEpoch = 0;
  private readonly ctr: Float64Array;

  constructor(cfg: MachineConfig) {
    const t = cfg.tlb;
    const cpus = cfg.cpus;
    this.cpus = cpus;
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
    this.hugeSeen = new Uint8Array(cpus);
    this.epoch = new Uint32Array(cpus);
    this.ctr = new Float64Array(cpus * NC);
  }

  /** Timed lookup. Returns the level that hit: 1 (L1), 2 (STLB; the entry is then
   *  copied into the L1), 0 (miss). On a hit, `this.pfn` and `this.flags` hold the
   *  translation for vpn (for 2 MiB entries already offset by vpn % 512) and
   *  `this.huge` tells the size. Updates LRU and counters. */
  lookup(cpu: number, pcid: number, vpn: number): number {
    const s = cpu * this.l1Sets + (this.l1Mask >= 0 ? vpn & this.l1Mask : vpn % this.l1Sets);
    const k4 = vpn * (2 * PCIDS) + pcid;
    // the MRU way first: the MMU asks for one page many times in a row
    const r = s * this.l1Rec;
    const w = this.a[r + this.l1Hw] & this.l1Mru;
    const fk = s * this.l1Fw;
    if (this.f[fk + w] !== k4) return this.missL1(cpu, pcid, vpn, s, k4);
    this.pfn = this.f[fk + this.l1Pad + w];
    this.flags = this.a[r + this.l1Hw + this.l1Ow + w];
    this.huge = false;
    this.ctr[cpu * NC + C_L1_HIT]++;
    return 1;
  }

  /** lookup() after the MRU way of the 4 KiB L1 set s did not match: the rest of it, the 2 MiB L1, then the STLB. */
  private missL1(cpu: number, pcid: number, vpn: number, s4: number, k4: number): number {
    const a = this.a;
    const f = this.f;
    const ctr = this.ctr;
    const cb = cpu * NC;
    // the rest of the 4 KiB L1 set (written out, see the fields above)
    const r1 = s4 * this.l1Rec;
    const fk1 = s4 * this.l1Fw;
    const h1 = ((vpn * this.l1Inv) ^ pcid) & 255;
    let w = -1;
    let pat = Math.imul(h1, ONES);
    const hw1 = this.l1Hw;
    for (let q = 0; q < hw1; q++) {
      const v = a[r1 + q] ^ pat;
      // high bit of each byte of v that is zero (exact for the lowest; a
      // higher one may be a false positive, which the key compare rejects)
      const m = ((v - ONES) | 0) & ~v & HIGHS;
      if (m === 0) continue;
      const i = fk1 + (q << 2);
      if ((m & 0x80) !== 0 && f[i] === k4) w = q << 2;
      else if ((m & 0x8000) !== 0 && f[i + 1] === k4) w = (q << 2) + 1;
      else if ((m & 0x800000) !== 0 && f[i + 2] === k4) w = (q << 2) + 2;
      else if (m < 0 && f[i + 3] === k4) w = (q << 2) + 3;
      if (w >= 0) break;
    }
    if (w >= 0) {
      this.touch(r1 + hw1, this.g1.ways, w);
      this.pfn = f[fk1 + this.l1Pad + w];
      this.flags = a[r1 + hw1 + this.l1Ow + w];
      this.huge = false;
      ctr[cb + C_L1_HIT]++;
      return 1;
    }
    const huge = this.hugeSeen[cpu] !== 0;
    if (huge && this.l1Huge(cpu, pcid, vpn)) {
      ctr[cb + C_L1_HIT]++;
      return 1;
    }
    ctr[cb + C_L1_MISS]++;

    // the STLB set of the 4 KiB entry
    const s = cpu * this.stSets + (this.stMask >= 0 ? vpn & this.stMask : vpn % this.stSets);
    const r3 = this.stBase + s * this.stRec;
    const fk3 = this.stFbase + s * this.stFw;
    pat = Math.imul(((vpn * this.stInv) ^ pcid) & 255, ONES);
    const hw3 = this.stHw;
    for (let q = 0; q < hw3; q++) {
      const v = a[r3 + q] ^ pat;
      const m = ((v - ONES) | 0) & ~v & HIGHS;
      if (m === 0) continue;
      const i = fk3 + (q << 2);
      if ((m & 0x80) !== 0 && f[i] === k4) w = q << 2;
      else if ((m & 0x8000) !== 0 && f[i + 1] === k4) w = (q << 2) + 1;
      else if ((m & 0x800000) !== 0 && f[i + 2] === k4) w = (q << 2) + 2;
      else if (m < 0 && f[i + 3] === k4) w = (q << 2) + 3;
      if (w >= 0) break;
    }
    if (w >= 0) {
      this.touch(r3 + hw3, this.g3.ways, w);
      const pfn = f[fk3 + this.stPad + w];
      const flags = a[r3 + hw3 + this.stOw + w];
      this.fill(this.g1, s4, k4, h1, pfn, flags);
      this.epoch[cpu]++;
      this.pfn = pfn;
      this.flags = flags;
      this.huge = false;
      ctr[cb + C_STLB_HIT]++;
      return 2;
    }
    if (huge && this.stlbHuge(cpu, pcid, vpn)) {
      ctr[cb + C_STLB_HIT]++;
      return 2;
    }
    ctr[cb + C_STLB_MISS]++;
    this.missKey = k4;
    this.missCpu = cpu;
    this.missEpoch = this.epoch[cpu];
    return 0;
  }

  /** The 2 MiB L1 probe of missL1: on a hit, the entry becomes the result. */
  private l1Huge(cpu: number, pcid: number, vpn: number): boolean {
    const g2 = this.g2;
    const v2 = Math.floor(vpn / HUGE_PAGES);
    const k2 = v2 * (2 * PCIDS) + PCIDS + pcid;
    const s2 = g2.set(cpu, v2);
    const w = this.find(g2, s2, k2, g2.hint(v2, pcid, 1));
    if (w < 0) return false;
    this.touch(g2.base + s2 * g2.rec + g2.hw, g2.ways, w);
    this.result(g2, s2, w, vpn - v2 * HUGE_PAGES, true);
    return true;
  }

  /** The STLB probe for a 2 MiB entry covering vpn; on a hit it is copied into the 2 MiB L1 and becomes the result. */
  private stlbHuge(cpu: number, pcid: number, vpn: number): boolean {
    const { g2, g3 } = this;
    const v2 = Math.floor(vpn / HUGE_PAGES);
    const k2 = v2 * (2 * PCIDS) + PCIDS + pcid;
    const s = g3.set(cpu, v2);
    const w = this.find(g3, s, k2, g3.hint(v2, pcid, 1));
    if (w < 0) return false;
    this.touch(g3.base + s * g3.rec + g3.hw, g3.ways, w);
    this.result(g3, s, w, 0, true);
    this.fill(g2, g2.set(cpu, v2), k2, g2.hint(v2, pcid, 1), this.pfn, this.flags);
    this.pfn += vpn - v2 * HUGE_PAGES;
    this.epoch[cpu]++;
    return true;
  }

  /** Makes way w the most recently used in the order at a[o] (orderTouch, written out for nibbles). */
  private touch(o: number, ways: number, w: number): void {
    const a = this.a;
    if (ways > NIBBLE_WAYS) {
      orderTouch(a, o, ways, w);
      return;
    }
    const lo = a[o];
    if ((lo & 15) === w) return;
    const pat = Math.imul(w, NIB);
    let x = lo ^ pat;
    let z = ((x - NIB) | 0) & ~x & NIB_HIGHS;
    if (z !== 0) {
      const low = (z & -z) >>> 3;
      a[o] = (lo & ~((low << 4) - 1)) | ((lo & (low - 1)) << 4) | w;
    } else {
      const hi = a[o + 1];
      x = hi ^ pat;
      z = ((x - NIB) | 0) & ~x & NIB_HIGHS;
      const low = (z & -z) >>> 3;
      a[o + 1] = (hi & ~((low << 4) - 1)) | ((hi & (low - 1)) << 4) | (lo >>> 28);
      a[o] = (lo << 4) | w;
    }
  }

  /** Makes the LRU way of the order at a[o] the most recent and returns it (orderRotateLru, written out for nibbles). */
  private rotate(o: number, ways: number): number {
    const a = this.a;
    if (ways > NIBBLE_WAYS) return orderRotateLru(a, o, ways);
    const q = (ways - 1) & 7;
    const below = (1 << (q << 2)) - 1;
    const upto = q === 7 ? -1 : (1 << ((q + 1) << 2)) - 1;
    const lo = a[o];
    let v: number;
    if (ways <= 8) {
      v = (lo >>> (q << 2)) & 15;
      a[o] = (lo & ~upto) | ((lo & below) << 4) | v;
    } else {
      const hi = a[o + 1];
      v = (hi >>> (q << 2)) & 15;
      a[o + 1] = (hi & ~upto) | ((hi & below) << 4) | (lo >>> 28);
      a[o] = (lo << 4) | v;
    }
    return v;
  }

  /** Sets pfn (plus off, the 4 KiB page within a 2 MiB entry), flags and huge from way w of set s of array g. */
  private result(g: Geo, s: number, w: number, off: number, huge: boolean): void {
    this.pfn = this.f[g.fbase + s * g.fw + g.pad + w] + off;
    this.flags = this.a[g.base + s * g.rec + g.hw + g.ow + w];
    this.huge = huge;
  }

  /** Way of set s of array g holding key (whose hint is h), or -1. */
  private find(g: Geo, s: number, key: number, h: number): number {
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
  private store(g: Geo, s: number, w: number, key: number, h: number, pfn: number, flags: number): void {
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
  private fill(g: Geo, s: number, key: number, h: number, pfn: number, flags: number): void {
    const w = this.rotate(g.base + s * g.rec + g.hw, g.ways);
    this.store(g, s, w, key, h, pfn, flags);
  }

  /** Installs or refreshes an entry: in place of its old entry (made most recent), else in the LRU way. */
  private put(g: Geo, s: number, key: number, h: number, pfn: number, flags: number): void {
    const w = this.find(g, s, key, h);
    if (w < 0) {
      this.fill(g, s, key, h, pfn, flags);
      return;
    }
    this.touch(g.base + s * g.rec + g.hw, g.ways, w);
    this.store(g, s, w, key, h, pfn, flags);
  }

  /** Empties the entry of key (hint h) in set s of array g, if present; it becomes the set's next victim. */
  private drop(g: Geo, s: number, key: number, h: number): void {
    const w = this.find(g, s, key, h);
    if (w < 0) return;
    this.f[g.fbase + s * g.fw + w] = -1;
    orderDemote(this.a, g.base + s * g.rec + g.hw, g.ways, w);
  }

  private setFlagsIn(g: Geo, s: number, key: number, h: number, flags: number): void {
    const w = this.find(g, s, key, h);
    if (w >= 0) this.a[g.base + s * g.rec + g.hw + g.ow + w] = flags;
  }

  /** Count a hit at L1 without a lookup (the MMU's memoized fast path). */
  countL1Hit(cpu: number): void {
    this.ctr[cpu * NC + C_L1_HIT]++;
  }

  /** Install a translation in L1 and STLB (after a walk). huge: a 2 MiB entry; vpn is any vpn inside it and pfn the pfn for that vpn. */
  insert(cpu: number, pcid: number, vpn: number, pfn: number, flags: number, huge: boolean): void {
    const { g1, g2, g3 } = this;
    if (huge) {
      const v2 = Math.floor(vpn / HUGE_PAGES);
      const base = pfn - (vpn - v2 * HUGE_PAGES);
      const k2 = v2 * (2 * PCIDS) + PCIDS + pcid;
      this.hugeSeen[cpu] = 1;
      this.put(g2, g2.set(cpu, v2), k2, g2.hint(v2, pcid, 1), base, flags);
      this.put(g3, g3.set(cpu, v2), k2, g3.hint(v2, pcid, 1), base, flags);
    } else {
      const k4 = vpn * (2 * PCIDS) + pcid;
      if (k4 === this.missKey && cpu === this.missCpu && this.epoch[cpu] === this.missEpoch) {
        // the walk's result after a full miss: fill both LRU ways (written out)
        const a = this.a;
        const f = this.f;
        const s1 = cpu * this.l1Sets + (this.l1Mask >= 0 ? vpn & this.l1Mask : vpn % this.l1Sets);
        const r1 = s1 * this.l1Rec;
        let w = this.rotate(r1 + this.l1Hw, g1.ways);
        let fk = s1 * this.l1Fw;
        f[fk + w] = k4;
        f[fk + this.l1Pad + w] = pfn;
        a[r1 + this.l1Hw + this.l1Ow + w] = flags;
        let j = r1 + (w >>> 2);
        let sh = (w & 3) << 3;
        a[j] = (a[j] & ~(255 << sh)) | ((((vpn * this.l1Inv) ^ pcid) & 255) << sh);
        const s3 = cpu * this.stSets + (this.stMask >= 0 ? vpn & this.stMask : vpn % this.stSets);
        const r3 = this.stBase + s3 * this.stRec;
        w = this.rotate(r3 + this.stHw, g3.ways);
        fk = this.stFbase + s3 * this.stFw;
        f[fk + w] = k4;
        f[fk + this.stPad + w] = pfn;
        a[r3 + this.stHw + this.stOw + w] = flags;
        j = r3 + (w >>> 2);
        sh = (w & 3) << 3;
        a[j] = (a[j] & ~(255 << sh)) | ((((vpn * this.stInv) ^ pcid) & 255) << sh);
      } else {
        this.put(g1, g1.set(cpu, vpn), k4, g1.hint(vpn, pcid, 0), pfn, flags);
        this.put(g3, g3.set(cpu, vpn), k4, g3.hint(vpn, pcid, 0), pfn, flags);
      }
    }
    this.epoch[cpu]++;
  }

  /** Update the flags of a present entry (e.g. set TLB_D after the walker set the dirty bit). */
  setFlags(cpu: number, pcid: number, vpn: number, flags: number): void {
    const k4 = vpn * (2 * PCIDS) + pcid;
    const v2 = Math.floor(vpn / HUGE_PAGES);
    const k2 = v2 * (2 * PCIDS) + PCIDS + pcid;
    const { g1, g2, g3 } = this;
    this.setFlagsIn(g1, g1.set(cpu, vpn), k4, g1.hint(vpn, pcid, 0), flags);
    this.setFlagsIn(g2, g2.set(cpu, v2), k2, g2.hint(v2, pcid, 1), flags);
    this.setFlagsIn(g3, g3.set(cpu, vpn), k4, g3.hint(vpn, pcid, 0), flags);
    this.setFlagsIn(g3, g3.set(cpu, v2), k2, g3.hint(v2, pcid, 1), flags);
    this.epoch[cpu]++;
  }

  /** INVLPG: drop the 4 KiB and 2 MiB entries covering vpn for this pcid from L1 and STLB. */
  invlpg(cpu: number, pcid: number, vpn: number): void {
    const k4 = vpn * (2 * PCIDS) + pcid;
    const v2 = Math.floor(vpn / HUGE_PAGES);
    const k2 = v2 * (2 * PCIDS) + PCIDS + pcid;
    const { g1, g2, g3 } = this;
    this.drop(g1, g1.set(cpu, vpn), k4, g1.hint(vpn, pcid, 0));
    this.drop(g2, g2.set(cpu, v2), k2, g2.hint(v2, pcid, 1));
    this.drop(g3, g3.set(cpu, vpn), k4, g3.hint(vpn, pcid, 0));
    this.drop(g3, g3.set(cpu, v2), k2, g3.hint(v2, pcid, 1));
    this.epoch[cpu]++;
    this.ctr[cpu * NC + C_INVLPG]++;
  }

  /** Empties every way of CPU cpu's sets in array g whose key satisfies `pcid < 0 || key % 4096 === pcid`. */
  private flushIn(g: Geo, cpu: number, pcid: number): void {
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

  /** Drop every entry of one PCID (INVPCID single-context). */
  flushPcid(cpu: number, pcid: number): void {
    this.flushIn(this.g1, cpu, pcid);
    this.flushIn(this.g2, cpu, pcid);
    this.flushIn(this.g3, cpu, pcid);
    this.epoch[cpu]++;
    this.ctr[cpu * NC + C_FLUSH_PCID]++;
  }

  /** Drop every entry of every PCID. */
  flushAll(cpu: number): void {
    this.flushIn(this.g1, cpu, -1);
    this.flushIn(this.g2, cpu, -1);
    this.flushIn(this.g3, cpu, -1);
    this.hugeSeen[cpu] = 0;
    this.epoch[cpu]++;
    this.ctr[cpu * NC + C_FLUSH_ALL]++;
  }

  /** Functional lookup: no LRU update, no counters. Returns pfn or -1. */
  probe(cpu: number, pcid: number, vpn: number): number {
    const k4 = vpn * (2 * PCIDS) + pcid;
    const v2 = Math.floor(vpn / HUGE_PAGES);
    const off = vpn - v2 * HUGE_PAGES;
    const k2 = v2 * (2 * PCIDS) + PCIDS + pcid;
    const { g1, g2, g3 } = this;
    let s = g1.set(cpu, vpn);
    let w = this.find(g1, s, k4, g1.hint(vpn, pcid, 0));
    if (w >= 0) return this.f[g1.fbase + s * g1.fw + g1.pad + w];
    s = g2.set(cpu, v2);
    w = this.find(g2, s, k2, g2.hint(v2, pcid, 1));
    if (w >= 0) return this.f[g2.fbase + s * g2.fw + g2.pad + w] + off;
    s = g3.set(cpu, vpn);
    w = this.find(g3, s, k4, g3.hint(vpn, pcid, 0));
    if (w >= 0) return this.f[g3.fbase + s * g3.fw + g3.pad + w];
    s = g3.set(cpu, v2);
    w = this.find(g3, s, k2, g3.hint(v2, pcid, 1));
    if (w >= 0) return this.f[g3.fbase + s * g3.fw + g3.pad + w] + off;
    return -1;
  }

  /** Every valid entry of a CPU (L1 4 KiB, L1 2 MiB, then STLB; an entry in both levels is reported twice), for invariant checks: calls fn(pcid, vpn, pfn, huge) with vpn/pfn of the first 4 KiB page of the entry. */
  forEachEntry(cpu: number, fn: (pcid: number, vpn: number, pfn: number, huge: boolean) => void): void {
    for (const g of [this.g1, this.g2, this.g3]) {
      for (let s = cpu * g.sets, e = s + g.sets; s < e; s++) {
        const fk = g.fbase + s * g.fw;
        for (let w = 0; w < g.ways; w++) {
          const key = this.f[fk + w];
          if (key < 0) continue;
          const pcid = key % PCIDS;
          const tagHuge = (key - pcid) / PCIDS;
          const huge = tagHuge % 2 === 1;
          const tag = (tagHuge - (huge ? 1 : 0)) / 2;
          fn(pcid, huge ? tag * HUGE_PAGES : tag, this.f[fk + g.pad + w], huge);
        }
      }
    }
  }

  /** Totals: dtlb_l1_hit, dtlb_l1_miss, stlb_hit, stlb_miss, tlb_invlpg, tlb_flush_pcid, tlb_flush_all. */
  counters(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let k = 0; k < NC; k++) {
      let s = 0;
      for (let c = 0; c < this.cpus; c++) s += this.ctr[c * NC + k];
      out[COUNTER_NAMES[k]] = s;
    }
    return out;
  }

  cpuCounters(cpu: number): Record<string, number> {
    const out: Record<string, number> = {};
    for (let k = 0; k < NC; k++) out[COUNTER_NAMES[k]] = this.ctr[cpu * NC + k];
    return out;
  }
}
