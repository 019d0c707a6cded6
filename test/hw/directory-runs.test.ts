/**
 * The directory when CPUs run in turns (runs of one CPU's accesses, as the
 * engine gives them) and nothing probes between: drops logged for CPUs not
 * running wait in their logs, so latencies, epochs (checked after every
 * access), counters and, now and then, sharers must still equal the
 * reference implementation's in test/hw/oracle.
 */
import { expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/machine.js';
import { CacheHierarchy } from '../../src/hw/cache.js';
import { CacheHierarchy as RefCacheHierarchy } from './oracle/cache-ref.js';

it('runs of one CPU with rare probes give the reference latencies, epochs, counters and sharers', () => {
  for (const [cpus, seed] of [[1, 1], [2, 2], [4, 3], [4, 4], [9, 5], [33, 6], [2, 8]] as const) {
    const cfg = defaultConfig();
    cfg.cpus = cpus;
    // small caches: evictions at every level, lines shared by several L2s
    cfg.cache.l1d_kib = 1;
    cfg.cache.l1d_ways = 4;
    cfg.cache.l2_kib = 2;
    cfg.cache.l2_ways = 4;
    cfg.cache.llc_kib = 4;
    cfg.cache.llc_ways = 8;
    const a = new CacheHierarchy(cfg);
    const b = new RefCacheHierarchy(cfg);
    let x = seed * 7919;
    const r = (): number => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return x / 4294967296;
    };
    let cpu = 0;
    for (let op = 0; op < 20_000; op++) {
      if (r() < 0.02) cpu = Math.floor(r() * cpus);
      const y = r();
      if (y < 0.001) {
        const pfn = Math.floor(r() * 8);
        a.invalidateFrame(pfn);
        b.invalidateFrame(pfn);
        continue;
      }
      // a few lines everyone shares (page-table lines), the rest spread
      const line = y < 0.3 ? Math.floor(r() * 8) : Math.floor(r() * 500);
      const w = r() < 0.3;
      expect(a.accessLine(cpu, line, w)).toBe(b.access(cpu, line * 64, w));
      expect(Array.from(a.epoch)).toEqual(Array.from(b.epoch));
      if (r() < 0.01) {
        const pl = Math.floor(r() * 500);
        expect(a.sharers(pl * 64)).toEqual(b.sharers(pl * 64));
      }
    }
    expect(a.counters()).toEqual(b.counters());
  }
});
