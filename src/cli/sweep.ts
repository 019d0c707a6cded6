/**
 * Sweeps: run a workload at every point of a grid (or one shard's share of
 * it) in parallel worker threads, and merge shards' results into one.
 *
 * Every point's machine config and parameters are built and checked before
 * anything runs, so a bad grid fails at once with exit 2. Results do not
 * depend on the number of workers or on sharding: each point is an
 * independent, deterministic run, and points are stored in grid order.
 */
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { ParamValue, RunResult, SweepPoint, SweepResult, SweepThreadStats } from '../workloads/result.js';
import { RESULT_VERSION } from '../workloads/result.js';
import { findWorkload } from '../workloads/registry.js';
import { checkFits, hostInfo, resolveParams } from '../workloads/run.js';
import type { AnyWorkload } from '../workloads/types.js';
import { UsageError } from './errors.js';
import { gridPoint, gridSize, shardIndices, type Axis, type Shard } from './grid.js';
import { buildConfig, machineOverrides, type MachineChoice } from './options.js';
import { dropPrestarted, takeWorkers, workerUrl } from './sweep-pool.js';
import { inputErrorMessage, nowMs, runTimed, takeSlot, taskCpuMs, threadTimes, type PointJob, type PointTiming, type SharedJobs, type WorkerMessage } from './sweep-point.js';

export type { PointJob } from './sweep-point.js';

export interface SweepSpec {
  workload: AnyWorkload;
  axes: Axis[];
  /** Workload parameters given as flags (not grid axes). */
  params: Record<string, ParamValue>;
  machine: MachineChoice;
  shard?: Shard;
  /** Threads running points at most (this one and workers); never more than the host's available parallelism (the default). */
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

/**
 * The order in which threads take the points: the likely longest first, so
 * that the last points to start are short ones and no thread waits long
 * for another at the end (longest-processing-time-first dealing; with
 * points taken one at a time by whichever thread is free, the time a thread
 * can stand idle at the end is at most the length of the last point it
 * waits for). A point's length is not known before it runs, so it is
 * estimated from its grid values: the product of its numeric workload
 * parameters and machine fields on the grid (simulated CPUs, threads,
 * rounds, pages, loads... each makes a run longer as it grows), seeds left
 * out. Equal estimates go later grid points first (axes are most often
 * given smallest first). Only the order of running changes: results are
 * stored in grid order and each point is an independent run, so they are
 * the same for any order (tested).
 */
export function dealOrder(axes: readonly Axis[], jobs: readonly PointJob[]): number[] {
  const estimate = jobs.map((j) => {
    const point = gridPoint(axes, j.index);
    let e = 1;
    for (const a of axes) {
      const v = point[a.key];
      if (a.kind !== 'seed' && typeof v === 'number' && Number.isFinite(v)) e *= Math.max(Math.abs(v), 1);
    }
    return e;
  });
  return jobs.map((_, i) => i).sort((a, b) => estimate[b]! - estimate[a]! || b - a);
}

/** How a sweep's points were run: threads that ran points, of which workers started for it, and each thread's times. */
export interface PoolStats {
  threads: number;
  workers: number;
  perThread: SweepThreadStats[];
  /** CPU ms of the whole process (every thread: this one, the workers, V8's and libuv's helpers) from the pool's start to its end. */
  cpuMs: number;
  /**
   * Over the same span, where the host reports each thread's times
   * (/proc/self/task): the main thread's CPU ms when only workers ran
   * points, and that of the threads that ran no points (V8's background
   * compilers and garbage collector, libuv), ms.
   */
  mainCpuMs?: number;
  helperCpuMs?: number;
}

/** One thread's share of a sweep, built from its points' timings. */
class ThreadLog {
  readonly points: number[] = [];
  ready = 0;
  first = Infinity;
  last = 0;
  busy = 0;
  cpu = 0;
  runq = 0;
  hasSched = true;
  total: { cpu: number; runq: number } | null = null;

  add(slot: number, t: PointTiming): void {
    this.points.push(slot);
    this.first = Math.min(this.first, t.start);
    this.last = Math.max(this.last, t.end);
    this.busy += t.end - t.start;
    if (t.cpu === undefined || t.runq === undefined) this.hasSched = false;
    else {
      this.cpu += t.cpu;
      this.runq += t.runq;
    }
  }

