/**
 * Sweeps: run a workload at every point of a grid (or one shard's share of
 * it) in parallel worker threads, and merge shards' results into one.
 *
 * Every point's machine config and parameters are built and checked before
 * anything runs, so a bad grid fails at once with exit 2. Results do not
 * depend on the number of workers or on sharding: each point is an
 * independent, deterministic run, and points are stored in grid order.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { MachineConfig } from '../config/machine.js';
import type { ParamValue, RunResult, SweepPoint, SweepResult } from '../workloads/result.js';
import { RESULT_VERSION } from '../workloads/result.js';
import { findWorkload } from '../workloads/registry.js';
import { checkFits, hostInfo, resolveParams, runWorkload } from '../workloads/run.js';
import type { AnyWorkload } from '../workloads/types.js';
import { UsageError } from './errors.js';
import { gridPoint, gridSize, shardIndices, type Axis, type Shard } from './grid.js';
import { buildConfig, machineOverrides, type MachineChoice } from './options.js';

/** What a worker needs to run one point: plain data, so it crosses a thread boundary. */
export interface PointJob {
  index: number;
  workload: string;
  params: Record<string, ParamValue>;
  config: MachineConfig;
  /** Machine fields changed on the command line or by the grid, recorded in the point's result as a single run records them. */
  overrides: Record<string, ParamValue>;
}

export interface SweepSpec {
  workload: AnyWorkload;
  axes: Axis[];
  /** Workload parameters given as flags (not grid axes). */
  params: Record<string, ParamValue>;
  machine: MachineChoice;
  shard?: Shard;
  /** Worker threads at most; never more than the host's available parallelism (the default). */
  jobs?: number;
  onPoint?: (done: number, total: number) => void;
}

/** The jobs of a sweep, each checked (bad values or geometry throw ConfigError before anything runs). */
export function planSweep(spec: SweepSpec): PointJob[] {
  const total = gridSize(spec.axes);
  return shardIndices(total, spec.shard).map((index) => planPoint(spec, index));
}

/** One point's job: its workload parameters and machine config, checked. */
function planPoint(spec: SweepSpec, index: number): PointJob {
  const point = gridPoint(spec.axes, index);
  const params: Record<string, ParamValue> = { ...spec.params };
  const m: MachineChoice = { ...spec.machine, fields: { ...spec.machine.fields } };
  for (const a of spec.axes) {
    const v = point[a.key]!;
    if (a.kind === 'param') params[a.key] = v;
    else if (a.kind === 'machine') m.machine = String(v);
    else if (a.kind === 'seed') m.seed = v as number;
    else if (a.key === 'cpus') m.cpus = v as number;
    else m.fields![a.key] = v;
  }
  const job = { index, workload: spec.workload.name, params: resolveParams(spec.workload, params, 'command line'), config: buildConfig(m), overrides: machineOverrides(m) };
  checkFits(spec.workload, job.params, job.config, `command line (point ${JSON.stringify(point)})`);
  return job;
}

/** The compiled worker next to this module, or null when running from TypeScript sources (tests), where points run in-process. */
function workerUrl(): URL | null {
  if (!import.meta.url.endsWith('.js')) return null;
  const u = new URL('./sweep-worker.js', import.meta.url);
  return existsSync(fileURLToPath(u)) ? u : null;
}

export function runPointInProcess(job: PointJob): RunResult {
  const w = findWorkload(job.workload);
  if (!w) throw new UsageError(`unknown workload "${job.workload}"`);
  const r = runWorkload(w, job.params, job.config, { hostClock: () => performance.now() });
  if (Object.keys(job.overrides).length > 0) r.overrides = job.overrides;
  return r;
}

async function runJobs(jobs: PointJob[], maxWorkers: number, onDone: (n: number) => void): Promise<RunResult[]> {
  const results = new Array<RunResult>(jobs.length);
  const url = workerUrl();
  const n = Math.max(1, Math.min(maxWorkers, jobs.length));
  if (!url || n === 1) {
    for (let i = 0; i < jobs.length; i++) {
      results[i] = runPointInProcess(jobs[i]!);
      onDone(i + 1);
      // Let a progress redraw and signals through between points.
      await new Promise((r) => setImmediate(r));
    }
    return results;
  }
  let next = 0;
  let done = 0;
  const workers: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let failed = false;
      const feed = (wk: Worker): void => {
        if (next >= jobs.length) {
          void wk.terminate();
          return;
        }
        const slot = next++;
        wk.once('message', (msg: { ok: true; result: RunResult } | { ok: false; error: string }) => {
          if (failed) return;
          if (!msg.ok) {
            failed = true;
            reject(new Error(`sweep point ${jobs[slot]!.index}: ${msg.error}`));
            return;
          }
          results[slot] = msg.result;
          onDone(++done);
          if (done === jobs.length) resolve();
          else feed(wk);
        });
        wk.postMessage(jobs[slot]);
      };
      for (let i = 0; i < n; i++) {
        const wk = new Worker(url);
        workers.push(wk);
        wk.on('error', (e) => {
          if (!failed) {
            failed = true;
            reject(e);
          }
        });
        feed(wk);
      }
    });
  } finally {
    await Promise.all(workers.map((wk) => wk.terminate()));
  }
  return results;
}

