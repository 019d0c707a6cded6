/**
 * From the command line to typed values: workload parameters as flags
 * (declared once in the workload's schema), `--set path=value` for any
 * machine field, and the machine config a run uses (--machine, --cpus,
 * --seed, --set, merged in that order). Every bad value is a ConfigError
 * naming the flag and what was expected.
 */
import { canonicalPath, machineSchema, type MachineConfig } from '../config/machine.js';
import { checkValue, ConfigError, isParam, type ParamSpec, type Schema } from '../params/schema.js';
import type { AnyWorkload } from '../workloads/types.js';
import type { ParamValue } from '../workloads/result.js';
import { loadMachineConfig } from './machine.js';

export const CLI = 'command line';

/** `working_set` -> `working-set`. */
export function flagName(key: string): string {
  return key.replace(/_/g, '-');
}

export function specType(spec: ParamSpec<unknown>): string {
  switch (spec.kind) {
    case 'int':
      return spec.min !== undefined && spec.max !== undefined ? `integer ${spec.min}..${spec.max}` : spec.min !== undefined ? `integer >= ${spec.min}` : 'integer';
    case 'number':
      return 'number';
    case 'bool':
      return 'boolean';
    case 'enum':
      return spec.values!.join('|');
    case 'string':
      return 'string';
  }
}

/** yargs option declarations for a workload's parameters (no yargs defaults: what was given must stay distinguishable). */
export function workloadYargsOptions(w: AnyWorkload): Record<string, { describe: string; type?: 'boolean'; group: string; requiresArg?: boolean }> {
  const out: Record<string, { describe: string; type?: 'boolean'; group: string; requiresArg?: boolean }> = {};
  for (const [key, spec] of Object.entries(w.params)) {
    if (!isParam(spec)) continue;
    const unit = spec.unit ? ` ${spec.unit}` : '';
    out[flagName(key)] = {
      describe: spec.kind === 'bool' ? `${spec.help} [default: ${String(spec.default)}]` : `${spec.help} [${specType(spec)}] [default: ${String(spec.default)}${unit}]`,
      group: `${w.name} parameters:`,
      ...(spec.kind === 'bool' ? { type: 'boolean' as const } : { requiresArg: true }),
    };
  }
  return out;
}

/** A raw flag or grid value (string, number or boolean from yargs) as the spec's type, checked. */
export function parseParamValue(spec: ParamSpec<unknown>, raw: unknown, file: string, field: string): ParamValue {
  if (Array.isArray(raw)) throw new ConfigError(file, field, 'one value (the flag was given more than once)');
  let v: unknown = raw;
  if (spec.kind === 'int' || spec.kind === 'number') {
    if (typeof raw === 'string') {
      const s = raw.trim().replace(/_/g, '');
      v = s === '' ? NaN : Number(s);
      if (Number.isNaN(v)) v = raw;
      // A decimal integer a double rounds (9007199254740993) is refused, not run with another value.
      else if (/^[+-]?[0-9]+$/.test(s) && BigInt(s) !== BigInt(Math.trunc(v as number))) v = raw;
    }
  } else if (spec.kind === 'bool') {
    if (typeof raw === 'string') {
      const s = raw.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(s)) v = true;
      else if (['false', '0', 'no', 'off'].includes(s)) v = false;
    } else if (raw === 1 || raw === 0) v = raw === 1;
  } else if (typeof raw === 'number') {
    v = String(raw);
  }
  if (spec.kind === 'enum' && typeof v === 'string') v = canonicalChoice(spec.values!, v);
  return checkValue(spec, v, file, field) as ParamValue;
}

/**
 * A choice as declared, whatever its case: madvise advice is spelled as the
 * kernel's constant (MADV_FREE), and `free` or `madv_free` name it too.
 * Unmatched text is returned as given, for checkValue to refuse.
 */
export function canonicalChoice(values: readonly string[], given: string): string {
  const g = given.trim().toLowerCase();
  return values.find((v) => v.toLowerCase() === g) ?? values.find((v) => v.startsWith('MADV_') && v.slice(5).toLowerCase() === g) ?? given;
}

