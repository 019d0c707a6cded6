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
 * an empty way. Keys, an 8-bit hint per way and the LRU order live in
 * SetAssoc (assoc.ts), which compares full keys only where a hint matches.
 * vpn exceeds 2^32, so tags are never shifted with `>>`; `tag & mask` is
 * safe because ToInt32 keeps the low 32 bits, which hold every set-index bit.
 * lookup() tries the MRU way of the 4 KiB L1 set first and is kept small so
 * that the MMU can inline it; the rest of a lookup is in missL1().
 *
 * The TLB charges no cycles: the MMU composes costs (cfg.cost.stlb_hit,
 * invlpg, tlb_flush_*). Callers pass valid CPU numbers, PCIDs 0..4095 and
 * vpns below 2^35; the hot path checks nothing.
 */
import { SetAssoc } from './assoc.js';
import type { MachineConfig } from './config.js';
import { MAX_WAYS } from './lru.js';

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
 * One set-associative array for all CPUs: CPU c's set s is set
 * c * sets + s of the SetAssoc. The hint is 8 bits of the tag above the set
 * index mixed with the PCID and the size bit.
 */
class TlbArray {
  readonly a: SetAssoc;
  readonly sets: number;
  readonly ways: number;
  /** sets - 1 when sets is a power of two, else -1 (index with %). */
  readonly mask: number;
  readonly inv: number;
  readonly pfn: Float64Array;
  readonly flags: Uint8Array;

  constructor(cpus: number, entries: number, ways: number, field: string) {
    const sets = entries / ways;
    if (!Number.isInteger(ways) || ways < 1 || ways > MAX_WAYS || !Number.isInteger(sets) || sets < 1) {
      throw new Error(
        `tlb.${field}_entries / tlb.${field}_ways: ${entries} entries in ${ways} ways must make a whole number of sets, with 1..${MAX_WAYS} ways`,
      );
    }
    this.a = new SetAssoc(cpus * sets, ways);
    this.sets = sets;
    this.ways = ways;
    this.mask = (sets & (sets - 1)) === 0 ? sets - 1 : -1;
    this.inv = 1 / sets;
    this.pfn = new Float64Array(cpus * entries);
    this.flags = new Uint8Array(cpus * entries);
  }

  /** Set of CPU cpu that `tag` maps to. */
  set(cpu: number, tag: number): number {
    return cpu * this.sets + (this.mask >= 0 ? tag & this.mask : tag % this.sets);
  }

  hint(tag: number, pcid: number, huge: number): number {
    return ((tag * this.inv) ^ pcid ^ (huge << 7)) & 255;
  }

  /** Slot holding key in set s, or -1. */
  find(s: number, key: number, k: number): number {
    const w = this.a.find(s, key, k);
    return w < 0 ? -1 : s * this.ways + w;
  }

  /** Installs or refreshes an entry in set s, evicting the LRU way if needed; makes it MRU. */
  put(s: number, key: number, k: number, pfn: number, flags: number): void {
    let w = this.a.find(s, key, k);
    if (w < 0) w = this.a.lru.lru(s);
    this.a.put(s, w, key, k);
    const i = s * this.ways + w;
    this.pfn[i] = pfn;
    this.flags[i] = flags;
  }

  drop(s: number, key: number, k: number): void {
    const w = this.a.find(s, key, k);
    if (w >= 0) this.a.clear(s, w);
  }

  setFlags(s: number, key: number, k: number, flags: number): void {
    const w = this.a.find(s, key, k);
    if (w >= 0) this.flags[s * this.ways + w] = flags;
  }

  flushPcid(cpu: number, pcid: number): void {
    const key = this.a.key;
    for (let s = cpu * this.sets, e = s + this.sets; s < e; s++) {
      for (let w = 0; w < this.ways; w++) {
        const kv = key[s * this.ways + w];
        if (kv >= 0 && kv % PCIDS === pcid) this.a.clear(s, w);
      }
    }
  }

  /** Empties every entry of a CPU; the LRU order of a set of empty ways does not matter. */
  flushAll(cpu: number): void {
    const n = this.sets * this.ways;
    this.a.key.fill(-1, cpu * n, (cpu + 1) * n);
  }

