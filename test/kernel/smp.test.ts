import { describe, expect, it } from 'vitest';
import { smp_call_function_many } from '../../src/kernel/smp.js';
import { intern } from '../../src/sim/attribution.js';
import type { Task, TaskBody } from '../../src/sim/task.js';
import { fakeKernel, testConfig } from './locking/fakekernel.js';

const FN = intern('test_call');

/** Cycles from the start of the second of two calls from CPU 0 to CPU 1 to its acknowledgement, and CPU 1's cycles for handling it. */
function secondCall(c2c: number, fnCycles = 100): { sender: number; target: number } {
  const cfg = testConfig(2, 0);
  cfg.cost = { ...cfg.cost, c2c_transfer: c2c };
  const k = fakeKernel(cfg);
  let sender = 0;
  let targetBefore = 0;
  k.engine.spawn('sender', function* (t: Task): TaskBody {
    for (let i = 0; i < 2; i++) {
      const start = t.now;
      targetBefore = k.engine.busy[1]!;
      const done = smp_call_function_many(t, [1], FN, () => fnCycles);
      yield t.spinOn(done);
      sender = t.now - start;
    }
  }, { cpu: 0, pinned: true });
  k.engine.run();
  return { sender, target: k.engine.busy[1]! - targetBefore };
}

describe('smp_call_function_many: the csd and call_single_queue lines', () => {
  it('a repeated call moves five lines between the two CPUs: csd_lock and llist_add on the sender, llist_del_all, the csd read and csd_unlock on the target', () => {
    const a = secondCall(100);
    const b = secondCall(1100);
    // Every transfer is on the sender's path to the acknowledgement (it waits for the handler); three are the target's.
    expect(b.sender - a.sender).toBe(5 * 1000);
    expect(b.target - a.target).toBe(3 * 1000);
  });

  it('costs exactly what the cache model gives for those lines, beyond the fabric\'s IPI costs', () => {
    const cfg = testConfig(2, 0);
    const cost = cfg.cost;
    const { sender, target } = secondCall(cost.c2c_transfer);
    // csd_lock: a write to the line CPU 1 wrote last (an LLC hit and a transfer); llist_add: the same, and the atomic.
    const senderLines = 2 * (cost.llc_hit + cost.c2c_transfer) + cost.atomic_rmw;
    // llist_del_all: the line CPU 0 wrote (and the atomic); the csd read: the same; csd_unlock: a write to a line
    // CPU 0 still holds a copy of (an L1 hit and the invalidation).
    const handlerLines = 2 * (cost.llc_hit + cost.c2c_transfer) + cost.atomic_rmw + cost.l1d_hit + cost.c2c_transfer;
    expect(target).toBe(cost.ipi_handler + handlerLines + 100);
    expect(sender).toBe(senderLines + cost.ipi_send + cost.ipi_latency + cost.ipi_handler + handlerLines + 100 + cost.ipi_ack);
  });
});
