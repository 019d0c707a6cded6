/**
 * The memory cgroup charge and uncharge (src/kernel/mm/memcontrol.ts): exact
 * cycles of a charge from the per-CPU stock, of one that takes a batch from
 * the counters up the hierarchy, of a lone uncharge; one uncharge_batch per
 * folio batch a zap frees; and nothing at all in the root cgroup.
 */
import { describe, expect, it } from 'vitest';
import { MADV_DONTNEED, sys_madvise } from '../../../src/kernel/mm/madvise.js';
import { MEMCG_CHARGE_BATCH, mem_cgroup_charge, mem_cgroup_uncharge } from '../../../src/kernel/mm/memcontrol.js';
import { MmCore } from '../../../src/kernel/mm/core.js';
import { sys_mmap } from '../../../src/kernel/mm/mmap.js';
import { PAGEVEC_SIZE } from '../../../src/kernel/mm/swap.js';
import { fillUser } from '../../../src/kernel/mm/uaccess.js';
import type { Task } from '../../../src/sim/task.js';
import { PAGE, PRIVATE_ANON, PROT_RW, runProcess, testConfig } from './helpers.js';

const depth3 = () => testConfig((c) => (c.kernel.memcg_depth = 3));

function warm(t: Task, addrs: number[]): void {
  for (const a of addrs) t.k.machine.caches.access(t.cpu, a, true);
}

const count = (t: Task, name: string): number => t.k.engine.counters.snapshot()[name] ?? 0;

describe('memcg charge and uncharge', () => {
  it('charges from the CPU stock, and takes 64 pages from every counter up to the root when it is short: exact cycles on warm lines', () => {
    runProcess(function* (t) {
      const k = t.k;
      const c = k.cfg;
      // A first user page makes the cgroup; then empty the stock.
      const a = yield* sys_mmap(t, 0, PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      expect(yield* fillUser(t, a, PAGE, 1)).toBe(0);
      const cg = k.mm.memcg!;
      expect(cg.counterKaddr.length).toBe(4);
      cg.stock[0] = 0;
      const pfn = 5000;
      warm(t, [...cg.counterKaddr, cg.stockKaddr[0]!, cg.statKaddr[0]!, MmCore.pageKaddr(pfn), MmCore.pageKaddr(pfn + 1)]);
      const op = c.kernel.cost.kernel_op;
      const l1 = c.cost.l1d_hit;
      const fixed = op + l1 + (l1 + op + l1);
      let c0 = t.cpuTime;
      const refills = count(t, 'memcg_counter_charge');
      mem_cgroup_charge(t, pfn);
      expect(t.cpuTime - c0).toBe(fixed + 4 * (l1 + c.cost.atomic_rmw) + op);
      expect(count(t, 'memcg_counter_charge') - refills).toBe(1);
      expect(cg.stock[0]).toBe(MEMCG_CHARGE_BATCH - 1);
      c0 = t.cpuTime;
      mem_cgroup_charge(t, pfn + 1);
      expect(t.cpuTime - c0).toBe(fixed);
      // A lone uncharge: uncharge_folio, then uncharge_batch of one page.
      c0 = t.cpuTime;
      mem_cgroup_uncharge(t, pfn + 1);
      expect(t.cpuTime - c0).toBe(l1 + op + 4 * (l1 + c.cost.atomic_rmw) + op + l1);
      // Uncharged already: nothing.
      c0 = t.cpuTime;
      mem_cgroup_uncharge(t, pfn + 1);
      expect(t.cpuTime - c0).toBe(0);
    }, depth3());
  });

  it('uncharges a zap\'s freed pages once per folio batch', () => {
    const n = 64;
    runProcess(function* (t) {
      const a = yield* sys_mmap(t, 0, n * PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      expect(yield* fillUser(t, a, n * PAGE, 7)).toBe(0);
      const b0 = count(t, 'memcg_uncharge_batch');
      expect(yield* sys_madvise(t, a, n * PAGE, MADV_DONTNEED)).toBe(0);
      expect(count(t, 'memcg_uncharge_batch') - b0).toBe(Math.ceil(n / PAGEVEC_SIZE));
    }, depth3());
  });

  it('charges nothing in the root cgroup (memcg_depth 0)', () => {
    runProcess(function* (t) {
      const a = yield* sys_mmap(t, 0, 8 * PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      expect(yield* fillUser(t, a, 8 * PAGE, 7)).toBe(0);
      expect(yield* sys_madvise(t, a, 8 * PAGE, MADV_DONTNEED)).toBe(0);
      expect(t.k.mm.memcg).toBeNull();
      expect(count(t, 'memcg_counter_charge') + count(t, 'memcg_uncharge_batch')).toBe(0);
    }, testConfig((c) => (c.kernel.memcg_depth = 0)));
  });
});

describe('calibrate: the host\'s memory cgroup', () => {
  it('reads cgroup v1\'s memory line, else v2\'s unified line when it has the memory controller', async () => {
    const { memcgPath } = await import('../../../src/conform/hostinfo.js');
    expect(memcgPath('4:memory:/process_api/12ab\n0::/\n', undefined)).toBe('/process_api/12ab');
    expect(memcgPath('0::/user.slice/user-1000.slice/session-2.scope\n', 'cpuset cpu io memory pids')).toBe('/user.slice/user-1000.slice/session-2.scope');
    expect(memcgPath('0::/user.slice\n', 'cpu io')).toBeUndefined();
  });
});
