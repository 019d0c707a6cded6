/**
 * Bad input is refused with exit 2 and one line, never a stack trace or a
 * silently changed value: numbers a double cannot hold, bounded parameters,
 * cross-field machine checks (the same for profiles and script machine
 * blocks), malformed result files (one schema for report, compare, merge),
 * scripts nested past what a runner can hold.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/machine.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import { current } from '../../src/kernel/sched/task_struct.js';
import type { Task } from '../../src/sim/task.js';
import { MAX_BREAKDOWN_DEPTH } from '../../src/report/schema.js';
import { runWorkload } from '../../src/workloads/run.js';
import type { SweepResult } from '../../src/workloads/result.js';
import type { AnyWorkload } from '../../src/workloads/types.js';
import { MAX_NESTING } from '../../src/workloads/script/parse.js';
import { runFixture, sweepFixture } from '../report/fixtures.js';
import { cli, expectUsageError } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'kernsim-input-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const f = (name: string): string => join(dir, name);
const SMALL = ['--loads', '100', '--threads', '1', '--pages', '16'];

describe('numbers on the command line', () => {
  it('a seed a double cannot hold is refused, not rounded', async () => {
    expect(expectUsageError(await cli(['run', 'tlb-reach', ...SMALL, '--seed', '9007199254740993']))).toContain('--seed: expected an integer from 0 to 2^53 - 1');
    expect(expectUsageError(await cli(['run', 'tlb-reach', ...SMALL, '--seed', '1e20']))).toContain('--seed');
    expect((await cli(['run', 'tlb-reach', ...SMALL, '--seed', '9007199254740991', '--json'])).code).toBe(0);
  });
  it('bounded parameters are refused above what the machine can simulate', async () => {
    expect(expectUsageError(await cli(['run', 'alloc-churn', '--rounds', '1e20']))).toContain('--rounds: expected an integer from 1 to 10000000');
    expect(expectUsageError(await cli(['run', 'inotify-churn', '--chunk', '4294967296']))).toContain('--chunk');
  });
});

describe('cross-field machine checks', () => {
  it('refuses an LLC smaller than L2 and RAM below the watermarks', async () => {
    expect(expectUsageError(await cli(['run', 'tlb-reach', ...SMALL, '--set', 'cache.llc_kib=512']))).toContain('cache.llc_kib: expected at least cache.l2_kib (1024)');
    expect(expectUsageError(await cli(['run', 'tlb-reach', ...SMALL, '--set', 'ram_mib=8']))).toContain('kernel.min_free_kbytes: expected a high watermark');
    expect((await cli(['run', 'tlb-reach', ...SMALL, '--set', 'ram_mib=16', '--json'])).code).toBe(0);
  });
  it('a script machine block gets the checks a profile gets', async () => {
    const script = (machine: unknown): string => {
      const file = f(`m${Math.random().toString(36).slice(2)}.json`);
      writeFileSync(file, JSON.stringify({ kernsim_script: 1, machine, ops: [{ op: 'getrlimit', resource: 'NOFILE' }] }));
      return file;
    };
    expect(expectUsageError(await cli(['script', script({ kernel: { nofile_soft: 5000 } })]))).toContain('kernel.nofile_soft: expected at most kernel.nofile_hard (4096)');
    expect(expectUsageError(await cli(['script', script({ cache: { l1d_kib: 48 } })]))).toContain('cache.l1d_kib: expected a size giving a power-of-two number of sets');
    expect(expectUsageError(await cli(['script', script({ tlb: { l1_entries: 64, l1_ways: 3 } })]))).toContain('tlb.l1_entries: expected a multiple of its associativity (3)');
    expect((await cli(['script', script({ kernel: { nofile_soft: 100 } })])).stdout).toContain('"cur":100');
  });
});

describe('scripts nested past what a runner can hold', () => {
  it('deep forks and deeply nested lists are refused with one line', async () => {
    let ops: unknown[] = [{ op: 'getrlimit', resource: 'NOFILE' }];
    for (let i = 0; i < 1000; i++) ops = [{ op: 'fork', ops }];
    writeFileSync(f('deep.json'), JSON.stringify({ kernsim_script: 1, ops }));
    expect(expectUsageError(await cli(['script', f('deep.json')]))).toContain(`expected op lists nested at most ${MAX_NESTING} deep`);
    writeFileSync(f('nested.json'), `{"kernsim_script":1,"ops":${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
    expect(expectUsageError(await cli(['script', f('nested.json')]))).toContain('ops[0]: expected an op object, got [[...]]');
    ops = [{ op: 'getrlimit', resource: 'NOFILE' }];
    for (let i = 0; i < MAX_NESTING; i++) ops = [{ op: 'fork', ops }];
    writeFileSync(f('ok.json'), JSON.stringify({ kernsim_script: 1, ops }));
    expect((await cli(['script', f('ok.json')])).code).toBe(0);
  });
});

describe('result files: one schema for report, compare and merge', () => {
  const bad: [string, (r: Record<string, unknown>) => void, string][] = [
    ['breakdown', (r) => (r['breakdown'] = { name: 'all', inclusive: 1 }), 'breakdown.exclusive: expected a finite number >= 0'],
    ['breakdown children', (r) => (r['breakdown'] = { name: 'all', inclusive: 1, exclusive: 0, children: [7] }), 'breakdown.children[0]: expected a breakdown node'],
    ['cpu', (r) => (r['cpus'] = [{ cpu: 0, busy: 'x', idle: 0 }]), 'cpus[0].busy: expected a finite number >= 0'],
    ['latency', (r) => (r['latency'] = { read: { count: 1 } }), 'latency.read.min: expected a finite number >= 0'],
    ['counter', (r) => (r['counters'] = { pgfault: null }), 'counters.pgfault: expected a finite number'],
    ['figure', (r) => (r['figures'] = { ops: '7' }), 'figures.ops: expected a finite number'],
  ];
  for (const [what, spoil, message] of bad) {
    it(`a malformed ${what} is refused before rendering`, async () => {
      const r = runFixture() as unknown as Record<string, unknown>;
      spoil(r);
      writeFileSync(f('bad.json'), JSON.stringify(r));
      writeFileSync(f('good.json'), JSON.stringify(runFixture()));
      expect(expectUsageError(await cli(['report', f('bad.json')]))).toContain(`kernsim: ${f('bad.json')}: ${message}`);
      expect(expectUsageError(await cli(['compare', f('good.json'), f('bad.json')]))).toContain(message);
    });
  }
  it('a breakdown deeper than the schema allows is refused, not a stack overflow', async () => {
    let node = '{"name":"x","inclusive":1,"exclusive":1,"children":[]}';
    for (let i = 0; i < 20_000; i++) node = `{"name":"x","inclusive":1,"exclusive":0,"children":[${node}]}`;
    writeFileSync(f('deep.json'), JSON.stringify({ ...runFixture(), breakdown: 0 }).replace('"breakdown":0', `"breakdown":${node}`));
    expect(expectUsageError(await cli(['report', f('deep.json'), '--format', 'folded']))).toContain(`breakdown: expected a tree at most ${MAX_BREAKDOWN_DEPTH} levels deep`);
  });
  it('merge checks each shard against the same schema', async () => {
    const s = sweepFixture() as unknown as { points: { result: Record<string, unknown> }[] };
    s.points[1]!.result['latency'] = { read: { count: 1, min: 0, p50: 0, p90: 0, p99: 0, max: 0, mean: 0, hist: [{ le: 'x', count: 1 }] } };
    writeFileSync(f('badsweep.json'), JSON.stringify(s));
    expect(expectUsageError(await cli(['merge', f('badsweep.json')]))).toContain('points[1].result.latency.read.hist[0].le: expected a finite number >= 0');
  });
});

describe('merge', () => {
  it('accepts shards whose first points differ in seed or machine', async () => {
    const args = ['sweep', 'tlb-reach', ...SMALL, '--grid', 'cpus=1,2', '--grid', 'seed=1,2', '--grid', 'machine=default,desktop-4', '--jobs', '1'];
    const all = JSON.parse((await cli([...args, '--json'])).stdout) as SweepResult;
    for (const i of [0, 1, 2]) expect((await cli([...args, '--shard', `${i}/3`, '--out', f(`sh${i}.json`), '--json'])).code).toBe(0);
    // Shard 1 starts at point 1 (seed 1, desktop-4), shard 2 at point 2 (seed 2).
    const m = await cli(['merge', f('sh0.json'), f('sh1.json'), f('sh2.json'), '--json']);
    expect(m.code).toBe(0);
    const merged = JSON.parse(m.stdout) as SweepResult;
    const strip = (s: SweepResult): string => JSON.stringify(s, (k, v: unknown) => (k === 'host' ? undefined : v));
    expect(strip(merged)).toBe(strip(all));
    expect(JSON.parse(readFileSync(f('sh1.json'), 'utf8')).seed).toBe(all.seed);
  });
});

describe('sim.checks', () => {
  /** A workload that breaks an mm invariant (map_count) once its process has run. */
  const breaker: AnyWorkload = {
    name: 'breaker',
    summary: 'breaks map_count',
    description: 'breaks map_count',
    params: {},
    setup(k: Kernel) {
      k.spawnProcess('breaker', function* (t: Task) {
        const mm = current(t).mm!;
        mm.mapCount += 1;
        // Long enough for a check between chunks to see it; put right before exit tears the mm down.
        yield t.sleepFor(1_000_000);
        mm.mapCount -= 1;
        yield* k.exit(t, current(t));
      }, { cpu: 0 });
    },
    check: () => [],
  } as unknown as AnyWorkload;

  it('kernsim run honours sim.checks (off: the violation goes unseen; on: it is an internal error)', () => {
    const off = defaultConfig();
    expect(() => runWorkload(breaker, {}, off)).not.toThrow();
    const on = defaultConfig();
    on.sim.checks = true;
    expect(() => runWorkload(breaker, {}, on)).toThrow(/map_count/);
  });
  it('a workload runs to its end with checks on, and the result says so', async () => {
    const r = await cli(['run', 'alloc-churn', '--rounds', '5', '--set', 'sim.checks=true', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).config.sim.checks).toBe(true);
  });
});
