/**
 * Nadav Amit et al., "Don't shoot down TLB shootdowns!" (EuroSys 2020,
 * measured 2019 on Haswell, bare metal): madvise(MADV_DONTNEED) of one page
 * and a touch of it costs 661 ns when the mm runs on one CPU, 1436 ns when a
 * second thread of the mm runs on another CPU (a shootdown IPI each time).
 */
import { MADV_DONTNEED, sys_madvise } from '../../kernel/mm/madvise.js';
import { sys_mmap } from '../../kernel/mm/mmap.js';
import { accessUser, accessUserRange } from '../../kernel/mm/uaccess.js';
import { runProcess } from '../process.js';
import { defineExperiment } from '../types.js';

const ROUNDS = 64;
const WARMUP = 8;

export const experiment = defineExperiment({
  id: 'amit2019-dontneed-touch',
  title: 'madvise(MADV_DONTNEED) of one page and a touch of it, with the mm on one CPU and on two',
  source: 'Nadav Amit, Amy Tai, Michael Wei, "Don\'t shoot down TLB shootdowns!", EuroSys 2020 (measured 2019): 661 ns with one thread, 1436 ns with a second thread on another CPU',
  hardware: 'Intel Haswell, bare metal',
  profile: 'haswell-desktop',
  unit: 'ns',
  x: 'threads of the mm running',
  curves: [{ label: 'DONTNEED + touch', points: [{ x: 1, value: 661 }, { x: 2, value: 1436 }] }],
  tolerance: { point: 0.3, shape: 0.3, why: 'a mean over many iterations on a named machine; the haswell-desktop profile has the Haswell\'s geometry and latencies, its kernel costs are the defaults\' (in nanoseconds)' },
  notes:
    'One thread loops: madvise(MADV_DONTNEED) of one page, then a write to it (a fault that maps a zeroed page). With two, a second thread of the mm ' +
    'keeps loading on CPU 1, so each DONTNEED sends a flush IPI and waits for it. The mean after warm-up, in ns at the profile\'s clock. ' +
    'The simulated one-thread figure is three times the published: kernel.cost.fault_handler (667 ns) was measured on a KVM guest, where a fault costs ' +
    'more than on the bare-metal Haswell, and the haswell-desktop profile keeps it (in nanoseconds); the step a second thread adds (the IPI round trip) is ' +
    'near the published one (about 870 ns here against 775 ns).',
  simulate(ctx) {
    const perRound = (threads: number): number => {
      const cfg = ctx.machine({ cpus: 2 });
      let total = 0;
      runProcess(cfg, function* (t, ts) {
        const k = t.k;
        let stop = false;
        if (threads > 1) {
          k.spawnThread(ts, 'other', (t2) => (function* () {
            const b = yield* sys_mmap(t2, 0, 4096, 3, 0x22, -1, 0);
            while (!stop) {
              yield* accessUserRange(t2, b, 16, 0, false);
              if (t2.shouldYield()) yield;
            }
          })(), { cpu: 1, pinned: true });
          yield t.sleepFor(20000);
        }
        const a = yield* sys_mmap(t, 0, 4096, 3, 0x22, -1, 0);
        for (let r = 0; r < ROUNDS; r++) {
          const t0 = t.now;
          yield* sys_madvise(t, a, 4096, MADV_DONTNEED);
          yield* accessUser(t, a, true);
          if (r >= WARMUP) total += t.now - t0;
        }
        stop = true;
      });
      return Math.round(total / (ROUNDS - WARMUP) / cfg.clock_ghz);
    };
    return [[perRound(1), perRound(2)]];
  },
});
