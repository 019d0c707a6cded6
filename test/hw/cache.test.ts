import { describe, expect, it } from 'vitest';
import { CacheHierarchy } from '../../src/hw/cache.js';
import { defaultConfig, type MachineConfig } from '../../src/config/machine.js';

/** Small caches so that a few hundred lines exercise every eviction path. */
function tinyConfig(cpus = 4): MachineConfig {
  const cfg = defaultConfig();
  cfg.cpus = cpus;
  cfg.cache.line_bytes = 64;
  cfg.cache.l1d_kib = 1; // 16 lines, 4 ways -> 4 sets
  cfg.cache.l1d_ways = 4;
  cfg.cache.l2_kib = 2; // 32 lines, 4 ways -> 8 sets
  cfg.cache.l2_ways = 4;
  cfg.cache.llc_kib = 4; // 64 lines, 8 ways -> 8 sets
  cfg.cache.llc_ways = 8;
  return cfg;
}

function sets(kib: number, ways: number, lineBytes: number): number {
  return (kib * 1024) / lineBytes / ways;
}

describe('CacheHierarchy latencies (default config)', () => {
  const cfg = defaultConfig();
  const k = cfg.cost;
  const lb = cfg.cache.line_bytes;
  const l1Sets = sets(cfg.cache.l1d_kib, cfg.cache.l1d_ways, lb);

  it('DRAM miss, then L1 hit', () => {
    const c = new CacheHierarchy(cfg);
    expect(c.access(0, 0x1000, false)).toBe(k.llc_hit + k.dram);
    expect(c.access(0, 0x1008, false)).toBe(k.l1d_hit);
    expect(c.probe(0, 0x1000)).toBe('l1');
    expect(c.probe(1, 0x1000)).toBe('llc');
    expect(c.counters()).toMatchObject({ l1d_hit: 1, l1d_miss: 1, l2_miss: 1, llc_miss: 1 });
  });

  it('L2 hit after the line left L1 (l2_hit is the whole latency)', () => {
    const c = new CacheHierarchy(cfg);
    const a = 5;
    c.accessLine(0, a, false);
    // l1d_ways more lines in a's L1 set, each in another L2 set
    for (let i = 1; i <= cfg.cache.l1d_ways; i++) c.accessLine(0, a + i * l1Sets, false);
    expect(c.probe(0, a * lb)).toBe('l2');
    expect(c.accessLine(0, a, false)).toBe(k.l2_hit);
    expect(c.probe(0, a * lb)).toBe('l1');
  });

  it('LLC hit for a line another CPU brought in', () => {
    const c = new CacheHierarchy(cfg);
    c.accessLine(0, 7, false);
    expect(c.accessLine(1, 7, false)).toBe(k.llc_hit);
    expect(c.sharers(7 * lb)).toEqual({ cpus: [0, 1], owner: -1 });
  });

  it('reading a line another CPU wrote pays a cache-to-cache transfer and downgrades the owner', () => {
    const c = new CacheHierarchy(cfg);
    expect(c.accessLine(0, 9, true)).toBe(k.llc_hit + k.dram);
    expect(c.sharers(9 * lb)).toEqual({ cpus: [0], owner: 0 });
    const e0 = c.epoch[0];
    expect(c.accessLine(1, 9, false)).toBe(k.llc_hit + k.c2c_transfer);
    expect(c.sharers(9 * lb)).toEqual({ cpus: [0, 1], owner: -1 });
    expect(c.epoch[0]).toBe(e0 + 1);
    expect(c.probe(0, 9 * lb)).toBe('l1'); // the owner keeps its copy
    // the downgraded copy is no longer Modified: writing it again must invalidate CPU 1
    expect(c.accessLine(0, 9, true)).toBe(k.l1d_hit + k.c2c_transfer);
    expect(c.cpuCounters(1).c2c_transfer).toBe(1);
    expect(c.cpuCounters(0).c2c_transfer).toBe(1);
  });

  it('writing a shared line invalidates the other copies once; their next read pays again', () => {
    const c = new CacheHierarchy(cfg);
    for (let cpu = 0; cpu < 4; cpu++) c.accessLine(cpu, 11, false);
    const before = Array.from(c.epoch);
    expect(c.accessLine(2, 11, true)).toBe(k.l1d_hit + k.c2c_transfer);
    expect(c.sharers(11 * lb)).toEqual({ cpus: [2], owner: 2 });
    for (const cpu of [0, 1, 3]) {
      expect(c.probe(cpu, 11 * lb)).toBe('llc');
      expect(c.epoch[cpu]).toBe(before[cpu] + 1);
    }
    expect(c.epoch[2]).toBe(before[2]);
    expect(c.cpuCounters(2)).toMatchObject({ c2c_transfer: 1, coherence_invalidations: 3 });
    // writing again while Modified costs an L1 hit
    expect(c.accessLine(2, 11, true)).toBe(k.l1d_hit);
    // CPU 0's next read finds it Modified in CPU 2
    expect(c.accessLine(0, 11, false)).toBe(k.llc_hit + k.c2c_transfer);
  });

  it('epoch: CPU 1 writing a line CPU 0 holds bumps epoch[0] only; CPU 0\'s own accesses do not', () => {
    const c = new CacheHierarchy(cfg);
    c.accessLine(0, 21, false);
    c.accessLine(0, 21, true);
    c.accessLine(0, 22, false);
    expect(Array.from(c.epoch)).toEqual([0, 0, 0, 0]);
    c.accessLine(1, 22, false); // sharing a clean line changes nothing of CPU 0's
    expect(c.epoch[0]).toBe(0);
    c.accessLine(1, 21, true);
    expect(Array.from(c.epoch)).toEqual([1, 0, 0, 0]);
    expect(c.probe(0, 21 * lb)).toBe('llc');
  });

  it('a write that misses to a line Modified elsewhere pays one transfer', () => {
    const c = new CacheHierarchy(cfg);
    c.accessLine(0, 13, true);
    expect(c.accessLine(1, 13, true)).toBe(k.llc_hit + k.c2c_transfer);
    expect(c.sharers(13 * lb)).toEqual({ cpus: [1], owner: 1 });
    expect(c.probe(0, 13 * lb)).toBe('llc');
  });

  it('a write to a line no one else holds costs no transfer', () => {
    const c = new CacheHierarchy(cfg);
    c.accessLine(0, 15, false);
    expect(c.accessLine(0, 15, true)).toBe(k.l1d_hit);
    expect(c.sharers(15 * lb).owner).toBe(0);
    expect(c.counters().c2c_transfer).toBe(0);
  });

  it('hitSame counts an L1 hit', () => {
    const c = new CacheHierarchy(cfg);
    c.accessLine(3, 1, false);
    expect(c.hitSame(3)).toBe(k.l1d_hit);
    expect(c.cpuCounters(3).l1d_hit).toBe(1);
  });

  it('keeps full line numbers above 2^32 (no aliasing)', () => {
    const c = new CacheHierarchy(cfg);
    const hi = 2 ** 44 - lb;
    expect(c.access(0, hi, false)).toBe(k.llc_hit + k.dram);
    const line = hi / lb;
    const alias = line - 2 ** 32; // same low 32 bits
    expect(c.accessLine(0, alias, false)).toBe(k.llc_hit + k.dram);
    expect(c.access(0, hi, false)).toBe(k.l1d_hit);
    expect(c.probe(0, hi)).toBe('l1');
  });

  it('invalidateFrame drops every line of the frame everywhere', () => {
    const c = new CacheHierarchy(cfg);
    const pfn = 3;
    const perFrame = 4096 / lb;
    for (let i = 0; i < perFrame; i++) c.access(i % cfg.cpus, pfn * 4096 + i * lb, i % 3 === 0);
    c.access(0, (pfn + 1) * 4096, false);
    const before = Array.from(c.epoch);
    c.invalidateFrame(pfn);
    for (let i = 0; i < perFrame; i++) {
      for (let cpu = 0; cpu < cfg.cpus; cpu++) expect(c.probe(cpu, pfn * 4096 + i * lb)).toBe('none');
      expect(c.sharers(pfn * 4096 + i * lb)).toEqual({ cpus: [], owner: -1 });
    }
    expect(c.probe(0, (pfn + 1) * 4096)).toBe('l1');
    for (let cpu = 0; cpu < cfg.cpus; cpu++) expect(c.epoch[cpu]).toBeGreaterThan(before[cpu]);
    expect(c.access(1, pfn * 4096, false)).toBe(k.llc_hit + k.dram);
  });

  it('rejects a set count that is not a power of two, naming the field', () => {
    const bad = defaultConfig();
    bad.cache.l2_kib = 768; // 768 KiB / 64 B / 16 ways = 768 sets
    expect(() => new CacheHierarchy(bad)).toThrow(/cache\.l2_kib \/ cache\.l2_ways/);
    const bad2 = defaultConfig();
    bad2.cache.llc_ways = 12;
    expect(() => new CacheHierarchy(bad2)).toThrow(/cache\.llc_kib \/ cache\.llc_ways/);
  });

  it('supports 256 CPUs (eight sharer words per line)', () => {
    const big = defaultConfig();
    big.cpus = 256;
    big.cache.l2_kib = 64;
    const c = new CacheHierarchy(big);
    for (const cpu of [0, 31, 32, 200, 255]) c.accessLine(cpu, 42, false);
    expect(c.sharers(42 * lb)).toEqual({ cpus: [0, 31, 32, 200, 255], owner: -1 });
    expect(c.accessLine(200, 42, true)).toBe(k.l1d_hit + k.c2c_transfer);
    expect(c.sharers(42 * lb)).toEqual({ cpus: [200], owner: 200 });
    expect(c.cpuCounters(200).coherence_invalidations).toBe(4);
    expect(c.accessLine(255, 42, false)).toBe(k.llc_hit + k.c2c_transfer);
    expect(c.epoch[200]).toBe(1);
  });
});

