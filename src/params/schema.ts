/**
 * Declared-once parameters: every machine and kernel setting is declared here
 * with its type, default, unit, help text and source, and validation, `--help`,
 * `kernsim list` and the README's tables are all generated from that one
 * declaration, so they cannot drift apart.
 */

export type ParamKind = 'int' | 'number' | 'bool' | 'enum' | 'string';

export interface ParamSpec<T> {
  readonly kind: ParamKind;
  readonly default: T;
  readonly help: string;
  readonly unit?: string;
  /** Where the default comes from: a datasheet, paper, measurement, or "derived: ...". */
  readonly source?: string;
  readonly min?: number;
  readonly max?: number;
  readonly values?: readonly string[];
  readonly pow2?: boolean;
  /**
   * A cost whose source is in nanoseconds: its value is in cycles, its
   * default is this many ns at REFERENCE_CLOCK_GHZ, and a profile or
   * override that changes clock_ghz without setting the cost keeps its time
   * (the cycles scale with the clock). Costs without it are cycles whatever
   * the clock.
   */
  readonly ns?: number;
}

export type Schema = { readonly [key: string]: ParamSpec<unknown> | Schema };

export type ValuesOf<S> = {
  -readonly [K in keyof S]: S[K] extends ParamSpec<infer T> ? T : ValuesOf<S[K]>;
};

interface Extra {
  ns?: number;
  unit?: string;
  source?: string;
  min?: number;
  max?: number;
  pow2?: boolean;
}

/** The clock at which the defaults' cycle costs are stated (the default machine's clock_ghz). */
export const REFERENCE_CLOCK_GHZ = 3.0;

/** Whole cycles of `ns` nanoseconds at `ghz` (rounded down: a cost is the cycles it fully takes). */
export function nsCycles(ns: number, ghz: number): number {
  return Math.floor(ns * ghz + 1e-9);
}

/**
 * A cost in cycles declared from a source in nanoseconds: its default is
 * `ns` at REFERENCE_CLOCK_GHZ, and it keeps its time when a profile changes
 * the clock (see rescaleNsCosts).
 */
export function nsCost(ns: number, help: string, extra: Omit<Extra, 'ns' | 'unit'> = {}): ParamSpec<number> {
  return { kind: 'int', default: nsCycles(ns, REFERENCE_CLOCK_GHZ), help, unit: 'cycles', ns, ...extra };
}

export function int(def: number, help: string, extra: Extra = {}): ParamSpec<number> {
  return { kind: 'int', default: def, help, ...extra };
}
export function num(def: number, help: string, extra: Extra = {}): ParamSpec<number> {
  return { kind: 'number', default: def, help, ...extra };
}
export function bool(def: boolean, help: string, extra: Extra = {}): ParamSpec<boolean> {
  return { kind: 'bool', default: def, help, ...extra };
}
export function choice<const V extends string>(values: readonly V[], def: V, help: string, extra: Extra = {}): ParamSpec<V> {
  return { kind: 'enum', default: def, help, values, ...extra };
}
export function str(def: string, help: string, extra: Extra = {}): ParamSpec<string> {
  return { kind: 'string', default: def, help, ...extra };
}

export function isParam(x: unknown): x is ParamSpec<unknown> {
  return typeof x === 'object' && x !== null && 'kind' in x && 'default' in x && 'help' in x;
}

/** A bad value in a profile or on the command line: names the file, the field and what was expected. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    readonly expected: string,
  ) {
    super(`${file}: ${field}: expected ${expected}`);
    this.name = 'ConfigError';
  }
}

export function defaultsOf<S extends Schema>(schema: S): ValuesOf<S> {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(schema)) {
    out[key] = isParam(spec) ? spec.default : defaultsOf(spec as Schema);
  }
  // A copy: an object given more than a dozen properties by keyed stores is left in V8's dictionary mode, where every read of a field (cfg.cost.syscall on each system call) is a hash look-up; a spread copy has fast properties.
  return { ...out } as ValuesOf<S>;
}

function describeExpected(spec: ParamSpec<unknown>): string {
  switch (spec.kind) {
    case 'int': {
      let s = 'an integer';
      if (spec.min !== undefined && spec.max !== undefined) s += ` from ${spec.min} to ${spec.max}`;
      else if (spec.min !== undefined) s += ` from ${spec.min} to 2^53 - 1`;
      else s += ' of magnitude below 2^53';
      if (spec.pow2) s += ' (a power of two)';
      return s;
    }
    case 'number': {
      let s = 'a number';
      if (spec.min !== undefined && spec.max !== undefined) s += ` from ${spec.min} to ${spec.max}`;
      else if (spec.min !== undefined) s += ` >= ${spec.min}`;
      return s;
    }
    case 'bool':
      return 'true or false';
    case 'enum':
      return `one of ${spec.values!.join(', ')}`;
    case 'string':
      return 'a string';
  }
}

/** Checks one value against its spec; returns the value or throws ConfigError. */
export function checkValue(spec: ParamSpec<unknown>, value: unknown, file: string, field: string): unknown {
  const bad = (): never => {
    throw new ConfigError(file, field, `${describeExpected(spec)}, got ${JSON.stringify(value)}`);
  };
  switch (spec.kind) {
    case 'int':
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value)) bad();
      const n = value as number;
      // An integer past 2^53 is not what was written (a double rounds it): refused rather than silently changed.
      if (spec.kind === 'int' && !Number.isSafeInteger(n)) bad();
      if (spec.min !== undefined && n < spec.min) bad();
      if (spec.max !== undefined && n > spec.max) bad();
      if (spec.pow2 && (n <= 0 || (n & (n - 1)) !== 0)) bad();
      return n;
    }
    case 'bool':
      if (typeof value !== 'boolean') bad();
      return value;
    case 'enum':
      if (typeof value !== 'string' || !spec.values!.includes(value)) bad();
      return value;
    case 'string':
      if (typeof value !== 'string') bad();
      return value;
  }
}

