/**
 * The log-linear latency histogram against the exact answer from the sorted
 * samples: percentiles exact to the bucket, power-of-two buckets identical.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Counters, Samples, counterId } from '../../src/sim/stats.js';

/** The nearest-rank percentile of the samples themselves (what a stored-samples implementation reports). */
function exact(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** The power-of-two buckets computed sample by sample. */
function powerOfTwo(values: number[]): { le: number; count: number }[] {
  const m = new Map<number, number>();
  for (const x of values) {
    const le = x <= 1 ? 1 : 2 ** Math.ceil(Math.log2(x));
    m.set(le, (m.get(le) ?? 0) + 1);
  }
  return [...m.entries()].sort((a, b) => a[0] - b[0]).map(([le, count]) => ({ le, count }));
}

const latency = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 2 ** 40 }), fc.double({ min: 0, max: 1e7, noNaN: true }));

describe('Samples (log-linear histogram)', () => {
  it('below 256 cycles a percentile is its sample rounded up to a whole cycle; above, a percentile lies in its sample\'s bucket (at most 1/128 above it)', () => {
    fc.assert(
      fc.property(fc.array(latency, { minLength: 1, maxLength: 300 }), (values) => {
        const s = new Samples();
        for (const v of values) s.record(v);
        expect(s.count).toBe(values.length);
        expect(s.min).toBe(Math.min(...values));
        expect(s.max).toBe(Math.max(...values));
        for (const p of [0, 1, 50, 90, 99, 100]) {
          const want = exact(values, p);
          const got = s.percentile(p);
          expect(got).toBeGreaterThanOrEqual(want);
          // The bucket's upper bound: ceil(v), or 1 for the bucket of every value <= 1; within [min, max].
          const ceil = want <= 1 ? 1 : Math.ceil(want);
          if (ceil <= 256) expect(got).toBe(Math.min(s.max, Math.max(s.min, ceil)));
          else expect(got).toBeLessThanOrEqual(ceil + (ceil - 1) / 128);
        }
      }),
    );
  });

  it('power-of-two buckets are the same as counting each sample', () => {
    fc.assert(
      fc.property(fc.array(latency, { minLength: 0, maxLength: 300 }), (values) => {
        const s = new Samples();
        for (const v of values) s.record(v);
        expect(s.powerOfTwoBuckets()).toEqual(powerOfTwo(values));
      }),
    );
  });

  it('runs of one value (recorded from the last value\'s bucket) count as the same values recorded one by one', () => {
    const runs = fc.array(fc.tuple(latency, fc.integer({ min: 1, max: 6 })), { minLength: 1, maxLength: 80 });
    fc.assert(
      fc.property(runs, (rs) => {
        const values = rs.flatMap(([v, n]) => Array.from({ length: n }, () => v));
        const s = new Samples();
        for (const v of values) s.record(v);
        expect(s.count).toBe(values.length);
        expect(s.sum).toBe(values.reduce((a, b) => a + b, 0));
        expect(s.min).toBe(Math.min(...values));
        expect(s.max).toBe(Math.max(...values));
        expect(s.powerOfTwoBuckets()).toEqual(powerOfTwo(values));
        for (const p of [0, 10, 50, 90, 99, 100]) {
          const want = exact(values, p);
          const ceil = want <= 1 ? 1 : Math.ceil(want);
          const got = s.percentile(p);
          expect(got).toBeGreaterThanOrEqual(Math.min(want, s.max));
          if (ceil <= 256) expect(got).toBe(Math.min(s.max, Math.max(s.min, ceil)));
        }
      }),
    );
    // A value repeated after a larger one grew the bucket array still lands in its own bucket.
    const s = new Samples();
    for (const v of [100, 100, 2 ** 45, 100, 100]) s.record(v);
    expect(s.percentile(80)).toBe(100);
    expect(s.powerOfTwoBuckets()).toEqual([{ le: 128, count: 4 }, { le: 2 ** 45, count: 1 }]);
  });

  it('buckets tile the integers: each u falls in the bucket whose range holds it', () => {
    for (const u of [0, 1, 255, 256, 257, 511, 512, 1000, 65535, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 12345, 2 ** 45 + 7]) {
      const { lo, width } = Samples.bucketRange(Samples.bucketOf(u));
      expect(u >= lo && u < lo + width, `u=${u} in [${lo}, ${lo + width})`).toBe(true);
      expect(width === 1 || width <= lo / 128).toBe(true);
    }
  });

  it('an empty histogram reports zeros', () => {
    expect(new Samples().percentiles()).toEqual({ count: 0, min: 0, p50: 0, p90: 0, p99: 0, max: 0, mean: 0 });
  });
});

describe('Counters', () => {
  it('lists every counter touched, at 0 too, in name order; max keeps the largest; ids and names count alike', () => {
    const c = new Counters();
    c.add('b_events');
    c.add('a_zero', 0);
    c.addId(counterId('b_events'), 2);
    c.max('peak', 5);
    c.maxId(counterId('peak'), 3);
    c.max('neg', -7);
    c.set('s', 1.5);
    expect(c.snapshot()).toEqual({ a_zero: 0, b_events: 3, neg: -7, peak: 5, s: 1.5 });
    expect(Object.keys(c.snapshot())).toEqual(['a_zero', 'b_events', 'neg', 'peak', 's']);
    expect(c.get('b_events')).toBe(3);
    expect(c.get('never')).toBe(0);
    // Another engine's counters share the ids, not the values.
    const d = new Counters();
    expect(d.snapshot()).toEqual({});
    for (let i = 0; i < 300; i++) d.add(`many_${i}`, i);
    expect(d.get('many_299')).toBe(299);
    expect(Object.keys(d.snapshot()).length).toBe(300);
  });
});
