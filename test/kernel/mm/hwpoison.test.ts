/**
 * MADV_HWPOISON and MADV_SOFT_OFFLINE: EPERM without CAP_SYS_ADMIN, EINVAL
 * without CONFIG_MEMORY_FAILURE; a poisoned page raises SIGBUS and its frame
 * is retired; soft offline moves the data to another frame unseen.
 */
import { describe, expect, it } from 'vitest';
import { PG_hwpoison } from '../../../src/kernel/mm/page_flags.js';
import { EINVAL, EPERM } from '../../../src/kernel/errno.js';
import { SIGBUS } from '../../../src/kernel/mm/fault.js';
import { checkInvariants } from '../../../src/kernel/mm/invariants.js';
import { MADV_HWPOISON, MADV_SOFT_OFFLINE, sys_madvise } from '../../../src/kernel/mm/madvise.js';
import { sys_mmap } from '../../../src/kernel/mm/mmap.js';
import { fillUser, loadUser } from '../../../src/kernel/mm/uaccess.js';
import { PAGE, PRIVATE_ANON, PROT_RW, runProcess, testConfig } from './helpers.js';

const admin = testConfig((c) => (c.kernel.cap_sys_admin = true));

describe('memory failure injection', () => {
  it('is EPERM for an unprivileged task and EINVAL without CONFIG_MEMORY_FAILURE', () => {
    runProcess(function* (t) {
      const a = yield* sys_mmap(t, 0, PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      expect(yield* sys_madvise(t, a, PAGE, MADV_HWPOISON)).toBe(-EPERM);
      expect(yield* sys_madvise(t, a, PAGE, MADV_SOFT_OFFLINE)).toBe(-EPERM);
    });
    runProcess(function* (t) {
      const a = yield* sys_mmap(t, 0, PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      expect(yield* sys_madvise(t, a, PAGE, MADV_HWPOISON)).toBe(-EINVAL);
    }, testConfig((c) => ((c.kernel.cap_sys_admin = true), (c.kernel.memory_failure = false))));
  });

  it('HWPOISON: the page raises SIGBUS, its neighbour is untouched, the frame is retired', () => {
    runProcess(function* (t, ts) {
      const k = t.k;
      const a = yield* sys_mmap(t, 0, 2 * PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      expect(yield* fillUser(t, a, 2 * PAGE, 7)).toBe(0);
      const pfn = k.machine.pt.translateFunctional(ts.mm!.pgd, a);
      expect(yield* sys_madvise(t, a, PAGE, MADV_HWPOISON)).toBe(0);
      expect(k.mem_map.flags[pfn]! & PG_hwpoison).toBe(PG_hwpoison);
      expect(k.mem_map.isFree(pfn)).toBe(false);
      expect((yield* loadUser(t, a)).sig).toBe(SIGBUS);
      expect(yield* loadUser(t, a + PAGE)).toEqual({ sig: 0, value: 7 });
      checkInvariants(k);
    }, admin);
  });

  it('SOFT_OFFLINE: same data through a new frame; the old one is retired', () => {
    runProcess(function* (t, ts) {
      const k = t.k;
      const a = yield* sys_mmap(t, 0, PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      expect(yield* fillUser(t, a, PAGE, 9)).toBe(0);
      const before = k.machine.pt.translateFunctional(ts.mm!.pgd, a);
      expect(yield* sys_madvise(t, a, PAGE, MADV_SOFT_OFFLINE)).toBe(0);
      const after = k.machine.pt.translateFunctional(ts.mm!.pgd, a);
      expect(after).not.toBe(before);
      expect(k.mem_map.flags[before]! & PG_hwpoison).toBe(PG_hwpoison);
      expect(yield* loadUser(t, a + 100)).toEqual({ sig: 0, value: 9 });
      expect(yield* fillUser(t, a, 1, 3)).toBe(0);
      expect(yield* loadUser(t, a)).toEqual({ sig: 0, value: 3 });
      checkInvariants(k);
    }, admin);
  });
});
