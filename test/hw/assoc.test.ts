import { describe, expect, it } from 'vitest';
import { SetAssoc } from '../../src/hw/assoc.js';
import { LruSets, MAX_WAYS } from '../../src/hw/lru.js';

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

describe('SetAssoc', () => {
  it('finds keys whatever their hints, including equal hints and keys above 2^32', () => {
    for (const ways of [1, 3, 4, 5, 8, 12, 16]) {
      const a = new SetAssoc(2, ways);
      const keys = Array.from({ length: ways }, (_, w) => 2 ** 40 + w * 2 ** 33 + 7);
      // all ways of set 1 share hint 0x80 (a byte with only its high bit set)
      keys.forEach((k, w) => a.put(1, w, k, 0x80));
      keys.forEach((k, w) => expect(a.find(1, k, 0x80)).toBe(w));
      expect(a.find(1, keys[0], 0x7f)).toBe(-1); // a wrong hint never matches
      expect(a.find(0, keys[0], 0x80)).toBe(-1); // another set
      expect(a.find(1, 2 ** 40 + 1, 0x80)).toBe(-1);
      // distinct hints, including 0 and 255
      keys.forEach((k, w) => a.put(0, w, k, (w * 97) & 255));
      keys.forEach((k, w) => expect(a.find(0, k, (w * 97) & 255)).toBe(w));
    }
  });

  it('clear empties the way and makes it the next victim', () => {
    const a = new SetAssoc(1, 4);
    for (let w = 0; w < 4; w++) a.put(0, w, 100 + w, w);
    expect(a.lru.lru(0)).toBe(0);
    a.clear(0, 2);
    expect(a.find(0, 102, 2)).toBe(-1);
    expect(a.key[2]).toBe(-1);
    expect(a.lru.lru(0)).toBe(2);
    a.put(0, 2, 555, 9);
    expect(a.find(0, 555, 9)).toBe(2);
    expect(a.lru.mru(0)).toBe(2);
    expect(a.lru.lru(0)).toBe(0);
  });

  it('agrees with a Map model on random puts and clears', () => {
    const ways = 12;
    const a = new SetAssoc(4, ways);
    const model = [0, 1, 2, 3].map(() => new Map<number, number>()); // key -> way
    let x = 99;
    for (let i = 0; i < 5000; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const s = x & 3;
      const key = ((x >>> 2) % 40) * 2 ** 34 + s;
      const hint = key % 251 & 255;
      const m = model[s];
      const w = a.find(s, key, hint);
      expect(w).toBe(m.get(key) ?? -1);
      if (w >= 0 && x & 0x100) {
        a.clear(s, w);
        m.delete(key);
      } else if (w < 0) {
        const v = a.lru.lru(s);
        for (const [k, ww] of m) if (ww === v) m.delete(k);
        a.put(s, v, key, hint);
        m.set(key, v);
      }
    }
  });
});
