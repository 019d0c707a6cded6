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
 * One Float64 compare per way matches page number, size and PCID at once;
 * -1 marks an empty way. vpn exceeds 2^32, so tags are never shifted with
 * `>>`; `tag & mask` is safe because ToInt32 keeps the low 32 bits, which
 * hold every set-index bit.
 *
 * The TLB charges no cycles: the MMU composes costs (cfg.cost.stlb_hit,
 * invlpg, tlb_flush_*). Callers pass valid CPU numbers, PCIDs 0..4095 and
 * vpns below 2^35; the hot path checks nothing.
 */
import type { MachineConfig } from './config.js';

export const TLB_W = 1,
  TLB_U = 2,
  TLB_D = 4,
  TLB_NX = 8;

/** PCID values: CR3 holds a 12-bit PCID. */
const PCIDS = 4096;
/** 4 KiB pages in a 2 MiB page. */
const HUGE_PAGES = 512;

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

/**
 * One set-associative array for all CPUs: CPU c's sets are contiguous from
 * c * perCpu. Empty ways hold key -1 and stamp 0, so the LRU victim scan
 * (smallest stamp) takes an empty way first.
 */
class TlbArray {
  readonly sets: number;
  readonly ways: number;
  /** sets - 1 when sets is a power of two, else -1 (index with %). */
  readonly mask: number;
  readonly perCpu: number;
  readonly key: Float64Array;
  readonly pfn: Float64Array;
  readonly flags: Uint8Array;
  readonly stamp: Float64Array;
  /** LRU clock: every touch takes the next value. */
  clock = 0;

  constructor(cpus: number, entries: number, ways: number, field: string) {
    const sets = entries / ways;
    if (!Number.isInteger(sets) || sets < 1) {
      throw new Error(`tlb.${field}_entries / tlb.${field}_ways: ${entries} entries in ${ways} ways is not a whole number of sets`);
    }
    this.sets = sets;
    this.ways = ways;
    this.mask = (sets & (sets - 1)) === 0 ? sets - 1 : -1;
    this.perCpu = entries;
    this.key = new Float64Array(cpus * entries).fill(-1);
    this.pfn = new Float64Array(cpus * entries);
    this.flags = new Uint8Array(cpus * entries);
    this.stamp = new Float64Array(cpus * entries);
  }

  /** First slot of the set that `tag` maps to. */
  base(cpu: number, tag: number): number {
    const set = this.mask >= 0 ? tag & this.mask : tag % this.sets;
    return cpu * this.perCpu + set * this.ways;
  }

  find(b: number, key: number): number {
    const k = this.key;
    for (let i = b, e = b + this.ways; i < e; i++) if (k[i] === key) return i;
    return -1;
  }

  /** Installs or refreshes an entry in the set at b, evicting the LRU way if needed. */
  put(b: number, key: number, pfn: number, flags: number): void {
    let v = this.find(b, key);
    if (v < 0) {
      const st = this.stamp;
      v = b;
      for (let i = b + 1, e = b + this.ways; i < e; i++) if (st[i] < st[v]) v = i;
      this.key[v] = key;
    }
    this.pfn[v] = pfn;
    this.flags[v] = flags;
    this.stamp[v] = ++this.clock;
  }

  drop(b: number, key: number): void {
    const i = this.find(b, key);
    if (i >= 0) {
      this.key[i] = -1;
      this.stamp[i] = 0;
    }
  }

  setFlags(b: number, key: number, flags: number): void {
    const i = this.find(b, key);
    if (i >= 0) this.flags[i] = flags;
  }

  flushPcid(cpu: number, pcid: number): void {
    const k = this.key;
    for (let i = cpu * this.perCpu, e = i + this.perCpu; i < e; i++) {
      if (k[i] >= 0 && k[i] % PCIDS === pcid) {
        k[i] = -1;
        this.stamp[i] = 0;
      }
    }
  }

  flushAll(cpu: number): void {
    const b = cpu * this.perCpu;
    this.key.fill(-1, b, b + this.perCpu);
    this.stamp.fill(0, b, b + this.perCpu);
  }

