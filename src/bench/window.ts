/**
 * A measurement window around one kernel operation: the caller's clock, the
 * cycles charged on every CPU by attribution path, and the counters, read
 * before and after, so a focused scenario reports what that one call cost
 * ("one minor fault = N cycles") and which functions spent it.
 */
import type { Kernel } from '../kernel/kernel.js';
import type { BreakdownNode } from '../sim/attribution.js';
import type { Task } from '../sim/task.js';
import { collectCounters } from '../workloads/run.js';
import type { SimFigures } from './types.js';

/** Exclusive cycles by attribution path (names joined by ' > '), root excluded. */
export function flattenPaths(tree: BreakdownNode): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (n: BreakdownNode, prefix: string): void => {
    const path = prefix ? `${prefix} > ${n.name}` : n.name;
    if (n.exclusive !== 0) out.set(path, n.exclusive);
    for (const c of n.children) walk(c, path);
  };
  if (tree.exclusive !== 0) out.set('', tree.exclusive);
  for (const c of tree.children) walk(c, '');
  return out;
}

/** Exclusive cycles summed by function name (a path's last segment). */
export function byFunction(paths: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [path, v] of paths) {
    if (v === 0) continue;
    const at = path.lastIndexOf(' > ');
    const name = (at < 0 ? path : path.slice(at + 3)) || 'all';
    out[name] = (out[name] ?? 0) + v;
  }
  return sortedNonZero(out);
}

/** Inclusive cycles of every node named `name` (a node inside another of the same name counted once). */
export function inclusiveNamed(paths: Map<string, number>, name: string): number {
  let sum = 0;
  for (const [path, v] of paths) if (path.split(' > ').includes(name)) sum += v;
  return sum;
}

export function sortedNonZero(o: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(o).sort()) if (o[k] !== 0) out[k] = o[k]!;
  return out;
}

export interface WindowResult {
  /** The measuring task's clock across the window. */
  cycles: number;
  /** Exclusive cycles charged in the window on any CPU, by attribution path (names joined by ' > '). */
  paths: Map<string, number>;
  /** Counters that moved in the window. */
  counters: Record<string, number>;
}

export class Window {
  private t0 = -1;
  private paths0 = new Map<string, number>();
  private counters0: Record<string, number> = {};
  /** Set by stop(). */
  result: WindowResult | null = null;

  constructor(private readonly k: Kernel) {}

  start(t: Task): void {
    this.paths0 = flattenPaths(this.k.engine.attribution.tree());
    this.counters0 = collectCounters(this.k);
    this.t0 = t.now;
  }

  stop(t: Task): void {
    const cycles = t.now - this.t0;
    const paths = new Map<string, number>();
    for (const [p, v] of flattenPaths(this.k.engine.attribution.tree())) {
      const d = v - (this.paths0.get(p) ?? 0);
      if (d !== 0) paths.set(p, d);
    }
    const now = collectCounters(this.k);
    const counters: Record<string, number> = {};
    for (const [name, v] of Object.entries(now)) counters[name] = v - (this.counters0[name] ?? 0);
    this.result = { cycles, paths, counters: sortedNonZero(counters) };
  }

  /** The window as bench figures; `headline` names the function whose inclusive cycles are the headline (default: the caller's clock). */
  figures(headline?: string): SimFigures {
    const r = this.result;
    if (!r) throw new Error('bench: the scenario never closed its measurement window');
    let charged = 0;
    for (const v of r.paths.values()) charged += v;
    return {
      cycles: headline ? inclusiveNamed(r.paths, headline) : r.cycles,
      charged_cycles: charged,
      counters: r.counters,
      functions: byFunction(r.paths),
    };
  }
}
