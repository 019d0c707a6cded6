/** checkInvariants finds each kind of corruption it is meant to catch, naming it. */
import { describe, expect, it } from 'vitest';
import { makePte, PTE_PRESENT, PTE_USER, tableIndex } from '../../../src/hw/pagetable.js';
import { checkInvariants } from '../../../src/kernel/mm/invariants.js';
import { sys_mmap } from '../../../src/kernel/mm/mmap.js';
import { pte_table } from '../../../src/kernel/mm/pgtable.js';
import { fillUser, loadUser } from '../../../src/kernel/mm/uaccess.js';
import type { TaskStruct } from '../../../src/kernel/sched/task_struct.js';
import type { Task } from '../../../src/sim/task.js';
import { PAGE, PRIVATE_ANON, PROT_RW, runProcess } from './helpers.js';

/** Maps and touches one page, applies `corrupt`, and returns what checkInvariants threw. */
function after(corrupt: (t: Task, ts: TaskStruct, a: number, pfn: number) => unknown): string {
  let msg = '';
  runProcess(function* (t, ts) {
    const k = t.k;
    const a = yield* sys_mmap(t, 0, 2 * PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
    yield* fillUser(t, a, PAGE, 1);
    yield* loadUser(t, a);
    checkInvariants(k);
    const undo = corrupt(t, ts, a, k.machine.mmu.translateFunctional(t.cpu, a));
    try {
      checkInvariants(k);
    } catch (e) {
      msg = (e as Error).message;
    }
    if (typeof undo === 'function') undo();
    // Leave the process in a state exit can tear down.
    msg ||= 'no violation found';
  });
  return msg;
}

describe('checkInvariants', () => {
  it('a mapcount that does not match the PTEs', () => {
    const msg = after((_t, _ts, _a, pfn) => {
      const k = _t.k;
      k.mem_map.mapcount[pfn]!++;
      return () => k.mem_map.mapcount[pfn]!--;
    });
    expect(msg).toMatch(/mapcount 2 but 1 PTEs map it/);
  });

  it('a PTE pointing at a free frame', () => {
    expect(
      after((t, ts, a) => {
        const k = t.k;
        const pfn = k.mem_map.alloc();
        k.mem_map.free(pfn);
        const table = pte_table(t, ts.mm!, a);
        k.machine.pt.writeEntry(table, tableIndex(a + PAGE, 1), makePte(pfn, PTE_PRESENT | PTE_USER));
        return () => k.machine.pt.writeEntry(table, tableIndex(a + PAGE, 1), 0);
      }),
    ).toMatch(/maps pfn \d+, which is free/);
  });

  it('a PTE outside every area', () => {
    expect(
      after((t, ts, a) => {
        const k = t.k;
        const table = pte_table(t, ts.mm!, a);
        k.machine.pt.writeEntry(table, tableIndex(a + 2 * PAGE, 1), makePte(k.mem_map.alloc(), PTE_PRESENT));
        return () => k.machine.pt.writeEntry(table, tableIndex(a + 2 * PAGE, 1), 0);
      }),
    ).toMatch(/outside every area/);
  });

  it('a TLB entry the page table no longer backs on an up-to-date CPU', () => {
    expect(
      after((t, ts, a) => {
        const k = t.k;
        // Clear the PTE without a flush: the CPU's TLB still translates the page.
        k.machine.pt.writeEntry(pte_table(t, ts.mm!, a), tableIndex(a, 1), 0);
        k.mem_map.mapcount[k.machine.tlb.probe(t.cpu, k.machine.mmu.pcid[t.cpu]!, a / PAGE)]!--;
        ts.mm!.rss[1]!--;
      }),
    ).toMatch(/TLB entry .* but mm \d+'s table says -1 and the CPU is up to date/);
  });

  it('an rss counter that drifted', () => {
    expect(after((_t, ts) => ts.mm!.rss[1]!++)).toMatch(/rss counter 1 is 2 but the tables hold 1/);
  });
});
