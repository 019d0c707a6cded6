import { describe, expect, it } from 'vitest';
import { defaultConfig, type MachineConfig } from '../../src/config/machine.js';
import { Tlb, TLB_D, TLB_NX, TLB_U, TLB_W } from '../../src/hw/tlb.js';

function tinyConfig(stlbEntries = 24, stlbWays = 4): MachineConfig {
  const cfg = defaultConfig();
  cfg.cpus = 3;
  cfg.tlb.l1_entries = 8; // 4 sets of 2
  cfg.tlb.l1_ways = 2;
  cfg.tlb.l1_2m_entries = 4; // 2 sets of 2
  cfg.tlb.l1_2m_ways = 2;
  cfg.tlb.stlb_entries = stlbEntries;
  cfg.tlb.stlb_ways = stlbWays;
  return cfg;
}

type Hit = { level: number; pfn: number; flags: number; huge: boolean };
function look(t: Tlb, cpu: number, pcid: number, vpn: number): Hit {
  const level = t.lookup(cpu, pcid, vpn);
  return level === 0 ? { level, pfn: -1, flags: 0, huge: false } : { level, pfn: t.pfn, flags: t.flags, huge: t.huge };
}

function entries(t: Tlb, cpu: number): [number, number, number, boolean][] {
  const out: [number, number, number, boolean][] = [];
  t.forEachEntry(cpu, (pcid, vpn, pfn, huge) => out.push([pcid, vpn, pfn, huge]));
  return out;
}

