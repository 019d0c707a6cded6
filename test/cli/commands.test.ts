import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Chalk } from 'chalk';
import { colorLevel } from '../../src/cli/io.js';
import { etaText, Progress } from '../../src/cli/progress.js';
import { gridPoint, gridSize, parseGrid, parseShard, shardIndices } from '../../src/cli/grid.js';
import { tlbReach } from '../../src/workloads/demo.js';
import { findWorkload } from '../../src/workloads/registry.js';
import { readWorkloadFlags } from '../../src/cli/options.js';
import { pickStory } from '../../src/cli/commands/demo.js';
import type { RunResult, SweepResult } from '../../src/workloads/result.js';
import { runFixture, sweepFixture } from '../report/fixtures.js';
import { cli, expectUsageError } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'kernsim-cmd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const f = (name: string): string => join(dir, name);
const SMALL = ['--loads', '1000', '--threads', '2'];

function stripHost(r: unknown): string {
  return JSON.stringify(r, (k, v: unknown) => (k === 'host' ? undefined : v));
}

describe('advice names', () => {
  it('are the kernel\'s MADV_* in every workload, given in any case, with or without MADV_', async () => {
    for (const w of ['alloc-churn', 'db-discard', 'ebizzy']) {
      const advice = findWorkload(w)!.params['advice'] as unknown as { values: string[] };
      expect(advice.values.filter((v) => v !== 'none').every((v) => /^MADV_[A-Z_]+$/.test(v)), w).toBe(true);
    }
    const db = findWorkload('db-discard')!;
    for (const given of ['MADV_DONTNEED', 'madv_dontneed', 'dontneed', 'DontNeed']) expect(readWorkloadFlags(db, { advice: given })).toEqual({ advice: 'MADV_DONTNEED' });
    expect(parseGrid(db, ['advice=remove,MADV_dontneed'])[0]!.values).toEqual(['MADV_REMOVE', 'MADV_DONTNEED']);
  });
});

describe('grid', () => {
  it('parses axes of every kind, typed by their schema', () => {
    const axes = parseGrid(tlbReach, ['pages=16,64', 'cpus=1,2', 'machine=default,desktop-4', 'seed=1,2', 'kernel.pti=true,false', 'write=0,1']);
    expect(axes.map((a) => [a.key, a.kind, a.values])).toEqual([
      ['pages', 'param', [16, 64]],
      ['cpus', 'field', [1, 2]],
      ['machine', 'machine', ['default', 'desktop-4']],
      ['seed', 'seed', [1, 2]],
      ['kernel.pti', 'field', [true, false]],
      ['write', 'param', [false, true]],
    ]);
  });
  it('enumerates points row-major, the last axis fastest', () => {
    const axes = parseGrid(tlbReach, ['pages=16,64,256', 'cpus=1,2']);
    expect(gridSize(axes)).toBe(6);
    expect([0, 1, 2, 5].map((j) => gridPoint(axes, j))).toEqual([
      { pages: 16, cpus: 1 },
      { pages: 16, cpus: 2 },
      { pages: 64, cpus: 1 },
      { pages: 256, cpus: 2 },
    ]);
  });
  it('shards deal points round-robin and together cover the grid once', () => {
    expect(parseShard('1/3')).toEqual({ index: 1, count: 3 });
    expect(shardIndices(7, { index: 1, count: 3 })).toEqual([1, 4]);
    const all = [0, 1, 2].flatMap((i) => shardIndices(7, { index: i, count: 3 })).sort((a, b) => a - b);
    expect(all).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(() => parseShard('3/3')).toThrow('--shard: expected I/N with 0 <= I < N, got 3/3');
    expect(() => parseShard('1-3')).toThrow('--shard: expected I/N');
  });
  it('names what is wrong with an axis', () => {
    expect(() => parseGrid(tlbReach, ['nope=1,2'])).toThrow('--grid nope: expected a parameter of tlb-reach (threads, pages, loads, write), machine, seed, or a machine field such as cpus or cost.invlpg');
    expect(() => parseGrid(tlbReach, ['pages=16,x'])).toThrow('--grid pages: expected an integer from 1 to 4194304, got "x"');
    expect(() => parseGrid(tlbReach, ['pages'])).toThrow('--grid: expected KEY=V1,V2,...');
    expect(() => parseGrid(tlbReach, ['pages=1,,2'])).toThrow('without empty values');
    expect(() => parseGrid(tlbReach, ['pages=1,1'])).toThrow('--grid pages: expected distinct values');
    expect(() => parseGrid(tlbReach, ['pages=1', 'pages=2'])).toThrow('--grid pages: expected each key once');
  });
  it('takes ranges, steps and powers of two beside listed values', () => {
    const [cpus, pages] = parseGrid(tlbReach, ['cpus=1..64:pow2', 'pages=16..64:16,1024']);
    expect(cpus!.values).toEqual([1, 2, 4, 8, 16, 32, 64]);
    expect(pages!.values).toEqual([16, 32, 48, 64, 1024]);
    expect(parseGrid(tlbReach, ['threads=2..4'])[0]!.values).toEqual([2, 3, 4]);
    expect(parseGrid(tlbReach, ['cpus=1..6:pow2'])[0]!.values).toEqual([1, 2, 4]);
    expect(() => parseGrid(tlbReach, ['cpus=3..8:pow2'])).toThrow('--grid cpus: expected A..B:pow2 from a power of two (1, 2, 4, ...), got "3..8:pow2"');
    expect(() => parseGrid(tlbReach, ['cpus=8..1'])).toThrow('--grid cpus: expected a range A..B with A <= B, got "8..1"');
    expect(() => parseGrid(tlbReach, ['cpus=1..8:0'])).toThrow('A..B:STEP with an integer STEP >= 1');
    expect(() => parseGrid(tlbReach, ['pages=1..1000000'])).toThrow('--grid pages: expected a range of at most 4096 values');
    expect(() => parseGrid(tlbReach, ['pages=1..x'])).toThrow('--grid pages: expected a value, or a range A..B');
    // Overlapping ranges repeat a value: refused like any repeated value.
    expect(() => parseGrid(tlbReach, ['cpus=1..4,4'])).toThrow('--grid cpus: expected distinct values');
  });
});