  forEach(cpu: number, fn: (pcid: number, vpn: number, pfn: number, huge: boolean) => void): void {
    const n = this.sets * this.ways;
    for (let i = cpu * n, e = i + n; i < e; i++) {
      const key = this.a.key[i];
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
    const l1 = this.l1;
    const s4 = l1.set(cpu, vpn);
    const k4 = vpn * (2 * PCIDS) + pcid;
    // the MRU way first: the MMU asks for one page many times in a row
    let w = l1.a.lru.mru(s4);
    if (l1.a.key[s4 * l1.ways + w] !== k4) {
      w = l1.a.find(s4, k4, l1.hint(vpn, pcid, 0));
      if (w < 0) return this.missL1(cpu, pcid, vpn, s4, k4);
      l1.a.lru.touch(s4, w);
    }
    const i = s4 * l1.ways + w;
    this.pfn = l1.pfn[i];
    this.flags = l1.flags[i];
    this.huge = false;
    this.ctr[cpu * NC + C_L1_HIT]++;
    return 1;
  }

  /** lookup() after a miss in the 4 KiB L1: the 2 MiB L1, then the STLB. */
  private missL1(cpu: number, pcid: number, vpn: number, s4: number, k4: number): number {
    const ctr = this.ctr;
    const cb = cpu * NC;
    const l1h = this.l1h;
    const v2 = Math.floor(vpn / HUGE_PAGES);
    const off = vpn - v2 * HUGE_PAGES;
    const k2 = v2 * (2 * PCIDS) + PCIDS + pcid;
    const s2 = l1h.set(cpu, v2);
    const h2 = l1h.hint(v2, pcid, 1);
    let i = l1h.find(s2, k2, h2);
    if (i >= 0) {
      l1h.a.lru.touch(s2, i - s2 * l1h.ways);
      this.pfn = l1h.pfn[i] + off;
      this.flags = l1h.flags[i];
      this.huge = true;
      ctr[cb + C_L1_HIT]++;
      return 1;
    }
    ctr[cb + C_L1_MISS]++;

    const st = this.stlb;
    let s = st.set(cpu, vpn);
    i = st.find(s, k4, st.hint(vpn, pcid, 0));
    if (i >= 0) {
      st.a.lru.touch(s, i - s * st.ways);
      const pfn = st.pfn[i];
      const flags = st.flags[i];
      this.l1.put(s4, k4, this.l1.hint(vpn, pcid, 0), pfn, flags);
      this.epoch[cpu]++;
      this.pfn = pfn;
      this.flags = flags;
      this.huge = false;
      ctr[cb + C_STLB_HIT]++;
      return 2;
    }
    s = st.set(cpu, v2);
    i = st.find(s, k2, st.hint(v2, pcid, 1));
    if (i >= 0) {
      st.a.lru.touch(s, i - s * st.ways);
      const pfn = st.pfn[i];
      const flags = st.flags[i];
      l1h.put(s2, k2, h2, pfn, flags);
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
      this.l1h.put(this.l1h.set(cpu, v2), k2, this.l1h.hint(v2, pcid, 1), base, flags);
      this.stlb.put(this.stlb.set(cpu, v2), k2, this.stlb.hint(v2, pcid, 1), base, flags);
    } else {
      const k4 = vpn * (2 * PCIDS) + pcid;
      this.l1.put(this.l1.set(cpu, vpn), k4, this.l1.hint(vpn, pcid, 0), pfn, flags);
      this.stlb.put(this.stlb.set(cpu, vpn), k4, this.stlb.hint(vpn, pcid, 0), pfn, flags);
    }
    this.epoch[cpu]++;
  }

  /** Update the flags of a present entry (e.g. set TLB_D after the walker set the dirty bit). */
  setFlags(cpu: number, pcid: number, vpn: number, flags: number): void {
    const k4 = vpn * (2 * PCIDS) + pcid;
    const v2 = Math.floor(vpn / HUGE_PAGES);
    const k2 = v2 * (2 * PCIDS) + PCIDS + pcid;
    const { l1, l1h, stlb } = this;
    l1.setFlags(l1.set(cpu, vpn), k4, l1.hint(vpn, pcid, 0), flags);
    l1h.setFlags(l1h.set(cpu, v2), k2, l1h.hint(v2, pcid, 1), flags);
    stlb.setFlags(stlb.set(cpu, vpn), k4, stlb.hint(vpn, pcid, 0), flags);
    stlb.setFlags(stlb.set(cpu, v2), k2, stlb.hint(v2, pcid, 1), flags);
    this.epoch[cpu]++;
  }

  /** INVLPG: drop the 4 KiB and 2 MiB entries covering vpn for this pcid from L1 and STLB. */
  invlpg(cpu: number, pcid: number, vpn: number): void {
    const k4 = vpn * (2 * PCIDS) + pcid;
    const v2 = Math.floor(vpn / HUGE_PAGES);
    const k2 = v2 * (2 * PCIDS) + PCIDS + pcid;
    const { l1, l1h, stlb } = this;
    l1.drop(l1.set(cpu, vpn), k4, l1.hint(vpn, pcid, 0));
    l1h.drop(l1h.set(cpu, v2), k2, l1h.hint(v2, pcid, 1));
    stlb.drop(stlb.set(cpu, vpn), k4, stlb.hint(vpn, pcid, 0));
    stlb.drop(stlb.set(cpu, v2), k2, stlb.hint(v2, pcid, 1));
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
    const { l1, l1h, stlb } = this;
    let i = l1.find(l1.set(cpu, vpn), k4, l1.hint(vpn, pcid, 0));
    if (i >= 0) return l1.pfn[i];
    i = l1h.find(l1h.set(cpu, v2), k2, l1h.hint(v2, pcid, 1));
    if (i >= 0) return l1h.pfn[i] + off;
    i = stlb.find(stlb.set(cpu, vpn), k4, stlb.hint(vpn, pcid, 0));
    if (i >= 0) return stlb.pfn[i];
    i = stlb.find(stlb.set(cpu, v2), k2, stlb.hint(v2, pcid, 1));
    if (i >= 0) return stlb.pfn[i] + off;
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
