/**
 * The madvise- conformance scripts run on the simulator must print what the
 * host kernel printed (test/conformance/madvise-*.host.jsonl), with the
 * settings recorded beside them (recorded-on.host.jsonl: no
 * CONFIG_MEMORY_FAILURE, THP madvise, no swap) and the invariant checks on.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostSettingsOverlay } from '../../../src/conform/hostprofile.js';
import { defaultConfig, type MachineConfig } from '../../../src/hw/config.js';
import { applyProfile } from '../../../src/hw/profile.js';
import { compareRuns } from '../../../src/workloads/script/compare.js';
import { hostOutputPath, loadScript } from '../../../src/workloads/script/files.js';
import { runScript } from '../../../src/workloads/script/interp.js';

const DIR = new URL('../../conformance/', import.meta.url).pathname;
const scripts = readdirSync(DIR)
  .filter((n) => n.endsWith('.json') && n.startsWith('madvise-'))
  .sort();

function hostConfig(): MachineConfig {
  const rec = JSON.parse(readFileSync(join(DIR, 'recorded-on.host.jsonl'), 'utf8').split('\n')[0]!) as { settings: Record<string, unknown> };
  const cfg = applyProfile(defaultConfig(), hostSettingsOverlay(rec.settings), 'recorded host settings');
  cfg.sim = { ...cfg.sim, checks: true };
  return cfg;
}

describe('conformance: madvise scripts agree with the host kernel', () => {
  it('runs with the recorded settings: memory failure off, so HWPOISON is EINVAL', () => {
    expect(hostConfig().kernel.memory_failure).toBe(false);
  });
  for (const name of scripts) {
    const file = join(DIR, name);
    it(name, () => {
      const run = runScript(loadScript(file), hostConfig());
      const host = readFileSync(hostOutputPath(file), 'utf8').split('\n');
      const r = compareRuns(host, run.lines);
      if (!r.agree) expect({ line: r.index, sim: r.sim }).toEqual({ line: r.index, sim: r.host });
    });
  }
});
