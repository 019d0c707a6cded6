/**
 * The bench's output formats against the tools' documented schemas, and the
 * command's flags (--list, --filter, --update, tolerances, --host-tolerance,
 * the progress bar, bad input).
 *
 * github-action-benchmark (tool customSmallerIsBetter) reads a JSON array of
 * BenchmarkResult { name: string; value: number; unit: string; range?:
 * string; extra?: string } (src/extract.ts of the action). Bencher Metric
 * Format is specified by the JSON Schema at https://bencher.dev/bmf.json:
 * an object whose every property is an object whose every property is
 * { value: number (required), lower_value?: number, upper_value?: number };
 * a measure's slug is at most 64 characters, a benchmark name at most 1024.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkBench, parseBenchDoc } from '../../src/bench/check.js';
import { allScenarios, runSuite } from '../../src/bench/suite.js';
import type { BenchDoc } from '../../src/bench/types.js';
import { defaultConfig } from '../../src/config/machine.js';
import { benchBencher, benchGithub, benchMarkdown } from '../../src/report/bench.js';
import { cli, expectUsageError } from '../cli/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'kernsim-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const f = (name: string): string => join(dir, name);

const QUICK = '^(fault/minor|madvise/free/1-page|fd/)';
let doc: BenchDoc;
let clock = 0;

beforeAll(() => {
  // A fake host clock: 5 ms per reading, so host figures are present and known.
  doc = runSuite(defaultConfig(), { filter: new RegExp(QUICK), hostClock: () => (clock += 5) });
});

function expectType(v: unknown, type: 'string' | 'number', where: string): void {
  expect(typeof v, where).toBe(type);
  if (type === 'number') expect(Number.isFinite(v), where).toBe(true);
}

describe('--format github (github-action-benchmark customSmallerIsBetter)', () => {
  it('is an array of {name, unit, value, range?, extra?} with unique names, one sim and one host entry per scenario', () => {
    const out = JSON.parse(JSON.stringify(benchGithub(doc))) as unknown[];
    expect(Array.isArray(out)).toBe(true);
    const allowed = new Set(['name', 'unit', 'value', 'range', 'extra']);
    for (const [i, e] of out.entries()) {
      expect(typeof e === 'object' && e !== null && !Array.isArray(e)).toBe(true);
      const o = e as Record<string, unknown>;
      for (const key of Object.keys(o)) expect(allowed.has(key), `entry ${i} key ${key}`).toBe(true);
      expectType(o['name'], 'string', `entry ${i} name`);
      expectType(o['unit'], 'string', `entry ${i} unit`);
      expectType(o['value'], 'number', `entry ${i} value`);
      if ('range' in o) expectType(o['range'], 'string', `entry ${i} range`);
      if ('extra' in o) expectType(o['extra'], 'string', `entry ${i} extra`);
    }
    const names = out.map((e) => (e as { name: string }).name);
    expect(new Set(names).size).toBe(names.length);
    for (const [name, r] of Object.entries(doc.scenarios)) {
      expect(out).toContainEqual(expect.objectContaining({ name: `sim/${name}`, unit: 'cycles', value: r.sim.cycles }));
      expect(out).toContainEqual(expect.objectContaining({ name: `host/${name}`, unit: 'ms', value: r.host!.wall_ms }));
    }
  });
});

/** The BMF JSON Schema, checked by hand (draft-07, patternProperties ".+" at two levels). */
function validateBmf(v: unknown): string[] {
  const errors: string[] = [];
  const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  if (!isObj(v)) return ['top level: expected an object'];
  for (const [bench, measures] of Object.entries(v)) {
    if (bench.length === 0 || bench.length > 1024) errors.push(`benchmark "${bench}": name length`);
    if (!isObj(measures)) {
      errors.push(`${bench}: expected an object of measures`);
      continue;
    }
    for (const [measure, metric] of Object.entries(measures)) {
      if (measure.length === 0 || measure.length > 64) errors.push(`${bench}.${measure}: slug length`);
      if (!isObj(metric)) {
        errors.push(`${bench}.${measure}: expected an object`);
        continue;
      }
      if (typeof metric['value'] !== 'number') errors.push(`${bench}.${measure}.value: required number`);
      for (const opt of ['lower_value', 'upper_value']) if (opt in metric && typeof metric[opt] !== 'number') errors.push(`${bench}.${measure}.${opt}: number`);
    }
  }
  return errors;
}

