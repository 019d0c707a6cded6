/**
 * Rik van Riel's will-it-scale tlb_flush2_threads figures from the "AMD
 * broadcast TLB invalidation" series (2025), 36-core AMD Milan: each thread
 * maps 1 MiB and, page by page, writes a byte, gives the page back with
 * madvise(MADV_DONTNEED) and reads it as zero; loops per second over all
 * threads. 527k vanilla, 731k with the lru_add_drain() calls removed from
 * the zap path, 527k with INVLPGB alone (the lruvec lock those drains take
 * becomes the bottleneck), 1,157k with both.
 */
import { MADV_DONTNEED, sys_madvise } from '../../kernel/mm/madvise.js';
import { sys_mmap } from '../../kernel/mm/mmap.js';
import { sys_munmap } from '../../kernel/mm/munmap.js';
import { accessUser } from '../../kernel/mm/uaccess.js';
import type { Task, TaskBody } from '../../sim/task.js';
import { runProcess } from '../process.js';
import { defineExperiment } from '../types.js';

const THREADS = 36;
const MEMORYSIZE = 1 << 20;
/** Simulated run time of each configuration. */
const RUN_MS = 0.5;

export const experiment = defineExperiment({
  id: 'vanriel2025-tlb-flush2',
  title: 'will-it-scale tlb_flush2_threads on 36 cores: IPI shootdowns against INVLPGB broadcast',
  source: 'Rik van Riel, "AMD broadcast TLB invalidation" series (v13), linux-kernel, 2025: 527k loops/s vanilla, 731k with lru_add_drain removed from the zap path, 527k INVLPGB alone, 1,157k both; TLB invalidation 40% -> ~4% of CPU',
  hardware: 'AMD EPYC Milan, 36 cores',
  profile: 'milan',
  unit: 'k loops/s',
  x: 'flush',
  curves: [{ label: 'tlb_flush2_threads', points: [{ x: 'IPIs', value: 731 }, { x: 'INVLPGB', value: 1157 }] }],
  tolerance: { shape: 0.3, why: 'one run per configuration in the posting; the milan profile has a Milan\'s geometry and latencies but the defaults\' kernel and flush costs (in nanoseconds), so points are not judged' },
  notes:
    'The published points compared are the two whose kernel matches the model\'s: the zap path here has no lru_add_drain() (Linux 6.15 removed it, ' +
    'Rik van Riel\'s "mm: remove unnecessary calls to lru_add_drain"), so 731k (IPIs) and 1,157k (INVLPGB) are its counterparts; the vanilla and ' +
    'INVLPGB-alone figures (527k) include the lruvec lock those drains took. 36 threads pinned one a CPU on the milan profile with 36 CPUs, ' +
    'tlb.invlpgb on for the second point (a global ASID once consider_global_asid sees the mm on more than 3 CPUs); each runs for ' +
    `${RUN_MS} ms of simulated time and loops are counted over all threads. ` +
    'The lruvec lock is on this path as in Linux even without those drains: each fault\'s page joins its CPU\'s lru_add batch, which holds a ' +
    'reference (folio_get in __folio_batch_add_and_move), so the page DONTNEED gives back lives until the batch of 31 drains, then goes onto the ' +
    'inactive list and off it again under two lru_lock holds (folio_batch_move_lru, then folios_put\'s __page_cache_release); 36 CPUs share ' +
    'the one lruvec. That lock costs the broadcast point most (7,346k -> 5,310k loops/s; the IPI point, whose loops wait for IPIs, does not move). ' +
    'Both simulated rates are still higher than published (a loop of ~22 us with IPIs against ~49 us measured): the fault, zap and IPI costs of the milan ' +
    'profile are the defaults\', not measured on a Milan. Each CPU\'s first allocation refills its empty per-CPU page list under zone->lock ' +
    '(rmqueue_bulk, 63 cold struct pages), and 36 CPUs do so at once at the start of the run: that took both points down 11-15% ' +
    '(1,936k -> 1,720k and 5,310k -> 4,492k); the memcg charge and uncharge (kernel.memcg_depth 3) another 3%. ' +
    'The broadcast gains more here (x2.6 against x1.58): cost.invlpgb and cost.tlbsync are assumptions (AMD publishes ' +
    'no latency) and TLBSYNC is a fixed wait, with no contention when 36 cores broadcast at once, which is where the hardware spends its time. ' +
    'The same posting bounds it: with INVLPGB alone (527k loops/s) TLB invalidation was ~4% of CPU, 0.04 x 36 CPUs / 527k = 2.73 us ' +
    '(6,690 cycles at 2.45 GHz) of flushing per loop under 36-way broadcast, against 2,515 here (flush_tlb_func 680, INVLPGB 300, ' +
    'TLBSYNC 1,500, the tlb_gen atomic). A TLBSYNC of 5,675 cycles would account for it and gives x2.13 (shape +35%; 6,390 gives ' +
    'x2.06, +30%; both run before the memcg charge was modelled). Neither is adopted: the figure is a residual of a profile share measured with the lruvec lock as the ' +
    'bottleneck, and it mixes the instruction\'s own latency with the queueing of 36 senders, which a fixed cost cannot separate (a model of ' +
    'that queue needs the single-sender latency as well). What would measure them: INVLPGB and TLBSYNC timed with rdtsc on a Milan, ' +
    'alone and with every core broadcasting.',
  simulate(ctx) {
    const loops = (invlpgb: boolean): number => {
      const cfg = ctx.machine({ cpus: THREADS, tlb: { invlpgb } });
      const end = RUN_MS * 1e6 * cfg.clock_ghz;
      let total = 0;
      const body = (t: Task): TaskBody =>
        (function* () {
          while (t.now < end) {
            const addr = yield* sys_mmap(t, 0, MEMORYSIZE, 3, 0x22, -1, 0);
            for (let i = 0; i < MEMORYSIZE && t.now < end; i += 4096) {
              yield* accessUser(t, addr + i, true);
              yield* sys_madvise(t, addr + i, 4096, MADV_DONTNEED);
              yield* accessUser(t, addr + i, false);
              if (t.now <= end) total++;
            }
            yield* sys_munmap(t, addr, MEMORYSIZE);
          }
        })();
      runProcess(cfg, function* (t, ts) {
        const k = t.k;
        for (let i = 1; i < THREADS; i++) k.spawnThread(ts, `tlb_flush2/${i}`, (t2) => body(t2), { cpu: i, pinned: true });
        yield* body(t);
      });
      return Math.round(total / RUN_MS);
    };
    return [[loops(false), loops(true)]];
  },
});
