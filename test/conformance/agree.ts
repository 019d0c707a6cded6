/**
 * Registers one test per conformance script whose name starts with one of
 * `prefixes`: run on the simulator under the settings the suite was
 * recorded with, with invariant checks on, it must print the host kernel's
 * recorded lines exactly.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { applyRecordedSettings } from '../../src/conform/recorded.js';
import { defaultConfig, type MachineConfig } from '../../src/config/machine.js';
import { compareRuns } from '../../src/workloads/script/compare.js';
import { hostOutputPath, loadScript } from '../../src/workloads/script/files.js';
import { runScript } from '../../src/workloads/script/interp.js';

export const SUITE_DIR = new URL('./', import.meta.url).pathname;

/** The default machine with the recorded host settings and invariant checks on. */
export function recordedHostConfig(): MachineConfig {
  const cfg = applyRecordedSettings(defaultConfig(), join(SUITE_DIR, 'recorded-on.host.jsonl'));
  cfg.sim = { ...cfg.sim, checks: true };
  return cfg;
}

export function scriptsWithPrefixes(prefixes: readonly string[]): string[] {
  return readdirSync(SUITE_DIR)
    .filter((n) => n.endsWith('.json') && prefixes.some((p) => n.startsWith(p)))
    .sort();
}

export function itAgreesWithHost(prefixes: readonly string[]): void {
  const names = scriptsWithPrefixes(prefixes);
  it(`finds scripts for ${prefixes.join(', ')}`, () => expect(names.length).toBeGreaterThan(0));
  for (const name of names) {
    const file = join(SUITE_DIR, name);
    it(name, () => {
      const run = runScript(loadScript(file), recordedHostConfig());
      const host = readFileSync(hostOutputPath(file), 'utf8').split('\n');
      const r = compareRuns(host, run.lines);
      if (!r.agree) expect({ line: r.index, sim: r.sim }).toEqual({ line: r.index, sim: r.host });
    });
  }
}
