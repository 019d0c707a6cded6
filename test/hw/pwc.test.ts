import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_WAYS } from '../../src/hw/lru.js';
import { Pwc } from '../../src/hw/pwc.js';

/** Reference: an array per CPU, most recent first, at most `n` long. */
class RefPwc {
  readonly lists: { pcid: number; region: number; table: number }[][];
  constructor(
    cpus: number,
    readonly n: number,
  ) {
    this.lists = Array.from({ length: cpus }, () => []);
  }
  lookup(cpu: number, region: number, pcid: number): number {
    const l = this.lists[cpu]!;
    const i = l.findIndex((e) => e.region === region && e.pcid === pcid);
    if (i < 0) return -1;
    const [e] = l.splice(i, 1);
    l.unshift(e!);
    return e!.table;
  }
  insert(cpu: number, region: number, pcid: number, table: number): void {
    if (this.n === 0) return;
    const l = this.lists[cpu]!;
    if (l.length === this.n) l.pop();
    l.unshift({ pcid, region, table });
  }
  drop(cpu: number, pred: (e: { pcid: number; region: number }) => boolean): void {
    this.lists[cpu] = this.lists[cpu]!.filter((e) => !pred(e));
  }
  list(cpu: number): number[][] {
    return this.lists[cpu]!.map((e) => [e.pcid, e.region, e.table]);
  }
}

describe('Pwc', () => {
  it('is an LRU cache of (region, PCID): fills, hits, evicts the least recent', () => {
    const p = new Pwc(2, 2);
    expect(p.lookup(0, 5, 1)).toBe(-1);
    p.insert(0, 5, 1, 100, 3);
    p.insert(0, 6, 1, 101, 1);
    const s = p.lookup(0, 5, 1);
    expect([p.table[s], p.rights[s]]).toEqual([100, 3]);
    p.insert(0, 7, 1, 102, 3); // evicts region 6
    expect(p.lookup(0, 6, 1)).toBe(-1);
    expect(p.list(0)).toEqual([
      [1, 7, 102],
      [1, 5, 100],
    ]);
    expect(p.list(1)).toEqual([]);
    p.dropPcid(0, 1);
    expect(p.list(0)).toEqual([]);
  });

  it('holds at most as many entries as an LRU order numbers', () => {
    expect(() => new Pwc(1, MAX_WAYS + 1)).toThrow(`tlb.pwc_entries: ${MAX_WAYS + 1} is out of range 0..${MAX_WAYS}`);
    expect(new Pwc(1, MAX_WAYS).entries).toBe(MAX_WAYS);
  });

  it('with no entries never hits', () => {
    const p = new Pwc(1, 0);
    p.insert(0, 1, 1, 1, 1);
    expect(p.lookup(0, 1, 1)).toBe(-1);
    expect(p.list(0)).toEqual([]);
  });

  it('matches a reference LRU on random operations (property)', () => {
    const op = fc.tuple(
      fc.integer({ min: 0, max: 9 }),
      fc.integer({ min: 0, max: 1 }),
      fc.integer({ min: 0, max: 40 }),
      fc.integer({ min: 0, max: 2 }),
    );
    fc.assert(
      // up to 9 entries: a nibble LRU order (lru.ts); 17 and 40: the wide one
      fc.property(fc.oneof(fc.integer({ min: 0, max: 9 }), fc.constantFrom(17, 40)), fc.array(op, { maxLength: 300 }), (n, ops) => {
        const p = new Pwc(2, n);
        const r = new RefPwc(2, n);
        let t = 1;
        for (const [kind, cpu, region, pcid] of ops) {
          if (kind <= 5) {
            const s = p.lookup(cpu, region, pcid);
            const want = r.lookup(cpu, region, pcid);
            expect(s < 0 ? -1 : p.table[s]).toBe(want);
            if (s < 0) {
              p.insert(cpu, region, pcid, t, 0);
              r.insert(cpu, region, pcid, t);
              t++;
            }
          } else if (kind <= 7) {
            p.dropRegion(cpu, region, pcid);
            r.drop(cpu, (e) => e.region === region && e.pcid === pcid);
          } else if (kind === 8) {
            p.dropPcid(cpu, pcid);
            r.drop(cpu, (e) => e.pcid === pcid);
          } else {
            p.dropPcid(cpu, -1);
            r.drop(cpu, () => true);
          }
          expect(p.list(cpu)).toEqual(r.list(cpu));
        }
      }),
      { numRuns: 300 },
    );
  });
});
