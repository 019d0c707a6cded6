import { describe, expect, it } from 'vitest';
import { ct_user_exit } from '../../../src/kernel/rcu/context_tracking.js';
import { rcu_init, rcu_read_lock, rcu_read_unlock, synchronize_rcu } from '../../../src/kernel/rcu/tree.js';
import { synchronize_rcu_expedited } from '../../../src/kernel/rcu/tree_exp.js';
import type { Task, TaskBody } from '../../../src/sim/task.js';
import { fakeKernel, testConfig } from '../locking/fakekernel.js';

function setup(cpus = 4) {
  const cfg = testConfig(cpus, 0);
  const k = fakeKernel(cfg);
  rcu_init(k);
  return { k, cost: cfg.cost, kcost: cfg.kernel.cost, ncpus: cpus };
}

function* busy(t: Task, total: number): Generator<undefined, void, void> {
  for (let done = 0; done < total; done += 1000) {
    t.charge(1000);
    if (t.shouldYield()) yield;
  }
}

describe('synchronize_rcu_expedited', () => {
  it('on an idle machine needs no IPI: the kworker finds every other CPU idle and wakes the caller', () => {
    const { k, kcost, ncpus } = setup();
    let back = 0;
    k.engine.spawn('caller', function* (t: Task): TaskBody {
      t.charge(1000);
      yield* synchronize_rcu_expedited(t);
      back = t.now;
    }, { cpu: 0, pinned: true });
    k.engine.run();
    const op = kcost.kernel_op;
    // Queue the work (op), the kworker examines every CPU (ncpus x op) and wakes the caller (op).
    expect(back).toBe(1000 + op + ncpus * op + op);
    expect(k.engine.counters.get('ipi_sent') ?? 0).toBe(0);
    expect(k.engine.counters.get('rcu_exp_grace_periods')).toBe(1);
    const lat = k.engine.samples.of('synchronize_rcu_expedited');
    expect([lat.count, lat.min, lat.max]).toEqual([1, back - 1000, back - 1000]);
  });

  it('sends rcu_exp_handler to each busy CPU and ends when the last handler has reported', () => {
    const { k, cost, kcost, ncpus } = setup();
    let back = 0;
    for (const cpu of [1, 2]) k.engine.spawn(`user${cpu}`, (t) => busy(t, 100_000), { cpu, pinned: true });
    k.engine.spawn('caller', function* (t: Task): TaskBody {
      t.charge(1000);
      yield* synchronize_rcu_expedited(t);
      back = t.now;
    }, { cpu: 0, pinned: true });
    k.engine.run();
    const op = kcost.kernel_op;
    // The kworker runs on idle CPU 3 and sends two IPIs one after the other; the second is taken ipi_latency later.
    expect(back).toBe(1000 + op + ncpus * op + 2 * cost.ipi_send + cost.ipi_latency + op);
    const handler = k.engine.attribution.pathNode(['irq', 'ipi_handler', 'rcu_exp_handler']);
    expect(k.engine.attribution.exclusiveOf(handler)).toBe(2 * (cost.ipi_handler + op));
  });

  it('waits for a reader that was inside its critical section when it started, and not for one that enters later', () => {
    const { k } = setup();
    let readerOut = 0;
    let back = 0;
    let lateIn = 0;
    k.engine.spawn('reader', function* (t: Task): TaskBody {
      ct_user_exit(t);
      rcu_read_lock(t);
      yield* busy(t, 50_000);
      readerOut = t.now;
      rcu_read_unlock(t);
    }, { cpu: 1, pinned: true });
    k.engine.spawn('late', function* (t: Task): TaskBody {
      yield t.sleepFor(5000);
      lateIn = t.now;
      rcu_read_lock(t);
      yield* busy(t, 500_000);
      rcu_read_unlock(t);
    }, { cpu: 2, pinned: true });
    k.engine.spawn('caller', function* (t: Task): TaskBody {
      t.charge(2000);
      yield* synchronize_rcu_expedited(t);
      back = t.now;
    }, { cpu: 0, pinned: true });
    k.engine.run();
    expect(lateIn).toBeGreaterThan(2000);
    expect(back).toBeGreaterThan(readerOut);
    expect(back).toBeLessThan(readerOut + 1000);
  });

  it('callers that ask while one runs share the next', () => {
    const { k } = setup();
    const backs: number[] = [];
    // A reader holds the first grace period up for 50,000 cycles.
    k.engine.spawn('reader', function* (t: Task): TaskBody {
      rcu_read_lock(t);
      yield* busy(t, 50_000);
      rcu_read_unlock(t);
    }, { cpu: 3, pinned: true });
    for (const cpu of [0, 1, 2]) {
      k.engine.spawn(`c${cpu}`, function* (t: Task): TaskBody {
        yield t.sleepFor(1000 + 500 * cpu);
        yield* synchronize_rcu_expedited(t);
        backs.push(t.now);
      }, { cpu, pinned: true });
    }
    k.engine.run();
    expect(backs.length).toBe(3);
    // The first caller's grace period starts (at 1000 + kernel_op) before the others ask (1500, 2000); they share the second.
    expect(k.engine.counters.get('rcu_exp_grace_periods')).toBe(2);
    expect(backs[1]).toBe(backs[2]);
  });
});

describe('synchronize_rcu with kernel.rcu_expedited (rcu_gp_is_expedited)', () => {
  function callOnce(expedited: boolean) {
    const cfg = testConfig(4, 0);
    const k = fakeKernel({ ...cfg, kernel: { ...cfg.kernel, rcu_expedited: expedited } });
    rcu_init(k);
    let back = 0;
    k.engine.spawn('caller', function* (t: Task): TaskBody {
      t.charge(1000);
      yield* synchronize_rcu(t);
      back = t.now;
    }, { cpu: 0, pinned: true });
    k.engine.run();
    return { k, back, op: cfg.kernel.cost.kernel_op };
  }

  it('set: takes an expedited grace period (the idle machine needs no IPI), and records synchronize_rcu latency', () => {
    const { k, back, op } = callOnce(true);
    expect(back).toBe(1000 + op + 4 * op + op);
    expect(k.engine.counters.get('rcu_exp_grace_periods')).toBe(1);
    const lat = k.engine.samples.of('synchronize_rcu');
    expect([lat.count, lat.min, lat.max]).toEqual([1, back - 1000, back - 1000]);
  });

  it('unset: waits for a normal grace period, at least a tick away', () => {
    const { k, back } = callOnce(false);
    expect(k.engine.counters.get('rcu_exp_grace_periods') ?? 0).toBe(0);
    expect(back - 1000).toBeGreaterThanOrEqual(k.cfg.clock_ghz * 1e9 / k.cfg.kernel.hz);
  });
});
