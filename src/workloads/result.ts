/**
 * The shape of a run's and a sweep's results: what `kernsim run --json`
 * prints and `--out` writes, and all that reports and `compare` read.
 * Documented field by field in docs/results.md; bump RESULT_VERSION when a
 * field changes meaning or goes away.
 *
 * Everything except `host` is a pure function of the workload, its
 * parameters, the machine config and the seed.
 */
import type { SamplingReport } from '../hw/sampler.js';
import type { MachineConfig } from '../config/machine.js';
import type { BreakdownNode } from '../sim/attribution.js';

export const RESULT_VERSION = 1;

export type ParamValue = string | number | boolean;

export interface LatencyStats {
  count: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  /** Samples by power-of-two bucket: `le` is the bucket's upper bound in cycles (2^k), `count` the samples in (le/2, le]. */
  hist: { le: number; count: number }[];
}

export interface CpuTimes {
  cpu: number;
  busy: number;
  idle: number;
}

export interface TraceData {
  /**
   * Per-CPU activity: a task running (name = task name, no cat), an
   * interrupt handler (name = 'ipi', no cat), or kernel work by `cat`:
   * 'syscall' (name = the call), 'fault', 'lock' (a wait; name = the lock
   * class), 'rcu_gp' and 'rcu_exp_gp' (grace periods, on the kthread's CPU)
   * and 'rcu_cb' (one rcu_do_batch).
   */
  slices: { cpu: number; ts: number; dur: number; name: string; cat?: string }[];
  /** IPIs (name 'ipi'): from the sender's CPU at the send time to the target at delivery; wake-ups (name 'wakeup'): from the waker's CPU at the wake to the woken task's next run. */
  flows: { fromCpu: number; fromTs: number; toCpu: number; toTs: number; name: string }[];
  /** True when slices were dropped to keep the result small. */
  truncated: boolean;
  /** Kernel state sampled over time (between chunks of simulated time): free pages, RCU callbacks queued and pages marked dirty, at cycle `ts`. */
  counters?: { ts: number; free_pages: number; rcu_callbacks_queued: number; dirty_pages?: number }[];
}

export interface HostInfo {
  wall_ms: number;
  node: string;
  platform: string;
  kernsim: string;
  /** A sweep only: threads that ran its points (the main thread alone, or the workers started for it). */
  threads?: number;
  /** A sweep only: CPU ms of the whole process while its points ran (every thread, V8's helpers included). */
  cpu_ms?: number;
  /** A sweep only, over the same span: the main thread's CPU ms when only workers ran points (collecting their results), where the host reports each thread's times. */
  main_cpu_ms?: number;
  /** A sweep only, over the same span: CPU ms of the threads that ran no points and are not the main thread (V8's background compilers and garbage collector, libuv), where the host reports each thread's times. */
  helper_cpu_ms?: number;
  /** A sweep only: each thread that ran points, in the order they were started. */
  per_thread?: SweepThreadStats[];
}

/** One thread's share of a sweep's host time (ms); host-side facts like the rest of `host`. */
export interface SweepThreadStats {
  /** Slots of the points it ran (their order in the sweep's list of points), in the order it ran them. */
  points: number[];
  /** From the sweep's start until the thread could take a point (a worker's start and module loading). */
  ready_ms: number;
  /** Running points. */
  busy_ms: number;
  /** From its last point's end to the end of the last point of any thread: waiting for the others at the end. */
  idle_end_ms: number;
  /** The thread's CPU time and run-queue wait while running points, where the host reports them (Linux's schedstat). */
  points_cpu_ms?: number;
  points_runq_ms?: number;
  /** The same over the thread's life (a worker's module loading included). */
  cpu_ms?: number;
  runq_ms?: number;
}

export interface RunResult {
  kernsim_result: number;
  kind: 'run';
  workload: string;
  params: Record<string, ParamValue>;
  /** Profile name (`default`, `server-64`, or the file given to --machine). */
  machine: string;
  seed: number;
  clock_ghz: number;
  /** The largest CPU clock when the run ended. */
  simulated_cycles: number;
  /** simulated_cycles at clock_ghz, in nanoseconds. */
  simulated_ns: number;
  cpus: CpuTimes[];
  counters: Record<string, number>;
  breakdown: BreakdownNode;
  /** Per system call. */
  latency: Record<string, LatencyStats>;
  /** Other latency samples the kernel records (grace periods, ...). */
  samples: Record<string, LatencyStats>;
  figures: Record<string, number>;
  checks: { passed: boolean; failures: string[] };
  /** The full machine config the run used. */
  config: MachineConfig;
  /** Machine fields changed on the command line (--cpus, --seed, --set), dotted path: value; absent when none. */
  overrides?: Record<string, ParamValue>;
  /** With sim.sample < 1: how many user accesses were detailed and functional, and the estimate's error (src/hw/sampler.ts). */
  sampling?: SamplingReport;
  trace?: TraceData;
  host: HostInfo;
}

export interface GridAxis {
  key: string;
  values: ParamValue[];
}

export interface SweepPoint {
  /** Position in the full grid (row-major over the axes, the last varying fastest). */
  index: number;
  point: Record<string, ParamValue>;
  result: RunResult;
}

export interface SweepResult {
  kernsim_result: number;
  kind: 'sweep';
  workload: string;
  machine: string;
  seed: number;
  /** Workload parameters and settings common to every point (the flags that are not grid axes). */
  base: Record<string, ParamValue>;
  grid: GridAxis[];
  total_points: number;
  /** Present on a shard's result: which share of the grid it holds. */
  shard?: { index: number; count: number };
  points: SweepPoint[];
  host: HostInfo;
}

export type AnyResult = RunResult | SweepResult;