describe('CacheHierarchy inclusion and LRU (tiny config)', () => {
  const cfg = tinyConfig();
  const lb = cfg.cache.line_bytes;
  const l1Sets = sets(cfg.cache.l1d_kib, cfg.cache.l1d_ways, lb); // 4
  const l2Sets = sets(cfg.cache.l2_kib, cfg.cache.l2_ways, lb); // 8
  const llcSets = sets(cfg.cache.llc_kib, cfg.cache.llc_ways, lb); // 8
  const k = cfg.cost;
  const where = (c: CacheHierarchy, cpu: number, line: number) => c.probe(cpu, line * lb);

  it('L1 evicts its least recently used way', () => {
    const c = new CacheHierarchy(cfg);
    // lines in L1 set 1, each in its own L2 set pair so L2 keeps them all
    const ls = Array.from({ length: cfg.cache.l1d_ways + 1 }, (_, i) => 1 + i * l1Sets);
    for (let i = 0; i < cfg.cache.l1d_ways; i++) c.accessLine(0, ls[i], false);
    expect(c.accessLine(0, ls[0], false)).toBe(k.l1d_hit); // touch the oldest
    c.accessLine(0, ls[cfg.cache.l1d_ways], false);
    expect(where(c, 0, ls[1])).toBe('l2');
    for (const i of [0, 2, 3, 4]) expect(where(c, 0, ls[i])).toBe('l1');
  });

  it('L2 evicts its LRU way and takes it out of L1 too (inclusion)', () => {
    const c2 = tinyConfig();
    c2.cache.l2_kib = 4; // 64 lines, 8 ways -> 8 sets: more ways than L1
    c2.cache.l2_ways = 8;
    c2.cache.llc_kib = 16; // 256 lines, 8 ways -> 32 sets: an L2 set spreads over four LLC sets
    const c = new CacheHierarchy(c2);
    const s2 = sets(c2.cache.l2_kib, c2.cache.l2_ways, lb);
    const ls = Array.from({ length: 9 }, (_, i) => 2 + i * s2); // one L1 and L2 set
    for (let i = 0; i < 8; i++) c.accessLine(0, ls[i], false);
    expect(where(c, 0, ls[0])).toBe('l2');
    expect(c.accessLine(0, ls[0], false)).toBe(k.l2_hit); // touch in L2
    c.accessLine(0, ls[8], false);
    expect(where(c, 0, ls[1])).toBe('llc');
    expect(c.sharers(ls[1] * lb).cpus).toEqual([]);
    for (const i of [0, 2, 3, 4, 5, 6, 7, 8]) expect(where(c, 0, ls[i])).not.toBe('llc');

    // an L2 victim that is still in L1 leaves L1 as well
    const d = new CacheHierarchy(cfg); // L1 and L2 both 4-way: a line can be MRU in L1 and LRU in L2
    const m = Array.from({ length: 5 }, (_, i) => 3 + i * l2Sets);
    for (let i = 0; i < 4; i++) d.accessLine(0, m[i], false);
    d.accessLine(0, m[0], false); // L1 hit: L1 MRU, still L2 LRU
    d.accessLine(0, m[4], false);
    expect(where(d, 0, m[0])).toBe('llc');
  });

  it('LLC evicts its LRU line and back-invalidates every private copy', () => {
    const c = new CacheHierarchy(cfg);
    const ways = cfg.cache.llc_ways;
    const ls = Array.from({ length: ways + 1 }, (_, i) => 4 + i * llcSets);
    // CPUs 0..3 each bring two lines of LLC set 4 (private caches keep them all)
    for (let i = 0; i < ways; i++) c.accessLine(i % 4, ls[i], i === 1);
    c.accessLine(2, ls[1], false); // another CPU's LLC hit touches ls[1]; it was written by CPU 1
    c.accessLine(3, ls[0], false); // LLC hit touches ls[0]
    // now ls[2] is the LLC's LRU line, held by CPU 2
    const e = Array.from(c.epoch);
    expect(c.accessLine(1, ls[ways], false)).toBe(k.llc_hit + k.dram);
    expect(where(c, 2, ls[2])).toBe('none');
    expect(c.sharers(ls[2] * lb)).toEqual({ cpus: [], owner: -1 });
    expect(c.epoch[2]).toBe(e[2] + 1);
    expect(c.cpuCounters(1).llc_back_invalidations).toBe(1);
    for (const i of [0, 1, 3, 4, 5, 6, 7]) expect(where(c, 0, ls[i])).not.toBe('none');
    expect(c.accessLine(2, ls[2], false)).toBe(k.llc_hit + k.dram);
  });
});

