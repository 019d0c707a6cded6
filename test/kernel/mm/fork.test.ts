/**
 * fork's dup_mmap (item 1): private memory shared copy-on-write with both
 * sides write-protected and the parent's TLB flushed, VM_DONTCOPY areas left
 * out of the child, VM_WIPEONFORK areas empty in the child, shared memory
 * really shared, mlock not inherited; exit tears the address space down.
 */
import { describe, expect, it } from 'vitest';
import { PTE_RW, tableIndex } from '../../../src/hw/pagetable.js';
import { mmCore } from '../../../src/kernel/mm/core.js';
import { checkInvariants } from '../../../src/kernel/mm/invariants.js';
import { MADV_DONTFORK, MADV_WIPEONFORK, sys_madvise } from '../../../src/kernel/mm/madvise.js';
import { sys_mlock } from '../../../src/kernel/mm/mlock.js';
import { sys_mmap } from '../../../src/kernel/mm/mmap.js';
import { VM_LOCKED } from '../../../src/kernel/mm/mm_types.js';
import { pte_table } from '../../../src/kernel/mm/pgtable.js';
import { fillUser, loadUser } from '../../../src/kernel/mm/uaccess.js';
import { current, type TaskStruct } from '../../../src/kernel/sched/task_struct.js';
import type { Blocking, Task } from '../../../src/sim/task.js';
import { PAGE, PRIVATE_ANON, PROT_RW, SHARED_ANON, runProcess } from './helpers.js';

/** Fork, run `body` in the child, wait for it. */
function* forkAndWait(t: Task, ts: TaskStruct, body: (ct: Task) => Blocking<void>): Blocking<void> {
  const k = t.k;
  const child = yield* k.fork(t, ts, function* (ct) {
    yield* body(ct);
    yield* k.exit(ct, current(ct));
  });
  if (typeof child === 'number') throw new Error(`fork failed: ${child}`);
  yield t.sleepOn(child.task.exited);
}

describe('fork', () => {
  it('write-protects private pages on both sides and flushes the parent', () => {
    runProcess(function* (t, ts) {
      const k = t.k;
      const a = yield* sys_mmap(t, 0, 2 * PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      yield* fillUser(t, a, 2 * PAGE, 1);
      const table = pte_table(t, ts.mm!, a);
      expect(k.machine.pt.readEntry(table, tableIndex(a, 1)) & PTE_RW).toBe(PTE_RW);
      const gen = ts.mm!.tlbGen;
      yield* forkAndWait(t, ts, function* (ct) {
        const cmm = current(ct).mm!;
        const ct_table = pte_table(ct, cmm, a);
        expect(k.machine.pt.readEntry(ct_table, tableIndex(a, 1)) & PTE_RW).toBe(0);
        expect(cmm.rss).toEqual(ts.mm!.rss);
      });
      expect(k.machine.pt.readEntry(table, tableIndex(a, 1)) & PTE_RW).toBe(0);
      // One flush of the parent's address space (flush_tlb_mm at the end of dup_mmap).
      expect(ts.mm!.tlbGen).toBe(gen + 1);
      checkInvariants(k);
    });
  });

  it('leaves DONTFORK areas out of the child and gives it zeroes in WIPEONFORK areas', () => {
    runProcess(function* (t, ts) {
      const keep = yield* sys_mmap(t, 2 ** 44, PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      const dont = yield* sys_mmap(t, 2 ** 44 + 4 * PAGE, PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      const wipe = yield* sys_mmap(t, 2 ** 44 + 8 * PAGE, PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      for (const a of [keep, dont, wipe]) yield* fillUser(t, a, PAGE, 5);
      expect(yield* sys_madvise(t, dont, PAGE, MADV_DONTFORK)).toBe(0);
      expect(yield* sys_madvise(t, wipe, PAGE, MADV_WIPEONFORK)).toBe(0);
      yield* forkAndWait(t, ts, function* (ct) {
        expect((yield* loadUser(ct, keep)).value).toBe(5);
        expect((yield* loadUser(ct, dont)).sig).toBe(11);
        expect((yield* loadUser(ct, wipe)).value).toBe(0);
        expect(current(ct).mm!.mapCount).toBe(2);
        expect(current(ct).mm!.totalVm).toBe(2);
      });
      expect((yield* loadUser(t, wipe)).value).toBe(5);
      expect((yield* loadUser(t, dont)).value).toBe(5);
    });
  });

  it('shares shared anonymous memory: the child writes, the parent reads', () => {
    runProcess(function* (t, ts) {
      const k = t.k;
      const s = yield* sys_mmap(t, 0, PAGE, PROT_RW, SHARED_ANON, -1, 0);
      yield* forkAndWait(t, ts, function* (ct) {
        yield* fillUser(ct, s, 8, 0x31);
      });
      expect((yield* loadUser(t, s + 7)).value).toBe(0x31);
      checkInvariants(k);
    });
  });

  it('does not pass mlock on to the child', () => {
    runProcess(function* (t, ts) {
      const a = yield* sys_mmap(t, 0, PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      expect(yield* sys_mlock(t, a, PAGE)).toBe(0);
      expect(ts.mm!.lockedVm).toBe(1);
      yield* forkAndWait(t, ts, function* (ct) {
        const cmm = current(ct).mm!;
        expect(cmm.lockedVm).toBe(0);
        expect(cmm.vmas[0]!.vmFlags & VM_LOCKED).toBe(0);
      });
    });
  });

  it('exit frees every page, page table and the address space', () => {
    const k = runProcess(function* (t) {
      const a = yield* sys_mmap(t, 0, 64 * PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      yield* fillUser(t, a, 64 * PAGE, 1);
      const s = yield* sys_mmap(t, 0, 4 * PAGE, PROT_RW, SHARED_ANON, -1, 0);
      yield* fillUser(t, s, 4 * PAGE, 1);
    });
    // Page tables go through RCU; the pgd waits for the lazy CPU to switch away.
    const core = mmCore(k);
    expect(core.mappings.size).toBe(0);
    expect(core.anonVmas.size).toBe(0);
    const memmap = k.mem_map;
    let dataPages = 0;
    for (let pfn = 0; pfn < memmap.flags.length; pfn++) if (!memmap.isFree(pfn) && (memmap.flags[pfn]! & (1 << 18)) === 0 && pfn !== core.zeroPfn) dataPages++;
    expect(dataPages).toBe(0);
    expect(core.committedPages).toBe(0);
  });
});
