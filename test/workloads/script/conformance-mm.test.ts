/**
 * The memory-management conformance scripts (mmap-, munmap-, mprotect-,
 * mlock-, mincore-, fork-) run on the simulator must print what the host
 * kernel printed (test/conformance/*.host.jsonl), line for line, with the
 * host's recorded kernel settings applied and the invariant checks on.
 * Scripts that open files or inotify instances wait for the VFS: they run
 * once it registers its mmap file lookup (MmCore.hooks.fget).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostSettingsOverlay } from '../../../src/conform/hostprofile.js';
import { defaultConfig, type MachineConfig } from '../../../src/hw/config.js';
import { applyProfile } from '../../../src/hw/profile.js';
import { bootKernel } from '../../../src/kernel/boot.js';
import { mmCore } from '../../../src/kernel/mm/core.js';
import { compareRuns } from '../../../src/workloads/script/compare.js';
import { hostOutputPath, loadScript } from '../../../src/workloads/script/files.js';
import { runScript } from '../../../src/workloads/script/interp.js';
import type { Op } from '../../../src/workloads/script/types.js';

const DIR = new URL('../../conformance/', import.meta.url).pathname;
const PREFIXES = ['mmap-', 'munmap-', 'mprotect-', 'mlock-', 'mincore-', 'fork-'];
const scripts = readdirSync(DIR)
  .filter((n) => n.endsWith('.json') && PREFIXES.some((p) => n.startsWith(p)))
  .sort();

function hostConfig(): MachineConfig {
  const rec = JSON.parse(readFileSync(join(DIR, 'recorded-on.host.jsonl'), 'utf8').split('\n')[0]!) as { settings: Record<string, unknown> };
  const cfg = applyProfile(defaultConfig(), hostSettingsOverlay(rec.settings), 'recorded host settings');
  cfg.sim = { ...cfg.sim, checks: true };
  return cfg;
}

function usesFiles(ops: Op[]): boolean {
  return ops.some((o) => o.op === 'open' || o.op.startsWith('inotify') || (o.op === 'fork' && usesFiles(o.ops)));
}

const vfs = mmCore(bootKernel(defaultConfig())).hooks.fget !== undefined;

describe('conformance: memory scripts agree with the host kernel', () => {
  for (const name of scripts) {
    const file = join(DIR, name);
    const script = loadScript(file);
    it.skipIf(usesFiles(script.ops) && !vfs)(name, () => {
      const run = runScript(script, hostConfig());
      const host = readFileSync(hostOutputPath(file), 'utf8').split('\n');
      const r = compareRuns(host, run.lines);
      if (!r.agree) expect({ line: r.index, sim: r.sim }).toEqual({ line: r.index, sim: r.host });
    });
  }
});