// ---------------------------------------------------------------------------
// Reference model: Maps in insertion order as LRU sets, the directory as Sets.

type Dir = { sh: Set<number>; owner: number };
class RefCache {
  l1: Map<number, true>[][];
  l2: Map<number, true>[][];
  llc: Map<number, Dir>[];
  epoch: number[];
  ctr: Record<string, number>[];
  constructor(
    readonly cfg: MachineConfig,
    readonly s1 = sets(cfg.cache.l1d_kib, cfg.cache.l1d_ways, cfg.cache.line_bytes),
    readonly s2 = sets(cfg.cache.l2_kib, cfg.cache.l2_ways, cfg.cache.line_bytes),
    readonly s3 = sets(cfg.cache.llc_kib, cfg.cache.llc_ways, cfg.cache.line_bytes),
  ) {
    const n = cfg.cpus;
    this.l1 = Array.from({ length: n }, () => Array.from({ length: s1 }, () => new Map()));
    this.l2 = Array.from({ length: n }, () => Array.from({ length: s2 }, () => new Map()));
    this.llc = Array.from({ length: s3 }, () => new Map());
    this.epoch = new Array(n).fill(0);
    this.ctr = Array.from({ length: n }, () => ({
      l1d_hit: 0, l1d_miss: 0, l2_hit: 0, l2_miss: 0, llc_hit: 0, llc_miss: 0,
      c2c_transfer: 0, coherence_invalidations: 0, llc_back_invalidations: 0,
    }));
  }
  drop(cpu: number, line: number) {
    this.l2[cpu][line % this.s2].delete(line);
    this.l1[cpu][line % this.s1].delete(line);
  }
  put<V>(set: Map<number, V>, line: number, v: V, ways: number, evict: (old: number, v: V) => void) {
    if (set.size >= ways) {
      const [old, ov] = set.entries().next().value!;
      set.delete(old);
      evict(old, ov);
    }
    set.set(line, v);
  }
  /** Drops all copies but `keep`'s; returns how many CPUs lost one. */
  invalidate(d: Dir, line: number, keep: number): number {
    let n = 0;
    for (const o of [...d.sh].sort((a, b) => a - b)) {
      if (o === keep) continue;
      this.drop(o, line);
      this.epoch[o]++;
      d.sh.delete(o);
      n++;
    }
    return n;
  }
  write(cpu: number, d: Dir, line: number): number {
    const n = this.invalidate(d, line, cpu);
    d.owner = cpu;
    this.ctr[cpu].coherence_invalidations += n;
    if (n === 0) return 0;
    this.ctr[cpu].c2c_transfer++;
    return this.cfg.cost.c2c_transfer;
  }
  access(cpu: number, line: number, w: boolean): number {
    const k = this.cfg.cost, c = this.cfg.cache, ct = this.ctr[cpu];
    const l1 = this.l1[cpu][line % this.s1], l2 = this.l2[cpu][line % this.s2], l3 = this.llc[line % this.s3];
    const fill1 = () => this.put(l1, line, true, c.l1d_ways, () => {});
    if (l1.has(line)) {
      ct.l1d_hit++;
      l1.delete(line); l1.set(line, true);
      const d = l3.get(line)!;
      return k.l1d_hit + (w && d.owner !== cpu ? this.write(cpu, d, line) : 0);
    }
    ct.l1d_miss++;
    if (l2.has(line)) {
      ct.l2_hit++;
      l2.delete(line); l2.set(line, true);
      fill1();
      const d = l3.get(line)!;
      return k.l2_hit + (w && d.owner !== cpu ? this.write(cpu, d, line) : 0);
    }
    ct.l2_miss++;
    let lat: number;
    let d = l3.get(line);
    if (d) {
      ct.llc_hit++;
      l3.delete(line); l3.set(line, d);
      lat = k.llc_hit;
      if (w) lat += this.write(cpu, d, line);
      else if (d.owner >= 0) {
        this.epoch[d.owner]++;
        d.owner = -1;
        ct.c2c_transfer++;
        lat += k.c2c_transfer;
      }
    } else {
      ct.llc_miss++;
      lat = k.llc_hit + k.dram;
      d = { sh: new Set(), owner: w ? cpu : -1 };
      this.put(l3, line, d, c.llc_ways, (old, od) => {
        ct.llc_back_invalidations += this.invalidate(od, old, -1);
      });
    }
    d.sh.add(cpu);
    this.put(l2, line, true, c.l2_ways, (old) => {
      const od = this.llc[old % this.s3].get(old)!;
      od.sh.delete(cpu);
      if (od.owner === cpu) od.owner = -1;
      this.l1[cpu][old % this.s1].delete(old);
    });
    fill1();
    return lat;
  }
  invalidateFrame(pfn: number) {
    const per = 4096 / this.cfg.cache.line_bytes;
    for (let line = pfn * per; line < (pfn + 1) * per; line++) {
      const set = this.llc[line % this.s3];
      const d = set.get(line);
      if (!d) continue;
      this.invalidate(d, line, -1);
      set.delete(line);
    }
  }
  probe(cpu: number, line: number): string {
    if (this.l1[cpu][line % this.s1].has(line)) return 'l1';
    if (this.l2[cpu][line % this.s2].has(line)) return 'l2';
    return this.llc[line % this.s3].has(line) ? 'llc' : 'none';
  }
}

