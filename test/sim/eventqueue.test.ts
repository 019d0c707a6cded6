/**
 * The engine's event queue: events come out in time order, ties in the
 * order they were pushed, whatever the interleaving of pushes and pops, and
 * peekTime is always the time of the event pop would return (Infinity when
 * empty).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventQueue } from '../../src/sim/eventqueue.js';

/** A push of an event at a time (few distinct times, so that ties are common), or a pop. */
const op = fc.oneof(fc.record({ push: fc.integer({ min: 0, max: 20 }) }), fc.constant({ pop: true as const }));

describe('EventQueue', () => {
  it('pops in (time, push order) and peekTime is the next pop\'s time, under any interleaving of pushes and pops', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const q = new EventQueue();
        // The reference: a list kept sorted by (time, push number).
        const ref: { time: number; n: number }[] = [];
        let n = 0;
        const fired: number[] = [];
        for (const o of ops) {
          if ('push' in o) {
            const id = n++;
            q.push(o.push, () => fired.push(id));
            ref.push({ time: o.push, n: id });
            ref.sort((a, b) => a.time - b.time || a.n - b.n);
          } else if (ref.length > 0) {
            const want = ref.shift()!;
            const ev = q.pop()!;
            expect(ev.time).toBe(want.time);
            ev.fn(ev.time);
            expect(fired[fired.length - 1]).toBe(want.n);
          } else {
            expect(q.pop()).toBeUndefined();
          }
          expect(q.size).toBe(ref.length);
          expect(q.peekTime()).toBe(ref.length ? ref[0]!.time : Infinity);
        }
      }),
    );
  });
});
