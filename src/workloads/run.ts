/**
 * runWorkload: boot a kernel on a machine config, let a workload set up its
 * processes, run the engine until they finish, and collect everything a
 * report needs into one plain RunResult (see result.ts and docs/results.md).
 * The simulator never prints; the CLI renders the result.
 */
import { readFileSync } from 'node:fs';
import type { MachineConfig } from '../config/machine.js';
import { ConfigError, mergeChecked, type Schema } from '../params/schema.js';
import { bootKernel } from '../kernel/boot.js';
import type { Kernel } from '../kernel/kernel.js';
import { checkInvariants } from '../kernel/mm/invariants.js';
import { PG_dirty } from '../kernel/mm/page_flags.js';
import type { Engine } from '../sim/engine.js';
import type { Samples } from '../sim/stats.js';
import { TaskState, type Task, type TaskBody } from '../sim/task.js';
import { RESULT_VERSION, type HostInfo, type LatencyStats, type ParamValue, type RunResult, type TraceData } from './result.js';
import type { AnyWorkload } from './types.js';

/**
 * Counters every result carries, zero when nothing in the run counted them,
 * so reports and comparisons can rely on the names (Linux /proc/vmstat names
 * where Linux has one).
 */
export const REQUIRED_COUNTERS = [
  'pgfault',
  'pgmajfault',
  'pswpin',
  'pswpout',
  'nr_tlb_remote_flush',
  'nr_tlb_remote_flush_received',
  'nr_tlb_local_flush_one',
  'nr_tlb_local_flush_all',
  'ipi_sent',
  'dtlb_l1_miss',
  'stlb_miss',
  'page_walks',
  'l1d_miss',
  'l2_miss',
  'llc_miss',
  'rcu_grace_periods',
  'rcu_callbacks_invoked',
] as const;

export interface RunOptions {
  /** Record per-CPU activity and IPI flows for a Perfetto trace (costs host memory). */
  trace?: boolean;
  /** Called between chunks of simulated time: the workload's own fraction done (or NaN when it does not say), the cycles so far, and whether the run has ended. */
  onProgress?: (fraction: number, simulatedCycles: number, final: boolean) => void;
  /**
   * The host's clock in milliseconds, for the `host.wall_ms` figure only. The
   * simulation never reads a wall clock: the CLI passes one in (default: none, 0).
   */
  hostClock?: () => number;
}

/** Simulated cycles run between progress reports; has no effect on results (see runEngine). */
const CHUNK_CYCLES = 2_000_000;
/** With sim.checks, the invariants are checked this often (simulated cycles); like the chunks, it changes no result. */
const CHECK_CHUNK_CYCLES = 100_000;
/** Trace slices kept at most; past this the trace is marked truncated. */
const MAX_TRACE_SLICES = 400_000;

/**
 * A workload's parameters from defaults and `given` (already typed values,
 * e.g. from flags or a sweep's grid). Unknown names and bad values throw
 * ConfigError naming `label` and the field.
 */
export function resolveParams(w: AnyWorkload, given: Record<string, unknown>, label = 'parameters'): Record<string, ParamValue> {
  const defaults: Record<string, unknown> = {};
  for (const [k, spec] of Object.entries(w.params)) {
    if (!('default' in spec)) throw new ConfigError(w.name, k, 'a flat parameter (workload parameters cannot nest)');
    defaults[k] = spec.default;
  }
  return mergeChecked(w.params as Schema, defaults as never, given, label) as unknown as Record<string, ParamValue>;
}

/** Throws ConfigError (bad input) when the workload says parameters `p` cannot run on `cfg`. */
export function checkFits(w: AnyWorkload, p: Record<string, ParamValue>, cfg: MachineConfig, label = 'parameters'): void {
  const why = w.unfit?.(cfg, p as never);
  if (why) throw new ConfigError(label, `--${why.param.replace(/_/g, '-')}`, `${why.expected}, got ${JSON.stringify(p[why.param])}`);
}

