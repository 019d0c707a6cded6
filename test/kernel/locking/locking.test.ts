import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Mutex, RwSemaphore, SpinLock } from '../../../src/kernel/locking/index.js';
import { intern } from '../../../src/sim/attribution.js';
import type { Task, TaskBody } from '../../../src/sim/task.js';
import { fakeKernel, testConfig } from './fakekernel.js';

describe('SpinLock', () => {
  it('uncontended: an atomic on a cold line, then on a line this CPU holds Modified', () => {
    const k = fakeKernel();
    const cost = k.cfg.cost;
    const l = new SpinLock(k, 'test');
    const times: number[] = [];
    k.engine.spawn('a', function* (t: Task): TaskBody {
      yield* l.lock(t);
      times.push(t.now);
      l.unlock(t);
      times.push(t.now);
      yield* l.lock(t);
      times.push(t.now);
      l.unlock(t);
    }, { cpu: 0, pinned: true });
    k.engine.run();
    const miss = cost.llc_hit + cost.dram;
    expect(times).toEqual([miss + cost.atomic_rmw, miss + cost.atomic_rmw + cost.l1d_hit, miss + 2 * cost.atomic_rmw + 2 * cost.l1d_hit]);
    expect(k.engine.counters.get('lock_acquired:test')).toBe(2);
    expect(k.engine.counters.get('lock_contended:test')).toBe(0);
  });

  it('a lock taken with interrupts off (spin_lock_irq) holds off an IPI until its unlock; a plain one does not', () => {
    const run = (irqsOff: boolean): number => {
      const k = fakeKernel(testConfig(2, 0));
      const cost = k.cfg.cost;
      const l = new SpinLock(k, 'test', undefined, irqsOff);
      let handledAt = -1;
      k.engine.spawn('holder', function* (t: Task): TaskBody {
        yield* l.lock(t);
        t.charge(20_000);
        l.unlock(t);
      }, { cpu: 1, pinned: true });
      k.engine.spawn('sender', function* (t: Task): TaskBody {
        t.charge(100);
        const done = k.engine.sendIpi(t, [1], intern('test_ipi'), (_c, time) => ((handledAt = time), 0));
        yield t.spinOn(done);
      }, { cpu: 0, pinned: true });
      k.engine.run();
      const acquired = cost.llc_hit + cost.dram + cost.atomic_rmw;
      if (irqsOff) expect(handledAt).toBe(acquired + 20_000 + cost.l1d_hit);
      else expect(handledAt).toBe(100 + cost.ipi_send + cost.ipi_latency);
      return handledAt;
    };
    expect(run(true)).toBeGreaterThan(run(false));
  });

  it('a line last taken on another CPU costs a cache-to-cache transfer', () => {
    const k = fakeKernel();
    const cost = k.cfg.cost;
    const l = new SpinLock(k, 'test');
    let took = 0;
    k.engine.spawn('a', function* (t: Task): TaskBody {
      yield* l.lock(t);
      l.unlock(t);
    }, { cpu: 0, pinned: true });
    k.engine.spawn('b', function* (t: Task): TaskBody {
      yield t.sleepFor(10_000);
      const s = t.now;
      yield* l.lock(t);
      took = t.now - s;
      l.unlock(t);
    }, { cpu: 1, pinned: true });
    k.engine.run();
    expect(took).toBe(cost.llc_hit + cost.c2c_transfer + cost.atomic_rmw);
  });

  it('a contended locker spins (busy) until the unlock, then pulls the line over', () => {
    const k = fakeKernel();
    const cost = k.cfg.cost;
    const l = new SpinLock(k, 'test');
    let got = 0;
    let released = 0;
    k.engine.spawn('holder', function* (t: Task): TaskBody {
      yield* l.lock(t);
      t.charge(50_000);
      yield;
      l.unlock(t);
      released = t.now;
    }, { cpu: 0, pinned: true });
    k.engine.spawn('waiter', function* (t: Task): TaskBody {
      yield t.sleepFor(1000);
      yield* l.lock(t);
      got = t.now;
      l.unlock(t);
    }, { cpu: 1, pinned: true });
    k.engine.run();
    expect(got).toBe(released + cost.llc_hit + cost.c2c_transfer + cost.atomic_rmw);
    expect(k.engine.counters.get('lock_contended:test')).toBe(1);
    expect(k.engine.samples.of('lock_wait:test').count).toBe(1);
    // The spin is busy time on CPU 1, not idle.
    expect(k.engine.busy[1]).toBeGreaterThan(40_000);
  });

  it('a hold that overlaps in simulated time is contention even when host order never saw it held', () => {
    const k = fakeKernel(testConfig(2, 50_000));
    const l = new SpinLock(k, 'test');
    let released = 0;
    let got = 0;
    // With a quantum this large CPU 0 runs its whole body in one step, before CPU 1 starts.
    k.engine.spawn('early', function* (t: Task): TaskBody {
      yield* l.lock(t);
      t.charge(5000);
      l.unlock(t);
      released = t.now;
    }, { cpu: 0, pinned: true });
    k.engine.spawn('late', function* (t: Task): TaskBody {
      t.charge(1000);
      yield* l.lock(t);
      got = t.now;
      l.unlock(t);
    }, { cpu: 1, pinned: true });
    k.engine.run();
    expect(got).toBe(released);
    expect(k.engine.counters.get('lock_contended:test')).toBe(1);
    expect(k.engine.attribution.exclusiveOf(k.engine.attribution.pathNode(['_raw_spin_lock', 'spin_wait']))).toBeGreaterThan(3000);
  });

  it('trylock fails while held', () => {
    const k = fakeKernel();
    const l = new SpinLock(k, 'test');
    const r: boolean[] = [];
    k.engine.spawn('a', function* (t: Task): TaskBody {
      r.push(l.trylock(t), l.trylock(t));
      l.unlock(t);
      r.push(l.trylock(t));
      l.unlock(t);
    });
    k.engine.run();
    expect(r).toEqual([true, false, true]);
  });

  it('a trylock from a clock before a hold that has already run fails, at any quantum', () => {
    // CPU 0 takes and drops the lock from 2,000 to ~7,000 in one engine step
    // (quantum 50,000); CPU 1's trylock comes after it in host order at 1,000.
    // It may not take the lock at a time before a hold that has already run.
    const k = fakeKernel(testConfig(2, 50_000));
    const l = new SpinLock(k, 'test');
    const r: boolean[] = [];
    k.engine.spawn('early', function* (t: Task): TaskBody {
      t.charge(2000);
      yield* l.lock(t);
      t.charge(5000);
      l.unlock(t);
    }, { cpu: 0, pinned: true });
    k.engine.spawn('lagging', function* (t: Task): TaskBody {
      t.charge(1000);
      r.push(l.trylock(t));
      t.charge(20_000);
      r.push(l.trylock(t));
      l.unlock(t);
    }, { cpu: 1, pinned: true });
    k.engine.run();
    expect(r).toEqual([false, true]);
  });
});

