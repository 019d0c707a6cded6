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
 * Storage (tlbsets.ts): each set is one record, ways stay where they were
 * filled, look-ups test four ways at a time by 8-bit hints, LRU orders are
 * packed (lru.ts). lookup() tries the MRU way of the 4 KiB L1 set first and
 * is kept small so that the MMU can inline it; the rest of a lookup is in
 * missL1(), which with insert() writes the 4 KiB look-ups and fills out
 * over plain fields: V8 checks an object's map at each use of its fields,
 * and inlines only a small total of callees.
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
import type { HardwareConfig } from './config.js';
import type { Pfn } from './types.js';
import { orderRotateLru, orderTouch } from './lru.js';
import { type Geo, TlbSets } from './tlbsets.js';

export const TLB_W = 1,
  TLB_U = 2,
  TLB_D = 4,
  TLB_NX = 8;

/** PCID values: CR3 holds a 12-bit PCID. */
const PCIDS = 4096;
/** 4 KiB pages in a 2 MiB page. */
const HUGE_PAGES = 512;
// "has a zero byte" bit trick (hints), as literals V8 folds
const ONES = 0x01010101;
const HIGHS = 0x80808080 | 0;

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

export class Tlb extends TlbSets {
  /** Incremented whenever cpu's L1 dTLB contents change other than by an LRU touch (insert, eviction, invalidation, flush): lets the MMU memoize its last translation. */
  readonly epoch: Uint32Array;
  readonly cpus: number;
  /** Translation found by the last hitting lookup(): pfn of the vpn asked for, its TLB_* flags, and whether a 2 MiB entry held it. */
  pfn = 0;
  flags = 0;
  huge = false;

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

  constructor(cfg: HardwareConfig) {
    super(cfg);
    this.cpus = cfg.cpus;
    this.hugeSeen = new Uint8Array(cfg.cpus);
    this.epoch = new Uint32Array(cfg.cpus);
    this.ctr = new Float64Array(cfg.cpus * NC);
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
      orderTouch(this.a, r1 + hw1, this.g1.ways, w);
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
      orderTouch(this.a, r3 + hw3, this.g3.ways, w);
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
    orderTouch(this.a, g2.base + s2 * g2.rec + g2.hw, g2.ways, w);
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
    orderTouch(this.a, g3.base + s * g3.rec + g3.hw, g3.ways, w);
    this.result(g3, s, w, 0, true);
    this.fill(g2, g2.set(cpu, v2), k2, g2.hint(v2, pcid, 1), this.pfn, this.flags);
    this.pfn += vpn - v2 * HUGE_PAGES;
    this.epoch[cpu]++;
    return true;
  }

  /** Sets pfn (plus off, the 4 KiB page within a 2 MiB entry), flags and huge from way w of set s of array g. */
  private result(g: Geo, s: number, w: number, off: number, huge: boolean): void {
    this.pfn = this.f[g.fbase + s * g.fw + g.pad + w] + off;
    this.flags = this.a[g.base + s * g.rec + g.hw + g.ow + w];
    this.huge = huge;
  }

  /** Count a hit at L1 without a lookup (the MMU's memoized fast path). */
  countL1Hit(cpu: number): void {
    this.ctr[cpu * NC + C_L1_HIT]++;
  }

  /** Install a translation in L1 and STLB (after a walk). huge: a 2 MiB entry; vpn is any vpn inside it and pfn the pfn for that vpn. */
  insert(cpu: number, pcid: number, vpn: number, pfn: Pfn, flags: number, huge: boolean): void {
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
        let w = orderRotateLru(this.a, r1 + this.l1Hw, g1.ways);
        let fk = s1 * this.l1Fw;
        f[fk + w] = k4;
        f[fk + this.l1Pad + w] = pfn;
        a[r1 + this.l1Hw + this.l1Ow + w] = flags;
        let j = r1 + (w >>> 2);
        let sh = (w & 3) << 3;
        a[j] = (a[j] & ~(255 << sh)) | ((((vpn * this.l1Inv) ^ pcid) & 255) << sh);
        const s3 = cpu * this.stSets + (this.stMask >= 0 ? vpn & this.stMask : vpn % this.stSets);
        const r3 = this.stBase + s3 * this.stRec;
        w = orderRotateLru(this.a, r3 + this.stHw, g3.ways);
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
  probe(cpu: number, pcid: number, vpn: number): Pfn {
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