/** The workload parameters given as flags, typed and checked; absent flags are left out. */
export function readWorkloadFlags(w: AnyWorkload, argv: Record<string, unknown>): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  for (const [key, spec] of Object.entries(w.params)) {
    if (!isParam(spec)) continue;
    const raw = argv[flagName(key)];
    if (raw === undefined) continue;
    out[key] = parseParamValue(spec, raw, CLI, `--${flagName(key)}`);
  }
  return out;
}

/** The spec of a machine field by dotted path (`cost.invlpg`, `kernel.cost.kmalloc`), or undefined. */
export function machineSpec(path: string): ParamSpec<unknown> | undefined {
  let node: Schema | ParamSpec<unknown> = machineSchema;
  for (const part of canonicalPath(path).split('.')) {
    if (isParam(node)) return undefined;
    const next: Schema | ParamSpec<unknown> | undefined = (node as Schema)[part];
    if (next === undefined) return undefined;
    node = next;
  }
  return isParam(node) ? node : undefined;
}

/** Puts `value` at dotted `path` inside a nested override object. */
export function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let o = target;
  for (const p of parts.slice(0, -1)) {
    if (typeof o[p] !== 'object' || o[p] === null) o[p] = {};
    o = o[p] as Record<string, unknown>;
  }
  o[parts[parts.length - 1]!] = value;
}

/** `--set cost.invlpg=300` entries as a flat {path: typed value}. */
export function parseSets(sets: readonly unknown[]): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  for (const s of sets) {
    const text = String(s);
    const eq = text.indexOf('=');
    if (eq <= 0) throw new ConfigError(CLI, '--set', `PATH=VALUE (e.g. --set cost.invlpg=300), got "${text}"`);
    const path = text.slice(0, eq).trim();
    const spec = machineSpec(path);
    if (!spec) throw new ConfigError(CLI, `--set ${path}`, 'a machine field (kernsim list --params shows them all)');
    out[canonicalPath(path)] = parseParamValue(spec, text.slice(eq + 1), CLI, `--set ${path}`);
  }
  return out;
}

export interface MachineChoice {
  machine?: string;
  cpus?: number;
  seed?: number;
  /** Flat dotted machine fields (from --set or a sweep's grid). */
  fields?: Record<string, ParamValue>;
}

/** The machine config for a run: the profile, then --cpus and --seed, then the dotted fields. */
export function buildConfig(m: MachineChoice): MachineConfig {
  const over: Record<string, unknown> = {};
  if (m.cpus !== undefined) over['cpus'] = m.cpus;
  if (m.seed !== undefined) setPath(over, 'sim.seed', m.seed);
  for (const [path, v] of Object.entries(m.fields ?? {})) setPath(over, path, v);
  return loadMachineConfig(m.machine, Object.keys(over).length > 0 ? over : undefined, CLI);
}

/** The machine fields a choice changes on the command line (--cpus, --seed, --set), as dotted path: value. */
export function machineOverrides(m: MachineChoice): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  if (m.cpus !== undefined) out['cpus'] = m.cpus;
  if (m.seed !== undefined) out['sim.seed'] = m.seed;
  return { ...out, ...m.fields };
}

/** --cpus and --seed from argv, checked against the machine schema. */
export function readMachineFlags(argv: Record<string, unknown>): MachineChoice {
  const out: MachineChoice = {};
  if (argv['machine'] !== undefined) {
    if (typeof argv['machine'] !== 'string' || argv['machine'] === '') throw new ConfigError(CLI, '--machine', 'a profile name or a JSON file');
    out.machine = argv['machine'];
  }
  if (argv['cpus'] !== undefined) out.cpus = parseParamValue(machineSchema.cpus, argv['cpus'], CLI, '--cpus') as number;
  if (argv['seed'] !== undefined) out.seed = parseParamValue(machineSchema.sim.seed, argv['seed'], CLI, '--seed') as number;
  const sets = argv['set'];
  if (sets !== undefined) out.fields = parseSets(Array.isArray(sets) ? sets : [sets]);
  // A flag and a --set of the same field must agree: otherwise one of them would be dropped silently.
  for (const [flag, path, value] of [['--cpus', 'cpus', out.cpus], ['--seed', 'sim.seed', out.seed]] as const) {
    const set = out.fields?.[path];
    if (value !== undefined && set !== undefined && set !== value) {
      throw new ConfigError(CLI, flag, `one value: ${flag} ${value} and --set ${path}=${String(set)} disagree (give one of them)`);
    }
  }
  return out;
}