describe('Tlb (default geometry)', () => {
  const cfg = defaultConfig();
  const l1Sets = cfg.tlb.l1_entries / cfg.tlb.l1_ways;
  const l1hSets = cfg.tlb.l1_2m_entries / cfg.tlb.l1_2m_ways;
  const stlbSets = cfg.tlb.stlb_entries / cfg.tlb.stlb_ways;

  it('misses, then hits at L1 after insert', () => {
    const t = new Tlb(cfg);
    expect(t.lookup(0, 1, 0x1234)).toBe(0);
    t.insert(0, 1, 0x1234, 0x777, TLB_W | TLB_U, false);
    expect(look(t, 0, 1, 0x1234)).toEqual({ level: 1, pfn: 0x777, flags: TLB_W | TLB_U, huge: false });
    expect(t.lookup(1, 1, 0x1234)).toBe(0); // other CPUs have their own TLBs
    expect(t.counters()).toMatchObject({ dtlb_l1_hit: 1, dtlb_l1_miss: 2, stlb_hit: 0, stlb_miss: 2 });
    t.countL1Hit(0);
    expect(t.cpuCounters(0).dtlb_l1_hit).toBe(2);
  });

  it('an STLB hit copies the entry back into the L1', () => {
    const t = new Tlb(cfg);
    const vs = Array.from({ length: cfg.tlb.l1_ways + 1 }, (_, i) => 5 + i * l1Sets);
    vs.forEach((v, i) => t.insert(0, 0, v, 100 + i, TLB_W, false));
    const e = t.epoch[0];
    expect(look(t, 0, 0, vs[0])).toEqual({ level: 2, pfn: 100, flags: TLB_W, huge: false });
    expect(t.epoch[0]).toBe(e + 1);
    expect(t.lookup(0, 0, vs[0])).toBe(1);
    expect(t.epoch[0]).toBe(e + 1); // an L1 hit changes nothing the MMU memoizes
    expect(t.cpuCounters(0)).toMatchObject({ dtlb_l1_hit: 1, dtlb_l1_miss: 1, stlb_hit: 1, stlb_miss: 0 });
  });

  it('a 2 MiB entry covers 512 vpns with the pfn offset', () => {
    const t = new Tlb(cfg);
    const start = 0x200 * 7; // a 2 MiB-aligned vpn
    t.insert(2, 3, start + 17, 0x40000 + 17, TLB_W | TLB_D, true);
    for (const off of [0, 1, 17, 300, 511]) {
      expect(look(t, 2, 3, start + off)).toEqual({ level: 1, pfn: 0x40000 + off, flags: TLB_W | TLB_D, huge: true });
    }
    expect(t.lookup(2, 3, start + 512)).toBe(0);
    expect(t.lookup(2, 3, start - 1)).toBe(0);
    expect(t.probe(2, 3, start + 511)).toBe(0x40000 + 511);
    expect(entries(t, 2)).toEqual([
      [3, start, 0x40000, true],
      [3, start, 0x40000, true],
    ]);
  });

  it('2 MiB entries hit in the STLB and come back into the 2 MiB L1', () => {
    const t = new Tlb(cfg);
    const v2s = Array.from({ length: cfg.tlb.l1_2m_ways + 1 }, (_, i) => 3 + i * l1hSets);
    v2s.forEach((v2, i) => t.insert(0, 0, v2 * 512, 0x1000 * (i + 1), 0, true));
    expect(look(t, 0, 0, v2s[0] * 512 + 9)).toEqual({ level: 2, pfn: 0x1000 + 9, flags: 0, huge: true });
    expect(t.lookup(0, 0, v2s[0] * 512 + 10)).toBe(1);
  });

  it('isolates PCIDs; flushPcid drops one, flushAll every one', () => {
    const t = new Tlb(cfg);
    t.insert(0, 1, 0x50, 111, 0, false);
    t.insert(0, 2, 0x50, 222, 0, false);
    t.insert(0, 2, 0x600, 0x3000, 0, true);
    expect(look(t, 0, 1, 0x50).pfn).toBe(111);
    expect(look(t, 0, 2, 0x50).pfn).toBe(222);
    expect(t.lookup(0, 3, 0x50)).toBe(0);
    const e = t.epoch[0];
    t.flushPcid(0, 2);
    expect(t.epoch[0]).toBe(e + 1);
    expect(t.probe(0, 2, 0x50)).toBe(-1);
    expect(t.probe(0, 2, 0x600)).toBe(-1);
    expect(t.lookup(0, 2, 0x50)).toBe(0);
    expect(look(t, 0, 1, 0x50).pfn).toBe(111);
    expect(entries(t, 0).every(([pcid]) => pcid === 1)).toBe(true);
    t.flushAll(0);
    expect(t.epoch[0]).toBe(e + 2);
    expect(entries(t, 0)).toEqual([]);
    expect(t.counters()).toMatchObject({ tlb_flush_pcid: 1, tlb_flush_all: 1 });
  });

  it('invlpg of a vpn inside a 2 MiB entry drops the whole entry, only for its PCID', () => {
    const t = new Tlb(cfg);
    t.insert(1, 0, 0x400, 0x8000, TLB_W, true);
    t.insert(1, 5, 0x400, 0x9000, TLB_W, true);
    t.insert(1, 0, 0x3ff, 0x1, TLB_W, false);
    const e = t.epoch[1];
    t.invlpg(1, 0, 0x400 + 123);
    expect(t.epoch[1]).toBe(e + 1);
    for (const v of [0x400, 0x400 + 123, 0x5ff]) expect(t.probe(1, 0, v)).toBe(-1);
    expect(t.lookup(1, 0, 0x400 + 7)).toBe(0);
    expect(t.probe(1, 5, 0x400 + 7)).toBe(0x9007);
    expect(t.probe(1, 0, 0x3ff)).toBe(1);
    t.invlpg(1, 0, 0x3ff);
    expect(t.probe(1, 0, 0x3ff)).toBe(-1);
    expect(t.cpuCounters(1).tlb_invlpg).toBe(2);
  });

  it('setFlags updates the entry in every level', () => {
    const t = new Tlb(cfg);
    t.insert(0, 0, 0x10, 0x20, TLB_W, false);
    const e = t.epoch[0];
    t.setFlags(0, 0, 0x10, TLB_W | TLB_D);
    expect(t.epoch[0]).toBe(e + 1);
    expect(look(t, 0, 0, 0x10).flags).toBe(TLB_W | TLB_D);
    // push it out of the L1; the STLB copy has the new flags too
    for (let i = 1; i <= cfg.tlb.l1_ways; i++) t.insert(0, 0, 0x10 + i * l1Sets, 0, 0, false);
    expect(look(t, 0, 0, 0x10)).toEqual({ level: 2, pfn: 0x20, flags: TLB_W | TLB_D, huge: false });
    t.insert(0, 0, 0x800, 0x900, TLB_NX, true);
    t.setFlags(0, 0, 0x8aa, TLB_NX | TLB_U);
    expect(look(t, 0, 0, 0x801).flags).toBe(TLB_NX | TLB_U);
  });

  it('re-inserting a present translation replaces it in place', () => {
    const t = new Tlb(cfg);
    t.insert(0, 0, 0x10, 0x20, 0, false);
    t.insert(0, 0, 0x10, 0x21, TLB_W, false);
    expect(look(t, 0, 0, 0x10)).toEqual({ level: 1, pfn: 0x21, flags: TLB_W, huge: false });
    expect(entries(t, 0)).toEqual([
      [0, 0x10, 0x21, false],
      [0, 0x10, 0x21, false],
    ]);
  });

  it('keeps 47-bit vpns apart (no 32-bit aliasing)', () => {
    const t = new Tlb(cfg);
    const hi = 2 ** 35 - 1;
    const alias = hi - 2 ** 32;
    t.insert(0, 4095, hi, 0xfffff, 0, false);
    expect(t.lookup(0, 4095, alias)).toBe(0);
    t.insert(0, 4095, alias, 0xaaaa, 0, false);
    expect(look(t, 0, 4095, hi).pfn).toBe(0xfffff);
    expect(look(t, 0, 4095, alias).pfn).toBe(0xaaaa);
    t.insert(0, 7, hi, 0x100000, 0, true);
    expect(look(t, 0, 7, hi - 511)).toEqual({ level: 1, pfn: 0x100000 - 511, flags: 0, huge: true });
    expect(entries(t, 0)).toContainEqual([7, hi - 511, 0x100000 - 511, true]);
  });

  it('rejects a geometry that is not a whole number of sets, naming the fields', () => {
    const bad = defaultConfig();
    bad.tlb.stlb_ways = 10;
    expect(() => new Tlb(bad)).toThrow(/tlb\.stlb_entries \/ tlb\.stlb_ways/);
  });

  it('evicts the LRU way of each array', () => {
    const t = new Tlb(cfg);
    // L1 4 KiB: ways lines in one set, touch the oldest, insert one more
    const ws = cfg.tlb.l1_ways;
    const vs = Array.from({ length: ws + 1 }, (_, i) => 9 + i * l1Sets * stlbSets); // one STLB set too
    for (let i = 0; i < ws; i++) t.insert(0, 0, vs[i], i, 0, false);
    expect(t.lookup(0, 0, vs[0])).toBe(1);
    t.insert(0, 0, vs[ws], ws, 0, false);
    for (const i of [0, 2, 3, 4]) expect(t.lookup(0, 0, vs[i])).toBe(1);
    expect(t.lookup(0, 0, vs[1])).toBe(2); // gone from L1, still in the STLB

    // L1 2 MiB
    const hw = cfg.tlb.l1_2m_ways;
    const hs = Array.from({ length: hw + 1 }, (_, i) => (1 + i * l1hSets * stlbSets) * 512);
    for (let i = 0; i < hw; i++) t.insert(1, 0, hs[i], 0, 0, true);
    expect(t.lookup(1, 0, hs[0])).toBe(1);
    t.insert(1, 0, hs[hw], 0, 0, true);
    for (const i of [0, 2, 3, 4]) expect(t.lookup(1, 0, hs[i] + 5)).toBe(1);
    expect(t.lookup(1, 0, hs[1] + 5)).toBe(2);

    // STLB: an STLB hit touches it, an L1 hit does not
    const sw = cfg.tlb.stlb_ways;
    const ss = Array.from({ length: sw + 1 }, (_, i) => 4 + i * stlbSets);
    for (let i = 0; i < sw; i++) t.insert(2, 0, ss[i], i, 0, false);
    expect(t.lookup(2, 0, ss[0])).toBe(2); // long gone from the L1: STLB hit, touched
    expect(t.lookup(2, 0, ss[sw - 1])).toBe(1); // L1 hit: STLB order unchanged
    t.insert(2, 0, ss[sw], sw, 0, false);
    expect(t.probe(2, 0, ss[1])).toBe(-1);
    for (let i = 0; i <= sw; i++) if (i !== 1) expect(t.probe(2, 0, ss[i])).toBe(i);
  });
});