describe('--format bencher (Bencher Metric Format)', () => {
  it('validates against the BMF schema and carries each scenario\'s figures', () => {
    const out = JSON.parse(JSON.stringify(benchBencher(doc))) as Record<string, Record<string, { value: number }>>;
    expect(validateBmf(out)).toEqual([]);
    expect(Object.keys(out)).toEqual(Object.keys(doc.scenarios));
    for (const [name, r] of Object.entries(doc.scenarios)) {
      expect(out[name]!['sim-cycles']!.value).toBe(r.sim.cycles);
      expect(out[name]!['sim-charged-cycles']!.value).toBe(r.sim.charged_cycles);
      expect(out[name]!['host-wall-ms']!.value).toBe(r.host!.wall_ms);
    }
  });
  it('the validator rejects what the schema rejects', () => {
    expect(validateBmf({ a: { m: { lower_value: 1 } } })).not.toEqual([]);
    expect(validateBmf({ a: { ['x'.repeat(65)]: { value: 1 } } })).not.toEqual([]);
    expect(validateBmf([])).not.toEqual([]);
  });
});

describe('--format markdown', () => {
  it('a table of every scenario; with a failed check, what moved and the functions that moved most', () => {
    const plain = benchMarkdown(doc, null, null);
    const rows = plain.split('\n').filter((l) => l.startsWith('|'));
    expect(rows[0]).toBe('| scenario | cycles | key counters |');
    expect(rows[1]).toBe('| --- | ---: | --- |');
    expect(rows.length).toBe(2 + Object.keys(doc.scenarios).length);
    // A baseline in which one function of fault/minor cost 100 cycles less.
    const base = structuredClone(doc);
    const fm = base.scenarios['fault/minor']!.sim;
    fm.functions['clear_page']! -= 100;
    fm.cycles -= 100;
    fm.charged_cycles -= 100;
    const check = checkBench(base, doc, 'base.json');
    expect(check.passed).toBe(false);
    expect(check.moved.map((m) => m.scenario)).toEqual(['fault/minor']);
    const md = benchMarkdown(doc, check, base);
    expect(md).toContain('**1 scenario moved** against `base.json`');
    expect(md).toContain('| scenario | old cycles | new cycles | change | what moved | functions that moved most |');
    expect(md).toMatch(/\| `fault\/minor` \| [\d,]+ \| [\d,]+ \| \+[\d.]+% \| cycles \+[\d.]+% \(tolerance 0%\); charged cycles .* \| `clear_page` \+100 \|/);
    for (const l of md.split('\n').filter((x) => x.startsWith('| `'))) expect(l.split(' | ').length).toBeGreaterThanOrEqual(3);
  });
});

