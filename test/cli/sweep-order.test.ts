/**
 * The order a sweep deals its points in (longest likely first) changes only
 * which runs first: results stay in grid order and equal to each point run
 * on its own, in any order.
 */
import { describe, expect, it } from 'vitest';
import { parseGrid } from '../../src/cli/grid.js';
import { dealOrder, planSweep, runSweep } from '../../src/cli/sweep.js';
import { runPoint } from '../../src/cli/sweep-point.js';
import { findWorkload } from '../../src/workloads/registry.js';

const w = findWorkload('tlb-reach')!;
const strip = (r: unknown): string => JSON.stringify(r, (k, v: unknown) => (k === 'host' ? undefined : v));

describe('sweep dealing order', () => {
  it('takes the points with the largest numeric grid values first, seeds and names left out, later grid points first on ties', () => {
    const axes = parseGrid(w, ['pages=16,256', 'cpus=1,2', 'seed=1,9']);
    const jobs = planSweep({ workload: w, axes, params: { loads: 100 }, machine: { fields: {} } });
    // Grid order: pages 16 (cpus 1: seeds 1, 9; cpus 2: ...), then pages 256.
    expect(dealOrder(axes, jobs)).toEqual([7, 6, 5, 4, 3, 2, 1, 0]);
    const byMachine = parseGrid(w, ['machine=default,server-64', 'pages=64,16']);
    expect(dealOrder(byMachine, planSweep({ workload: w, axes: byMachine, params: { loads: 100 }, machine: { fields: {} } }))).toEqual([2, 0, 3, 1]);
  });

  it('gives the same results as running each point alone in grid order and in reverse', async () => {
    const axes = parseGrid(w, ['pages=16,256,64', 'cpus=2,1']);
    const spec = { workload: w, axes, params: { loads: 500, threads: 2 }, machine: { fields: {} }, jobs: 1 };
    const swept = await runSweep(spec);
    expect(swept.points.map((p) => p.index)).toEqual([0, 1, 2, 3, 4, 5]);
    // The sweep ran them largest first, in this thread.
    expect(swept.host.per_thread?.[0]?.points).toEqual([2, 3, 4, 5, 0, 1]);
    const jobs = planSweep(spec);
    const forward = jobs.map((j) => strip(runPoint(j)));
    const backward = [...jobs].reverse().map((j) => strip(runPoint(j))).reverse();
    expect(swept.points.map((p) => strip(p.result))).toEqual(forward);
    expect(backward).toEqual(forward);
  }, 120_000);
});
