/**
 * The lruvec lock and the split PTE lock where Linux takes them: once per
 * folio batch (PAGEVEC_SIZE) when MADV_FREE moves pages to the lazy-free
 * list and when the pages a zap gathered are released, and the PT table's
 * lock contended by threads whose ranges share a table.
 */
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../src/config/machine.js';
import { MADV_DONTNEED, MADV_FREE, sys_madvise } from '../../../src/kernel/mm/madvise.js';
import { sys_mmap } from '../../../src/kernel/mm/mmap.js';
import { PAGEVEC_SIZE } from '../../../src/kernel/mm/swap.js';
import { fillUser } from '../../../src/kernel/mm/uaccess.js';
import { allocChurn } from '../../../src/workloads/alloc-churn.js';
import { runWorkload } from '../../../src/workloads/run.js';
import { PAGE, PRIVATE_ANON, PROT_RW, runProcess } from './helpers.js';

const ACQ = 'lock_acquired:lru_lock';

describe('lru_lock', () => {
  it('MADV_FREE takes it once per full lazy-free batch (after draining the fault path\'s add batch); DONTNEED\'s release once per folio batch holding LRU pages', () => {
    const n = 64;
    runProcess(function* (t) {
      const k = t.k;
      const count = () => k.engine.counters.snapshot()[ACQ] ?? 0;
      const a = yield* sys_mmap(t, 0, n * PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      expect(yield* fillUser(t, a, n * PAGE, 7)).toBe(0);
      // The faults' lru_add batches moved at 31 and 62 pages: 2 pages wait in this CPU's batch.
      let c0 = count();
      expect(yield* sys_madvise(t, a, n * PAGE, MADV_FREE)).toBe(0);
      // lru_add_drain (1), then the lazy-free batch filled twice (64 = 2 x 31 + 2).
      expect(count() - c0).toBe(1 + Math.floor(n / PAGEVEC_SIZE));
      const b = yield* sys_mmap(t, 0, n * PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      expect(yield* fillUser(t, b, n * PAGE, 7)).toBe(0);
      c0 = count();
      expect(yield* sys_madvise(t, b, n * PAGE, MADV_DONTNEED)).toBe(0);
      // Release batches [0, 31) and [31, 62) hold listed pages; [62, 64) are still in the add batch, off the lists.
      expect(count() - c0).toBe(2);
    });
  });

  it('contends as threads zap at once, and the PT lock of tables their chunks share contends too', () => {
    const cfg = defaultConfig();
    const params = { chunk_pages: 64, rounds: 20, advice: 'MADV_DONTNEED' };
    const one = runWorkload(allocChurn, { ...params, threads: 1 }, cfg);
    const four = runWorkload(allocChurn, { ...params, threads: 4 }, cfg);
    expect(one.counters['lock_contended:lru_lock'] ?? 0).toBe(0);
    expect(one.counters['lock_contended:ptl'] ?? 0).toBe(0);
    expect(four.counters['lock_contended:lru_lock']!).toBeGreaterThan(0);
    // Four chunks of 64 pages mapped next to each other lie in one PT table.
    expect(four.counters['lock_contended:ptl']!).toBeGreaterThan(0);
  });
});