  stats(t0: number, end: number): SweepThreadStats {
    const ms = (x: number): number => Math.round(x * 10) / 10;
    const s: SweepThreadStats = {
      points: this.points,
      ready_ms: ms(Math.max(0, (this.ready || this.first) - t0)),
      busy_ms: ms(this.busy),
      idle_end_ms: ms(this.points.length > 0 ? end - this.last : end - t0),
    };
    if (this.hasSched && this.points.length > 0) {
      s.points_cpu_ms = ms(this.cpu);
      s.points_runq_ms = ms(this.runq);
    }
    if (this.total) {
      s.cpu_ms = ms(this.total.cpu);
      s.runq_ms = ms(this.total.runq);
    }
    return s;
  }
}

/**
 * Runs the jobs on up to `maxThreads` threads. One thread: this one, whose
 * modules are loaded already. More: as many workers (started ahead by
 * bin/kernsim.js when the command line asked for them: sweep-pool.ts), each
 * fed the whole list once, while this thread only collects their results
 * (a point run here would hold up the messages of the others, and a thread
 * more than the host has cores only slows every point). Every thread takes
 * the next point in `order` from a shared atomic counter, so none waits
 * for another to hand it work. Results land in job order whichever thread
 * ran them, so they do not depend on the number of threads or the order.
 */
async function runJobs(
  jobs: PointJob[],
  order: readonly number[],
  maxThreads: number,
  onDone: (n: number) => void,
  describe: (job: PointJob) => string = (j) => `sweep point ${j.index}`,
): Promise<{ results: RunResult[]; stats: PoolStats }> {
  // A point whose input is bad (a file that cannot be read or parsed, a bad value) ends the sweep with one line and exit 2, whichever thread ran it; anything else is a bug and keeps its stack.
  const pointError = (job: PointJob, input: string | null, error: string): Error => (input !== null ? new UsageError(`${describe(job)}: ${input}`) : new Error(`${describe(job)}: ${error}`));
  const t0 = nowMs();
  const cpu0 = process.cpuUsage();
  const tasks0 = taskCpuMs();
  const results = new Array<RunResult>(jobs.length);
  const url = workerUrl();
  const threads = Math.max(1, Math.min(maxThreads, jobs.length));
  const shared: SharedJobs = { jobs, order: Int32Array.from(order), next: new Int32Array(new SharedArrayBuffer(4)) };
  let done = 0;
  let failure: Error | null = null;
  let running = 0;
  let wake: (() => void) | null = null;
  const notify = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };
  const logs: ThreadLog[] = [];
  const inWorkers = url !== null && threads > 1;
  const pool = inWorkers ? takeWorkers(url, threads) : [];
  if (!inWorkers) dropPrestarted();
  const workers = pool.map((sw) => sw.worker);
  const tids = pool.map((sw) => sw.tid);
  let tasks1: Map<number, number> | null = null;
  for (const [i, sw] of pool.entries()) {
    const wk = sw.worker;
    const log = new ThreadLog();
    log.ready = sw.ready;
    logs.push(log);
    running++;
    let finished = false;
    wk.on('message', (m: WorkerMessage) => {
      if ('ready' in m) {
        log.ready = m.ready;
        tids[i] = m.tid;
      }
      else if ('done' in m) {
        finished = true;
        running--;
        if (m.cpu !== undefined && m.runq !== undefined) log.total = { cpu: m.cpu, runq: m.runq };
      } else if (m.ok) {
        results[m.slot] = m.result;
        log.add(m.slot, m.timing);
        onDone(++done);
      } else failure ??= pointError(jobs[m.slot]!, m.input ?? null, m.error);
      notify();
    });
    wk.on('error', (e) => {
      failure ??= e;
      notify();
    });
    wk.on('exit', (code) => {
      if (!finished) failure ??= new Error(`sweep worker exited (code ${code}) before its points were done`);
      notify();
    });
    wk.postMessage(shared);
  }
  try {
    const here = new ThreadLog();
    if (!inWorkers) logs.push(here);
    const sched0 = threadTimes();
    for (let slot = inWorkers ? -1 : takeSlot(shared); slot >= 0 && !failure; slot = takeSlot(shared)) {
      if (!findWorkload(jobs[slot]!.workload)) throw new UsageError(`unknown workload "${jobs[slot]!.workload}"`);
      let r: ReturnType<typeof runTimed>;
      try {
        r = runTimed(jobs[slot]!);
      } catch (e) {
        const input = inputErrorMessage(e);
        throw input !== null ? pointError(jobs[slot]!, input, '') : e;
      }
      results[slot] = r.result;
      here.add(slot, r.timing);
      onDone(++done);
      // Let results from the workers, a progress redraw and signals through between points.
      await new Promise((r) => setImmediate(r));
    }
    const sched1 = threadTimes();
    if (!inWorkers && sched0 && sched1) here.total = { cpu: sched1.cpu - sched0.cpu, runq: sched1.runq - sched0.runq };
    while (!failure && running > 0) await new Promise<void>((r) => (wake = r));
    if (failure) throw failure;
    tasks1 = taskCpuMs();
  } finally {
    await Promise.all(workers.map((wk) => wk.terminate()));
  }
  const end = Math.max(t0, ...logs.map((l) => l.last));
  const cpu = process.cpuUsage(cpu0);
  const stats: PoolStats = {
    threads: inWorkers ? workers.length : 1,
    workers: workers.length,
    perThread: logs.map((l) => l.stats(t0, end)),
    cpuMs: Math.round((cpu.user + cpu.system) / 100) / 10,
  };
  if (tasks0 && tasks1 && tids.every((t) => t > 0)) {
    const used = (tid: number): number => (tasks1!.get(tid) ?? 0) - (tasks0.get(tid) ?? 0);
    let helpers = 0;
    for (const tid of tasks1.keys()) if (tid !== process.pid && !tids.includes(tid)) helpers += used(tid);
    if (inWorkers) stats.mainCpuMs = used(process.pid);
    stats.helperCpuMs = helpers;
  }
  return { results, stats };
}

export async function runSweep(spec: SweepSpec): Promise<SweepResult> {
  const t0 = performance.now();
  const jobs = planSweep(spec);
  // More threads than the host runs at once would only slow every point down.
  const maxWorkers = Math.min(spec.jobs ?? Infinity, availableParallelism());
  const order = dealOrder(spec.axes, jobs);
  const describe = (j: PointJob): string => `sweep point ${j.index} (${JSON.stringify(gridPoint(spec.axes, j.index))})`;
  const { results, stats } = await runJobs(jobs, order, maxWorkers, (d) => spec.onPoint?.(d, jobs.length), describe);
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
    host: {
      ...hostInfo(performance.now() - t0),
      threads: stats.threads,
      cpu_ms: stats.cpuMs,
      ...(stats.mainCpuMs !== undefined ? { main_cpu_ms: stats.mainCpuMs } : {}),
      ...(stats.helperCpuMs !== undefined ? { helper_cpu_ms: stats.helperCpuMs } : {}),
      per_thread: stats.perThread,
    },
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
