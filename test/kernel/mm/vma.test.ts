/**
 * Areas: top-down placement, merging of compatible neighbours (new mappings
 * and mprotect/madvise changes) as mm/vma.c does, splitting, the
 * vm.max_map_count limit, and find_vma.
 */
import { describe, expect, it } from 'vitest';
import { mmCore } from '../../../src/kernel/mm/core.js';
import { MADV_DONTFORK, MADV_NORMAL, sys_madvise } from '../../../src/kernel/mm/madvise.js';
import { mmap_base, MAP_FIXED, MAP_FIXED_NOREPLACE, sys_mmap, sys_munmap } from '../../../src/kernel/mm/mmap.js';
import { VM_DONTCOPY } from '../../../src/kernel/mm/mm_types.js';
import { sys_mprotect } from '../../../src/kernel/mm/mprotect.js';
import { fillUser, loadUser } from '../../../src/kernel/mm/uaccess.js';
import { find_vma } from '../../../src/kernel/mm/vma.js';
import { current } from '../../../src/kernel/sched/task_struct.js';
import { PAGE, PRIVATE_ANON, PROT_R, PROT_RW, SHARED_ANON, runProcess } from './helpers.js';

const EAGAIN = -11;
const ENOMEM = -12;
const EEXIST = -17;

describe('areas', () => {
  it('consecutive anonymous mmaps go top-down below mmap_base, adjacent, and merge into one area', () => {
    runProcess(function* (t, ts) {
      const a = yield* sys_mmap(t, 0, 4 * PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      const b = yield* sys_mmap(t, 0, 2 * PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      expect(a).toBe(mmap_base() - 4 * PAGE);
      expect(b).toBe(a - 2 * PAGE);
      const mm = ts.mm!;
      expect(mm.mapCount).toBe(1);
      expect([mm.vmas[0]!.vmStart, mm.vmas[0]!.vmEnd]).toEqual([b, a + 4 * PAGE]);
      expect(mm.totalVm).toBe(6);
    });
  });

  it('areas with different protections or kinds stay apart', () => {
    runProcess(function* (t, ts) {
      yield* sys_mmap(t, 0, PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      yield* sys_mmap(t, 0, PAGE, PROT_R, PRIVATE_ANON, -1, 0);
      yield* sys_mmap(t, 0, PAGE, PROT_RW, SHARED_ANON, -1, 0);
      yield* sys_mmap(t, 0, PAGE, PROT_RW, SHARED_ANON, -1, 0);
      // Two shared anonymous areas are two shmem files: no merge either.
      expect(ts.mm!.mapCount).toBe(4);
    });
  });

  it('mprotect of a middle page splits the area in three; restoring it merges them back', () => {
    runProcess(function* (t, ts) {
      const a = yield* sys_mmap(t, 0, 3 * PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      expect(yield* sys_mprotect(t, a + PAGE, PAGE, PROT_R)).toBe(0);
      expect(ts.mm!.vmas.map((v) => [v.vmStart - a, v.vmEnd - a])).toEqual([[0, PAGE], [PAGE, 2 * PAGE], [2 * PAGE, 3 * PAGE]]);
      expect(yield* sys_mprotect(t, a + PAGE, PAGE, PROT_RW)).toBe(0);
      expect(ts.mm!.mapCount).toBe(1);
      // Merging the right part into its neighbour: a prefix changes, then matches again.
      expect(yield* sys_mprotect(t, a, PAGE, PROT_R)).toBe(0);
      expect(ts.mm!.mapCount).toBe(2);
      expect(yield* sys_mprotect(t, a, 2 * PAGE, PROT_R)).toBe(0);
      expect(ts.mm!.vmas.map((v) => [v.vmStart - a, v.vmEnd - a])).toEqual([[0, 2 * PAGE], [2 * PAGE, 3 * PAGE]]);
    });
  });

  it('munmap splits and trims areas', () => {
    runProcess(function* (t, ts) {
      const a = yield* sys_mmap(t, 0, 8 * PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      expect(yield* sys_munmap(t, a + 2 * PAGE, 2 * PAGE)).toBe(0);
      expect(yield* sys_munmap(t, a + 7 * PAGE, PAGE)).toBe(0);
      expect(ts.mm!.vmas.map((v) => [v.vmStart - a, v.vmEnd - a])).toEqual([[0, 2 * PAGE], [4 * PAGE, 7 * PAGE]]);
      expect(ts.mm!.totalVm).toBe(5);
    });
  });

  it("a forked child's area with inherited anonymous pages does not absorb a new neighbour; the parent's does", () => {
    runProcess(function* (t, ts) {
      const k = t.k;
      const a = yield* sys_mmap(t, 0, 2 * PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      yield* fillUser(t, a, 2 * PAGE, 1);
      const child = yield* k.fork(t, ts, function* (ct) {
        const cts = current(ct);
        const b = yield* sys_mmap(ct, a - PAGE, PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
        expect(b).toBe(a - PAGE);
        expect(cts.mm!.mapCount).toBe(2);
        yield* k.exit(ct, cts);
      });
      if (typeof child === 'number') throw new Error('fork failed');
      yield t.sleepOn(child.task.exited);
      const b = yield* sys_mmap(t, a - PAGE, PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      expect(b).toBe(a - PAGE);
      expect(ts.mm!.mapCount).toBe(1);
    });
  });

  it('vm.max_map_count: a split beyond it fails (ENOMEM; EAGAIN from madvise), as does a new mapping', () => {
    runProcess(function* (t, ts) {
      const k = t.k;
      mmCore(k).maxMapCount = 3;
      const a = yield* sys_mmap(t, 0, 6 * PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      expect(yield* sys_mprotect(t, a + PAGE, PAGE, PROT_R)).toBe(0);
      expect(ts.mm!.mapCount).toBe(3);
      expect(yield* sys_mprotect(t, a + 4 * PAGE, PAGE, PROT_R)).toBe(ENOMEM);
      expect(yield* sys_madvise(t, a + 4 * PAGE, PAGE, MADV_DONTFORK)).toBe(EAGAIN);
      expect(yield* sys_munmap(t, a + 4 * PAGE, PAGE)).toBe(ENOMEM);
      // do_mmap refuses only once map_count is above the limit; this one lands apart and makes 4.
      expect(yield* sys_mmap(t, 2 ** 44, PAGE, PROT_RW, PRIVATE_ANON, -1, 0)).toBe(2 ** 44);
      expect(yield* sys_mmap(t, 2 ** 45, PAGE, PROT_RW, PRIVATE_ANON, -1, 0)).toBe(ENOMEM);
      // An advice that changes nothing needs no split.
      expect(yield* sys_madvise(t, a + 4 * PAGE, PAGE, MADV_NORMAL)).toBe(0);
    });
  });

  it('madvise DONTFORK marks just the range', () => {
    runProcess(function* (t, ts) {
      const a = yield* sys_mmap(t, 0, 4 * PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      expect(yield* sys_madvise(t, a + PAGE, 2 * PAGE, MADV_DONTFORK)).toBe(0);
      expect(ts.mm!.vmas.map((v) => (v.vmFlags & VM_DONTCOPY) !== 0)).toEqual([false, true, false]);
    });
  });

  it('a free hint is taken; MAP_FIXED replaces what was there; MAP_FIXED_NOREPLACE refuses', () => {
    runProcess(function* (t) {
      const hint = 2 ** 44;
      expect(yield* sys_mmap(t, hint, 4 * PAGE, PROT_RW, PRIVATE_ANON, -1, 0)).toBe(hint);
      yield* fillUser(t, hint, 4 * PAGE, 0x5a);
      // A taken hint is moved elsewhere.
      const again = yield* sys_mmap(t, hint, PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      expect(again).not.toBe(hint);
      expect(yield* sys_mmap(t, hint + PAGE, PAGE, PROT_RW, PRIVATE_ANON | MAP_FIXED, -1, 0)).toBe(hint + PAGE);
      expect((yield* loadUser(t, hint + PAGE)).value).toBe(0);
      expect((yield* loadUser(t, hint)).value).toBe(0x5a);
      expect(yield* sys_mmap(t, hint, PAGE, PROT_RW, PRIVATE_ANON | MAP_FIXED_NOREPLACE, -1, 0)).toBe(EEXIST);
    });
  });

  it('a large anonymous mapping without a hint is 2 MiB aligned (thp_get_unmapped_area)', () => {
    runProcess(function* (t) {
      const a = yield* sys_mmap(t, 0, 4 * 2 ** 20, PROT_RW, PRIVATE_ANON, -1, 0);
      expect(a % 2 ** 21).toBe(0);
      const b = yield* sys_mmap(t, 0, 4 * 2 ** 20, PROT_RW, PRIVATE_ANON, -1, 0);
      expect(b).toBe(a - 4 * 2 ** 20);
    });
  });

  it('find_vma returns the first area ending above the address', () => {
    runProcess(function* (t, ts) {
      const a = yield* sys_mmap(t, 2 ** 44, 2 * PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      const b = yield* sys_mmap(t, 2 ** 44 + 8 * PAGE, PAGE, PROT_R, PRIVATE_ANON, -1, 0);
      const mm = ts.mm!;
      expect(find_vma(t, mm, a - PAGE)!.vmStart).toBe(a);
      expect(find_vma(t, mm, a + PAGE)!.vmStart).toBe(a);
      expect(find_vma(t, mm, a + 2 * PAGE)!.vmStart).toBe(b);
      expect(find_vma(t, mm, b + PAGE)).toBeNull();
    });
  });
});