describe('Mutex', () => {
  it('a contended locker sleeps: its CPU idles, and it wakes at the unlock', () => {
    const k = fakeKernel();
    const m = new Mutex(k, 'm');
    let released = 0;
    let got = 0;
    k.engine.spawn('holder', function* (t: Task): TaskBody {
      yield* m.lock(t);
      t.charge(100_000);
      yield;
      m.unlock(t);
      released = t.now;
    }, { cpu: 0, pinned: true });
    k.engine.spawn('waiter', function* (t: Task): TaskBody {
      yield t.sleepFor(1000);
      yield* m.lock(t);
      got = t.now;
      m.unlock(t);
    }, { cpu: 1, pinned: true });
    k.engine.run();
    expect(got).toBeGreaterThan(released);
    expect(k.engine.idle[1]).toBeGreaterThan(90_000);
    expect(k.engine.counters.get('lock_contended:m')).toBe(1);
  });

  it('serves waiters in arrival order', () => {
    const k = fakeKernel(testConfig(4));
    const m = new Mutex(k, 'm');
    const order: string[] = [];
    k.engine.spawn('h', function* (t: Task): TaskBody {
      yield* m.lock(t);
      t.charge(100_000);
      yield;
      m.unlock(t);
    }, { cpu: 0, pinned: true });
    for (const [name, cpu, delay] of [['x', 1, 3000], ['y', 2, 1000], ['z', 3, 2000]] as const) {
      k.engine.spawn(name, function* (t: Task): TaskBody {
        yield t.sleepFor(delay);
        yield* m.lock(t);
        order.push(name);
        t.charge(100);
        m.unlock(t);
      }, { cpu, pinned: true });
    }
    k.engine.run();
    expect(order).toEqual(['y', 'z', 'x']);
  });
});