/** Runs `w` with `params` (checked with resolveParams) on a machine built from `cfg`. */
export function runWorkload(w: AnyWorkload, params: Record<string, unknown>, cfg: MachineConfig, opts: RunOptions = {}): RunResult {
  const clock = opts.hostClock ?? ((): number => 0);
  const t0 = clock();
  const p = resolveParams(w, params);
  checkFits(w, p, cfg);
  const k = bootKernel(cfg);
  const tracer = opts.trace ? new Tracer(k.engine) : null;
  const run = w.setup(k, p as never);
  const progress = opts.onProgress
    ? (final: boolean): void => opts.onProgress!(w.progress ? w.progress(k, p as never, run) : NaN, k.engine.maxClock(), final)
    : null;
  // sim.checks: the memory-management invariants between chunks of simulated time and at the end (a violation is an internal error, thrown).
  const check = cfg.sim.checks ? (): void => checkInvariants(k) : null;
  // With a trace, kernel state is sampled between chunks too (the chunks' length changes no result).
  const sample = tracer ? (): void => tracer.sample(k) : null;
  runEngine(k.engine, progress, check, sample);
  const failures = w.check(k, p as never, run);
  for (const t of k.engine.blockedTasks()) {
    if (!t.kernelThread) failures.push(`task ${t.name} (id ${t.id}) was still blocked when the run ended`);
  }
  const figures = w.figures ? sortKeys(w.figures(k, p as never, run)) : {};
  const e = k.engine;
  const simulated = e.maxClock();
  const result: RunResult = {
    kernsim_result: RESULT_VERSION,
    kind: 'run',
    workload: w.name,
    params: p,
    machine: cfg.name,
    seed: cfg.sim.seed,
    clock_ghz: cfg.clock_ghz,
    simulated_cycles: simulated,
    simulated_ns: simulated / cfg.clock_ghz,
    cpus: e.cpuSummary(),
    counters: collectCounters(k),
    breakdown: e.attribution.tree(),
    ...collectLatency(e),
    figures,
    checks: { passed: failures.length === 0, failures },
    config: cfg,
    host: hostInfo(clock() - t0),
  };
  const sampling = k.machine.mmu.samplingReport();
  if (sampling) result.sampling = sampling;
  if (tracer) result.trace = tracer.finish();
  return result;
}

/**
 * Runs the engine to the end in chunks of simulated time so progress can be
 * reported. Pausing at `until` changes nothing the engine computes (a CPU's
 * window depends on the other clocks and the event queue, never on `until`),
 * so results are the same with or without progress. Chunks stop once every
 * user task has ended; the final unbounded run drains what the kernel still
 * has in flight. When a chunk moves no clock (everyone asleep until a far
 * timer, or blocked for good), the chunk doubles, so a long sleep costs a
 * few dozen chunks, not millions.
 */
function runEngine(e: Engine, progress: ((final: boolean) => void) | null, check: (() => void) | null = null, sample: (() => void) | null = null): void {
  const chunk = check || sample ? CHECK_CHUNK_CYCLES : CHUNK_CYCLES;
  sample?.();
  let step = chunk;
  let until = step;
  let lastSum = -1;
  while (userTasksAlive(e) && until < Number.MAX_SAFE_INTEGER) {
    e.run(until);
    check?.();
    sample?.();
    progress?.(false);
    let sum = 0;
    for (let c = 0; c < e.ncpus; c++) sum += e.clock[c]!;
    if (sum === lastSum) step *= 2;
    else step = chunk;
    lastSum = sum;
    until = Math.max(until, e.maxClock()) + step;
  }
  e.run();
  check?.();
  sample?.();
  progress?.(true);
}

function userTasksAlive(e: Engine): boolean {
  for (const t of e.allTasks()) if (!t.kernelThread && t.state !== TaskState.Done) return true;
  return false;
}

/** Engine counters, then every hardware unit's, then the required names at zero; sorted by name. */
export function collectCounters(k: Kernel): Record<string, number> {
  const out: Record<string, number> = { ...k.engine.counters.snapshot() };
  const units: unknown[] = [...Object.values(k.machine), k.engine.ipi, k.swap];
  for (const u of units) {
    if (typeof u !== 'object' || u === null || typeof (u as { counters?: unknown }).counters !== 'function') continue;
    const c = (u as { counters(): Record<string, number> }).counters();
    // The kernel's own count of a thing wins over a unit's count of the same name.
    for (const [name, v] of Object.entries(c)) if (!(name in out)) out[name] = v;
  }
  // On x86 every STLB miss starts a page walk (a paging-structure-cache hit shortens it, never avoids it),
  // so when the MMU keeps no count of its own the two are the same number.
  if (!('page_walks' in out) && 'stlb_miss' in out) out['page_walks'] = out['stlb_miss']!;
  if (!('slab_bytes' in out)) out['slab_bytes'] = k.slab.bytesInUse;
  if (!('slab_peak_bytes' in out)) out['slab_peak_bytes'] = k.slab.peakBytes;
  for (const name of REQUIRED_COUNTERS) if (!(name in out)) out[name] = 0;
  return sortKeys(out);
}

/** Samples of system calls (the engine counts each as `syscall_NAME`) go under `latency`; any others under `samples`. */
function collectLatency(e: Engine): { latency: Record<string, LatencyStats>; samples: Record<string, LatencyStats> } {
  const latency: Record<string, LatencyStats> = {};
  const samples: Record<string, LatencyStats> = {};
  for (const name of Object.keys(e.samples.summary())) {
    const stats = latencyStats(e.samples.of(name));
    if (e.counters.get(`syscall_${name}`) > 0) latency[name] = stats;
    else samples[name] = stats;
  }
  return { latency, samples };
}

