/**
 * Sweep grids: `--grid key=v1,v2,...` axes (a value may be a range:
 * `cpus=1..64:pow2`, `pages=0..4096:512`), their points in a fixed order,
 * and the deterministic share of points a shard runs.
 *
 * A key is a workload parameter, `machine` (profile names), `seed`, or any
 * machine field by dotted path (`cpus`, `kernel.pti`, `cost.invlpg`). Points
 * are the cartesian product in the order the axes were given, the last axis
 * varying fastest; point j belongs to shard j mod n, so every shard gets a
 * slice of every axis and shards finish at about the same time.
 */
import { ConfigError, isParam } from '../params/schema.js';
import type { GridAxis, ParamValue } from '../workloads/result.js';
import type { AnyWorkload } from '../workloads/types.js';
import { CLI, machineSpec, parseParamValue } from './options.js';

export type AxisKind = 'param' | 'machine' | 'seed' | 'field';

export interface Axis extends GridAxis {
  kind: AxisKind;
}

export function parseGrid(w: AnyWorkload, entries: readonly unknown[]): Axis[] {
  const axes: Axis[] = [];
  for (const e of entries) {
    const text = String(e);
    const eq = text.indexOf('=');
    if (eq <= 0 || eq === text.length - 1) throw new ConfigError(CLI, '--grid', `KEY=V1,V2,... (e.g. --grid cpus=1,4,16), got "${text}"`);
    const key = text.slice(0, eq).trim().replace(/-/g, '_');
    const listed = text.slice(eq + 1).split(',').map((s) => s.trim());
    if (listed.some((s) => s === '')) throw new ConfigError(CLI, `--grid ${key}`, `a comma-separated list without empty values, got "${text.slice(eq + 1)}"`);
    const raw = listed.flatMap((v) => expandRange(v, `--grid ${key}`));
    if (axes.some((a) => a.key === key)) throw new ConfigError(CLI, `--grid ${key}`, 'each key once');
    const field = `--grid ${key}`;
    const wspec = w.params[key];
    let axis: Axis;
    if (wspec !== undefined && isParam(wspec)) {
      axis = { key, kind: 'param', values: raw.map((r) => parseParamValue(wspec, r, CLI, field)) };
    } else if (key === 'machine') {
      axis = { key, kind: 'machine', values: raw };
    } else if (key === 'seed') {
      const spec = machineSpec('sim.seed')!;
      axis = { key, kind: 'seed', values: raw.map((r) => parseParamValue(spec, r, CLI, field)) };
    } else {
      const spec = machineSpec(key);
      if (!spec) {
        const params = Object.keys(w.params).join(', ');
        throw new ConfigError(CLI, field, `a parameter of ${w.name} (${params}), machine, seed, or a machine field such as cpus or cost.invlpg`);
      }
      axis = { key, kind: 'field', values: raw.map((r) => parseParamValue(spec, r, CLI, field)) };
    }
    if (new Set(axis.values.map((v) => JSON.stringify(v))).size !== axis.values.length) {
      throw new ConfigError(CLI, field, 'distinct values');
    }
    axes.push(axis);
  }
  return axes;
}

/** Values a range may expand to at most, so a typo cannot build a grid that never finishes planning. */
const MAX_RANGE_VALUES = 4096;

/**
 * One listed grid value, ranges expanded: `A..B` (every integer), `A..B:S`
 * (every S-th from A) and `A..B:pow2` (the powers of two from A to B, A
 * itself a power of two); anything else is itself.
 */
export function expandRange(v: string, field: string): string[] {
  const m = /^(\d+)\.\.(\d+)(?::(.+))?$/.exec(v);
  if (!m) {
    if (v.includes('..')) throw new ConfigError(CLI, field, `a value, or a range A..B, A..B:STEP or A..B:pow2 of integers, got "${v}"`);
    return [v];
  }
  const from = Number(m[1]);
  const to = Number(m[2]);
  const how = m[3];
  if (to < from) throw new ConfigError(CLI, field, `a range A..B with A <= B, got "${v}"`);
  const out: number[] = [];
  if (how === 'pow2') {
    if (from < 1 || (from & (from - 1)) !== 0) throw new ConfigError(CLI, field, `A..B:pow2 from a power of two (1, 2, 4, ...), got "${v}"`);
    for (let x = from; x <= to; x *= 2) out.push(x);
  } else {
    const step = how === undefined ? 1 : /^\d+$/.test(how) ? Number(how) : NaN;
    if (!(step >= 1)) throw new ConfigError(CLI, field, `A..B:STEP with an integer STEP >= 1, or A..B:pow2, got "${v}"`);
    if ((to - from) / step + 1 > MAX_RANGE_VALUES) throw new ConfigError(CLI, field, `a range of at most ${MAX_RANGE_VALUES} values, got "${v}"`);
    for (let x = from; x <= to; x += step) out.push(x);
  }
  return out.map(String);
}

export function gridSize(axes: readonly GridAxis[]): number {
  return axes.reduce((n, a) => n * a.values.length, 1);
}

/** The point at index j (row-major, last axis fastest). */
export function gridPoint(axes: readonly GridAxis[], j: number): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  let rest = j;
  for (let i = axes.length - 1; i >= 0; i--) {
    const a = axes[i]!;
    out[a.key] = a.values[rest % a.values.length]!;
    rest = Math.floor(rest / a.values.length);
  }
  // Keys in axis order, for stable output.
  const ordered: Record<string, ParamValue> = {};
  for (const a of axes) ordered[a.key] = out[a.key]!;
  return ordered;
}

export interface Shard {
  index: number;
  count: number;
}

/** `--shard i/n` with 0 <= i < n (Slurm's SLURM_ARRAY_TASK_ID and Kubernetes' JOB_COMPLETION_INDEX count from 0). */
export function parseShard(text: unknown): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(String(text).trim());
  if (!m) throw new ConfigError(CLI, '--shard', `I/N with 0 <= I < N (e.g. --shard 0/4), got "${String(text)}"`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index >= count) throw new ConfigError(CLI, '--shard', `I/N with 0 <= I < N, got ${index}/${count}`);
  return { index, count };
}

/** Indices of the points shard `s` runs (all of them without a shard). */
export function shardIndices(total: number, s?: Shard): number[] {
  const out: number[] = [];
  for (let j = 0; j < total; j++) if (!s || j % s.count === s.index) out.push(j);
  return out;
}
