/**
 * The bench suite: every built-in workload at a small fixed size, then the
 * focused scenarios (one kernel path each). runSuite runs the selected ones
 * on a machine config and returns one BenchDoc; the `sim` part of each
 * record is identical on every host, the `host` part is this host's time.
 */
import type { MachineConfig } from '../config/machine.js';
import { applyProfile } from '../config/profile.js';
import type { ParamValue } from '../workloads/result.js';
import { WORKLOADS } from '../workloads/registry.js';
import { runWorkload } from '../workloads/run.js';
import type { AnyWorkload } from '../workloads/types.js';
import { runFocused, ScenarioFailed, type FocusedScenario } from './focused.js';
import { FS_SCENARIOS } from './scenarios-fs.js';
import { MM_SCENARIOS } from './scenarios-mm.js';
import { BENCH_VERSION, type BenchDoc, type SimFigures } from './types.js';
import { byFunction, flattenPaths, sortedNonZero } from './window.js';

/**
 * Each built-in workload's size in the suite: small enough that it runs in a
 * second or two of host time, large enough that its mechanism shows (the
 * fd table grows past 1024, swap-pressure swaps). A workload missing here
 * runs with its defaults; a test requires an entry for every workload.
 */
export const WORKLOAD_SIZES: Record<string, Record<string, ParamValue>> = {
  'tlb-reach': { threads: 4, pages: 4096, loads: 20_000 },
  'fd-server': { acceptors: 2, lookers: 2, connections: 1200, hold: 1100, lookups: 1000 },
  'inotify-churn': { writers: 2, rounds: 150 },
  'proc-unload': { readers: 3, unload_after: 500_000 },
  'swap-pressure': { mem_mib: 8, footprint_pct: 150 },
  'alloc-churn': { rounds: 20 },
  'tlb-shootdown': { rounds: 10 },
  'db-discard': { pages: 128, rounds: 4 },
  'rcu-flood': { updates: 400, reads: 800 },
  ebizzy: { chunks: 4, chunk_kib: 64, duration_ms: 1 },
};

export interface Scenario {
  name: string;
  summary: string;
  /** Runs the scenario on `base` (the suite's machine); returns its sim figures and the run's simulated cycles. */
  run(base: MachineConfig): { sim: SimFigures; simulatedCycles: number };
}

function workloadScenario(w: AnyWorkload): Scenario {
  const params = WORKLOAD_SIZES[w.name] ?? {};
  const shown = Object.entries(params).map(([k, v]) => `${k}=${v}`).join(' ');
  return {
    name: `workload/${w.name}`,
    summary: `kernsim run ${w.name}${shown ? ` (${shown})` : ''}: the run's simulated cycles`,
    run(base) {
      const r = runWorkload(w, params, base);
      if (!r.checks.passed) throw new ScenarioFailed(`workload/${w.name}`, r.checks.failures);
      return {
        sim: {
          cycles: r.simulated_cycles,
          charged_cycles: r.breakdown.inclusive,
          counters: sortedNonZero(r.counters),
          functions: byFunction(flattenPaths(r.breakdown)),
        },
        simulatedCycles: r.simulated_cycles,
      };
    },
  };
}

function focusedScenario(s: FocusedScenario): Scenario {
  return {
    name: s.name,
    summary: s.summary,
    run(base) {
      const cfg = s.cpus !== undefined && s.cpus !== base.cpus ? applyProfile(base, { cpus: s.cpus }, `bench scenario ${s.name}`) : base;
      return runFocused(s, cfg);
    },
  };
}

/** Every scenario, workloads first, in a fixed order. */
export function allScenarios(): Scenario[] {
  return [...WORKLOADS.map(workloadScenario), ...[...MM_SCENARIOS, ...FS_SCENARIOS].map(focusedScenario)];
}

export interface SuiteOptions {
  /** Only scenarios whose name matches. */
  filter?: RegExp;
  /** The host's clock in milliseconds (the simulation never reads one); default none (host figures 0). */
  hostClock?: () => number;
  /** Called before each scenario runs. */
  onScenario?: (index: number, count: number, name: string) => void;
  /** Machine fields changed from the profile, recorded in the document. */
  overrides?: Record<string, unknown>;
}

export function selectScenarios(filter?: RegExp): Scenario[] {
  return allScenarios().filter((s) => !filter || filter.test(s.name));
}

/** Runs the selected scenarios on `base`. A scenario whose own checks fail throws ScenarioFailed. */
export function runSuite(base: MachineConfig, opts: SuiteOptions = {}): BenchDoc {
  const clock = opts.hostClock ?? ((): number => 0);
  const chosen = selectScenarios(opts.filter);
  const doc: BenchDoc = { kernsim_bench: BENCH_VERSION, machine: base.name, scenarios: {} };
  if (opts.overrides && Object.keys(opts.overrides).length > 0) doc.overrides = opts.overrides;
  chosen.forEach((s, i) => {
    opts.onScenario?.(i, chosen.length, s.name);
    const t0 = clock();
    const { sim, simulatedCycles } = s.run(base);
    const ms = clock() - t0;
    doc.scenarios[s.name] = {
      summary: s.summary,
      sim,
      host: { wall_ms: Math.round(ms * 10) / 10, sim_cycles_per_s: ms > 0 ? Math.round((simulatedCycles / ms) * 1000) : 0 },
    };
  });
  return doc;
}
