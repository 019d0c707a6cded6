/**
 * Machine profiles: partial MachineConfigs in JSON, merged over the defaults
 * with every field checked (a typo is an error, not a silent default).
 */
import { defaultConfig, machineSchema, type MachineConfig } from './config.js';
import { ConfigError, mergeChecked } from './params.js';

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
  const merged = mergeChecked(machineSchema, base, withoutSources(json, file), file);
  checkGeometry(merged, file);
  return merged;
}

export function configFromProfile(json: unknown, file: string): MachineConfig {
  return applyProfile(defaultConfig(), json, file);
}

function isPow2(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

/** Checks that need more than one field: cache and TLB geometry must give whole, power-of-two set counts. */
export function checkGeometry(cfg: MachineConfig, file: string): void {
  const line = cfg.cache.line_bytes;
  const caches: [string, number, number][] = [
    ['cache.l1d_kib', cfg.cache.l1d_kib, cfg.cache.l1d_ways],
    ['cache.l2_kib', cfg.cache.l2_kib, cfg.cache.l2_ways],
    ['cache.llc_kib', cfg.cache.llc_kib, cfg.cache.llc_ways],
  ];
  for (const [field, kib, ways] of caches) {
    const sets = (kib * 1024) / (line * ways);
    if (!Number.isInteger(sets) || !isPow2(sets)) {
      throw new ConfigError(file, field, `a size giving a power-of-two number of sets with ${ways} ways of ${line}-byte lines, got ${kib} KiB (${sets} sets)`);
    }
  }
  const tlbs: [string, number, number][] = [
    ['tlb.l1_entries', cfg.tlb.l1_entries, cfg.tlb.l1_ways],
    ['tlb.l1_2m_entries', cfg.tlb.l1_2m_entries, cfg.tlb.l1_2m_ways],
    ['tlb.stlb_entries', cfg.tlb.stlb_entries, cfg.tlb.stlb_ways],
  ];
  for (const [field, entries, ways] of tlbs) {
    if (entries % ways !== 0) throw new ConfigError(file, field, `a multiple of its associativity (${ways}), got ${entries}`);
  }
  if (cfg.cache.llc_kib < cfg.cache.l2_kib) {
    throw new ConfigError(file, 'cache.llc_kib', `at least cache.l2_kib (${cfg.cache.l2_kib}): the last-level cache holds what L2 evicts, got ${cfg.cache.llc_kib}`);
  }
  // The zone's high watermark (min_free_kbytes x 3/2) must leave memory to allocate, or every allocation goes straight to reclaim and OOM.
  if (cfg.kernel.min_free_kbytes * 3 >= cfg.ram_mib * 1024 * 2) {
    throw new ConfigError(file, 'kernel.min_free_kbytes', `a high watermark (3/2 of it) below ram_mib (${cfg.ram_mib} MiB = ${cfg.ram_mib * 1024} KiB), got ${cfg.kernel.min_free_kbytes}`);
  }
  if (cfg.kernel.nofile_soft > cfg.kernel.nofile_hard) {
    throw new ConfigError(file, 'kernel.nofile_soft', `at most kernel.nofile_hard (${cfg.kernel.nofile_hard}), got ${cfg.kernel.nofile_soft}`);
  }
  if (cfg.kernel.nofile_hard > cfg.kernel.nr_open) {
    throw new ConfigError(file, 'kernel.nofile_hard', `at most kernel.nr_open (${cfg.kernel.nr_open}), got ${cfg.kernel.nofile_hard}`);
  }
}
