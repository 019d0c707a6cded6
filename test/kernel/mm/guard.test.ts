/**
 * Guard regions: markers fault with SIGSEGV, survive DONTNEED and FREE,
 * are copied by fork, go with munmap, and the install is charged under
 * madvise_guard_install.
 */
import { describe, expect, it } from 'vitest';
import { is_guard_pte_marker } from '../../../src/kernel/mm/guard.js';
import { checkInvariants } from '../../../src/kernel/mm/invariants.js';
import { MADV_DONTNEED, MADV_FREE, MADV_GUARD_INSTALL, MADV_GUARD_REMOVE, sys_madvise } from '../../../src/kernel/mm/madvise.js';
import { sys_mmap, sys_munmap } from '../../../src/kernel/mm/mmap.js';
import { SIGSEGV } from '../../../src/kernel/mm/fault.js';
import { fillUser, loadUser } from '../../../src/kernel/mm/uaccess.js';
import { PAGE, PRIVATE_ANON, PROT_RW, runProcess } from './helpers.js';

describe('guard regions', () => {
  it('fault with SIGSEGV, survive DONTNEED and FREE, and are gone after GUARD_REMOVE', () => {
    const k = runProcess(function* (t, ts) {
      const k = t.k;
      const a = yield* sys_mmap(t, 0, 2 * PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      expect(yield* fillUser(t, a, 2 * PAGE, 7)).toBe(0);
      expect(yield* sys_madvise(t, a, PAGE, MADV_GUARD_INSTALL)).toBe(0);
      const pt = k.machine.pt;
      pt.translateFunctional(ts.mm!.pgd, a);
      expect(is_guard_pte_marker(pt.readEntry(pt.walkTable, pt.walkIndex))).toBe(true);
      expect((yield* loadUser(t, a)).sig).toBe(SIGSEGV);
      expect(yield* sys_madvise(t, a, 2 * PAGE, MADV_DONTNEED)).toBe(0);
      expect(yield* sys_madvise(t, a, 2 * PAGE, MADV_FREE)).toBe(0);
      expect(yield* fillUser(t, a, 1, 1)).toBe(SIGSEGV);
      expect((yield* loadUser(t, a + PAGE)).value).toBe(0);
      checkInvariants(k);
      expect(yield* sys_madvise(t, a, PAGE, MADV_GUARD_REMOVE)).toBe(0);
      expect(yield* loadUser(t, a)).toEqual({ sig: 0, value: 0 });
      expect(yield* sys_madvise(t, a, PAGE, MADV_GUARD_INSTALL)).toBe(0);
      expect(yield* sys_munmap(t, a, 2 * PAGE)).toBe(0);
      const b = yield* sys_mmap(t, a, 2 * PAGE, PROT_RW, PRIVATE_ANON | 0x10, -1, 0);
      expect(b).toBe(a);
      // munmap dropped the marker: the new mapping faults in normally.
      expect(yield* loadUser(t, a)).toEqual({ sig: 0, value: 0 });
      checkInvariants(k);
    });
    const madv = k.engine.attribution.tree().children.find((c) => c.name === 'syscall:madvise');
    expect(madv?.children.some((c) => c.name === 'madvise_guard_install' && c.inclusive > 0)).toBe(true);
  });

  it('are inherited by a fork child', () => {
    let ran = false;
    runProcess(function* (t, ts) {
      const k = t.k;
      const a = yield* sys_mmap(t, 0, 2 * PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      expect(yield* sys_madvise(t, a, PAGE, MADV_GUARD_INSTALL)).toBe(0);
      const child = yield* k.fork(t, ts, function* (ct) {
        expect((yield* loadUser(ct, a)).sig).toBe(SIGSEGV);
        expect((yield* loadUser(ct, a + PAGE)).sig).toBe(0);
        ran = true;
      });
      expect(typeof child === 'number' ? child : 0).toBeGreaterThanOrEqual(0);
    });
    expect(ran).toBe(true);
  });
});
