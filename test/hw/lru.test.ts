import { describe, expect, it } from 'vitest';
import { LruSets, MAX_WAYS, orderAt, orderDemote, orderInit, orderRotateLru, orderTouch, orderWords } from '../../src/hw/lru.js';

describe('LruSets', () => {
  it('starts in way order, touch moves to the front, demote to the back', () => {
    const l = new LruSets(2, 4);
    expect(l.order(0)).toEqual([0, 1, 2, 3]);
    expect(l.lru(0)).toBe(3);
    l.touch(0, 2);
    expect(l.order(0)).toEqual([2, 0, 1, 3]);
    l.touch(0, 3);
    expect(l.order(0)).toEqual([3, 2, 0, 1]);
    expect([l.mru(0), l.lru(0)]).toEqual([3, 1]);
    l.touch(0, 3); // already MRU
    l.demote(0, 3);
    expect(l.order(0)).toEqual([2, 0, 1, 3]);
    l.demote(0, 0);
    expect(l.order(0)).toEqual([2, 1, 3, 0]);
    l.demote(0, 0); // already LRU
    expect(l.order(0)).toEqual([2, 1, 3, 0]);
    expect(l.order(1)).toEqual([0, 1, 2, 3]); // sets are independent
  });

  it('agrees with an array model on random operations', () => {
    for (const ways of [1, 2, 3, 12, 16, MAX_WAYS]) {
      const l = new LruSets(3, ways);
      const model = [0, 1, 2].map(() => Array.from({ length: ways }, (_, w) => w));
      let x = ways;
      for (let i = 0; i < 3000; i++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        const s = x % 3;
        const w = (x >>> 8) % ways;
        const m = model[s];
        m.splice(m.indexOf(w), 1);
        if (x & 0x10000) {
          l.touch(s, w);
          m.unshift(w);
        } else {
          l.demote(s, w);
          m.push(w);
        }
        expect(l.order(s)).toEqual(m);
        expect([l.mru(s), l.lru(s)]).toEqual([m[0], m[ways - 1]]);
      }
    }
  });

  it('rejects an associativity it cannot number', () => {
    expect(() => new LruSets(1, MAX_WAYS + 1)).toThrow(/associativity/);
    expect(() => new LruSets(1, 0)).toThrow(/associativity/);
  });
});

describe('orderRotateLru', () => {
  it('makes the LRU way the MRU one and returns it, nibble and wide orders alike, leaving the unused positions', () => {
    for (const ways of [1, 2, 7, 8, 9, 15, 16, 17, 18, 19, 20, 31, 32, 33, 40, MAX_WAYS]) {
      const n = orderWords(ways);
      // a word before and after the order, which must not change
      const ord = new Int32Array(n + 2).fill(0x5a5a5a5a);
      orderInit(ord, 1, ways);
      const unused = Array.from({ length: n * (ways <= 16 ? 8 : 4) - ways }, (_, k) => orderAt(ord, 1, ways <= 16 ? 16 : n * 4, ways + k));
      let model = Array.from({ length: ways }, (_, w) => w);
      let x = ways * 7919;
      for (let i = 0; i < 400; i++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        const w = (x >>> 8) % ways;
        const kind = (x >>> 20) % 3;
        if (kind === 0) {
          orderTouch(ord, 1, ways, w);
          model = [w, ...model.filter((v) => v !== w)];
        } else if (kind === 1) {
          orderDemote(ord, 1, ways, w);
          model = [...model.filter((v) => v !== w), w];
        } else {
          const lru = model[ways - 1]!;
          expect(orderRotateLru(ord, 1, ways)).toBe(lru);
          model = [lru, ...model.slice(0, ways - 1)];
        }
        expect(Array.from({ length: ways }, (_, p) => orderAt(ord, 1, ways, p))).toEqual(model);
      }
      expect([ord[0], ord[n + 1]]).toEqual([0x5a5a5a5a, 0x5a5a5a5a]);
      expect(unused.map((_, k) => orderAt(ord, 1, ways <= 16 ? 16 : n * 4, ways + k))).toEqual(unused);
    }
  });
});
