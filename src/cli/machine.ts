/**
 * Resolve `--machine NAME|FILE` to a MachineConfig: a name is a built-in
 * profile (profiles/NAME.json), anything with a slash or a .json ending is a
 * file. Every error is a ConfigError naming the file and field, but a file
 * that cannot be read, which says so as every command does (UsageError).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cannotRead } from '../workloads/read-error.js';
import { UsageError } from './errors.js';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultConfig, type MachineConfig } from '../config/machine.js';
import { ConfigError } from '../params/schema.js';
import { applyProfile, checkMachine } from '../config/profile.js';

/** profiles/ at the package root, from src/cli or dist/src/cli. */
export function profilesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, 'profiles');
    if (existsSync(join(p, 'server-64.json'))) return p;
    dir = dirname(dir);
  }
  throw new Error('kernsim: cannot find the profiles/ directory');
}

export interface ProfileInfo {
  name: string;
  description: string;
  cpus: number;
}

export function listProfiles(): ProfileInfo[] {
  const dir = profilesDir();
  const out: ProfileInfo[] = [{ name: 'default', description: defaultConfig().description, cpus: defaultConfig().cpus }];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
    const cfg = loadMachineConfig(join(dir, f));
    out.push({ name: f.replace(/\.json$/, ''), description: cfg.description, cpus: cfg.cpus });
  }
  return out;
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${file}: ${cannotRead(e)}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ConfigError(file, '(file)', `valid JSON (${(e as Error).message})`);
  }
}

/**
 * The config for `--machine` (default: the built-in defaults), with
 * `overrides` (a partial config, e.g. { cpus: 16 } from --cpus) merged last.
 */
export function loadMachineConfig(machine?: string, overrides?: unknown, overridesLabel = 'command line'): MachineConfig {
  let cfg = defaultConfig();
  if (machine && machine !== 'default') {
    const isFile = machine.includes('/') || machine.endsWith('.json');
    const file = isFile ? resolve(machine) : join(profilesDir(), `${machine}.json`);
    if (!isFile && !existsSync(file)) {
      const names = listProfileNames();
      throw new ConfigError('--machine', 'machine', `a profile name (${names.join(', ')}) or a JSON file, got "${machine}"`);
    }
    cfg = applyProfile(cfg, readJson(file), isFile ? machine : `profiles/${machine}.json`);
    if (!isFile) cfg.name = machine;
    else if (cfg.name === 'default') cfg.name = machine;
  }
  if (overrides !== undefined) {
    cfg = applyProfile(cfg, overrides, overridesLabel);
    checkMachine(cfg, overridesLabel);
  }
  return cfg;
}

function listProfileNames(): string[] {
  return ['default', ...readdirSync(profilesDir()).filter((n) => n.endsWith('.json')).map((n) => n.replace(/\.json$/, '')).sort()];
}
