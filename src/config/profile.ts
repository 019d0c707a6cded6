/**
 * Machine profiles: partial MachineConfigs in JSON, merged over the defaults
 * with every field checked (a typo is an error, not a silent default).
 */
import { checkHardware } from '../hw/config.js';
import { checkKernel } from '../kernel/config.js';
import { ConfigError, mergeChecked, rescaleNsCosts } from '../params/schema.js';
import { canonicalPath, defaultConfig, machineSchema, type MachineConfig } from './machine.js';

/**
 * A profile may say where each field it sets came from, in a top-level
 * "sources" object keyed by the field's path ("cost.syscall": "measured:
 * ..."); `kernsim calibrate` writes one for every field. Each key must be a
 * field the profile sets, and each value a string.
 */
export const SOURCES_KEY = 'sources';

function leafPaths(v: unknown, prefix: string, out: Set<string>): void {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    out.add(prefix);
    return;
  }
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) leafPaths(x, prefix ? `${prefix}.${k}` : k, out);
}

/** The profile without its "sources" block, after checking that block. */
function withoutSources(json: unknown, file: string): unknown {
  if (typeof json !== 'object' || json === null || Array.isArray(json) || !(SOURCES_KEY in json)) return json;
  const { [SOURCES_KEY]: sources, ...rest } = json as Record<string, unknown>;
  if (typeof sources !== 'object' || sources === null || Array.isArray(sources)) throw new ConfigError(file, SOURCES_KEY, 'an object from field paths to where each value came from');
  const set = new Set<string>();
  leafPaths(rest, '', set);
  for (const [path, why] of Object.entries(sources as Record<string, unknown>)) {
    if (!set.has(path)) throw new ConfigError(file, `${SOURCES_KEY}.${path}`, 'the path of a field this profile sets');
    if (typeof why !== 'string' || why === '') throw new ConfigError(file, `${SOURCES_KEY}.${path}`, 'a string saying where the value came from');
  }
  return rest;
}

export function applyProfile(base: MachineConfig, json: unknown, file: string): MachineConfig {
  const over = moveLegacyFields(withoutSources(json, file));
  const merged = mergeChecked(machineSchema, base, over, file);
  // A new clock keeps the time of every cost declared in nanoseconds that this layer does not set.
  rescaleNsCosts(machineSchema, base, over, merged);
  checkMachine(merged, file);
  return merged;
}

export function configFromProfile(json: unknown, file: string): MachineConfig {
  return applyProfile(defaultConfig(), json, file);
}

/** Checks that need more than one field, section by section. */
export function checkMachine(cfg: MachineConfig, file: string): void {
  checkHardware(cfg, file);
  checkKernel(cfg.kernel, file);
  // The zone's high watermark (min_free_kbytes x 3/2) must leave memory to allocate, or every allocation goes straight to reclaim and OOM.
  if (cfg.kernel.min_free_kbytes * 3 >= cfg.ram_mib * 1024 * 2) {
    throw new ConfigError(file, 'kernel.min_free_kbytes', `a high watermark (3/2 of it) below ram_mib (${cfg.ram_mib} MiB = ${cfg.ram_mib * 1024} KiB), got ${cfg.kernel.min_free_kbytes}`);
  }
}

/**
 * A profile written before the split: its software costs under `cost` move to
 * `kernel.cost` and `swap.enabled` to `kernel.swapon` (see canonicalPath),
 * over any value given there too, as a field written later in a profile
 * would be.
 */
function moveLegacyFields(json: unknown): unknown {
  return moveLegacyCosts(moveLegacySwapon(json));
}

/** A profile that says `swap.enabled` (once the hardware's) means `kernel.swapon`, over any value given there too. */
function moveLegacySwapon(json: unknown): unknown {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return json;
  const swap = (json as Record<string, unknown>)['swap'];
  if (typeof swap !== 'object' || swap === null || Array.isArray(swap) || !Object.hasOwn(swap, 'enabled')) return json;
  const out = { ...(json as Record<string, unknown>) };
  const { enabled, ...rest } = swap as Record<string, unknown>;
  out['swap'] = rest;
  const kern = typeof out['kernel'] === 'object' && out['kernel'] !== null ? { ...(out['kernel'] as Record<string, unknown>) } : {};
  kern['swapon'] = enabled;
  out['kernel'] = kern;
  return out;
}

function moveLegacyCosts(json: unknown): unknown {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return json;
  const cost = (json as Record<string, unknown>)['cost'];
  if (typeof cost !== 'object' || cost === null || Array.isArray(cost)) return json;
  const moved = Object.keys(cost).filter((k) => canonicalPath(`cost.${k}`) !== `cost.${k}`);
  if (moved.length === 0) return json;
  const out = { ...(json as Record<string, unknown>) };
  const hw: Record<string, unknown> = { ...(cost as Record<string, unknown>) };
  const kern = typeof out['kernel'] === 'object' && out['kernel'] !== null ? { ...(out['kernel'] as Record<string, unknown>) } : {};
  const kcost = typeof kern['cost'] === 'object' && kern['cost'] !== null ? { ...(kern['cost'] as Record<string, unknown>) } : {};
  for (const k of moved) {
    kcost[k] = hw[k];
    delete hw[k];
  }
  out['cost'] = hw;
  kern['cost'] = kcost;
  out['kernel'] = kern;
  return out;
}
