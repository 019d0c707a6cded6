/**
 * The directory's invalidations and back-invalidations over many CPUs
 * (sharer bits in more than one word, copies in many L2s at once) give the
 * same latencies, counters, epochs and sharers as the reference
 * implementation in test/hw/oracle, access by access.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/machine.js';
import { CacheHierarchy } from '../../src/hw/cache.js';
import { CacheHierarchy as RefCacheHierarchy } from './oracle/cache-ref.js';

function config(cpus: number) {
  const cfg = defaultConfig();
  cfg.cpus = cpus;
  // small caches: the LLC evicts lines many L2s hold
  cfg.cache.l1d_kib = 1;
  cfg.cache.l1d_ways = 2;
  cfg.cache.l2_kib = 4;
  cfg.cache.l2_ways = 4;
  cfg.cache.llc_kib = 16;
  cfg.cache.llc_ways = 4;
  return cfg;
}

describe('directory over many CPUs, against the reference implementation', () => {
  it('same latencies, counters, epochs and sharers (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(3, 33, 40, 64),
        fc.array(fc.tuple(fc.nat(63), fc.nat(700), fc.boolean()), { minLength: 1, maxLength: 600 }),
        (cpus, ops) => {
          const cfg = config(cpus);
          const a = new CacheHierarchy(cfg);
          const b = new RefCacheHierarchy(cfg);
          for (const [c, line, write] of ops) {
            const cpu = c % cpus;
            // lines 0..127 are shared by everyone (page-table lines), the rest spread
            const l = line < 400 ? line % 128 : line * 37;
            expect(a.access(cpu, l * 64, write)).toBe(b.access(cpu, l * 64, write));
          }
          expect(a.counters()).toEqual(b.counters());
          expect(Array.from(a.epoch)).toEqual(Array.from(b.epoch));
          for (let l = 0; l < 128; l++) expect(a.sharers(l * 64)).toEqual(b.sharers(l * 64));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('an LLC eviction of a line 64 L2s hold drops all 64 copies, as the reference does', () => {
    const cfg = config(64);
    const a = new CacheHierarchy(cfg);
    const b = new RefCacheHierarchy(cfg);
    for (let cpu = 0; cpu < 64; cpu++) for (let l = 0; l < 8; l++) expect(a.access(cpu, l * 64, false)).toBe(b.access(cpu, l * 64, false));
    expect(a.sharers(0).cpus).toHaveLength(64);
    // one CPU streams lines that map to the same LLC sets until the shared ones go
    for (let l = 1; l <= 64; l++) expect(a.access(5, (l * 64 + 0) * 64, false)).toBe(b.access(5, (l * 64 + 0) * 64, false));
    expect(a.counters()).toEqual(b.counters());
    expect(a.counters()['llc_back_invalidations']).toBeGreaterThanOrEqual(63);
    expect(a.sharers(0).cpus).toEqual([]);
    expect(Array.from(a.epoch)).toEqual(Array.from(b.epoch));
  });
});