/** Deterministic generator (mulberry32). */
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

describe('CacheHierarchy against the reference model', () => {
  const variants: [string, MachineConfig][] = [
    ['tiny, 4 CPUs', tinyConfig(4)],
    ['tiny, 3 CPUs, 128-byte lines', (() => {
      const c = tinyConfig(3);
      c.cache.line_bytes = 128; // L1 8 lines: 2 sets; L2 16: 4 sets; LLC 32: 4 sets
      return c;
    })()],
    ['tiny, 40 CPUs (two sharer words)', tinyConfig(40)],
  ];
  for (const [name, cfg] of variants) {
    it(`agrees on every latency, location, directory entry and counter (${name})`, () => {
      for (let seed = 1; seed <= 4; seed++) {
        const r = rng(seed);
        const c = new CacheHierarchy(cfg);
        const ref = new RefCache(cfg);
        const lb = cfg.cache.line_bytes;
        const per = 4096 / lb;
        const lines = 160;
        // memo of each CPU's last access, as the MMU keeps it
        const last = new Array(cfg.cpus).fill(-1);
        const lastW = new Array(cfg.cpus).fill(false);
        const lastE = new Array(cfg.cpus).fill(0);
        for (let op = 0; op < 6000; op++) {
          const cpu = Math.floor(r() * cfg.cpus);
          const x = r();
          if (x < 0.003) {
            const pfn = Math.floor(r() * Math.ceil(lines / per));
            c.invalidateFrame(pfn);
            ref.invalidateFrame(pfn);
            continue;
          }
          // half the accesses go to a few hot (contended) lines
          const line = x < 0.5 ? Math.floor(r() * 6) : Math.floor(r() * lines);
          const w = r() < 0.3;
          const memo = last[cpu] === line && lastE[cpu] === c.epoch[cpu] && (!w || lastW[cpu]);
          const got = c.accessLine(cpu, line, w);
          expect(got).toBe(ref.access(cpu, line, w));
          if (memo) expect(got).toBe(cfg.cost.l1d_hit);
          last[cpu] = line;
          lastW[cpu] = w || (memo && lastW[cpu]);
          lastE[cpu] = c.epoch[cpu];
          expect(Array.from(c.epoch)).toEqual(ref.epoch);
          const pl = Math.floor(r() * lines), pc = Math.floor(r() * cfg.cpus);
          expect(c.probe(pc, pl * lb)).toBe(ref.probe(pc, pl));
          const d = ref.llc[pl % ref.s3].get(pl);
          expect(c.sharers(pl * lb)).toEqual(
            d ? { cpus: [...d.sh].sort((a, b) => a - b), owner: d.owner } : { cpus: [], owner: -1 },
          );
        }
        for (let cpu = 0; cpu < cfg.cpus; cpu++) expect(c.cpuCounters(cpu)).toEqual(ref.ctr[cpu]);
        const tot = c.counters();
        expect(tot.l1d_hit + tot.l1d_miss).toBeGreaterThan(5000);
        expect(tot.llc_miss).toBeGreaterThan(100);
        expect(tot.llc_back_invalidations).toBeGreaterThan(0);
        expect(tot.coherence_invalidations).toBeGreaterThan(0);
      }
    });
  }
});