export async function runSweep(spec: SweepSpec): Promise<SweepResult> {
  const t0 = performance.now();
  const jobs = planSweep(spec);
  // More threads than the host runs at once would only slow every point down.
  const maxWorkers = Math.min(spec.jobs ?? Infinity, availableParallelism());
  const results = await runJobs(jobs, maxWorkers, (d) => spec.onPoint?.(d, jobs.length));
  const points: SweepPoint[] = jobs.map((j, i) => ({ index: j.index, point: gridPoint(spec.axes, j.index), result: results[i]! }));
  // The sweep's machine and seed are those of the grid's first point, whichever share this is, so every shard of one sweep says the same.
  const first = gridSize(spec.axes) > 0 ? planPoint(spec, 0).config : undefined;
  const out: SweepResult = {
    kernsim_result: RESULT_VERSION,
    kind: 'sweep',
    workload: spec.workload.name,
    machine: spec.machine.machine ?? first?.name ?? 'default',
    seed: spec.machine.seed ?? first?.sim.seed ?? 1,
    base: baseOf(spec),
    grid: spec.axes.map((a) => ({ key: a.key, values: a.values })),
    total_points: gridSize(spec.axes),
    points,
    host: hostInfo(performance.now() - t0),
  };
  if (spec.shard) out.shard = { ...spec.shard };
  return out;
}

/** Flags common to every point: the workload parameters given, --cpus, --seed and --set fields. */
function baseOf(spec: SweepSpec): Record<string, ParamValue> {
  const base: Record<string, ParamValue> = { ...spec.params };
  if (spec.machine.cpus !== undefined) base['cpus'] = spec.machine.cpus;
  if (spec.machine.seed !== undefined) base['seed'] = spec.machine.seed;
  for (const [k, v] of Object.entries(spec.machine.fields ?? {})) base[k] = v;
  return base;
}

/**
 * Joins shards of one sweep into one result. The shards must be of the same
 * sweep (workload, machine, seed, fixed flags and grid), no point may come
 * twice, and together they must hold every point.
 */
export function mergeSweeps(parts: { file: string; result: SweepResult }[]): SweepResult {
  if (parts.length === 0) throw new UsageError('merge: give at least one sweep result');
  const first = parts[0]!;
  const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
  const byIndex = new Map<number, { file: string; p: SweepPoint }>();
  let wall = 0;
  // A machine or seed that is a grid axis varies by point; shards written before the sweep-level value was the grid's first point's may differ there.
  const axisKeys = new Set(first.result.grid.map((a) => a.key));
  for (const { file, result: r } of parts) {
    for (const k of ['workload', 'machine', 'seed', 'base', 'grid', 'total_points'] as const) {
      if ((k === 'machine' || k === 'seed') && axisKeys.has(k)) continue;
      if (!same(r[k], first.result[k])) {
        throw new UsageError(`merge: ${file}: ${k} differs from ${first.file} (${JSON.stringify(r[k])} vs ${JSON.stringify(first.result[k])}): not shards of one sweep`);
      }
    }
    for (const p of r.points) {
      const prev = byIndex.get(p.index);
      if (prev) throw new UsageError(`merge: point ${p.index} is in both ${prev.file} and ${file}`);
      byIndex.set(p.index, { file, p });
    }
    wall += r.host.wall_ms;
  }
  const total = first.result.total_points;
  const missing: number[] = [];
  for (let j = 0; j < total; j++) if (!byIndex.has(j)) missing.push(j);
  if (missing.length > 0) {
    throw new UsageError(`merge: ${missing.length} of ${total} points missing (${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', ...' : ''}): is a shard left out?`);
  }
  const { shard: _omit, ...rest } = first.result;
  void _omit;
  return {
    ...rest,
    points: [...byIndex.values()].map((x) => x.p).sort((a, b) => a.index - b.index),
    host: hostInfo(wall),
  };
}