export function latencyStats(s: Samples): LatencyStats {
  const p = s.percentiles();
  return { count: p.count, min: p.min, p50: p.p50, p90: p.p90, p99: p.p99, max: p.max, mean: p.mean, hist: s.powerOfTwoBuckets() };
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k]!;
  return out;
}

let cachedVersion: string | undefined;

/** The package's version, read once from package.json (from src/workloads or dist/src/workloads). */
export function kernsimVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  cachedVersion = 'unknown';
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'kernsim' && pkg.version) {
        cachedVersion = pkg.version;
        break;
      }
    } catch {
      // not at this level: try the next
    }
  }
  return cachedVersion;
}

export function hostInfo(wallMs: number): HostInfo {
  return { wall_ms: Math.round(wallMs * 1000) / 1000, node: process.version, platform: `${process.platform}-${process.arch}`, kernsim: kernsimVersion() };
}

/**
 * Pages marked PG_dirty: the kernel keeps no running count (Linux's
 * NR_FILE_DIRTY), so the trace counts the flags when it samples.
 */
function dirtyPages(k: Kernel): number {
  const flags = k.mem_map.flags;
  let n = 0;
  for (let pfn = 0; pfn < flags.length; pfn++) if ((flags[pfn]! & PG_dirty) !== 0) n++;
  return n;
}

/**
 * Records which task ran on which CPU, from when to when, by wrapping each
 * task's body: every resumption is timed on the task's CPU clock, and
 * back-to-back resumptions of one task on one CPU merge into one slice. The
 * engine records IPI handler slices and flows itself when `tracing` is on.
 * Tasks spawned later (forks, kernel threads) are caught by wrapping this
 * engine's spawn.
 */
class Tracer {
  private readonly slices: TraceData['slices'] = [];
  private readonly open = new Map<Task, { cpu: number; ts: number; dur: number; name: string; cpuTime: number }>();
  private truncated = false;
  private readonly counters: NonNullable<TraceData['counters']> = [];

  constructor(private readonly e: Engine) {
    e.tracing = true;
    for (const t of e.allTasks()) t.body = this.wrap(t, t.body);
    const spawn = e.spawn.bind(e);
    e.spawn = (name, body, opts) => spawn(name, (t) => this.wrap(t, body(t)), opts);
  }

  private *wrap(t: Task, inner: TaskBody): TaskBody {
    const clock = this.e.clock;
    for (;;) {
      const cpu = t.cpu;
      const start = clock[cpu]!;
      const r = inner.next();
      this.record(t, cpu, start, clock[cpu]!);
      if (r.done) {
        this.close(t);
        return;
      }
      yield r.value;
    }
  }

  /**
   * A resumption that ran [start, end) on `cpu`. It extends the task's open
   * slice when nothing else ran in between: the gap since the slice's end was
   * all charged to this task (a spin-wait, which the engine charges outside
   * the body) and the task stayed on the CPU.
   */
  private record(t: Task, cpu: number, start: number, end: number): void {
    if (end <= start) return;
    const o = this.open.get(t);
    const before = t.cpuTime - (end - start);
    if (o && o.cpu === cpu && before - o.cpuTime === start - (o.ts + o.dur)) {
      o.dur = end - o.ts;
      o.cpuTime = t.cpuTime;
      return;
    }
    this.close(t);
    this.open.set(t, { cpu, ts: start, dur: end - start, name: t.name, cpuTime: t.cpuTime });
  }

  private close(t: Task): void {
    const o = this.open.get(t);
    if (!o) return;
    this.open.delete(t);
    if (this.slices.length < MAX_TRACE_SLICES) this.slices.push({ cpu: o.cpu, ts: o.ts, dur: o.dur, name: o.name });
    else this.truncated = true;
  }

  /** Records the kernel state counters at the latest CPU clock (once per distinct time). */
  sample(k: Kernel): void {
    const ts = this.e.maxClock();
    const last = this.counters[this.counters.length - 1];
    if (last && last.ts === ts) return;
    if (this.counters.length < MAX_TRACE_SLICES) {
      this.counters.push({ ts, free_pages: k.mem_map.freeCount, rcu_callbacks_queued: k.rcu ? k.rcu.callbacksPending : 0, dirty_pages: dirtyPages(k) });
    }
  }

  finish(): TraceData {
    for (const t of [...this.open.keys()]) this.close(t);
    const ipi = this.e.traceSlices.map((s) => (s.cat === undefined ? { cpu: s.cpu, ts: s.ts, dur: s.dur, name: s.name } : { cpu: s.cpu, ts: s.ts, dur: s.dur, name: s.name, cat: s.cat }));
    const slices = [...this.slices, ...ipi].sort((a, b) => a.cpu - b.cpu || a.ts - b.ts || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const flows = this.e.traceFlows.map((f) => ({ ...f })).sort((a, b) => a.fromTs - b.fromTs || a.fromCpu - b.fromCpu || a.toCpu - b.toCpu);
    return { slices, flows, truncated: this.truncated || this.e.traceTruncated, counters: this.counters };
  }
}
