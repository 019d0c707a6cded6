/**
 * One sweep point, run where it is: in the main thread or in a worker. Kept
 * apart from sweep.ts so a worker loads only the simulator and the
 * workloads, not the command line's modules.
 */
import { performance } from 'node:perf_hooks';
import type { MachineConfig } from '../config/machine.js';
import type { ParamValue, RunResult } from '../workloads/result.js';
import { findWorkload } from '../workloads/registry.js';
import { runWorkload } from '../workloads/run.js';

/** What a worker needs to run one point: plain data, so it crosses a thread boundary. */
export interface PointJob {
  index: number;
  workload: string;
  params: Record<string, ParamValue>;
  config: MachineConfig;
  /** Machine fields changed on the command line or by the grid, recorded in the point's result as a single run records them. */
  overrides: Record<string, ParamValue>;
}

export function runPoint(job: PointJob): RunResult {
  const w = findWorkload(job.workload);
  if (!w) throw new Error(`unknown workload "${job.workload}"`);
  const r = runWorkload(w, job.params, job.config, { hostClock: () => performance.now() });
  if (Object.keys(job.overrides).length > 0) r.overrides = job.overrides;
  return r;
}

/**
 * The points of one sweep and a counter shared by every thread running them:
 * each thread takes the next point with one atomic add, so no thread waits
 * for another to hand it work.
 */
export interface SharedJobs {
  jobs: PointJob[];
  /** Int32Array over a SharedArrayBuffer: [next point to take]. */
  next: Int32Array;
}

/** Takes the next point's slot, or -1 when none is left. */
export function takeSlot(s: SharedJobs): number {
  const slot = Atomics.add(s.next, 0, 1);
  return slot < s.jobs.length ? slot : -1;
}

/** Messages from a worker: a point's result or error, and that it has run out of points. */
export type WorkerMessage = { slot: number; ok: true; result: RunResult } | { slot: number; ok: false; error: string } | { done: true };
