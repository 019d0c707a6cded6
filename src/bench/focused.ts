/**
 * Focused scenarios: each boots a machine, sets up just enough state, and
 * measures one kernel path inside a Window, so the result reads "one minor
 * fault = N cycles" with the functions that spent them. A scenario's own
 * checks (the fault happened once, the data survived) run after it; a
 * scenario that no longer exercises its path fails rather than reporting a
 * cheap number.
 */
import type { MachineConfig } from '../config/machine.js';
import type { Kernel } from '../kernel/kernel.js';
import { current } from '../kernel/sched/task_struct.js';
import type { Blocking, Task, TaskBody } from '../sim/task.js';
import { runWorkload } from '../workloads/run.js';
import { defineWorkload } from '../workloads/types.js';
import type { SimFigures } from './types.js';
import { Window, type WindowResult } from './window.js';

export interface FocusedContext {
  k: Kernel;
  /** The measurement window: start() and stop() around the one operation. */
  w: Window;
  /** Records a failed expectation; the bench then reports the scenario as broken. */
  fail(message: string): void;
}

export interface FocusedScenario {
  name: string;
  /** One line: what is measured and what `cycles` is. */
  summary: string;
  /** CPUs of the machine (default: the profile's). */
  cpus?: number;
  /** A function whose inclusive cycles in the window are the headline; default: the measuring task's clock across the window. */
  headline?: string;
  /** The measuring process's body (it runs on CPU 0). */
  body(ctx: FocusedContext): (t: Task) => TaskBody;
  /** Expectations on the window's counters, checked after the run. */
  expect?(counters: Record<string, number>, k: Kernel): string[];
}

export class ScenarioFailed extends Error {
  constructor(
    readonly scenario: string,
    readonly failures: string[],
  ) {
    super(`bench scenario ${scenario}: ${failures.join('; ')}`);
    this.name = 'ScenarioFailed';
  }
}

export interface FocusedRun {
  sim: SimFigures;
  simulatedCycles: number;
  /** The window itself: the caller's cycles, exclusive cycles by attribution path, counter deltas. */
  window: WindowResult;
}

/** Runs one focused scenario on `cfg`; returns its window's figures and the run's simulated cycles. */
export function runFocused(s: FocusedScenario, cfg: MachineConfig): FocusedRun {
  let win: Window | null = null;
  const failures: string[] = [];
  const w = defineWorkload({
    name: 'bench',
    summary: s.summary,
    description: s.summary,
    params: {},
    setup(k) {
      win = new Window(k);
      const ctx: FocusedContext = { k, w: win, fail: (m) => failures.push(m) };
      k.spawnProcess(s.name, s.body(ctx), { cpu: 0, pinned: true });
    },
    check(k) {
      const out = [...failures];
      if (!win?.result) out.push('the measurement window never closed');
      else if (s.expect) out.push(...s.expect(win.result.counters, k));
      return out;
    },
  });
  const r = runWorkload(w, {}, cfg);
  if (!r.checks.passed) throw new ScenarioFailed(s.name, r.checks.failures);
  return { sim: win!.figures(s.headline), simulatedCycles: r.simulated_cycles, window: win!.result! };
}

/** A counter expectation: `name` moved by exactly `want` in the window. */
export function expectCount(counters: Record<string, number>, name: string, want: number): string[] {
  const got = counters[name] ?? 0;
  return got === want ? [] : [`expected ${name} = ${want} in the measured call, got ${got}`];
}

/** Lets a task sleep until `ready()` holds, polling every `step` cycles. */
export function* waitUntil(t: Task, ready: () => boolean, step = 1000): Blocking<void> {
  while (!ready()) yield t.sleepFor(step);
}

export { current };