describe('kernsim bench', () => {
  it('--list prints one line per scenario with its summary; --filter narrows it', async () => {
    const r = await cli(['bench', '--list']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.length).toBe(allScenarios().length);
    for (const s of allScenarios()) expect(lines.some((l) => l.startsWith(s.name) && l.endsWith(s.summary))).toBe(true);
    expect((await cli(['bench', '--list', '--filter', '^fault/'])).stdout.trimEnd().split('\n').map((l) => l.split(/\s+/)[0])).toEqual(['fault/minor', 'fault/cow', 'fault/swap-in']);
  });

  it('bad input is one line and exit 2', async () => {
    expect(expectUsageError(await cli(['bench', '--filter', '(']))).toContain('--filter: expected a regular expression');
    expect(expectUsageError(await cli(['bench', '--filter', 'no-such-scenario']))).toContain('matches no scenario');
    expect(expectUsageError(await cli(['bench', '--update']))).toContain('--update needs --check FILE');
    expect(expectUsageError(await cli(['bench', '--check', f('missing.json')]))).toContain('missing.json: cannot read: no such file or directory (ENOENT)');
    writeFileSync(f('bad.json'), '{"kernsim_bench": 1, "scenarios": {"x": {"sim": 3}}}');
    expect(expectUsageError(await cli(['bench', '--check', f('bad.json')]))).toContain('bad.json: scenarios["x"]: expected an object with a "sim" object');
    writeFileSync(f('notjson.json'), 'nope');
    expect(expectUsageError(await cli(['bench', '--check', f('notjson.json')]))).toContain('notjson.json: not valid JSON');
    expect(expectUsageError(await cli(['bench', '--filter', QUICK, '--check', 'bench/baseline.json', '--host-tolerance', 'x']))).toContain('--host-tolerance: expected a percentage');
  });

  it('--update writes sim figures only and keeps stated tolerances; a move within tolerance passes, beyond it fails', async () => {
    const base = f('base.json');
    expect((await cli(['bench', '--filter', QUICK, '--check', base, '--update'])).code).toBe(0);
    const written = parseBenchDoc(readFileSync(base, 'utf8'), base);
    expect(Object.keys(written.scenarios)).toEqual(Object.keys(doc.scenarios));
    for (const r of Object.values(written.scenarios)) expect(r.host).toBeUndefined();
    expect(written.scenarios['fault/minor']!.sim).toEqual(doc.scenarios['fault/minor']!.sim);
    // State a tolerance, and make the baseline's minor fault 1% cheaper than this tree's.
    const fm = written.scenarios['fault/minor']!;
    fm.tolerance_pct = 2;
    fm.sim.cycles = Math.round(fm.sim.cycles / 1.01);
    writeFileSync(base, JSON.stringify(written));
    const within = await cli(['bench', '--filter', QUICK, '--check', base]);
    expect(within.code).toBe(0);
    expect(within.stdout).toContain('1 moved within their tolerance: fault/minor');
    fm.tolerance_pct = 0.5;
    writeFileSync(base, JSON.stringify(written));
    const beyond = await cli(['bench', '--filter', QUICK, '--check', base]);
    expect(beyond.code).toBe(1);
    expect(beyond.stdout).toMatch(/│ fault\/minor +│ .*│ cycles \+[01]\.\d+% \(tolerance 0\.5%\)/);
    // Bless: the figures return to this tree's, the tolerance stays.
    expect((await cli(['bench', '--filter', QUICK, '--check', base, '--update'])).code).toBe(0);
    const blessed = parseBenchDoc(readFileSync(base, 'utf8'), base);
    expect(blessed.scenarios['fault/minor']!.tolerance_pct).toBe(0.5);
    expect(blessed.scenarios['fault/minor']!.sim).toEqual(doc.scenarios['fault/minor']!.sim);
  });

  it('a counter that moved fails whatever the tolerance; missing and new scenarios fail', async () => {
    const base = structuredClone(doc);
    base.scenarios['fault/minor']!.tolerance_pct = 50;
    base.scenarios['fault/minor']!.sim.counters['pgfault'] = 2;
    const r = checkBench(base, doc, 'b');
    expect(r.moved).toEqual([expect.objectContaining({ scenario: 'fault/minor', reasons: ['pgfault 2 -> 1'] })]);
    const gone = structuredClone(doc);
    gone.scenarios['old/scenario'] = structuredClone(doc.scenarios['fault/minor']!);
    delete gone.scenarios['fd/expand-64-to-1024'];
    const m = checkBench(gone, doc, 'b').moved.map((x) => [x.scenario, x.status]);
    expect(m).toEqual([
      ['fd/expand-64-to-1024', 'new'],
      ['old/scenario', 'missing'],
    ]);
    // With a filter, baseline scenarios that did not run are not missing.
    expect(checkBench(gone, doc, 'b', { filtered: true }).moved.map((x) => x.status)).toEqual(['new']);
  });

  it('host figures fail the gate only with --host-tolerance, and only against a baseline that has them', async () => {
    const withHost = structuredClone(doc);
    for (const r of Object.values(withHost.scenarios)) r.host = { wall_ms: 0.001, sim_cycles_per_s: 1 };
    writeFileSync(f('host.json'), JSON.stringify(withHost));
    expect((await cli(['bench', '--filter', QUICK, '--check', f('host.json')])).code).toBe(0);
    const slow = await cli(['bench', '--filter', QUICK, '--check', f('host.json'), '--host-tolerance', '10']);
    expect(slow.code).toBe(1);
    expect(slow.stdout).toContain('host wall time');
    expect(expectUsageError(await cli(['bench', '--filter', QUICK, '--check', 'bench/baseline.json', '--host-tolerance', '10']))).toContain('needs host figures in the baseline');
  });

  it('draws a progress bar on a terminal only', async () => {
    const args = ['bench', '--filter', '^fd/'];
    expect((await cli(args, { stderrTty: true })).stderr).toContain('\r');
    expect((await cli(args, { stderrTty: false })).stderr).toBe('');
    expect((await cli(args, { stderrTty: true, env: { CI: 'true' } })).stderr).toBe('');
  });

  it('--format and --out: machine output to the file, the verdict on stderr', async () => {
    const r = await cli(['bench', '--filter', QUICK, '--check', 'bench/baseline.json', '--format', 'bencher', '--out', f('bmf.json')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('no simulated cost moved');
    expect(validateBmf(JSON.parse(readFileSync(f('bmf.json'), 'utf8')))).toEqual([]);
  });
});