  forEach(cpu: number, fn: (pcid: number, vpn: number, pfn: number, huge: boolean) => void): void {
    for (let i = cpu * this.perCpu, e = i + this.perCpu; i < e; i++) {
      const key = this.key[i];
      if (key < 0) continue;
      const pcid = key % PCIDS;
      const tagHuge = (key - pcid) / PCIDS;
      const huge = tagHuge % 2 === 1;
      const tag = (tagHuge - (huge ? 1 : 0)) / 2;
      fn(pcid, huge ? tag * HUGE_PAGES : tag, this.pfn[i], huge);
    }
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

  private readonly l1: TlbArray;
  private readonly l1h: TlbArray;
  private readonly stlb: TlbArray;
  private readonly ctr: Float64Array;

  constructor(cfg: MachineConfig) {
    const t = cfg.tlb;
    this.cpus = cfg.cpus;
    this.l1 = new TlbArray(cfg.cpus, t.l1_entries, t.l1_ways, 'l1');
    this.l1h = new TlbArray(cfg.cpus, t.l1_2m_entries, t.l1_2m_ways, 'l1_2m');
    this.stlb = new TlbArray(cfg.cpus, t.stlb_entries, t.stlb_ways, 'stlb');
    this.epoch = new Uint32Array(cfg.cpus);
    this.ctr = new Float64Array(cfg.cpus * NC);
  }

  /** Timed lookup. Returns the level that hit: 1 (L1), 2 (STLB; the entry is then
   *  copied into the L1), 0 (miss). On a hit, `this.pfn` and `this.flags` hold the
   *  translation for vpn (for 2 MiB entries already offset by vpn % 512) and
   *  `this.huge` tells the size. Updates LRU and counters. */
  lookup(cpu: number, pcid: number, vpn: number): number {
    const ctr = this.ctr;
    const cb = cpu * NC;
    const l1 = this.l1;
    const k4 = vpn * (2 * PCIDS) + pcid;
    const b4 = l1.base(cpu, vpn);
    let i = l1.find(b4, k4);
    if (i >= 0) {
      l1.stamp[i] = ++l1.clock;
      this.pfn = l1.pfn[i];
      this.flags = l1.flags[i];
      this.huge = false;
      ctr[cb + C_L1_HIT]++;
      return 1;
    }
    const l1h = this.l1h;
    const v2 = Math.floor(vpn / HUGE_PAGES);
    const off = vpn - v2 * HUGE_PAGES;
    const k2 = v2 * (2 * PCIDS) + PCIDS + pcid;
    const b2 = l1h.base(cpu, v2);
    i = l1h.find(b2, k2);
    if (i >= 0) {
      l1h.stamp[i] = ++l1h.clock;
      this.pfn = l1h.pfn[i] + off;
      this.flags = l1h.flags[i];
      this.huge = true;
      ctr[cb + C_L1_HIT]++;
      return 1;
    }
    ctr[cb + C_L1_MISS]++;

    const st = this.stlb;
    i = st.find(st.base(cpu, vpn), k4);
    if (i >= 0) {
      st.stamp[i] = ++st.clock;
      const pfn = st.pfn[i];
      const flags = st.flags[i];
      l1.put(b4, k4, pfn, flags);
      this.epoch[cpu]++;
      this.pfn = pfn;
      this.flags = flags;
      this.huge = false;
      ctr[cb + C_STLB_HIT]++;
      return 2;
    }
    i = st.find(st.base(cpu, v2), k2);
    if (i >= 0) {
      st.stamp[i] = ++st.clock;
      const pfn = st.pfn[i];
      const flags = st.flags[i];
      l1h.put(b2, k2, pfn, flags);
      this.epoch[cpu]++;
      this.pfn = pfn + off;
      this.flags = flags;
      this.huge = true;
      ctr[cb + C_STLB_HIT]++;
      return 2;
    }
    ctr[cb + C_STLB_MISS]++;
    return 0;
  }

  /** Count a hit at L1 without a lookup (the MMU's memoized fast path). */
  countL1Hit(cpu: number): void {
    this.ctr[cpu * NC + C_L1_HIT]++;
  }

  /** Install a translation in L1 and STLB (after a walk). huge: a 2 MiB entry; vpn is any vpn inside it and pfn the pfn for that vpn. */
  insert(cpu: number, pcid: number, vpn: number, pfn: number, flags: number, huge: boolean): void {
    if (huge) {
      const v2 = Math.floor(vpn / HUGE_PAGES);
      const base = pfn - (vpn - v2 * HUGE_PAGES);
      const k2 = v2 * (2 * PCIDS) + PCIDS + pcid;
      this.l1h.put(this.l1h.base(cpu, v2), k2, base, flags);
      this.stlb.put(this.stlb.base(cpu, v2), k2, base, flags);
    } else {
      const k4 = vpn * (2 * PCIDS) + pcid;
      this.l1.put(this.l1.base(cpu, vpn), k4, pfn, flags);
      this.stlb.put(this.stlb.base(cpu, vpn), k4, pfn, flags);
    }
    this.epoch[cpu]++;
  }

  /** Update the flags of a present entry (e.g. set TLB_D after the walker set the dirty bit). */
  setFlags(cpu: number, pcid: number, vpn: number, flags: number): void {
    const k4 = vpn * (2 * PCIDS) + pcid;
    const v2 = Math.floor(vpn / HUGE_PAGES);
    const k2 = v2 * (2 * PCIDS) + PCIDS + pcid;
    this.l1.setFlags(this.l1.base(cpu, vpn), k4, flags);
    this.l1h.setFlags(this.l1h.base(cpu, v2), k2, flags);
    this.stlb.setFlags(this.stlb.base(cpu, vpn), k4, flags);
    this.stlb.setFlags(this.stlb.base(cpu, v2), k2, flags);
    this.epoch[cpu]++;
  }

  /** INVLPG: drop the 4 KiB and 2 MiB entries covering vpn for this pcid from L1 and STLB. */
  invlpg(cpu: number, pcid: number, vpn: number): void {
    const k4 = vpn * (2 * PCIDS) + pcid;
    const v2 = Math.floor(vpn / HUGE_PAGES);
    const k2 = v2 * (2 * PCIDS) + PCIDS + pcid;
    this.l1.drop(this.l1.base(cpu, vpn), k4);
    this.l1h.drop(this.l1h.base(cpu, v2), k2);
    this.stlb.drop(this.stlb.base(cpu, vpn), k4);
    this.stlb.drop(this.stlb.base(cpu, v2), k2);
    this.epoch[cpu]++;
    this.ctr[cpu * NC + C_INVLPG]++;
  }

  /** Drop every entry of one PCID (INVPCID single-context). */
  flushPcid(cpu: number, pcid: number): void {
    this.l1.flushPcid(cpu, pcid);
    this.l1h.flushPcid(cpu, pcid);
    this.stlb.flushPcid(cpu, pcid);
    this.epoch[cpu]++;
    this.ctr[cpu * NC + C_FLUSH_PCID]++;
  }

  /** Drop every entry of every PCID. */
  flushAll(cpu: number): void {
    this.l1.flushAll(cpu);
    this.l1h.flushAll(cpu);
    this.stlb.flushAll(cpu);
    this.epoch[cpu]++;
    this.ctr[cpu * NC + C_FLUSH_ALL]++;
  }

  /** Functional lookup: no LRU update, no counters. Returns pfn or -1. */
  probe(cpu: number, pcid: number, vpn: number): number {
    const k4 = vpn * (2 * PCIDS) + pcid;
    const v2 = Math.floor(vpn / HUGE_PAGES);
    const off = vpn - v2 * HUGE_PAGES;
    const k2 = v2 * (2 * PCIDS) + PCIDS + pcid;
    let i = this.l1.find(this.l1.base(cpu, vpn), k4);
    if (i >= 0) return this.l1.pfn[i];
    i = this.l1h.find(this.l1h.base(cpu, v2), k2);
    if (i >= 0) return this.l1h.pfn[i] + off;
    i = this.stlb.find(this.stlb.base(cpu, vpn), k4);
    if (i >= 0) return this.stlb.pfn[i];
    i = this.stlb.find(this.stlb.base(cpu, v2), k2);
    if (i >= 0) return this.stlb.pfn[i] + off;
    return -1;
  }

  /** Every valid entry of a CPU (L1 4 KiB, L1 2 MiB, then STLB; an entry in both levels is reported twice), for invariant checks: calls fn(pcid, vpn, pfn, huge) with vpn/pfn of the first 4 KiB page of the entry. */
  forEachEntry(cpu: number, fn: (pcid: number, vpn: number, pfn: number, huge: boolean) => void): void {
    this.l1.forEach(cpu, fn);
    this.l1h.forEach(cpu, fn);
    this.stlb.forEach(cpu, fn);
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