describe('CacheHierarchy against the reference model, line numbers whose tags need more than 31 bits (or 16)', () => {
  // Tiny caches have 8 sets, so a line's tag is line / 8: lines above 2^34
  // take the FAR path of cache.ts. Each far line k shares the low 32 bits
  // of its tag with far lines of other multiples of 2^37, and its set with
  // near line k, so a store that kept only 32 bits of tag would alias them.
  // far16: L2 and LLC tags from 0x8000 up (stored as 16-bit codes with the
  // line beside them), many sharing their low 15 bits.
  const far32 = (k: number) => (k % 2 === 0 ? k : k + 2 ** 37 * (1 + (k % 3)));
  const far16 = (k: number) => (k % 2 === 0 ? k : k + 8 * 0x8000 * (1 + (k % 3)) + (k % 5 === 0 ? 8 * 0x7fff : 0));
  for (const [name, cfg, far] of [
    ['tiny, 4 CPUs', tinyConfig(4), far32],
    ['tiny, 40 CPUs', tinyConfig(40), far32],
    ['tiny, 4 CPUs, 16-bit LLC tags', tinyConfig(4), far16],
    ['tiny, 40 CPUs, 16-bit LLC tags', tinyConfig(40), far16],
  ] as [string, MachineConfig, (k: number) => number][]) {
    it(`agrees on every latency, location, directory entry and counter (${name})`, () => {
      for (let seed = 11; seed <= 13; seed++) {
        const r = rng(seed);
        const c = new CacheHierarchy(cfg);
        const ref = new RefCache(cfg);
        const lb = cfg.cache.line_bytes;
        const per = 4096 / lb;
        for (let op = 0; op < 4000; op++) {
          const cpu = Math.floor(r() * cfg.cpus);
          const x = r();
          const line = far(x < 0.5 ? Math.floor(r() * 6) : Math.floor(r() * 160));
          if (x < 0.003) {
            const pfn = Math.floor(line / per);
            c.invalidateFrame(pfn);
            ref.invalidateFrame(pfn);
            continue;
          }
          const w = r() < 0.3;
          expect(c.accessLine(cpu, line, w)).toBe(ref.access(cpu, line, w));
          expect(Array.from(c.epoch)).toEqual(ref.epoch);
          const pl = far(Math.floor(r() * 160)), pc = Math.floor(r() * cfg.cpus);
          expect(c.probe(pc, pl * lb)).toBe(ref.probe(pc, pl));
          const d = ref.llc[pl % ref.s3].get(pl);
          expect(c.sharers(pl * lb)).toEqual(
            d ? { cpus: [...d.sh].sort((a, b) => a - b), owner: d.owner } : { cpus: [], owner: -1 },
          );
        }
        for (let cpu = 0; cpu < cfg.cpus; cpu++) expect(c.cpuCounters(cpu)).toEqual(ref.ctr[cpu]);
        expect(c.counters().llc_back_invalidations).toBeGreaterThan(0);
      }
    });
  }
});