/**
 * Merges a partial override object (parsed JSON) over `base`, validating
 * every field against the schema. Unknown keys are errors: a typo in a
 * profile must not silently fall back to a default.
 */
export function mergeChecked<S extends Schema>(schema: S, base: ValuesOf<S>, over: unknown, file: string, prefix = ''): ValuesOf<S> {
  if (typeof over !== 'object' || over === null || Array.isArray(over)) {
    throw new ConfigError(file, prefix || '(top level)', 'an object');
  }
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(over as Record<string, unknown>)) {
    const field = prefix ? `${prefix}.${key}` : key;
    const spec = schema[key];
    if (spec === undefined) {
      throw new ConfigError(file, field, `a known field (one of ${Object.keys(schema).join(', ')})`);
    }
    if (isParam(spec)) out[key] = checkValue(spec, value, file, field);
    else out[key] = mergeChecked(spec as Schema, (base as Record<string, unknown>)[key] as ValuesOf<Schema>, value, file, field);
  }
  return out as ValuesOf<S>;
}

/** A row's default as shown: a cost declared in nanoseconds shows them ("195 (65 ns)"). */
export function shownDefault(r: ParamRow): string {
  return r.ns === undefined ? String(r.default) : `${String(r.default)} (${Number(r.ns.toFixed(2))} ns)`;
}

export interface ParamRow {
  path: string;
  kind: ParamKind;
  default: unknown;
  /** For a cost declared in nanoseconds: the nanoseconds (its default is their cycles at REFERENCE_CLOCK_GHZ). */
  ns?: number;
  unit: string;
  help: string;
  source: string;
  expected: string;
}

/** Flattens a schema into rows, for `kernsim list --params`, `--help` and the README table. */
export function describeSchema(schema: Schema, prefix = ''): ParamRow[] {
  const rows: ParamRow[] = [];
  for (const [key, spec] of Object.entries(schema)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (isParam(spec)) {
      rows.push({
        path,
        kind: spec.kind,
        default: spec.default,
        ...(spec.ns !== undefined ? { ns: spec.ns } : {}),
        unit: spec.unit ?? '',
        help: spec.help,
        source: spec.source ?? '',
        expected: describeExpected(spec),
      });
    } else rows.push(...describeSchema(spec as Schema, path));
  }
  return rows;
}

/**
 * After a layer `over` (a profile, --set overrides) has been merged over
 * `base` into `merged`: if the layer changed clock_ghz, every cost declared
 * in nanoseconds that the layer did not set itself keeps its time, so its
 * cycles scale with the clock (base value / base clock x new clock, rounded
 * down). Costs declared in cycles stay. Works on any schema with a top-level
 * clock_ghz.
 */
export function rescaleNsCosts<S extends Schema>(schema: S, base: ValuesOf<S>, over: unknown, merged: ValuesOf<S>): void {
  const b = base as unknown as Record<string, unknown>;
  const m = merged as unknown as Record<string, unknown>;
  const from = b['clock_ghz'];
  const to = m['clock_ghz'];
  if (typeof from !== 'number' || typeof to !== 'number' || from === to) return;
  const walk = (sch: Schema, bv: Record<string, unknown>, mv: Record<string, unknown>, ov: unknown): void => {
    const given = typeof ov === 'object' && ov !== null ? (ov as Record<string, unknown>) : {};
    for (const [key, spec] of Object.entries(sch)) {
      if (isParam(spec)) {
        if (spec.ns !== undefined && !(key in given)) mv[key] = nsCycles((bv[key] as number) / from, to);
      } else if (typeof mv[key] === 'object' && mv[key] !== null) {
        // Nested sections are copied before they are changed, so the base config is never modified.
        mv[key] = { ...(mv[key] as Record<string, unknown>) };
        walk(spec as Schema, bv[key] as Record<string, unknown>, mv[key] as Record<string, unknown>, given[key]);
      }
    }
  };
  walk(schema, b, m, over);
}
