/**
 * synchronize_rcu() on an idle machine at HZ=1000: a mean of 9.75 ms on 32
 * idle CPUs (Joel Fernandes, 2026) and ~9.5 ms on 36 CPUs, "two FQS passes
 * of 3 jiffies" (his rcu_normal_wake_from_gp patch). The simulation calls
 * synchronize_rcu from one task again and again, each call at a different
 * point within a jiffy (spread evenly), and reports the mean latency.
 */
import { bootKernel } from '../../kernel/boot.js';
import { synchronize_rcu } from '../../kernel/rcu/tree.js';
import type { Task, TaskBody } from '../../sim/task.js';
import type { SimContext } from '../types.js';
import { defineExperiment } from '../types.js';

/** Calls per point: their phases within a jiffy are i / CALLS. */
const CALLS = 16;

function meanSyncMs(ctx: SimContext, cpus: number): number {
  const cfg = ctx.machine({ cpus, kernel: { hz: 1000 } });
  const k = bootKernel(cfg);
  const tick = k.engine.tickPeriod;
  k.engine.spawn('caller', function* (t: Task): TaskBody {
    for (let i = 0; i < CALLS; i++) {
      // Sleep into the next-but-one jiffy, at phase i / CALLS of it, so nothing of the last call is still in flight.
      const at = (Math.floor(t.now / tick) + 2 + i / CALLS) * tick;
      yield t.sleepFor(Math.ceil(at - t.now));
      yield* synchronize_rcu(t);
    }
  }, { cpu: 0 });
  k.run();
  return k.engine.samples.of('synchronize_rcu').percentiles().mean / cfg.clock_ghz / 1e6;
}

export const experiment = defineExperiment({
  id: 'fernandes-synchronize-rcu-idle',
  title: 'synchronize_rcu() latency on idle CPUs at HZ=1000',
  source: 'Joel Fernandes, 2026: mean 9.75 ms (max 25.7 ms) on 32 idle CPUs; ~9.5 ms on 36 CPUs, rcu_normal_wake_from_gp patch discussion (calibration.md, RCU)',
  hardware: 'x86 servers with 32 and 36 CPUs, HZ=1000 (models not named)',
  profile: 'default',
  unit: 'ms',
  x: 'CPUs',
  curves: [
    {
      label: 'synchronize_rcu mean',
      points: [
        { x: 32, value: 9.75 },
        { x: 36, value: 9.5 },
      ],
    },
  ],
  tolerance: { point: 0.3, shape: 0.3, why: 'means of a distribution whose maximum is 2.6x the mean (25.7 ms); the two figures come from different machines and kernels' },
  notes:
    'Timeline in the model: call_rcu queues the wake-up callback; rcu_core at the next tick asks for a grace period and wakes the ' +
    'grace-period kthread; its first scan, 3 jiffies later (1 + (HZ > 250) + (HZ > 500) + 32 / 256), reports the idle CPUs and ' +
    'snapshots its own, busy one; the second, 3 jiffies after that, reports it; the callback runs at the caller CPU\'s next tick. ' +
    'That is 7.5 jiffies on average, 7.5 ms, below the published 9.5-9.75 ms. The rest is not reached by a mechanism we model: ' +
    'candidates are wake-up latency of the kthread and of ksoftirqd on real idle CPUs (C-state exit), timer slack on the ' +
    'fqs timeouts, and a third scan when a CPU is caught busy (an interrupt) at the second. The CPU count moves nothing until ' +
    '256 CPUs, so the model gives the same figure for 32 and 36.',
  simulate(ctx) {
    return [[meanSyncMs(ctx, 32), meanSyncMs(ctx, 36)]];
  },
});
