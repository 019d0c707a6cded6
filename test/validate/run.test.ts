import { describe, expect, it } from 'vitest';
import { cmdValidate, loadProfile } from '../../src/cli/commands/validate.js';
import { exitCodeFor } from '../../src/cli/main.js';
import { makeChalk } from '../../src/cli/io.js';
import type { Ctx } from '../../src/cli/context.js';
import { defaultConfig } from '../../src/config/machine.js';
import { judgeCurve, runExperiment, runValidation, selectExperiments } from '../../src/validate/run.js';
import { defineExperiment, type Experiment } from '../../src/validate/types.js';
import { cli, expectUsageError } from '../cli/helpers.js';

/** An experiment whose simulated values are given, on the default profile. */
function fake(id: string, published: number[], simulated: number[], point?: number): Experiment {
  return defineExperiment({
    id,
    title: id,
    source: 'test',
    hardware: 'none',
    profile: 'default',
    unit: 'ns',
    x: 'n',
    curves: [{ label: 'c', points: published.map((value, i) => ({ x: i + 1, value })) }],
    tolerance: { point, why: 'test' },
    notes: '',
    simulate: () => [simulated],
  });
}

function ctx(): { ctx: Ctx; text: () => string } {
  let s = '';
  const io = { stdout: { write: (t: string) => (s += t), isTTY: false }, stderr: { write: () => true, isTTY: false }, env: {} };
  const chalk = makeChalk(0);
  return { ctx: { io, c: chalk, ce: chalk } as unknown as Ctx, text: () => s };
}

describe('validate: deviations', () => {
  it('gives each point simulated / published - 1 and each shape relative to the curve\'s first point', () => {
    const c = judgeCurve({ label: 'c', points: [{ x: 1, value: 100 }, { x: 2, value: 200 }, { x: 4, value: 400 }] }, [150, 300, 900], { why: '' });
    expect(c.points.map((p) => p.deviation)).toEqual([0.5, 0.5, 1.25]);
    // 300/150 = 2 against 200/100 = 2: no shape error; 900/150 = 6 against 4: +50%.
    expect(c.points.map((p) => p.shape_deviation)).toEqual([null, 0, 0.5]);
    expect(c.points.map((p) => p.shape_ok)).toEqual([null, true, false]);
    // Points are not judged unless the experiment gives a point tolerance.
    expect(c.points.map((p) => p.point_ok)).toEqual([null, null, null]);
  });

  it('judges points against tolerance.point and shapes against tolerance.shape (default ±30%)', () => {
    const c = judgeCurve({ label: 'c', points: [{ x: 1, value: 100 }, { x: 2, value: 100 }] }, [125, 95], { point: 0.2, why: '' });
    expect(c.points.map((p) => p.point_ok)).toEqual([false, true]);
    // 95/125 = 0.76: -24%, inside the default ±30%.
    expect(c.points[1]!.shape_deviation).toBeCloseTo(-0.24, 12);
    expect(c.points[1]!.shape_ok).toBe(true);
  });

  it('refuses a simulate() that gives a different number of points than were published', () => {
    expect(() => runExperiment(fake('x', [1, 2], [1]), loadProfile)).toThrow(/2 published points but simulate\(\) gave 1/);
  });

  it('passes an experiment only when every judged point and shape is within tolerance', () => {
    const v = runValidation([fake('good', [100, 200], [110, 215]), fake('bad', [100, 200], [100, 300])], loadProfile);
    expect(v.experiments.map((r) => r.passed)).toEqual([true, false]);
    expect(v.passed).toBe(false);
  });

  it('selects experiments by any --filter text contained in the id', () => {
    const all = [fake('a-rcu', [1], [1]), fake('b-tlb', [1], [1]), fake('c-rcu-exp', [1], [1])];
    expect(selectExperiments(all, ['rcu']).map((e) => e.id)).toEqual(['a-rcu', 'c-rcu-exp']);
    expect(selectExperiments(all, []).map((e) => e.id)).toEqual(['a-rcu', 'b-tlb', 'c-rcu-exp']);
  });

  it('hands simulate() the profile\'s machine with the experiment\'s overrides merged and checked', () => {
    let seen = 0;
    const e = { ...fake('m', [1], [1]), simulate: (s: { machine(o?: Record<string, unknown>): { cpus: number } }) => [[(seen = s.machine({ cpus: 7 }).cpus)]] };
    runExperiment(e as Experiment, loadProfile);
    expect(seen).toBe(7);
    expect(() => runExperiment({ ...e, simulate: (s) => [[s.machine({ cpus: 0 }).cpus]] } as Experiment, loadProfile)).toThrow(/cpus/);
    expect(defaultConfig().cpus).toBe(4);
  });
});

describe('kernsim validate', () => {
  it('exits 1 when an experiment is outside its tolerance, after printing simulated beside published', () => {
    const { ctx: c, text } = ctx();
    let code = 0;
    try {
      cmdValidate(c, {}, [fake('good', [100, 200], [110, 215]), fake('bad', [100, 200], [100, 300])]);
    } catch (e) {
      code = exitCodeFor(e);
    }
    expect(code).toBe(1);
    expect(text()).toContain('bad');
    expect(text()).toMatch(/c\s+2\s+200\s+300\s+\+50\.0%\s+\+50\.0%\s+outside/);
    expect(text()).toContain('1 of 2 experiment(s) outside tolerance: bad');
  });

  it('exits 0 and prints JSON with every point for experiments within tolerance', () => {
    const { ctx: c, text } = ctx();
    expect(cmdValidate(c, { json: true }, [fake('good', [100, 200], [110, 215])])).toBe(0);
    const v = JSON.parse(text());
    expect(v.passed).toBe(true);
    expect(v.experiments[0].curves[0].points[1]).toMatchObject({ x: 2, published: 200, simulated: 215, deviation: 215 / 200 - 1 });
  });

  it('a --filter that matches nothing is bad input: exit 2, one line', async () => {
    const line = expectUsageError(await cli(['validate', '--filter', 'no-such-experiment']));
    expect(line).toContain('matches no experiment');
  });

  it('--list names the experiments without running them', async () => {
    const r = await cli(['validate', '--list']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('hansen2017-null-syscall');
  });
});
