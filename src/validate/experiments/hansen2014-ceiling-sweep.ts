/**
 * The other half of Dave Hansen's 2014 tuning of
 * tlb_single_page_flush_ceiling (commit a5102476a24b): on a workload that
 * frees 1 to 64 pages at a time while it keeps using a TLB-sized working
 * set, the ceiling that makes the whole run cheapest lies near 33 (an INVLPG
 * per page below it; above it a full flush and the refill of every entry).
 */
import { MADV_DONTNEED, sys_madvise } from '../../kernel/mm/madvise.js';
import { sys_mmap } from '../../kernel/mm/mmap.js';
import { accessUserRange } from '../../kernel/mm/uaccess.js';
import { runProcess } from '../process.js';
import { defineExperiment } from '../types.js';

const CEILINGS = [1, 8, 16, 24, 33, 40, 48, 56, 64];
/** The working set: 512 pages, the size of the dTLB Hansen reasons with. */
const WORKING_SET = 512;
const ROUNDS = 128;

export const experiment = defineExperiment({
  id: 'hansen2014-ceiling-sweep',
  title: 'tlb_single_page_flush_ceiling that minimises a run freeing 1 to 64 pages at a time beside a 512-page working set',
  source: 'Dave Hansen, "x86: mm: set TLB flush tunable to sane value (33)", linux-mm, 2014-07-01 (commit a5102476a24b): refilling a 512-entry dTLB ~22,000 cycles ~ 85 INVLPGs; 33 chosen',
  hardware: 'Intel Core i5-3320M (IvyBridge), bare metal',
  profile: 'ivybridge-laptop',
  unit: 'pages',
  x: 'ceiling at the minimum',
  curves: [{ label: 'best ceiling', points: [{ x: 'argmin', value: 33 }] }],
  tolerance: { point: 0.3, why: 'the published value is a choice near a broad minimum, not a measurement' },
  notes:
    'One thread keeps a 512-page working set (one load a page a round) and each round gives back N pages with madvise(MADV_DONTNEED), N going 1 to 64, then ' +
    'writes them again; the sweep runs the same rounds at each ceiling (1, 8, 16, 24, 33, 40, 48, 56, 64) and reports the ceiling with the fewest cycles. ' +
    'Below the ceiling a flush is an INVLPG a page (cost.invlpg); above, a CR3 reload, after which every working-set page misses the TLB and walks: the ' +
    'refill is those walks, each cost.walk_start (the walker\'s own latency, 15 cycles: ~20 cycles a walk with tables in cache, less the one L1 read of the ' +
    'PTE the paging-structure cache leaves) plus its cache reads, about 20 cycles a page against Hansen\'s 45 (his walks over a kernel compile also ' +
    'read PTEs from L2 and L3). The minimum is broad, as Hansen found: at 24 and 40 the run costs 0.05% and 0.16% more than at 33, at 8 and 64 0.8% and 2.0%.',
  simulate(ctx) {
    const run = (ceiling: number): number => {
      let cycles = 0;
      runProcess(ctx.machine({ kernel: { tlb_single_page_flush_ceiling: ceiling } }), function* (t) {
        const ws = yield* sys_mmap(t, 0, WORKING_SET * 4096, 3, 0x22, -1, 0);
        const a = yield* sys_mmap(t, 0, 64 * 4096, 3, 0x22, -1, 0);
        yield* accessUserRange(t, ws, WORKING_SET, 4096, true);
        yield* accessUserRange(t, a, 64, 4096, true);
        const t0 = t.now;
        for (let r = 0; r < ROUNDS; r++) {
          const n = 1 + (r % 64);
          yield* sys_madvise(t, a, n * 4096, MADV_DONTNEED);
          yield* accessUserRange(t, a, n, 4096, true);
          yield* accessUserRange(t, ws, WORKING_SET, 4096, false);
        }
        cycles = t.now - t0;
      });
      return cycles;
    };
    const totals = CEILINGS.map(run);
    let best = 0;
    for (let i = 1; i < totals.length; i++) if (totals[i]! < totals[best]!) best = i;
    return [[CEILINGS[best]!]];
  },
});
