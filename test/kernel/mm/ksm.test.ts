/**
 * KSM: ksmd merging identical anonymous pages of two processes into one
 * write-protected frame, copy-on-write breaking the sharing, UNMERGEABLE
 * unmerging, and what the scan costs.
 */
import { describe, expect, it } from 'vitest';
import { PTE_RW, ptePfn } from '../../../src/hw/pagetable.js';
import { PG_ksm } from '../../../src/kernel/mm/page_flags.js';
import { nsToCycles } from '../../../src/config/machine.js';
import { bootKernel } from '../../../src/kernel/boot.js';
import type { Kernel } from '../../../src/kernel/kernel.js';
import { checkInvariants } from '../../../src/kernel/mm/invariants.js';
import { ksm_stats } from '../../../src/kernel/mm/ksm.js';
import { MADV_MERGEABLE, MADV_UNMERGEABLE, sys_madvise } from '../../../src/kernel/mm/madvise.js';
import { sys_mmap } from '../../../src/kernel/mm/mmap.js';
import type { MmStruct } from '../../../src/kernel/mm/mm_types.js';
import { fillUser, loadUser } from '../../../src/kernel/mm/uaccess.js';
import { current } from '../../../src/kernel/sched/task_struct.js';
import type { Blocking, Task } from '../../../src/sim/task.js';
import { PAGE, PRIVATE_ANON, PROT_RW, testConfig } from './helpers.js';

function pteOf(k: Kernel, mm: MmStruct, addr: number): number {
  const pt = k.machine.pt;
  pt.translateFunctional(mm.pgd, addr);
  return pt.walkTable < 0 ? 0 : pt.readEntry(pt.walkTable, pt.walkIndex);
}

function* load(t: Task, addr: number): Blocking<number> {
  const r = yield* loadUser(t, addr);
  expect(r.sig).toBe(0);
  return r.value;
}

const N = 4;

/** Page i of each process holds byte i + 1: page i of one equals page i of the other, and no other page. */
function* fillPages(t: Task, a: number): Blocking<void> {
  for (let i = 0; i < N; i++) expect(yield* fillUser(t, a + i * PAGE, PAGE, i + 1)).toBe(0);
}

/**
 * Two processes map N private anonymous pages each, fill them alike and
 * mark them MERGEABLE; `during` runs in the first once ksmd has had time
 * for `scans` full scans (the second process waits for it to finish).
 */
