/**
 * The bench gate: the committed baseline matches this tree, and a perturbed
 * cost model fails it, naming exactly the scenarios whose measured path uses
 * the perturbed cost. Which scenarios use it is read from the baseline's
 * own counters (an IPI was handled), not from a list kept here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseBenchDoc } from '../../src/bench/check.js';
import { allScenarios, WORKLOAD_SIZES } from '../../src/bench/suite.js';
import { defaultConfig } from '../../src/config/machine.js';
import { WORKLOADS } from '../../src/workloads/registry.js';
import { cli } from '../cli/helpers.js';

const BASELINE = 'bench/baseline.json';
const baseline = parseBenchDoc(readFileSync(BASELINE, 'utf8'), BASELINE);

describe('bench suite', () => {
  it('holds every built-in workload at a stated size, and the focused paths of issue 11', () => {
    const names = allScenarios().map((s) => s.name);
    for (const w of WORKLOADS) {
      expect(names).toContain(`workload/${w.name}`);
      expect(WORKLOAD_SIZES[w.name], `bench size for ${w.name}`).toBeDefined();
    }
    for (const pages of ['1-page', '64-pages']) for (const cpus of [2, 8, 32, 64]) expect(names).toContain(`shootdown/${pages}/${cpus}-cpus`);
    for (const f of ['fault/minor', 'fault/cow', 'fault/swap-in', 'fd/expand-64-to-1024', 'rcu/synchronize-8-idle-cpus', 'inotify/queue-and-read', 'procfs/read-vs-remove']) expect(names).toContain(f);
    for (const a of ['free', 'dontneed']) for (const n of ['1-page', '8-pages', '64-pages', '1024-pages']) expect(names).toContain(`madvise/${a}/${n}`);
    expect(new Set(names).size).toBe(names.length);
  });

  it('the baseline names every scenario and nothing else', () => {
    expect(Object.keys(baseline.scenarios).sort()).toEqual(allScenarios().map((s) => s.name).sort());
    expect(baseline.machine).toBe('default');
    expect(baseline.overrides).toBeUndefined();
    for (const r of Object.values(baseline.scenarios)) expect(r.host).toBeUndefined();
  });

  it('an unperturbed run of the quick scenarios matches the baseline: exit 0', async () => {
    const r = await cli(['bench', '--check', BASELINE, '--filter', '^(fault|madvise/.*/(1|8)-|fd/|inotify/|procfs/)']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/no simulated cost moved/);
  });

  it('one cost field changed (cost.ipi_handler + 1): exit 1, and exactly the scenarios that handled an IPI moved', async () => {
    const handler = defaultConfig().cost.ipi_handler;
    const r = await cli(['bench', '--check', BASELINE, '--set', `cost.ipi_handler=${handler + 1}`, '--json']);
    expect(r.code).toBe(1);
    const usesIt = Object.entries(baseline.scenarios)
      .filter(([, rec]) => (rec.sim.counters['ipi_received'] ?? 0) > 0)
      .map(([name]) => name)
      .sort();
    expect(usesIt.length).toBeGreaterThan(0);
    expect(usesIt.length).toBeLessThan(Object.keys(baseline.scenarios).length);
    const doc = parseBenchDoc(r.stdout, 'stdout');
    expect(doc.overrides).toEqual({ 'cost.ipi_handler': handler + 1 });
    const moved = Object.keys(doc.scenarios).filter((n) => JSON.stringify(doc.scenarios[n]!.sim) !== JSON.stringify(baseline.scenarios[n]!.sim)).sort();
    expect(moved).toEqual(usesIt);
    // The table on stderr names each of them, and only them.
    const named = r.stderr.split('\n').map((l) => /^│ (\S+)/.exec(l)?.[1]).filter((n): n is string => !!n && n !== 'scenario');
    expect([...new Set(named)].sort()).toEqual(usesIt);
  }, 180_000);
});
