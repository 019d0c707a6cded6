/**
 * clear_page through the caches (Kernel.clearRange): string stores write
 * every line of the page into the clearing CPU's L1, and each line costs
 * what the level that held it delivers: cost.store_l1_line from L1D,
 * cost.store_l2_line from L2, the clear_page streaming rate
 * (cost.zero_page a 4 KiB) from the LLC, another CPU or DRAM.
 */
import { describe, expect, it } from 'vitest';
import { loadMachineConfig } from '../../../src/cli/machine.js';
import type { MachineConfig } from '../../../src/config/machine.js';
import type { Kernel } from '../../../src/kernel/kernel.js';
import { alloc_page } from '../../../src/kernel/mm/page_alloc.js';
import { MADV_DONTNEED, sys_madvise } from '../../../src/kernel/mm/madvise.js';
import { sys_mmap } from '../../../src/kernel/mm/mmap.js';
import { accessUser } from '../../../src/kernel/mm/uaccess.js';
import { runProcess } from '../../../src/validate/process.js';
import { testConfig } from './helpers.js';

const PAGE = 4096;

/** Runs `body` on CPU 0 with a frame no cache holds; clear() returns the cycles of one clearRange of it. */
function withFrame(cfg: MachineConfig, body: (clear: () => number, paddr: number, k: Kernel) => void): void {
  runProcess(cfg, function* (t) {
    const k = t.k;
    const pfn = yield* alloc_page(t, 0);
    k.machine.caches.invalidateFrame(pfn);
    const paddr = pfn * PAGE;
    body(() => k.clearRange(t, paddr, PAGE), paddr, k);
  });
}

describe('clear_page through the caches', () => {
  it('a page no cache holds costs cost.zero_page, and its lines are in L1 afterwards', () => {
    const cfg = testConfig();
    withFrame(cfg, (clear, paddr, k) => {
      expect(clear()).toBe(cfg.cost.zero_page);
      for (let off = 0; off < PAGE; off += cfg.cache.line_bytes) expect(k.machine.caches.probe(0, paddr + off)).toBe('l1');
    });
  });

  it('the same page again clears at the L1 store rate: 64 lines x cost.store_l1_line', () => {
    const cfg = testConfig((c) => {
      c.cost.store_l1_line = 2;
    });
    withFrame(cfg, (clear) => {
      clear();
      expect(clear()).toBe((PAGE / cfg.cache.line_bytes) * 2);
    });
  });

  it('lines L1 lost but L2 holds clear at cost.store_l2_line each', () => {
    // A 4 KiB L1 (8 sets of 8 ways) holds one page: clearing a second evicts the first to L2.
    const cfg = testConfig((c) => {
      c.cache.l1d_kib = 4;
      c.cost.store_l1_line = 2;
      c.cost.store_l2_line = 3;
    });
    runProcess(cfg, function* (t) {
      const k = t.k;
      const a = yield* alloc_page(t, 0);
      const b = yield* alloc_page(t, 0);
      k.machine.caches.invalidateFrame(a);
      k.machine.caches.invalidateFrame(b);
      k.clearRange(t, a * PAGE, PAGE);
      k.clearRange(t, b * PAGE, PAGE);
      expect(k.machine.caches.probe(0, a * PAGE)).toBe('l2');
      expect(k.clearRange(t, a * PAGE, PAGE)).toBe(64 * 3);
    });
  });

  it('a line another CPU holds Modified costs the streaming rate, the rest the L1 rate', () => {
    const cfg = testConfig((c) => {
      c.cost.store_l1_line = 2;
      c.cost.zero_page = 1024; // 16 cycles a 64-byte line
    });
    withFrame(cfg, (clear, paddr, k) => {
      clear();
      k.machine.caches.access(1, paddr + 64, true);
      expect(clear()).toBe(63 * 2 + 16);
      expect(k.machine.caches.sharers(paddr + 64)).toEqual({ cpus: [0], owner: 0 });
    });
  });

  it('the Amit 2019 loop (DONTNEED of one page, then a write to it) clears the page it just freed at the L1 rate on haswell-desktop', () => {
    const cfg = loadMachineConfig('haswell-desktop', { cpus: 2 }, 'test');
    const perRound: number[] = [];
    runProcess(cfg, function* (t) {
      const a = yield* sys_mmap(t, 0, PAGE, 3, 0x22, -1, 0);
      yield* accessUser(t, a, true);
      for (let r = 0; r < 4; r++) {
        const before = t.k.engine.attribution.snapshot();
        yield* sys_madvise(t, a, PAGE, MADV_DONTNEED);
        yield* accessUser(t, a, true);
        const after = t.k.engine.attribution.snapshot();
        let c = 0;
        for (let i = 0; i < after.length; i++) if (t.k.engine.attribution.path(i).at(-1) === 'clear_page') c += after[i]! - (before[i] ?? 0);
        perRound.push(c);
      }
    });
    // 64 lines x store_l1_line (2): the per-CPU list hands back the frame the zap freed, its lines still in L1.
    expect(cfg.cost.store_l1_line).toBe(2);
    expect(perRound).toEqual([128, 128, 128, 128]);
  });
});
