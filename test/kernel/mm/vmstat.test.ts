/**
 * The statistics of rmap and LRU changes (src/kernel/mm/vmstat.ts): the
 * per-CPU stat threshold as calculate_normal_threshold() computes it, exact
 * cycles of __mod_lruvec_state on warm lines (the per-CPU diff, the memcg's
 * per-CPU counters, memcg_rstat_updated's walk up the hierarchy), the fold
 * past the threshold, the per-CPU batch moved into a level's shared count,
 * the walk stopping at a level that needs a flush, and the calls a fault
 * and a zap make.
 */
import { describe, expect, it } from 'vitest';
import { MADV_DONTNEED, sys_madvise } from '../../../src/kernel/mm/madvise.js';
import { MEMCG_CHARGE_BATCH } from '../../../src/kernel/mm/memcontrol.js';
import { sys_mmap } from '../../../src/kernel/mm/mmap.js';
import { fillUser } from '../../../src/kernel/mm/uaccess.js';
import { mod_lruvec_state, NR_ANON_MAPPED, NR_LRU_BASE, statThreshold, type VmStat } from '../../../src/kernel/mm/vmstat.js';
import type { Blocking, Task } from '../../../src/sim/task.js';
import { PAGE, PRIVATE_ANON, PROT_RW, runProcess, testConfig } from './helpers.js';

const depth3 = () => testConfig((c) => (c.kernel.memcg_depth = 3));

/** Maps and writes one page, so the kernel has made its memcg and statistics. */
function* setUp(t: Task): Blocking<VmStat> {
  const a = yield* sys_mmap(t, 0, PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
  expect(yield* fillUser(t, a, PAGE, 1)).toBe(0);
  const vs = t.k.mm.vmstat!;
  vs.diff.fill(0);
  vs.rstatPcpu.fill(0);
  vs.rstatShared.fill(0);
  const caches = t.k.machine.caches;
  const lines = [vs.diffKaddr[0]!, vs.nodeKaddr, vs.globalKaddr, vs.lruvecStatKaddr[0]!, t.k.mm.memcg!.statKaddr[0]!, ...vs.rstatSharedKaddr, ...vs.rstatKaddr.map((l) => l[0]!)];
  for (const a of lines) caches.access(t.cpu, a, true);
  return vs;
}

function cyclesOf(t: Task, fn: () => void): number {
  const t0 = t.now;
  fn();
  return t.now - t0;
}

describe('vmstat: the statistics of rmap and LRU changes', () => {
  it('stat_threshold is calculate_normal_threshold(): 2 x fls(cpus) x (1 + fls(MiB / 128)), at most 125', () => {
    expect(statThreshold(4, 4096)).toBe(2 * 3 * (1 + 6));
    expect(statThreshold(2, 4096)).toBe(2 * 2 * (1 + 6));
    expect(statThreshold(8, 16384)).toBe(2 * 4 * (1 + 8));
    expect(statThreshold(64, 262144)).toBe(125);
  });

  it('__mod_lruvec_state costs three kernel_ops and eleven L1 hits on warm lines with a cgroup three levels down', () => {
    runProcess(function* (t): Blocking<void> {
      const vs = yield* setUp(t);
      const c = t.k.cfg;
      const op = c.kernel.cost.kernel_op;
      const l1 = c.cost.l1d_hit;
      expect(vs.levels).toBe(4);
      // The node diff (op, one line); the memcg's and the lruvec's per-CPU lines (op, two); the rstat walk (op, a read of
      // each level's shared count and a write of its per-CPU count).
      expect(cyclesOf(t, () => mod_lruvec_state(t, NR_ANON_MAPPED, 1))).toBe(3 * op + (1 + 2 + 2 * 4) * l1);
      expect(vs.diff[NR_ANON_MAPPED]).toBe(1);
      expect([...vs.rstatPcpu.filter((_, i) => i % c.cpus === 0)]).toEqual([1, 1, 1, 1]);
    }, depth3());
  });

  it('past the threshold the diff is folded into the node and global counters: two atomics', () => {
    runProcess(function* (t): Blocking<void> {
      const vs = yield* setUp(t);
      const c = t.k.cfg;
      const base = 3 * c.kernel.cost.kernel_op + 11 * c.cost.l1d_hit;
      vs.diff[NR_ANON_MAPPED] = vs.threshold;
      const folds = t.k.engine.counters.snapshot()['vmstat_fold'] ?? 0;
      expect(cyclesOf(t, () => mod_lruvec_state(t, NR_ANON_MAPPED, 1))).toBe(base + 2 * (c.cost.l1d_hit + c.cost.atomic_rmw));
      expect(vs.diff[NR_ANON_MAPPED]).toBe(0);
      expect(t.k.engine.counters.snapshot()['vmstat_fold']).toBe(folds + 1);
    }, depth3());
  });

  it('a level whose per-CPU count reaches 64 moves it into its shared count (one atomic); a level needing a flush stops the walk', () => {
    runProcess(function* (t): Blocking<void> {
      const vs = yield* setUp(t);
      const c = t.k.cfg;
      const op = c.kernel.cost.kernel_op;
      const l1 = c.cost.l1d_hit;
      const base = 3 * op + 11 * l1;
      vs.rstatPcpu[1 * c.cpus] = MEMCG_CHARGE_BATCH - 1;
      expect(cyclesOf(t, () => mod_lruvec_state(t, NR_ANON_MAPPED, 1))).toBe(base + l1 + c.cost.atomic_rmw);
      expect(vs.rstatShared[1]).toBe(MEMCG_CHARGE_BATCH);
      expect(vs.rstatPcpu[1 * c.cpus]).toBe(0);
      // The task's own cgroup needs a flush: the walk reads its shared count and stops there.
      vs.rstatShared[0] = MEMCG_CHARGE_BATCH * c.cpus + 1;
      expect(cyclesOf(t, () => mod_lruvec_state(t, NR_ANON_MAPPED, 1))).toBe(3 * op + (1 + 2 + 1) * l1);
    }, depth3());
  });

  it('a fault adds NR_ANON_MAPPED and the page to an LRU list; a DONTNEED takes both back', () => {
    runProcess(function* (t): Blocking<void> {
      const vs = yield* setUp(t);
      const a = yield* sys_mmap(t, 0, PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      expect(yield* fillUser(t, a, PAGE, 1)).toBe(0);
      expect(vs.diff[NR_ANON_MAPPED]).toBe(1);
      expect(yield* sys_madvise(t, a, PAGE, MADV_DONTNEED)).toBe(0);
      expect(vs.diff[NR_ANON_MAPPED]).toBe(0);
      // Whether or not the CPU's lru_add batch drained in between, every list is back where it was.
      const lru = [0, 1, 2, 3].map((l) => vs.diff[NR_LRU_BASE + l]);
      expect(lru).toEqual([0, 0, 0, 0]);
    }, depth3());
  });
});
