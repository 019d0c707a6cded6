import { describe, expect, it } from 'vitest';
import { KFREE_DRAIN_JIFFIES, KVFREE_BULK_MAX_ENTR, kfree_rcu } from '../../../src/kernel/rcu/kvfree_rcu.js';
import { rcu_init, synchronize_rcu } from '../../../src/kernel/rcu/tree.js';
import type { Task, TaskBody } from '../../../src/sim/task.js';
import { Slab } from '../../../src/kernel/mm/slab.js';
import { fakeKernel, testConfig } from '../locking/fakekernel.js';

function setup() {
  const cfg = testConfig(4, 0);
  const k = fakeKernel(cfg);
  const rcu = rcu_init(k);
  return { k, rcu, tick: k.engine.tickPeriod, cost: cfg.kernel.cost, hz: cfg.kernel.hz };
}

describe('kfree_rcu batching (kvfree_call_rcu)', () => {
  it('a page holds 507 pointers; the drain delay is 5 s of jiffies', () => {
    expect(KVFREE_BULK_MAX_ENTR).toBe(507);
    expect(KFREE_DRAIN_JIFFIES(250)).toBe(1250);
  });

  it('one object waits KFREE_DRAIN_JIFFIES for the monitor, then one callback and one grace period free it', () => {
    const { k, rcu, tick, cost, hz } = setup();
    k.engine.spawn('a', function* (t: Task): TaskBody {
      t.charge(1000);
      kfree_rcu(t, k.slab.kmalloc(512), 512);
    }, { cpu: 0 });
    k.engine.run();
    const drain = KFREE_DRAIN_JIFFIES(hz) * tick;
    expect(k.slab.bytesInUse).toBe(0);
    expect(k.engine.counters.get('kvfree_rcu_batches')).toBe(1);
    expect(k.engine.counters.get('kvfree_rcu_peak_bytes')).toBe(512);
    // The monitor's callback asks for a grace period at the next tick, where the kthread starts it.
    expect(rcu.gpStarts[1]).toBe(drain + tick + 4 * cost.kernel_op);
    expect(rcu.violations).toEqual([]);
  });

  it('a page\'s worth arms the monitor one jiffy out, and the whole page costs one RCU callback', () => {
    const { k, rcu, tick, cost } = setup();
    k.engine.spawn('a', function* (t: Task): TaskBody {
      for (let i = 0; i < KVFREE_BULK_MAX_ENTR; i++) kfree_rcu(t, k.slab.kmalloc(64), 64);
    }, { cpu: 0 });
    k.engine.run();
    expect(k.slab.bytesInUse).toBe(0);
    expect(k.engine.counters.get('rcu_callbacks_queued')).toBe(1);
    expect(rcu.gpStarts[1]).toBe(2 * tick + 4 * cost.kernel_op);
    const batch = k.engine.attribution.pathNode(['softirq', 'rcu_core', 'rcu_do_batch']);
    expect(k.engine.attribution.exclusiveOf(batch)).toBe(cost.rcu_softirq + cost.rcu_callback + KVFREE_BULK_MAX_ENTR * cost.kmalloc);
  });

  it('objects a grace period has already covered are freed by the monitor without another (kvfree_rcu_drain_ready)', () => {
    const { k, rcu } = setup();
    k.engine.spawn('a', function* (t: Task): TaskBody {
      kfree_rcu(t, k.slab.kmalloc(128), 128);
      yield* synchronize_rcu(t);
    }, { cpu: 0 });
    k.engine.run();
    expect(k.slab.bytesInUse).toBe(0);
    expect(rcu.completed).toBe(1);
    expect(k.engine.counters.get('kvfree_rcu_drained_ready')).toBe(1);
    expect(k.engine.counters.get('kvfree_rcu_batches')).toBe(0);
  });

  it('the monitor frees, in order, the pointers an ended grace period covers and batches the rest, across cookies', () => {
    const { k, rcu } = setup();
    const order: number[] = [];
    // kfree_rcu frees kmalloc's objects by slot (kfreeSlot), any other address by kfree.
    const kfreeSlot = k.slab.kfreeSlot.bind(k.slab);
    k.slab.kfreeSlot = (slot: number, bytes: number): void => {
      order.push(Slab.addrOf(slot));
      kfreeSlot(slot, bytes);
    };
    const early: number[] = [];
    const late: number[] = [];
    k.engine.spawn('a', function* (t: Task): TaskBody {
      for (let i = 0; i < 3; i++) {
        const a = k.slab.kmalloc(64 << (i % 2));
        early.push(a);
        kfree_rcu(t, a, 64 << (i % 2));
      }
      yield* synchronize_rcu(t);
      for (let i = 0; i < 2; i++) {
        const a = k.slab.kmalloc(128);
        late.push(a);
        kfree_rcu(t, a, 128);
      }
    }, { cpu: 0 });
    k.engine.run();
    expect(k.slab.bytesInUse).toBe(0);
    // The three from before the grace period are freed by the monitor at once, in order; the two after it wait for a batch.
    expect(k.engine.counters.get('kvfree_rcu_drained_ready')).toBe(3);
    expect(k.engine.counters.get('kvfree_rcu_batches')).toBe(1);
    expect(order).toEqual([...early, ...late]);
    expect(rcu.violations).toEqual([]);
  });

  it('frees every address as given, kmalloc\'s and any other (kept whole beside the 32-bit slots)', () => {
    const { k } = setup();
    const freed: number[] = [];
    k.slab.kfree = (addr: number): void => {
      freed.push(addr);
    };
    k.slab.kfreeSlot = (slot: number): void => {
      freed.push(Slab.addrOf(slot));
    };
    const given = [k.slab.kmalloc(64), 12345, k.slab.kmalloc(256), 2 ** 40 + 32, 2 ** 52 + 64, k.slab.kmalloc(64)];
    k.engine.spawn('a', function* (t: Task): TaskBody {
      for (const a of given) kfree_rcu(t, a, 64);
    }, { cpu: 0 });
    k.engine.run();
    expect(freed).toEqual(given);
  });
});


