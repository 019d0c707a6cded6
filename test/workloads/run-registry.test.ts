/**
 * Every registered workload, run with its defaults: it must finish, pass its
 * own checks and give exactly the result stored under test/golden/workloads/
 * (everything but the host section), so a change that moves a simulated
 * figure shows up as a diff of that file. A workload is covered as soon as
 * it is registered. `npm run golden:update` rewrites the stored results
 * (review the diff and say why in the commit). Also keeps docs/workloads.md's
 * generated list in step with the registry (UPDATE_DOCS=1 rewrites it).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/machine.js';
import { isParam } from '../../src/params/schema.js';
import { figuresMarkdown, findWorkload, WORKLOADS, workloadNames, workloadsMarkdown } from '../../src/workloads/registry.js';
import { runWorkload } from '../../src/workloads/run.js';

describe('workload registry', () => {
  it('names are unique, hyphenated lower-case, and found by name', () => {
    const names = workloadNames();
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) {
      expect(n).toMatch(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/);
      expect(findWorkload(n)!.name).toBe(n);
    }
    expect(findWorkload('no-such-workload')).toBeUndefined();
    expect(names).toContain('tlb-reach');
  });

  it('every workload documents itself and its parameters, and leaves the common flags to the CLI', () => {
    for (const w of WORKLOADS) {
      expect(w.summary.length, w.name).toBeGreaterThan(10);
      expect(w.summary, w.name).not.toContain('\n');
      expect(w.description.length, w.name).toBeGreaterThan(w.summary.length);
      for (const [k, spec] of Object.entries(w.params)) {
        expect(isParam(spec), `${w.name}.${k} is a flat parameter`).toBe(true);
        expect(['cpus', 'machine', 'seed', 'set', 'out', 'json', 'trace', 'grid', 'shard', 'jobs', 'help', 'version', 'color']).not.toContain(k);
        if (isParam(spec)) expect(spec.help.length, `${w.name}.${k} help`).toBeGreaterThan(3);
      }
    }
  });

  const goldenDir = new URL('../golden/workloads/', import.meta.url);
  for (const w of WORKLOADS) {
    it(`${w.name}: runs with its defaults, passes its checks, and gives its stored result`, () => {
      const a = runWorkload(w, {}, defaultConfig());
      expect(a.checks.failures).toEqual([]);
      expect(a.simulated_cycles).toBeGreaterThan(0);
      const { host: _host, ...simulated } = a;
      const got = JSON.stringify(simulated, null, 2) + '\n';
      const file = new URL(`${w.name}.json`, goldenDir);
      if (process.env['UPDATE_GOLDEN']) {
        mkdirSync(goldenDir, { recursive: true });
        writeFileSync(file, got);
        return;
      }
      expect(existsSync(file), `no stored result for ${w.name}: npm run golden:update`).toBe(true);
      // Compared parsed, so a failure shows the differing fields rather than one long line.
      expect(JSON.parse(got), `test/golden/workloads/${w.name}.json differs (npm run golden:update if the change is intended)`).toEqual(
        JSON.parse(readFileSync(file, 'utf8')),
      );
    }, 120_000);
  }

  it('every workload defines each figure it reports and declares a headline among them', () => {
    for (const w of WORKLOADS) {
      const golden = JSON.parse(readFileSync(new URL(`${w.name}.json`, goldenDir), 'utf8')) as { figures: Record<string, number> };
      const defs = w.figureDefs ?? {};
      for (const f of Object.keys(golden.figures)) expect(defs[f], `${w.name}: figure ${f} has no definition`).toBeDefined();
      for (const d of Object.values(defs)) {
        expect(d.unit.length, w.name).toBeGreaterThan(0);
        expect(d.definition, w.name).not.toContain('\n');
      }
      expect(w.headline, `${w.name}: no headline figure`).toBeDefined();
      expect(Object.keys(defs), w.name).toContain(w.headline);
    }
  });

  it('docs/results.md defines every workload\'s figures', () => {
    const file = new URL('../../docs/results.md', import.meta.url);
    const text = readFileSync(file, 'utf8');
    const start = '<!-- figures:start -->\n';
    const end = '<!-- figures:end -->';
    const i = text.indexOf(start);
    const j = text.indexOf(end);
    expect(i).toBeGreaterThan(0);
    const want = text.slice(0, i + start.length) + figuresMarkdown() + '\n' + text.slice(j);
    if (process.env['UPDATE_DOCS']) writeFileSync(file, want);
    else expect(text, 'docs/results.md is out of date: UPDATE_DOCS=1 npx vitest run test/workloads/run-registry.test.ts').toBe(want);
  });

  it('docs/workloads.md lists the registered workloads', () => {
    const file = new URL('../../docs/workloads.md', import.meta.url);
    const text = readFileSync(file, 'utf8');
    const start = '<!-- workloads:start -->\n';
    const end = '<!-- workloads:end -->';
    const i = text.indexOf(start);
    const j = text.indexOf(end);
    expect(i).toBeGreaterThan(0);
    const want = text.slice(0, i + start.length) + workloadsMarkdown() + '\n' + text.slice(j);
    if (process.env['UPDATE_DOCS']) writeFileSync(file, want);
    else expect(text, 'docs/workloads.md is out of date: UPDATE_DOCS=1 npx vitest run test/workloads/run-registry.test.ts').toBe(want);
  });
});
