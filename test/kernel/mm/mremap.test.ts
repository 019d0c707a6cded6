/**
 * mremap's mechanisms: a move carries the page tables (whole PT tables when
 * both sides are 2 MiB aligned, THP leaves whole, entries one by one
 * otherwise) so the same frames stay mapped at the new place; the source's
 * commitment moves with it; invariants hold after each step.
 */
import { describe, expect, it } from 'vitest';
import { PTE_PSE } from '../../../src/hw/pagetable.js';
import { mmCore } from '../../../src/kernel/mm/core.js';
import { checkInvariants } from '../../../src/kernel/mm/invariants.js';
import { sys_madvise } from '../../../src/kernel/mm/madvise.js';
import { MADV_HUGEPAGE } from '../../../src/kernel/mm/madvise_uapi.js';
import { MM_ANONPAGES } from '../../../src/kernel/mm/mm_types.js';
import { sys_mmap } from '../../../src/kernel/mm/mmap.js';
import { MREMAP_FIXED, MREMAP_MAYMOVE, sys_mremap } from '../../../src/kernel/mm/mremap.js';
import { fillUser, loadUser } from '../../../src/kernel/mm/uaccess.js';
import { PAGE, PRIVATE_ANON, PROT_RW, runProcess, testConfig } from './helpers.js';

const HPAGE = 2 * 1024 * 1024;

describe('mremap', () => {
  it('a 2 MiB-aligned move takes whole PT tables: the same frames map at the new place, no table is allocated for them', () => {
    runProcess(function* (t, ts) {
      const k = t.k;
      const mm = ts.mm!;
      const raw = yield* sys_mmap(t, 0, 3 * HPAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      const a = Math.ceil(raw / HPAGE) * HPAGE;
      expect(yield* fillUser(t, a, HPAGE, 7)).toBe(0);
      const frames = [0, 1, 511].map((i) => k.machine.mmu.translateFunctional(t.cpu, a + i * PAGE));
      const dstRaw = yield* sys_mmap(t, 0, 3 * HPAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      const dst = Math.ceil(dstRaw / HPAGE) * HPAGE;
      const tables = mm.pgtablesBytes;
      const rss = mm.rss[MM_ANONPAGES];
      expect(yield* sys_mremap(t, a, HPAGE, HPAGE, MREMAP_MAYMOVE | MREMAP_FIXED, dst)).toBe(dst);
      expect([0, 1, 511].map((i) => k.machine.mmu.translateFunctional(t.cpu, dst + i * PAGE))).toEqual(frames);
      // The PT table moved with its PMD entry; only the source's now-empty upper levels may be freed.
      expect(mm.pgtablesBytes).toBeLessThanOrEqual(tables);
      expect(mm.rss[MM_ANONPAGES]).toBe(rss);
      expect((yield* loadUser(t, dst + 5 * PAGE)).value).toBe(7);
      expect((yield* loadUser(t, a)).sig).not.toBe(0);
      checkInvariants(k);
    });
  });

  it('an unaligned move goes entry by entry and flushes the old range once for the extent that had a present entry', () => {
    runProcess(function* (t) {
      const k = t.k;
      const a = yield* sys_mmap(t, 0, 5 * PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      // The fifth page stays mapped (read-only, so it does not merge): the area cannot grow in place.
      expect(yield* sys_mmap(t, a + 4 * PAGE, PAGE, 1, PRIVATE_ANON | 0x10, -1, 0)).toBe(a + 4 * PAGE);
      expect(yield* fillUser(t, a, 4 * PAGE, 3)).toBe(0);
      const frame = k.machine.mmu.translateFunctional(t.cpu, a + PAGE);
      const shot = k.engine.counters.get('tlb_shootdown_pages');
      const c = yield* sys_mremap(t, a, 4 * PAGE, 8 * PAGE, MREMAP_MAYMOVE, 0);
      expect(c).toBeGreaterThan(0);
      expect(c).not.toBe(a);
      expect(k.machine.mmu.translateFunctional(t.cpu, c + PAGE)).toBe(frame);
      // One flush_tlb_mm_range of the 4 moved pages (move_ptes), one more for the unmap of the source (nothing present: none).
      expect(k.engine.counters.get('tlb_shootdown_pages') - shot).toBe(4);
      expect((yield* loadUser(t, c + 3 * PAGE)).value).toBe(3);
      expect((yield* loadUser(t, c + 4 * PAGE)).value).toBe(0);
      checkInvariants(k);
    });
  });

  it('a THP leaf moves whole: still one PMD leaf at the destination, nothing split', () => {
    runProcess(
      function* (t, ts) {
        const k = t.k;
        const mm = ts.mm!;
        const raw = yield* sys_mmap(t, 0, 2 * HPAGE, PROT_RW, PRIVATE_ANON, -1, 0);
        const a = Math.ceil(raw / HPAGE) * HPAGE;
        expect(yield* sys_madvise(t, a, HPAGE, MADV_HUGEPAGE)).toBe(0);
        expect(yield* fillUser(t, a, 1, 9)).toBe(0);
        expect(k.engine.counters.get('thp_fault_alloc')).toBe(1);
        const dstRaw = yield* sys_mmap(t, 0, 3 * HPAGE, PROT_RW, PRIVATE_ANON, -1, 0);
        const dst = Math.ceil(dstRaw / HPAGE) * HPAGE;
        expect(yield* sys_mremap(t, a, HPAGE, HPAGE, MREMAP_MAYMOVE | MREMAP_FIXED, dst)).toBe(dst);
        const pt = k.machine.pt;
        const e = pt.walkFunctional(mm.pgd, dst);
        expect(pt.walkLevel).toBe(2);
        expect(e & PTE_PSE).toBe(PTE_PSE);
        expect(k.engine.counters.get('thp_split_pmd')).toBe(0);
        expect((yield* loadUser(t, dst)).value).toBe(9);
        checkInvariants(k);
      },
      testConfig((c) => {
        c.kernel.thp = 'madvise';
      }),
    );
  });

  it('a moved accounted area keeps its commitment; growing by a move charges only the growth', () => {
    runProcess(function* (t) {
      const k = t.k;
      const core = mmCore(k);
      const a = yield* sys_mmap(t, 0, 4 * PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      const before = core.committedPages;
      const c = yield* sys_mremap(t, a, 4 * PAGE, 6 * PAGE, MREMAP_MAYMOVE, 0);
      expect(c).toBeGreaterThan(0);
      // 4 KiB past it was free, so the area grew in place.
      expect(core.committedPages - before).toBe(2);
      const b = yield* sys_mmap(t, c + 6 * PAGE, PAGE, PROT_RW, PRIVATE_ANON | 0x10, -1, 0);
      expect(b).toBe(c + 6 * PAGE);
      const d = yield* sys_mremap(t, c, 6 * PAGE, 8 * PAGE, MREMAP_MAYMOVE, 0);
      expect(d).not.toBe(c);
      expect(core.committedPages - before).toBe(2 + 1 + 2);
      checkInvariants(k);
    });
  });
});
