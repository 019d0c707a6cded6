/**
 * MADV_COLLAPSE: small pages become one huge page with their data; EINVAL
 * where THP may not be used; and the workload figure: random loads over a
 * 64 MiB huge-page area against a normal one.
 */
import { describe, expect, it } from 'vitest';
import { PTE_PSE } from '../../../src/hw/pagetable.js';
import { HPAGE_NR, PG_head } from '../../../src/kernel/mm/page_flags.js';
import { EINVAL } from '../../../src/kernel/errno.js';
import { checkInvariants } from '../../../src/kernel/mm/invariants.js';
import { sys_madvise } from '../../../src/kernel/mm/madvise.js';
import { MADV_COLLAPSE, MADV_HUGEPAGE, MADV_NOHUGEPAGE } from '../../../src/kernel/mm/madvise_uapi.js';
import { sys_mmap } from '../../../src/kernel/mm/mmap.js';
import { MM_ANONPAGES } from '../../../src/kernel/mm/mm_types.js';
import { fillUser, loadUser } from '../../../src/kernel/mm/uaccess.js';
import type { Blocking, Task } from '../../../src/sim/task.js';
import { PAGE, PRIVATE_ANON, PROT_RW, runProcess, testConfig } from './helpers.js';
import { single } from '../../hw/single.js';

const HPAGE = 2 * 1024 * 1024;

function* alignedArea(t: Task, n: number): Blocking<number> {
  const raw = yield* sys_mmap(t, 0, (n + 1) * HPAGE, PROT_RW, PRIVATE_ANON, -1, 0);
  return Math.ceil(raw / HPAGE) * HPAGE;
}

describe('MADV_COLLAPSE', () => {
  it('copies the small pages into a new huge page (empty slots zeroed), installs a PMD leaf and frees the old pages', () => {
    runProcess(function* (t, ts) {
      const k = t.k;
      const mm = ts.mm!;
      const a = yield* alignedArea(t, 1);
      for (let i = 0; i < 10; i++) expect(yield* fillUser(t, a + i * 3 * PAGE, PAGE, 20 + i)).toBe(0);
      expect((yield* loadUser(t, a + PAGE)).value).toBe(0); // the zero page
      expect(mm.rss[MM_ANONPAGES]).toBe(10);
      const old = k.machine.mmu.translateFunctional(t.cpu, a + 3 * PAGE);
      expect(yield* sys_madvise(t, a, HPAGE, MADV_COLLAPSE)).toBe(0);
      expect(k.engine.counters.get('thp_collapse_alloc')).toBe(1);
      expect(mm.rss[MM_ANONPAGES]).toBe(HPAGE_NR);
      const pt = k.machine.pt;
      const e = pt.walkFunctional(mm.pgd, a);
      expect(pt.walkLevel).toBe(2);
      expect(e & PTE_PSE).toBe(PTE_PSE);
      const head = k.machine.mmu.translateFunctional(t.cpu, a);
      expect(k.mem_map.flags[head]! & PG_head).toBe(PG_head);
      expect(k.mem_map.isFree(old)).toBe(true);
      for (let i = 0; i < 10; i++) expect((yield* loadUser(t, a + i * 3 * PAGE + 5)).value).toBe(20 + i);
      expect((yield* loadUser(t, a + PAGE)).value).toBe(0);
      expect((yield* loadUser(t, a + HPAGE - 1)).value).toBe(0);
      checkInvariants(k);
      // Already huge: success again without a new page.
      expect(yield* sys_madvise(t, a, HPAGE, MADV_COLLAPSE)).toBe(0);
      expect(k.engine.counters.get('thp_collapse_alloc')).toBe(1);
    });
  });

  it('EINVAL in a VM_NOHUGEPAGE area, for a process with THP disabled, and for a range with nothing mapped', () => {
    runProcess(function* (t, ts) {
      const k = t.k;
      const a = yield* alignedArea(t, 2);
      expect(yield* fillUser(t, a, PAGE, 1)).toBe(0);
      expect(yield* sys_madvise(t, a + HPAGE, HPAGE, MADV_COLLAPSE)).toBe(-EINVAL);
      expect(yield* sys_madvise(t, a, HPAGE, MADV_NOHUGEPAGE)).toBe(0);
      expect(yield* sys_madvise(t, a, HPAGE, MADV_COLLAPSE)).toBe(-EINVAL);
      expect(yield* sys_madvise(t, a, HPAGE, MADV_HUGEPAGE)).toBe(0);
      ts.mm!.thpDisabled = true;
      expect(yield* sys_madvise(t, a, HPAGE, MADV_COLLAPSE)).toBe(-EINVAL);
      ts.mm!.thpDisabled = false;
      // A range holding no aligned 2 MiB succeeds with nothing to do.
      expect(yield* sys_madvise(t, a, PAGE, MADV_COLLAPSE)).toBe(0);
      expect(k.engine.counters.get('thp_collapse_alloc')).toBe(0);
      checkInvariants(k);
    });
  });
});

/** Random loads over a 64 MiB area: TLB misses per 1000 loads and cycles per load. */
function randomLoads(huge: boolean): { missesPer1000: number; cyclesPerLoad: number } {
  const size = 64 * 1024 * 1024;
  const loads = 200_000;
  let out = { missesPer1000: 0, cyclesPerLoad: 0 };
  runProcess(function* (t) {
    const k = t.k;
    const a = yield* alignedArea(t, size / HPAGE);
    if (huge) expect(yield* sys_madvise(t, a, size, MADV_HUGEPAGE)).toBe(0);
    expect(yield* fillUser(t, a, size, 1)).toBe(0);
    expect(k.engine.counters.get('thp_fault_alloc')).toBe(huge ? size / HPAGE : 0);
    const mmu = k.machine.mmu;
    const tlb = k.machine.tlb;
    // Deterministic LCG over 64-byte lines (Numerical Recipes constants).
    let x = 12345;
    const lines = size / 64;
    const before = tlb.counters();
    let cycles = 0;
    for (let i = 0; i < loads; i++) {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      const c = single(mmu.access(t.cpu, a + (x % lines) * 64, false));
      if (c < 0) throw new Error('unexpected fault');
      cycles += c;
    }
    const after = tlb.counters();
    out = { missesPer1000: ((after.dtlb_l1_miss! - before.dtlb_l1_miss!) * 1000) / loads, cyclesPerLoad: cycles / loads };
  }, testConfig((c) => { c.ram_mib = 256; }));
  return out;
}

describe('workload figure: random loads over 64 MiB', () => {
  it('huge pages take the L1 dTLB misses to nearly none and cut the cycles per load', () => {
    const small = randomLoads(false);
    const huge = randomLoads(true);
    console.log(`THP figure: 4 KiB pages ${small.missesPer1000.toFixed(1)} dTLB misses/1000 loads, ${small.cyclesPerLoad.toFixed(1)} cycles/load; 2 MiB pages ${huge.missesPer1000.toFixed(1)} misses/1000, ${huge.cyclesPerLoad.toFixed(1)} cycles/load`);
    // 32 x 2 MiB entries fit the 32-entry L1 2 MiB dTLB: after warm-up, no misses.
    expect(huge.missesPer1000).toBeLessThan(1);
    expect(small.missesPer1000).toBeGreaterThan(900);
    expect(huge.cyclesPerLoad).toBeLessThan(small.cyclesPerLoad);
  });
});