describe('RwSemaphore', () => {
  it('down_read_trylock and down_write_trylock from a clock before a hold that has already run fail', () => {
    const k = fakeKernel(testConfig(3, 50_000));
    const s = new RwSemaphore(k, 'mmap_lock');
    const r: string[] = [];
    // CPU 0 writes from 2,000 to ~7,000 and CPU 1 reads from 2,000 to ~7,000, each in one engine step.
    k.engine.spawn('writer', function* (t: Task): TaskBody {
      t.charge(2000);
      yield* s.downWrite(t);
      t.charge(5000);
      s.upWrite(t);
      t.charge(1000);
      yield* s.downRead(t);
      t.charge(5000);
      s.upRead(t);
    }, { cpu: 0, pinned: true });
    k.engine.spawn('lagging', function* (t: Task): TaskBody {
      t.charge(1000);
      r.push(`read ${s.downReadTrylock(t)}`, `write ${s.downWriteTrylock(t)}`);
      t.charge(30_000);
      const w = s.downWriteTrylock(t);
      r.push(`write later ${w}`);
      if (w) s.upWrite(t);
    }, { cpu: 1, pinned: true });
    k.engine.run();
    expect(r).toEqual(['read false', 'write false', 'write later true']);
  });

  it('readers share; a queued writer blocks later readers; readers queued together wake together', () => {
    const k = fakeKernel(testConfig(4));
    const s = new RwSemaphore(k, 'mmap_lock');
    const log: string[] = [];
    k.engine.spawn('r1', function* (t: Task): TaskBody {
      yield* s.downRead(t);
      log.push(`r1 in readers=${s.readers}`);
      t.charge(50_000);
      yield;
      s.upRead(t);
    }, { cpu: 0, pinned: true });
    k.engine.spawn('w', function* (t: Task): TaskBody {
      yield t.sleepFor(1000);
      yield* s.downWrite(t);
      log.push(`w in readers=${s.readers}`);
      t.charge(10_000);
      yield;
      s.upWrite(t);
    }, { cpu: 1, pinned: true });
    for (const [name, cpu] of [['r2', 2], ['r3', 3]] as const) {
      k.engine.spawn(name, function* (t: Task): TaskBody {
        yield t.sleepFor(2000);
        yield* s.downRead(t);
        log.push(`${name} in writer=${s.writer ? 1 : 0}`);
        t.charge(100);
        s.upRead(t);
      }, { cpu, pinned: true });
    }
    k.engine.run();
    expect(log).toEqual(['r1 in readers=1', 'w in readers=0', 'r2 in writer=0', 'r3 in writer=0']);
    expect(k.engine.counters.get('lock_contended:mmap_lock')).toBe(3);
    expect(k.engine.counters.get('lock_acquired:mmap_lock')).toBe(4);
  });

  it('property: never a writer with readers or two writers; every task gets the lock', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ write: fc.boolean(), delay: fc.nat(20_000), hold: fc.integer({ min: 1, max: 5000 }), cpu: fc.nat(3) }), { minLength: 1, maxLength: 12 }),
        (ops) => {
          const k = fakeKernel(testConfig(4, 200));
          const s = new RwSemaphore(k, 'p');
          let inside = 0;
          let writersInside = 0;
          let done = 0;
          ops.forEach((op, i) => {
            k.engine.spawn(`t${i}`, function* (t: Task): TaskBody {
              yield t.sleepFor(op.delay);
              if (op.write) yield* s.downWrite(t);
              else yield* s.downRead(t);
              inside++;
              if (op.write) writersInside++;
              expect(writersInside === 0 || (writersInside === 1 && inside === 1)).toBe(true);
              t.charge(op.hold);
              yield;
              inside--;
              if (op.write) {
                writersInside--;
                s.upWrite(t);
              } else s.upRead(t);
              done++;
            }, { cpu: op.cpu });
          });
          k.engine.run();
          expect(done).toBe(ops.length);
          expect(s.readers).toBe(0);
          expect(s.writer).toBe(null);
        },
      ),
      { numRuns: 100 },
    );
  });
});
