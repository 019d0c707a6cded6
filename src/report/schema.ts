/**
 * The one schema of result files (docs/results.md), checked before anything
 * reads a result: `report`, `compare` and `merge` all go through
 * parseResult, so a file that passes renders without NaN, `undefined` or a
 * crash, and one that does not is refused with one line naming the field.
 *
 * The schema is written as data (a few combinators) so that it reads like
 * the tables in docs/results.md; the walk over it is iterative where a
 * result nests without bound (the breakdown tree), so a hostile file cannot
 * exhaust the stack.
 */

/** A result file that does not match the schema: `field` is a path such as `points[3].result.latency.read.p50`. */
export class SchemaViolation extends Error {
  constructor(
    readonly field: string,
    readonly expected: string,
  ) {
    super(`${field}: expected ${expected}`);
    this.name = 'SchemaViolation';
  }
}

/** Deepest breakdown tree accepted: the kernel's call paths are a few dozen levels at most. */
export const MAX_BREAKDOWN_DEPTH = 256;

type Check = (v: unknown, at: string) => void;

/** The path of a field below `at` (the top level is the empty path). */
const sub = (at: string, key: string): string => (at ? `${at}.${key}` : key);

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

const fail = (at: string, expected: string, v: unknown): never => {
  throw new SchemaViolation(at, `${expected}, got ${show(v)}`);
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const finite: Check = (v, at) => {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(at, 'a finite number', v);
};
const count: Check = (v, at) => {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(at, 'a non-negative integer', v);
};
const nonNegative: Check = (v, at) => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) fail(at, 'a finite number >= 0', v);
};
const string: Check = (v, at) => {
  if (typeof v !== 'string') fail(at, 'a string', v);
};
const boolean: Check = (v, at) => {
  if (typeof v !== 'boolean') fail(at, 'true or false', v);
};
const literal =
  (x: string | number): Check =>
  (v, at) => {
    if (v !== x) fail(at, JSON.stringify(x), v);
  };
const paramValue: Check = (v, at) => {
  if (typeof v === 'string' || typeof v === 'boolean') return;
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(at, 'a string, a finite number or a boolean', v);
};

function object(fields: Record<string, Check>, optional: Record<string, Check> = {}): Check {
  return (v, at) => {
    if (!isObject(v)) fail(at || '(top level)', 'an object', v);
    const o = v as Record<string, unknown>;
    for (const [k, c] of Object.entries(fields)) c(o[k], sub(at, k));
    for (const [k, c] of Object.entries(optional)) if (o[k] !== undefined) c(o[k], sub(at, k));
  };
}

function record(value: Check): Check {
  return (v, at) => {
    if (!isObject(v)) fail(at, 'an object', v);
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) value(x, sub(at, k));
  };
}

function list(item: Check): Check {
  return (v, at) => {
    if (!Array.isArray(v)) fail(at, 'a list', v);
    (v as unknown[]).forEach((x, i) => item(x, `${at}[${i}]`));
  };
}

/** The attribution tree, walked without recursion, at most MAX_BREAKDOWN_DEPTH deep. */
const breakdown: Check = (root, rootAt) => {
  const stack: [unknown, string, number][] = [[root, rootAt, 1]];
  while (stack.length > 0) {
    const [v, at, depth] = stack.pop()!;
    if (depth > MAX_BREAKDOWN_DEPTH) fail(rootAt, `a tree at most ${MAX_BREAKDOWN_DEPTH} levels deep`, `a node at level ${depth}`);
    if (!isObject(v)) fail(at, 'a breakdown node {name, inclusive, exclusive, children}', v);
    const n = v as Record<string, unknown>;
    string(n['name'], sub(at, 'name'));
    nonNegative(n['inclusive'], sub(at, 'inclusive'));
    nonNegative(n['exclusive'], sub(at, 'exclusive'));
    if (!Array.isArray(n['children'])) fail(sub(at, 'children'), 'a list', n['children']);
    (n['children'] as unknown[]).forEach((c, i) => stack.push([c, `${sub(at, 'children')}[${i}]`, depth + 1]));
  }
};

const latencyStats = object({
  count,
  min: nonNegative,
  p50: nonNegative,
  p90: nonNegative,
  p99: nonNegative,
  max: nonNegative,
  mean: nonNegative,
  hist: list(object({ le: nonNegative, count })),
});

const threadStats = object(
  { points: list(count), ready_ms: nonNegative, busy_ms: nonNegative, idle_end_ms: nonNegative },
  { points_cpu_ms: nonNegative, points_runq_ms: nonNegative, cpu_ms: nonNegative, runq_ms: nonNegative },
);
const host = object({ wall_ms: nonNegative, node: string, platform: string, kernsim: string }, { threads: count, cpu_ms: nonNegative, main_cpu_ms: nonNegative, helper_cpu_ms: nonNegative, per_thread: list(threadStats) });

/** A machine config: nested objects of numbers, strings and booleans (the fields are the profile schema's). */
const config: Check = (v, at) => {
  if (!isObject(v)) fail(at, 'an object', v);
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (isObject(x)) config(x, sub(at, k));
    else paramValue(x, sub(at, k));
  }
};

const trace = object(
  {
    slices: list(object({ cpu: count, ts: nonNegative, dur: nonNegative, name: string }, { cat: string })),
    flows: list(object({ fromCpu: count, fromTs: nonNegative, toCpu: count, toTs: nonNegative, name: string })),
    truncated: boolean,
  },
  { counters: list(object({ ts: nonNegative, free_pages: count, rcu_callbacks_queued: count }, { dirty_pages: count })) },
);

export const runSchema: Check = object(
  {
    kind: literal('run'),
    workload: string,
    params: record(paramValue),
    machine: string,
    seed: count,
    clock_ghz: finite,
    simulated_cycles: nonNegative,
    simulated_ns: nonNegative,
    cpus: list(object({ cpu: count, busy: nonNegative, idle: nonNegative })),
    counters: record(finite),
    breakdown,
    latency: record(latencyStats),
    samples: record(latencyStats),
    figures: record(finite),
    checks: object({ passed: boolean, failures: list(string) }),
    config,
    host,
  },
  {
    trace,
    overrides: record(paramValue),
    sampling: object({
      fraction: finite,
      unit_accesses: count,
      units: count,
      detailed_accesses: count,
      functional_accesses: count,
      estimated_cycles: nonNegative,
      unit_mean_cycles: nonNegative,
      unit_stddev_cycles: nonNegative,
      ci95_cycles: nonNegative,
    }),
  },
);

export const sweepSchema: Check = object(
  {
    kind: literal('sweep'),
    workload: string,
    machine: string,
    seed: count,
    base: record(paramValue),
    grid: list(object({ key: string, values: list(paramValue) })),
    total_points: count,
    points: list(object({ index: count, point: record(paramValue), result: runSchema })),
    host,
  },
  { shard: object({ index: count, count }) },
);

/** Checks a parsed result (whose kernsim_result and kind are already known good); throws SchemaViolation. */
export function checkResultSchema(v: Record<string, unknown>): void {
  (v['kind'] === 'sweep' ? sweepSchema : runSchema)(v, '');
}
