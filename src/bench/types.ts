/**
 * The bench document: what `kernsim bench` writes and `--check` reads
 * (bench/baseline.json is one). Per scenario, `sim` holds the simulated
 * figures (a pure function of the code, the machine config and the seed, so
 * identical on every host) and `host` the host's time (informational).
 */

export const BENCH_VERSION = 1;

export interface SimFigures {
  /** The scenario's headline cycles (what its summary says it measures). */
  cycles: number;
  /** Every cycle charged on any CPU over what the scenario measures (the whole run for a workload). */
  charged_cycles: number;
  /** Counters that moved over what the scenario measures, by name (zero ones left out). */
  counters: Record<string, number>;
  /** Exclusive cycles by kernel function (attribution node name) over what the scenario measures. */
  functions: Record<string, number>;
}

export interface HostFigures {
  /** Host milliseconds the scenario took (boot, setup and run). */
  wall_ms: number;
  /** Simulated cycles (the run's largest CPU clock) per host second. */
  sim_cycles_per_s: number;
}

export interface ScenarioRecord {
  summary: string;
  /** Percent by which cycle figures may move before --check fails (default 0). Kept by --update. */
  tolerance_pct?: number;
  sim: SimFigures;
  host?: HostFigures;
}

export interface BenchDoc {
  kernsim_bench: number;
  /** The machine the scenarios start from, before each one's own CPU count. */
  machine: string;
  /** Machine fields changed from the profile (--set), if any: a perturbed run says so. */
  overrides?: Record<string, unknown>;
  scenarios: Record<string, ScenarioRecord>;
}