// ---------------------------------------------------------------------------
// Reference model: per CPU three arrays of Map-based LRU sets, keyed by strings.

type E = { pfn: number; flags: number };
class RefTlb {
  arr: Map<string, E>[][][]; // [cpu][array: 0 L1 4K, 1 L1 2M, 2 STLB][set]
  sets: number[];
  ways: number[];
  epoch: number[];
  ctr: Record<string, number>[];
  constructor(cfg: MachineConfig) {
    const t = cfg.tlb;
    this.ways = [t.l1_ways, t.l1_2m_ways, t.stlb_ways];
    this.sets = [t.l1_entries / t.l1_ways, t.l1_2m_entries / t.l1_2m_ways, t.stlb_entries / t.stlb_ways];
    this.arr = Array.from({ length: cfg.cpus }, () => this.sets.map((n) => Array.from({ length: n }, () => new Map())));
    this.epoch = new Array(cfg.cpus).fill(0);
    this.ctr = Array.from({ length: cfg.cpus }, () => ({
      dtlb_l1_hit: 0, dtlb_l1_miss: 0, stlb_hit: 0, stlb_miss: 0, tlb_invlpg: 0, tlb_flush_pcid: 0, tlb_flush_all: 0,
    }));
  }
  set(cpu: number, a: number, tag: number) {
    return this.arr[cpu][a][tag % this.sets[a]];
  }
  put(cpu: number, a: number, tag: number, key: string, e: E) {
    const s = this.set(cpu, a, tag);
    s.delete(key);
    if (s.size >= this.ways[a]) s.delete(s.keys().next().value!);
    s.set(key, e);
  }
  lookup(cpu: number, pcid: number, vpn: number): Hit {
    const v2 = Math.floor(vpn / 512), off = vpn % 512, c = this.ctr[cpu];
    const k4 = `${pcid}:4k:${vpn}`, k2 = `${pcid}:2m:${v2}`;
    const tries: [number, number, string, boolean][] = [[0, vpn, k4, false], [1, v2, k2, true]];
    for (const [a, tag, key, huge] of tries) {
      const s = this.set(cpu, a, tag), e = s.get(key);
      if (!e) continue;
      s.delete(key); s.set(key, e);
      c.dtlb_l1_hit++;
      return { level: 1, pfn: e.pfn + (huge ? off : 0), flags: e.flags, huge };
    }
    c.dtlb_l1_miss++;
    for (const [a, tag, key, huge] of tries) {
      const s = this.set(cpu, 2, tag), e = s.get(key);
      if (!e) continue;
      s.delete(key); s.set(key, e);
      this.put(cpu, a, tag, key, { ...e });
      this.epoch[cpu]++;
      c.stlb_hit++;
      return { level: 2, pfn: e.pfn + (huge ? off : 0), flags: e.flags, huge };
    }
    c.stlb_miss++;
    return { level: 0, pfn: -1, flags: 0, huge: false };
  }
  insert(cpu: number, pcid: number, vpn: number, pfn: number, flags: number, huge: boolean) {
    const v2 = Math.floor(vpn / 512);
    const [a, tag, key, base] = huge ? [1, v2, `${pcid}:2m:${v2}`, pfn - (vpn % 512)] : [0, vpn, `${pcid}:4k:${vpn}`, pfn];
    this.put(cpu, a, tag, key, { pfn: base, flags });
    this.put(cpu, 2, tag, key, { pfn: base, flags });
    this.epoch[cpu]++;
  }
  /** Applies fn to the entries covering vpn in every array. */
  covering(cpu: number, pcid: number, vpn: number, fn: (s: Map<string, E>, key: string) => void) {
    const v2 = Math.floor(vpn / 512), k4 = `${pcid}:4k:${vpn}`, k2 = `${pcid}:2m:${v2}`;
    fn(this.set(cpu, 0, vpn), k4);
    fn(this.set(cpu, 1, v2), k2);
    fn(this.set(cpu, 2, vpn), k4);
    fn(this.set(cpu, 2, v2), k2);
    this.epoch[cpu]++;
  }
  flush(cpu: number, pcid: number) {
    for (const a of this.arr[cpu]) for (const s of a) for (const k of [...s.keys()]) if (pcid < 0 || k.startsWith(`${pcid}:`)) s.delete(k);
    this.epoch[cpu]++;
  }
  probe(cpu: number, pcid: number, vpn: number): number {
    const v2 = Math.floor(vpn / 512), k4 = `${pcid}:4k:${vpn}`, k2 = `${pcid}:2m:${v2}`;
    const e = this.set(cpu, 0, vpn).get(k4) ?? this.set(cpu, 1, v2).get(k2);
    if (e) return e.pfn + (this.set(cpu, 0, vpn).has(k4) ? 0 : vpn % 512);
    const f = this.set(cpu, 2, vpn).get(k4);
    if (f) return f.pfn;
    const g = this.set(cpu, 2, v2).get(k2);
    return g ? g.pfn + (vpn % 512) : -1;
  }
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('Tlb against the reference model', () => {
  const variants: [string, MachineConfig, number][] = [
    ['STLB 6 sets (not a power of two)', tinyConfig(24, 4), 5000],
    ['STLB 8 sets', tinyConfig(32, 4), 5000],
    ['default geometry', defaultConfig(), 20000],
  ];
  for (const [name, cfg, ops] of variants) {
    it(`agrees on every lookup, probe, epoch and counter; invalidation is complete (${name})`, () => {
      for (let seed = 1; seed <= 4; seed++) {
        const r = rng(seed);
        const t = new Tlb(cfg);
        const ref = new RefTlb(cfg);
        const span = cfg.tlb.stlb_entries * 4 * 257; // vpns in play: several times what the STLB holds
        const hiBase = 2 ** 35 - span; // half the runs near the top of the 47-bit space
        const memo = Array.from({ length: cfg.cpus }, () => ({ pcid: -1, vpn: -1, epoch: -1, pfn: 0, flags: 0 }));
        for (let op = 0; op < ops; op++) {
          const cpu = Math.floor(r() * cfg.cpus);
          const pcid = Math.floor(r() * 3);
          // half the time a hot page: more than the L1 holds, less than the STLB, so both levels
          // hit; spread out so that one 2 MiB entry covers few of them
          const vpn = (seed % 2 ? 0 : hiBase) + (r() < 0.5 ? Math.floor(r() * cfg.tlb.l1_entries * 2) * 257 : Math.floor(r() * span));
          const x = r();
          if (x < 0.6) {
            const m = memo[cpu];
            const memoOk = m.pcid === pcid && m.vpn === vpn && m.epoch === t.epoch[cpu];
            const got = look(t, cpu, pcid, vpn);
            expect(got).toEqual(ref.lookup(cpu, pcid, vpn));
            if (memoOk) expect(got).toEqual({ level: 1, pfn: m.pfn, flags: m.flags, huge: got.huge });
            if (got.level === 0) {
              const huge = r() < 0.3;
              const flags = Math.floor(r() * 16);
              const pfn = Math.floor(r() * 2 ** 32);
              t.insert(cpu, pcid, vpn, pfn, flags, huge);
              ref.insert(cpu, pcid, vpn, pfn, flags, huge);
            } else Object.assign(m, { pcid, vpn, epoch: t.epoch[cpu], pfn: got.pfn, flags: got.flags });
          } else if (x < 0.8) {
            expect(t.probe(cpu, pcid, vpn)).toBe(ref.probe(cpu, pcid, vpn));
          } else if (x < 0.88) {
            const flags = Math.floor(r() * 16);
            t.setFlags(cpu, pcid, vpn, flags);
            ref.covering(cpu, pcid, vpn, (s, key) => {
              const e = s.get(key);
              if (e) e.flags = flags;
            });
          } else if (x < 0.985) {
            t.invlpg(cpu, pcid, vpn);
            ref.covering(cpu, pcid, vpn, (s, key) => s.delete(key));
            ref.ctr[cpu].tlb_invlpg++;
            expect(t.probe(cpu, pcid, vpn)).toBe(-1);
            const covering = ([p, v, , h]: [number, number, number, boolean]) =>
              p === pcid && (h ? v <= vpn && vpn < v + 512 : v === vpn);
            expect(entries(t, cpu).filter(covering)).toEqual([]);
          } else if (x < 0.998) {
            t.flushPcid(cpu, pcid);
            ref.flush(cpu, pcid);
            ref.ctr[cpu].tlb_flush_pcid++;
            expect(entries(t, cpu).filter(([p]) => p === pcid)).toEqual([]);
          } else {
            t.flushAll(cpu);
            ref.flush(cpu, -1);
            ref.ctr[cpu].tlb_flush_all++;
            expect(entries(t, cpu)).toEqual([]);
          }
          expect(Array.from(t.epoch)).toEqual(ref.epoch);
        }
        for (let cpu = 0; cpu < cfg.cpus; cpu++) {
          expect(t.cpuCounters(cpu)).toEqual(ref.ctr[cpu]);
          // forEachEntry reports exactly the reference's entries
          const mine = entries(t, cpu).map(([p, v, f, h]) => `${p}:${h ? '2m' : '4k'}:${h ? v / 512 : v}=${f}`).sort();
          const theirs = ref.arr[cpu].flatMap((a) => a.flatMap((s) => [...s].map(([k, e]) => `${k}=${e.pfn}`))).sort();
          expect(mine).toEqual(theirs);
        }
        const tot = t.counters();
        expect(tot.stlb_hit).toBeGreaterThan(50);
        expect(tot.dtlb_l1_hit).toBeGreaterThan(50);
      }
    });
  }
});
