/**
 * A local full flush is what native_flush_tlb_local() does: a CR3 write of
 * the loaded root without the no-flush bit (cost.cr3_write), not INVPCID
 * (cost.tlb_flush_pcid). The refill is the walks that follow, each paying
 * the walker's own latency (cost.walk_start) on top of its cache reads.
 */
import { describe, expect, it } from 'vitest';
import { defaultConfig, type MachineConfig } from '../../../src/config/machine.js';
import { MADV_DONTNEED, sys_madvise } from '../../../src/kernel/mm/madvise.js';
import { sys_mmap } from '../../../src/kernel/mm/mmap.js';
import { accessUserRange } from '../../../src/kernel/mm/uaccess.js';
import { runProcess } from '../../../src/validate/process.js';

const PAGE = 4096;

/** Cycles of one madvise(DONTNEED) of `pages` pages (above the 33-page ceiling: one full flush), and of reading 16 other pages after it. */
function run(cfg: MachineConfig, pages: number): { call: number; refill: number; flushes: number } {
  const out = { call: 0, refill: 0, flushes: 0 };
  runProcess(cfg, function* (t) {
    const k = t.k;
    const a = yield* sys_mmap(t, 0, pages * PAGE, 3, 0x22, -1, 0);
    const ws = yield* sys_mmap(t, 0, 16 * PAGE, 3, 0x22, -1, 0);
    yield* accessUserRange(t, a, pages, PAGE, true);
    yield* accessUserRange(t, ws, 16, PAGE, true);
    yield* accessUserRange(t, ws, 16, PAGE, false);
    const before = k.engine.counters.snapshot()['nr_tlb_local_flush_all'] ?? 0;
    let t0 = t.now;
    yield* sys_madvise(t, a, pages * PAGE, MADV_DONTNEED);
    out.call = t.now - t0;
    out.flushes = (k.engine.counters.snapshot()['nr_tlb_local_flush_all'] ?? 0) - before;
    t0 = t.now;
    yield* accessUserRange(t, ws, 16, PAGE, false);
    out.refill = t.now - t0;
  });
  return out;
}

describe('local full TLB flush', () => {
  it('is a CR3 reload: cost.cr3_write moves the call one for one, cost.tlb_flush_pcid not at all', () => {
    const base = defaultConfig();
    const r0 = run(base, 64);
    expect(r0.flushes).toBe(1);
    const cr3 = defaultConfig();
    cr3.cost.cr3_write += 1000;
    expect(run(cr3, 64).call - r0.call).toBe(1000);
    const invpcid = defaultConfig();
    invpcid.cost.tlb_flush_pcid += 1000;
    expect(run(invpcid, 64).call).toBe(r0.call);
  });

  it('after it, each page read walks: cost.walk_start is paid once a page', () => {
    const base = defaultConfig();
    const slow = defaultConfig();
    slow.cost.walk_start += 100;
    // The 16 pages of the other mapping lost their TLB entries to the full flush: 16 walks.
    expect(run(slow, 64).refill - run(base, 64).refill).toBe(16 * 100);
    // Below the ceiling (INVLPG of the 8 pages only) they kept them: no walk.
    expect(run(slow, 8).refill - run(base, 8).refill).toBe(0);
  });
});