function twoProcesses(scans: number, during: (t: Task, a: number, other: { mm: MmStruct; a: number }) => Blocking<void>, over: Parameters<typeof testConfig>[0] = () => {}) {
  const cfg = testConfig((c) => {
    c.kernel.ksm_run = true;
    c.sim.checks = true;
    over(c);
  });
  const k = bootKernel(cfg);
  const sleep = nsToCycles(cfg, cfg.kernel.ksm_sleep_ms * 1e6);
  const other = { mm: null as unknown as MmStruct, a: 0, done: false };
  let finished = false;
  k.spawnProcess('b', function* (t) {
    const ts = current(t);
    other.a = yield* sys_mmap(t, 0, N * PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
    other.mm = ts.mm!;
    yield* fillPages(t, other.a);
    expect(yield* sys_madvise(t, other.a, N * PAGE, MADV_MERGEABLE)).toBe(0);
    while (!finished) yield t.sleepFor(sleep);
    yield* k.exit(t, ts);
  }, { cpu: 1, pinned: true });
  k.spawnProcess('a', function* (t) {
    const ts = current(t);
    const a = yield* sys_mmap(t, 0, N * PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
    yield* fillPages(t, a);
    expect(yield* sys_madvise(t, a, N * PAGE, MADV_MERGEABLE)).toBe(0);
    // Each wake-up scans pages_to_scan >= 2N pages: one full scan per wake-up.
    yield t.sleepFor(sleep * scans + sleep / 2);
    yield* during(t, a, other);
    finished = true;
    yield* k.exit(t, ts);
  }, { cpu: 0, pinned: true });
  k.run();
  return k;
}

describe('KSM', () => {
  it('merges equal pages of two processes into one write-protected PG_ksm frame each, data intact', () => {
    let seen = { pages_shared: -1, pages_sharing: -1, pages_unshared: -1, full_scans: -1 };
    const k = twoProcesses(3, function* (t, a, other) {
      const k = t.k;
      const mm = current(t).mm!;
      const mem = k.machine.mem;
      const memmap = k.mem_map;
      for (let i = 0; i < N; i++) {
        const pa = pteOf(k, mm, a + i * PAGE);
        const pb = pteOf(k, other.mm, other.a + i * PAGE);
        expect(ptePfn(pa)).toBe(ptePfn(pb));
        expect(pa & PTE_RW).toBe(0);
        expect(memmap.flags[ptePfn(pa)]! & PG_ksm).toBe(PG_ksm);
        expect(memmap.mapcount[ptePfn(pa)]).toBe(2);
        expect(yield* load(t, a + i * PAGE + 100)).toBe(i + 1);
        expect(mem.sumBytes(ptePfn(pb), 0, PAGE)).toBe((i + 1) * PAGE);
      }
      seen = ksm_stats(k);
      checkInvariants(k);
    });
    expect(seen.pages_shared).toBe(N);
    expect(seen.pages_sharing).toBe(N);
    // Merging happens in the second full scan that sees the pages unchanged.
    expect(seen.full_scans).toBeGreaterThanOrEqual(2);
    // Each merge freed one of the two frames.
    expect(k.engine.counters.get('cow_ksm')).toBe(0);
  });

  it('does not merge before the pages have been seen unchanged by one full scan', () => {
    let seen = ksm_stats(bootKernel(testConfig()));
    twoProcesses(0, function* (_t) {
      const k = _t.k;
      seen = ksm_stats(k);
    });
    expect(seen.pages_shared).toBe(0);
  });

  it('a write breaks the sharing with a private copy (cow_ksm); the other process keeps the KSM page and its data', () => {
    const k = twoProcesses(3, function* (t, a, other) {
      const k = t.k;
      const mm = current(t).mm!;
      const kpfn = ptePfn(pteOf(k, mm, a));
      expect(yield* fillUser(t, a, 8, 0x55)).toBe(0);
      const mine = ptePfn(pteOf(k, mm, a));
      expect(mine).not.toBe(kpfn);
      expect(k.mem_map.flags[mine]! & PG_ksm).toBe(0);
      expect(yield* load(t, a)).toBe(0x55);
      expect(yield* load(t, a + 8)).toBe(1);
      expect(ptePfn(pteOf(k, other.mm, other.a))).toBe(kpfn);
      expect(k.machine.mem.sumBytes(kpfn, 0, PAGE)).toBe(PAGE);
      expect(k.mem_map.mapcount[kpfn]).toBe(1);
      const st = ksm_stats(k);
      expect(st.pages_shared).toBe(N);
      expect(st.pages_sharing).toBe(N - 1);
      checkInvariants(k);
    });
    expect(k.engine.counters.get('cow_ksm')).toBe(1);
  });

  it('MADV_UNMERGEABLE gives every page of the range a private copy again', () => {
    const k = twoProcesses(3, function* (t, a, other) {
      const k = t.k;
      const mm = current(t).mm!;
      expect(yield* sys_madvise(t, a, N * PAGE, MADV_UNMERGEABLE)).toBe(0);
      for (let i = 0; i < N; i++) {
        const pfn = ptePfn(pteOf(k, mm, a + i * PAGE));
        expect(k.mem_map.flags[pfn]! & PG_ksm).toBe(0);
        expect(pfn).not.toBe(ptePfn(pteOf(k, other.mm, other.a + i * PAGE)));
        expect(yield* load(t, a + i * PAGE + 7)).toBe(i + 1);
      }
      expect(ksm_stats(k).pages_sharing).toBe(0);
      checkInvariants(k);
    });
    expect(k.engine.counters.get('cow_ksm')).toBe(N);
  });

  it('charges ksmd a checksum per page it scans and a full memcmp per merge, under ksmd', () => {
    const k = twoProcesses(3, function* () {});
    const cfg = k.cfg;
    const tree = k.engine.attribution.tree();
    const find = (name: string): number => {
      let sum = 0;
      const walk = (n: typeof tree): void => {
        if (n.name === name) sum += n.inclusive;
        n.children.forEach(walk);
      };
      walk(tree);
      return sum;
    };
    expect(find('ksmd')).toBeGreaterThan(0);
    // Each page is hashed in every full scan until it is merged: three scans before the merge of each pair's second page.
    expect(find('calc_checksum') % cfg.kernel.cost.ksm_checksum_page).toBe(0);
    expect(find('calc_checksum')).toBeGreaterThanOrEqual(2 * N * 2 * cfg.kernel.cost.ksm_checksum_page);
    // One equal compare per pair (the unstable-tree match) and one in replace_page's check.
    expect(find('memcmp_pages')).toBe(N * 2 * cfg.kernel.cost.ksm_memcmp_page);
  });
});
