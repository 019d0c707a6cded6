/**
 * The Workload interface: a built-in scenario that the CLI can run, sweep and
 * report on. A workload declares its parameters once (with defaults and help,
 * in the same schema language as the machine config), sets up processes on a
 * booted kernel, and checks its own results after the run. Flags, `--help`,
 * `kernsim list` and docs/workloads.md all come from that declaration.
 *
 * Adding a workload is one file exporting a `Workload` and one line in
 * registry.ts.
 */
import type { Schema, ValuesOf } from '../params/schema.js';
import type { MachineConfig } from '../config/machine.js';
import type { Kernel } from '../kernel/kernel.js';

/**
 * `R` is the workload's run context: what setup returns (counters, the data
 * it expects to read back), handed to check, figures and progress. A run's
 * state lives there, never in the kernel, so two runs share nothing.
 */
export interface Workload<S extends Schema = Schema, R = unknown> {
  /** The name on the command line: lower-case words joined by hyphens. */
  name: string;
  /** One line for `kernsim list`. */
  summary: string;
  /** A paragraph for `kernsim run NAME --help` and the docs. */
  description: string;
  /**
   * Parameters, declared once: each becomes a flag (`threads` -> `--threads`,
   * `working_set` -> `--working-set`). Keep defaults small enough that a run
   * finishes in a few seconds. `cpus`, `machine`, `seed` and the other
   * common flags are the CLI's: do not declare them here.
   */
  params: S;
  /** Set up processes and threads on a booted kernel; the engine then runs until they finish. */
  setup(k: Kernel, p: ValuesOf<S>): R;
  /** After the run: the workload's own checks of its results (data read back, events seen). Empty list = pass. */
  check(k: Kernel, p: ValuesOf<S>, run: R): string[];
  /**
   * Optional extra figures for the report (e.g. records_per_sec). A figure
   * whose name contains `cycles`, `latency`, `_ns` or `_us` is read as
   * lower-is-better by `compare`; any other as higher-is-better.
   */
  figures?(k: Kernel, p: ValuesOf<S>, run: R): Record<string, number>;
  /**
   * What each figure is: its unit and a one-line definition, shown by
   * `kernsim run NAME --help` and docs/results.md. Every built-in workload
   * defines every figure it reports (a test checks). A figure per round or
   * per call counts the CPU time of the work itself; time spent waiting for
   * a CPU is a figure of its own.
   */
  figureDefs?: Record<string, { unit: string; definition: string }>;
  /** The figure that answers the workload's question: the default metric of a sweep's chart and of the demo's comparisons. */
  headline?: string;
  /**
   * Optional: why these parameters cannot run on this machine (a working set
   * larger than its memory), as the parameter and what it must be; undefined
   * when they fit. Checked before the run, so the answer is bad input (exit 2)
   * rather than a failed check.
   */
  unfit?(cfg: MachineConfig, p: ValuesOf<S>): { param: string; expected: string } | undefined;
  /** Optional: the fraction of the work done so far, in [0, 1], for progress bars. */
  progress?(k: Kernel, p: ValuesOf<S>, run: R): number;
}

/**
 * Identity helper that keeps the parameter types of a workload literal:
 * `export const w = defineWorkload({ name: ..., params: { ... }, setup(k, p) { p.threads } })`.
 */
export function defineWorkload<const S extends Schema, R>(w: Workload<S, R>): Workload<S, R> {
  return w;
}

/** A workload with its parameter types erased, as the registry and the CLI hold it. */
export type AnyWorkload = Workload<Schema>;
