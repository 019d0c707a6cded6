/**
 * Nadav Amit, "x86: Concurrent TLB flushes" (RFC, linux-kernel, 2019-05-25;
 * the work behind Amit, Tai, Wei, "Don't shoot down TLB shootdowns!",
 * EuroSys 2020), on his Haswell, bare metal: madvise(MADV_DONTNEED) of one
 * page and a touch of it costs 661 ns when the mm runs on one CPU, 1436 ns
 * when a second thread of the mm busy-waits on another CPU (a shootdown IPI
 * each time).
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
  source: 'Nadav Amit, "[RFC PATCH 0/6] x86: Concurrent TLB flushes", linux-kernel, 2019-05-25 (the "before" column; the work behind Amit, Tai, Wei, "Don\'t shoot down TLB shootdowns!", EuroSys 2020): 661 ns with one thread, 1436 ns with a second thread busy-waiting on another CPU',
  hardware: 'Intel Haswell, bare metal (model and clock not named)',
  profile: 'haswell-desktop',
  unit: 'ns',
  x: 'threads of the mm running',
  curves: [{ label: 'DONTNEED + touch', points: [{ x: 1, value: 661 }, { x: 2, value: 1436 }] }],
  tolerance: { point: 0.3, shape: 0.3, why: 'a mean over many iterations on a named machine; the haswell-desktop profile has a Haswell\'s geometry, latencies and page-fault entry (Torvalds 2014); the part and its clock are not named, and the other kernel costs are the defaults\'' },
  notes:
    'One thread loops: madvise(MADV_DONTNEED) of one page, then a write to it (a fault that maps a zeroed page). With two, a second thread of the mm ' +
    'keeps loading on CPU 1, so each DONTNEED sends a flush IPI and waits for it. The mean after warm-up, in ns at the profile\'s clock. ' +
    'The page fault is a bare-metal Haswell\'s: its exception entry and exit (cost.page_fault_trap, 1050 cycles) and the handler\'s instructions ' +
    '(kernel.cost.fault_handler, 37) come from Torvalds 2014\'s loop of zero-page faults on a Haswell, which the model reproduces (1301 cycles a fault); ' +
    'before, a handler measured in a KVM guest (2000 cycles at 3.0 GHz, 667 ns) made the one-thread figure 2,025 ns (1,486 with the bare-metal ' +
    'fault; the statistics of the rmap change, NR_ANON_MAPPED on the fault and on the zap, vmstat.ts, add ~90 ns). It is still 2.4 times the ' +
    'published one: at 3.4 GHz the round costs ~5,360 cycles where 661 ns is ~2,250, and no single part closes that: the local flush ' +
    '(flush_tlb_mm_range, ~1,000: cost.flush_tlb_func, derived from Hansen 2014\'s IvyBridge figures, and an INVLPG), clear_page (957: 4 KiB at ' +
    'Arora\'s 14.55 GB/s, a rate measured streaming huge pages to DRAM, where this loop clears the same cache-hot page each round), the ' +
    'syscall entry (652: Hansen 2017\'s 192 ns lseek on an unnamed part), the free and the allocation (~820: LLFree\'s 94 ns each, memcg). ' +
    'The clear of a page whose lines are already cached is the mechanism most likely missing (its stores would run at L1/L2 store throughput); ' +
    'what would measure the rest: perf stat -e cycles of each function of the loop (ftrace function_graph) on a Haswell. The step a second ' +
    'thread adds (the IPI round trip, ~870 ns) is near the published one (775 ns).',
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