describe('sweep and merge', () => {
  let full: SweepResult;
  beforeAll(async () => {
    const r = await cli(['sweep', 'tlb-reach', '--grid', 'pages=16,256', '--grid', 'cpus=1,2', ...SMALL, '--json', '--out', f('full.json')]);
    expect(r.code, r.stderr).toBe(0);
    full = JSON.parse(r.stdout) as SweepResult;
  });

  it('runs every point in grid order with the fixed flags in base', () => {
    expect(full.kind).toBe('sweep');
    expect(full.total_points).toBe(4);
    expect(full.base).toEqual({ loads: 1000, threads: 2 });
    expect(full.grid).toEqual([
      { key: 'pages', values: [16, 256] },
      { key: 'cpus', values: [1, 2] },
    ]);
    expect(full.points.map((p) => [p.index, p.point, p.result.params['pages'], p.result.cpus.length])).toEqual([
      [0, { pages: 16, cpus: 1 }, 16, 1],
      [1, { pages: 16, cpus: 2 }, 16, 2],
      [2, { pages: 256, cpus: 1 }, 256, 1],
      [3, { pages: 256, cpus: 2 }, 256, 2],
    ]);
    expect(full.points.every((p) => p.result.checks.passed)).toBe(true);
    expect(JSON.parse(readFileSync(f('full.json'), 'utf8'))).toEqual(full);
  });

  it('each point equals a single run with the same flags', async () => {
    const one = JSON.parse((await cli(['run', 'tlb-reach', '--pages', '256', '--cpus', '2', ...SMALL, '--json'])).stdout) as RunResult;
    expect(stripHost(full.points[3]!.result)).toBe(stripHost(one));
  });

  it('shards merged give the unsharded result', async () => {
    for (const i of [0, 1, 2]) {
      const r = await cli(['sweep', 'tlb-reach', '--grid', 'pages=16,256', '--grid', 'cpus=1,2', ...SMALL, '--shard', `${i}/3`, '--out', f(`s${i}.json`), '--json']);
      expect(r.code).toBe(0);
      const s = JSON.parse(r.stdout) as SweepResult;
      expect(s.shard).toEqual({ index: i, count: 3 });
      expect(s.points.map((p) => p.index)).toEqual([0, 1, 2, 3].filter((j) => j % 3 === i));
    }
    const m = await cli(['merge', f('s2.json'), f('s0.json'), f('s1.json'), '--json', '--out', f('merged.json')]);
    expect(m.code).toBe(0);
    expect(stripHost(JSON.parse(m.stdout))).toBe(stripHost(full));
    const text = await cli(['merge', f('s0.json'), f('s1.json'), f('s2.json')]);
    expect(text.stdout).toContain('kernsim sweep tlb-reach');
  });

  it('merge refuses missing points, duplicates, other sweeps and single runs', async () => {
    expect(expectUsageError(await cli(['merge', f('s0.json'), f('s1.json')]))).toBe('kernsim: merge: 1 of 4 points missing (2): is a shard left out?');
    expect(expectUsageError(await cli(['merge', f('s0.json'), f('s0.json'), f('s1.json'), f('s2.json')]))).toContain(`point 0 is in both ${f('s0.json')} and ${f('s0.json')}`);
    const other = JSON.parse(readFileSync(f('s1.json'), 'utf8')) as SweepResult;
    other.seed = 9;
    writeFileSync(f('other.json'), JSON.stringify(other));
    expect(expectUsageError(await cli(['merge', f('s0.json'), f('other.json'), f('s2.json')]))).toContain('seed differs');
    writeFileSync(f('run.json'), JSON.stringify(runFixture()));
    expect(expectUsageError(await cli(['merge', f('run.json')]))).toContain('is a single run, not a sweep shard');
  });

  it('a sweep whose points fail their checks exits 1 after printing', async () => {
    const s = sweepFixture();
    s.points[2]!.result.checks = { passed: false, failures: ['lost a page'] };
    writeFileSync(f('failing.json'), JSON.stringify(s));
    const r = await cli(['merge', f('failing.json')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('1 failed');
    expect(r.stderr.trim()).toBe('kernsim: 1 sweep point(s) failed their checks: point 2 ({"cpus":4,"advice":"MADV_DONTNEED"}): lost a page');
  });

  it('grid axes over machine fields, profiles and seeds', async () => {
    const r = await cli(['sweep', 'tlb-reach', '--grid', 'cost.stlb_hit=11,30', '--grid', 'machine=default,desktop-4', '--pages', '256', ...SMALL, '--json', '--jobs', '1']);
    const s = JSON.parse(r.stdout) as SweepResult;
    expect(s.points.map((p) => [p.result.config.cost.stlb_hit, p.result.machine])).toEqual([
      [11, 'default'],
      [11, 'desktop-4'],
      [30, 'default'],
      [30, 'desktop-4'],
    ]);
    const seeds = JSON.parse((await cli(['sweep', 'tlb-reach', '--grid', 'seed=1,2', '--pages', '256', ...SMALL, '--json'])).stdout) as SweepResult;
    expect(seeds.points.map((p) => p.result.seed)).toEqual([1, 2]);
  });

  it('bad sweeps exit 2 before anything runs', async () => {
    expect(expectUsageError(await cli(['sweep', 'tlb-reach']))).toContain('give at least one --grid');
    expect(expectUsageError(await cli(['sweep', 'tlb-reach', '--grid', 'nope=1']))).toContain('--grid nope: expected a parameter of tlb-reach');
    expect(expectUsageError(await cli(['sweep', 'tlb-reach', '--grid', 'pages=1,2', '--pages', '4']))).toBe('kernsim: sweep: --pages is both a flag and a --grid axis');
    expect(expectUsageError(await cli(['sweep', 'tlb-reach', '--grid', 'cpus=1,2', '--cpus', '4']))).toContain('--cpus is both a flag and a --grid axis');
    expect(expectUsageError(await cli(['sweep', 'tlb-reach', '--grid', 'pages=1,2', '--shard', '2/2']))).toContain('--shard: expected I/N with 0 <= I < N, got 2/2');
    expect(expectUsageError(await cli(['sweep', 'tlb-reach', '--grid', 'pages=1,2', '--jobs', '0']))).toContain('--jobs: expected an integer >= 1');
    expect(expectUsageError(await cli(['sweep', 'tlb-reach', '--grid', 'machine=default,nosuch']))).toContain('got "nosuch"');
    expect(expectUsageError(await cli(['sweep', 'tlb-reach', '--grid', 'cache.l1d_kib=32,48']))).toContain('cache.l1d_kib: expected a size giving a power-of-two number of sets');
    expect(expectUsageError(await cli(['sweep', 'nosuch', '--grid', 'x=1']))).toContain('sweep: unknown workload "nosuch"');
  });
});

describe('compare', () => {
  beforeAll(() => {
    writeFileSync(f('ca.json'), JSON.stringify(runFixture()));
    writeFileSync(f('cb.json'), JSON.stringify(runFixture({ simulated_cycles: 6000 })));
    writeFileSync(f('sw.json'), JSON.stringify(sweepFixture()));
  });
  it('two runs side by side, as a table, JSON or Markdown', async () => {
    const t = await cli(['compare', f('ca.json'), f('cb.json')]);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/simulated cycles\s+│\s+3,000\s+│\s+6,000\s+│\s+\+3,000\s+│\s+2\.00x/);
    const j = JSON.parse((await cli(['compare', f('ca.json'), f('cb.json'), '--json'])).stdout) as { kind: string; rows: { name: string; ratio: number }[] };
    expect(j.kind).toBe('run');
    expect(j.rows[0]).toMatchObject({ name: 'simulated cycles', ratio: 2 });
    expect((await cli(['compare', f('ca.json'), f('cb.json'), '--format', 'markdown'])).stdout).toContain('| simulated cycles | 3,000 | 6,000 | +3,000 | 2.00x |');
  });
  it('two sweeps point by point', async () => {
    const t = await cli(['compare', f('sw.json'), f('sw.json')]);
    expect(t.code).toBe(0);
    expect(t.stdout).toContain('cpus=4, advice=MADV_FREE');
  });
  it('refuses a run against a sweep, missing files and non-results', async () => {
    expect(expectUsageError(await cli(['compare', f('ca.json'), f('sw.json')]))).toContain('is a run and');
    expect(expectUsageError(await cli(['compare', f('ca.json'), f('missing.json')]))).toContain('missing.json: cannot read: no such file or directory (ENOENT)');
    writeFileSync(f('notresult.json'), '{"hello": 1}');
    expect(expectUsageError(await cli(['compare', f('ca.json'), f('notresult.json')]))).toContain('notresult.json: kernsim_result: expected a kernsim result');
    expect(expectUsageError(await cli(['compare', f('ca.json')]))).toContain('Not enough non-option arguments');
  });
});

describe('report --point', () => {
  it('renders one point of a sweep, by index or by its axes\' values, in every format', async () => {
    const s = sweepFixture();
    writeFileSync(f('points.json'), JSON.stringify(s));
    const third = s.points[2]!.result;
    const byIndex = await cli(['report', f('points.json'), '--point', '2', '--format', 'json']);
    expect(byIndex.code, byIndex.stderr).toBe(0);
    expect(JSON.parse(byIndex.stdout)).toEqual(third);
    expect(byIndex.stderr).toContain('point 2 of');
    expect(byIndex.stderr).toContain('cpus=4, advice=MADV_DONTNEED');
    // Values as on the command line: case-insensitive, MADV_ optional.
    for (const sel of ['cpus=4,advice=MADV_DONTNEED', 'advice=dontneed,cpus=4', 'cpus=4,advice=madv_dontneed']) {
      expect(JSON.parse((await cli(['report', f('points.json'), '--point', sel, '--format', 'json'])).stdout), sel).toEqual(third);
    }
    for (const format of ['terminal', 'markdown', 'html', 'folded']) {
      const r = await cli(['report', f('points.json'), '--point', 'cpus=4,advice=MADV_DONTNEED', '--format', format]);
      expect(r.code, `${format}: ${r.stderr}`).toBe(0);
      // The run's report, not the sweep's: its workload parameters are those of the point.
      if (format !== 'folded') expect(r.stdout, format).toContain('MADV_DONTNEED');
      expect(r.stdout, format).not.toContain('MADV_FREE');
    }
  });

  it('refuses a selector that names no point, several, or no axis, and --point on a run', async () => {
    writeFileSync(f('points.json'), JSON.stringify(sweepFixture()));
    expect(expectUsageError(await cli(['report', f('points.json'), '--point', 'cpus=4']))).toContain('"cpus=4" matches 2 points');
    expect(expectUsageError(await cli(['report', f('points.json'), '--point', 'cpus=3']))).toContain('no point of');
    expect(expectUsageError(await cli(['report', f('points.json'), '--point', '9']))).toContain('(points: 0 (cpus=1, advice=MADV_DONTNEED); 1');
    expect(expectUsageError(await cli(['report', f('points.json'), '--point', 'threads=2']))).toBe('kernsim: --point: "threads" is not an axis of this sweep (axes: cpus, advice)');
    expect(expectUsageError(await cli(['report', f('points.json'), '--point', 'x']))).toContain('--point: a point index or KEY=VALUE');
    expect(expectUsageError(await cli(['report', f('points.json'), '--point', '1', '--metric', 'pgfault']))).toContain('with --point the report is of one run');
    writeFileSync(f('a-run.json'), JSON.stringify(runFixture()));
    expect(expectUsageError(await cli(['report', f('a-run.json'), '--point', '1']))).toContain('is a single run');
  });
});

describe('report', () => {
  beforeAll(async () => {
    const r = await cli(['run', 'tlb-reach', '--pages', '64', ...SMALL, '--trace', '--out', f('traced.json')]);
    expect(r.code).toBe(0);
    writeFileSync(f('sweep.json'), JSON.stringify(sweepFixture()));
  });
  it('every format of a run', async () => {
    const saved = JSON.parse(readFileSync(f('traced.json'), 'utf8')) as RunResult;
    expect((await cli(['report', f('traced.json')])).stdout).toContain('Where the cycles went');
    expect(JSON.parse((await cli(['report', f('traced.json'), '--format', 'json'])).stdout)).toEqual(saved);
    expect((await cli(['report', f('traced.json'), '--format', 'markdown'])).stdout).toContain('## Where the cycles went');
    expect((await cli(['report', f('traced.json'), '--format', 'html'])).stdout).toContain('data-chart="breakdown"');
    const trace = JSON.parse((await cli(['report', f('traced.json'), '--format', 'perfetto'])).stdout) as { traceEvents: { ph: string; name: string; cat?: string }[] };
    expect(trace.traceEvents.filter((e) => e.ph === 'X' && e.cat === 'task').map((e) => e.name).sort()).toEqual(['tlb-reach', 'tlb-reach/1']);
    // Its system calls and page faults: each mmap, and a fault per page touched.
    const kernel = trace.traceEvents.filter((e) => e.ph === 'X' && e.cat !== 'task');
    expect(kernel.filter((e) => e.cat === 'syscall').length).toBe(saved.counters['syscall_mmap']);
    expect(kernel.filter((e) => e.cat === 'fault').length).toBe(saved.counters['pgfault']);
    const folded = (await cli(['report', f('traced.json'), '--format', 'folded'])).stdout;
    expect(folded).toMatch(/^user:random_loads \d+$/m);
    expect(folded).toMatch(/^syscall:mmap;entry_SYSCALL_64 \d+$/m);
    expect(folded.trim().split('\n').reduce((s, l) => s + Number(l.split(' ').pop()), 0)).toBe(saved.breakdown.inclusive);
  });
  it('every format of a run shows the machine fields changed on the command line', async () => {
    const r = await cli(['run', 'tlb-reach', '--pages', '64', ...SMALL, '--cpus', '2', '--set', 'cost.stlb_hit=11', '--out', f('overridden.json')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/overrides\W+cpus=2, cost\.stlb_hit=11/);
    expect((JSON.parse(readFileSync(f('overridden.json'), 'utf8')) as RunResult).overrides).toEqual({ cpus: 2, 'cost.stlb_hit': 11 });
    expect((await cli(['report', f('overridden.json'), '--format', 'markdown'])).stdout).toContain('| overrides | cpus=2, cost.stlb_hit=11 |');
    expect((await cli(['report', f('overridden.json'), '--format', 'html'])).stdout).toContain('cpus=2, cost.stlb_hit=11');
    expect((await cli(['report', f('traced.json')])).stdout).not.toContain('overrides');
  });
  it('--out writes a file without colour codes', async () => {
    const r = await cli(['report', f('traced.json'), '--out', f('report.txt')], { env: { FORCE_COLOR: '1' } });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    const text = readFileSync(f('report.txt'), 'utf8');
    expect(text).toContain('Where the cycles went');
    expect(text).not.toMatch(/\x1b\[/);
    await cli(['report', f('sweep.json'), '--format', 'html', '--out', f('sweep.html'), '--metric', 'simulated_cycles']);
    expect(readFileSync(f('sweep.html'), 'utf8')).toContain('simulated_cycles against cpus');
  });
  it('sweeps render as tables and curves', async () => {
    expect((await cli(['report', f('sweep.json'), '--format', 'markdown'])).stdout).toContain('| 4 | MADV_FREE | 1,000 |');
    expect((await cli(['report', f('sweep.json'), '--format', 'html'])).stdout).toContain('data-chart="sweep:cpus"');
  });
  it('refusals exit 2 with one line', async () => {
    writeFileSync(f('untraced.json'), JSON.stringify(runFixture()));
    expect(expectUsageError(await cli(['report', f('untraced.json'), '--format', 'perfetto']))).toBe(`kernsim: ${f('untraced.json')}: trace: expected a run recorded with --trace (kernsim run W --trace --out FILE)`);
    expect(expectUsageError(await cli(['report', f('sweep.json'), '--format', 'folded']))).toContain('folded stacks');
    expect(expectUsageError(await cli(['report', f('traced.json'), '--format', 'pdf']))).toBe('kernsim: --format: invalid value "pdf" (allowed: terminal, json, markdown, html, perfetto, folded) (see kernsim report --help)');
  });
  it('--metric: a known metric in short or full form is charted; an unknown one exits 2 with the allowed ones', async () => {
    const full = await cli(['report', f('sweep.json'), '--format', 'html', '--metric', 'figure:records_per_sec']);
    expect(full.code).toBe(0);
    const short = await cli(['report', f('sweep.json'), '--format', 'html', '--metric', 'records_per_sec']);
    expect(short.stdout).toBe(full.stdout);
    expect((await cli(['report', f('sweep.json'), '--format', 'html', '--metric', 'counter:ipi_sent'])).code).toBe(0);
    expect(expectUsageError(await cli(['report', f('sweep.json'), '--format', 'html', '--metric', 'nosuch']))).toBe(
      `kernsim: --metric: unknown metric "nosuch" for ${f('sweep.json')} (allowed: simulated_cycles, simulated_ns, figure:records_per_sec, counter:NAME for any counter the sweep recorded)`,
    );
    expect(expectUsageError(await cli(['report', f('traced.json'), '--metric', 'simulated_cycles']))).toContain('is a single run');
    expect(expectUsageError(await cli(['report', f('nothing.json')]))).toContain('cannot read: no such file or directory (ENOENT)');
  });
});

describe('colour', () => {
  it('is decided by --no-color, --color, NO_COLOR, FORCE_COLOR and the terminal, in that order', () => {
    expect(colorLevel({}, undefined, false)).toBe(0);
    expect(colorLevel({}, undefined, true)).toBe(1);
    expect(colorLevel({ TERM: 'xterm-256color' }, undefined, true)).toBe(2);
    expect(colorLevel({ COLORTERM: 'truecolor' }, undefined, true)).toBe(3);
    expect(colorLevel({ TERM: 'dumb' }, undefined, true)).toBe(0);
    expect(colorLevel({ NO_COLOR: '1' }, undefined, true)).toBe(0);
    expect(colorLevel({ NO_COLOR: '' }, undefined, true)).toBe(1);
    expect(colorLevel({ FORCE_COLOR: '1' }, undefined, false)).toBe(1);
    expect(colorLevel({ FORCE_COLOR: '3' }, undefined, false)).toBe(3);
    expect(colorLevel({ FORCE_COLOR: '0' }, undefined, true)).toBe(0);
    expect(colorLevel({ NO_COLOR: '1', FORCE_COLOR: '1' }, undefined, true)).toBe(0);
    expect(colorLevel({ FORCE_COLOR: '2' }, false, true)).toBe(0);
    expect(colorLevel({ NO_COLOR: '1' }, true, false)).toBe(1);
  });
  it('reaches the output', async () => {
    const args = ['run', 'tlb-reach', '--pages', '16', ...SMALL];
    expect((await cli(args)).stdout).not.toMatch(/\x1b\[/);
    expect((await cli(args, { tty: true })).stdout).toMatch(/\x1b\[/);
    expect((await cli(args, { tty: true, env: { NO_COLOR: '1' } })).stdout).not.toMatch(/\x1b\[/);
    expect((await cli([...args, '--no-color'], { tty: true, env: { FORCE_COLOR: '1' } })).stdout).not.toMatch(/\x1b\[/);
    expect((await cli(args, { env: { FORCE_COLOR: '1' } })).stdout).toMatch(/\x1b\[/);
    expect((await cli([...args, '--color'])).stdout).toMatch(/\x1b\[/);
    // JSON never carries colour.
    expect((await cli([...args, '--json'], { env: { FORCE_COLOR: '3' } })).stdout).not.toMatch(/\x1b\[/);
  });
});

describe('progress', () => {
  const args = ['run', 'tlb-reach', '--pages', '4096', '--loads', '60000', '--threads', '4'];
  it('draws on a terminal stderr', async () => {
    const r = await cli(args, { stderrTty: true });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('\rtlb-reach ');
    expect(r.stderr).toContain('100%');
    expect(r.stderr.endsWith('\r\x1b[K')).toBe(true);
    expect(r.stdout).not.toContain('\r');
  });
  it('stays off in CI, with --json, and when stderr is not a terminal', async () => {
    expect((await cli(args, { stderrTty: true, env: { CI: 'true' } })).stderr).toBe('');
    expect((await cli([...args, '--json'], { stderrTty: true })).stderr).toBe('');
    expect((await cli(args)).stderr).toBe('');
    expect((await cli(['sweep', 'tlb-reach', '--grid', 'pages=16,32', ...SMALL], { stderrTty: true, env: { CI: '1' } })).stderr).toBe('');
  });
  it('shows points done for a sweep', async () => {
    const r = await cli(['sweep', 'tlb-reach', '--grid', 'pages=16,32', ...SMALL], { stderrTty: true });
    expect(r.stderr).toContain('2/2 points');
  });
  it('renders a bar, or an unknown fraction', () => {
    const io = { stdout: { write: () => 0 }, stderr: { write: () => 0, isTTY: true, columns: 80 }, env: {} };
    const p = new Progress(io, new Chalk({ level: 0 }), 'x');
    expect(p.enabled).toBe(true);
    expect(p.render(0.5, 'half')).toBe(`x ${'█'.repeat(15)}${'░'.repeat(15)}  50% half`);
    expect(p.render(NaN, '')).toBe(`x ${'░'.repeat(30)}    ? `);
    // With host time elapsed, the time left at the rate so far.
    expect(p.render(0.25, '2/8 points', 3000)).toBe(`x ${'█'.repeat(8)}${'░'.repeat(22)}  25% 2/8 points, ~9s left`);
    expect(p.render(0.5, 'half', 500)).toBe(`x ${'█'.repeat(15)}${'░'.repeat(15)}  50% half`);
    expect(etaText(0.1, 10_000)).toBe('~1m 30s left');
    expect(etaText(0, 10_000)).toBe('');
    expect(etaText(NaN, 10_000)).toBe('');
    expect(etaText(1, 10_000)).toBe('');
  });
});

describe('demo', () => {
  it('tells its story on one screen and points to the other commands', async () => {
    const r = await cli(['demo']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('kernsim demo:');
    expect(r.stdout).toContain('Next');
    expect(r.stdout).toContain('kernsim sweep');
    expect(r.stdout.split('\n').length).toBeLessThan(50);
    // The story follows the workloads: once alloc-churn exists, DONTNEED against FREE (a rename of its advice values must not silently drop it).
    if (findWorkload('alloc-churn')) {
      expect(pickStory()!.workload.name).toBe('alloc-churn');
      expect(r.stdout).toContain('MADV_DONTNEED versus MADV_FREE');
    }
    const j = JSON.parse((await cli(['demo', '--json'])).stdout) as SweepResult;
    expect(j.kind).toBe('sweep');
    expect(j.points.every((p) => p.result.checks.passed)).toBe(true);
    // It states what it ran, and the run command it names gives the figures of the demo's first row.
    const sweepLine = /= (kernsim sweep .*)/.exec(r.stdout)![1]!;
    for (const [k, v] of Object.entries(j.base)) expect(sweepLine).toContain(`--${k.replace(/_/g, '-')} ${String(v)}`);
    for (const a of j.grid) expect(sweepLine).toContain(`--grid ${a.key}=${a.values.join(',')}`);
    const runLine = /each row is one run: kernsim (run .*)\)/.exec(r.stdout)![1]!;
    const run = JSON.parse((await cli([...runLine.split(' '), '--json'])).stdout) as RunResult;
    expect(run.figures).toEqual(j.points[0]!.result.figures);
  }, 120_000);
});
