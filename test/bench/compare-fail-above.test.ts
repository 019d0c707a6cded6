/** kernsim compare --fail-above PCT: a gate for a user's own runs and sweeps. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFixture, sweepFixture } from '../report/fixtures.js';
import { cli, expectUsageError } from '../cli/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'kernsim-failabove-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const f = (name: string): string => join(dir, name);

describe('compare --fail-above', () => {
  beforeAll(() => {
    const base = runFixture();
    writeFileSync(f('a.json'), JSON.stringify(base));
    // One figure 1% higher, nothing else changed.
    writeFileSync(f('b.json'), JSON.stringify(runFixture({ simulated_cycles: base.simulated_cycles * 1.01 })));
    const sw = sweepFixture();
    writeFileSync(f('s.json'), JSON.stringify(sw));
    const sw2 = sweepFixture();
    sw2.points[1]!.result.counters = { ...sw2.points[1]!.result.counters };
    sw2.points[1]!.result.simulated_cycles *= 2;
    writeFileSync(f('s2.json'), JSON.stringify(sw2));
  });

  it('without the flag, a moved figure still exits 0', async () => {
    expect((await cli(['compare', f('a.json'), f('b.json')])).code).toBe(0);
  });

  it('exits 1 when a figure moved by more than PCT, naming it on stderr; 0 when within', async () => {
    const base = runFixture();
    const over = await cli(['compare', f('a.json'), f('b.json'), '--fail-above', '0.5']);
    expect(over.code).toBe(1);
    expect(over.stdout).toContain('simulated cycles');
    expect(over.stderr).toBe(`compare: 1 figure moved by more than 0.5%:\n  headline: simulated cycles: 3,000 -> ${(base.simulated_cycles * 1.01).toLocaleString('en-US')} (+1.00%)\n`);
    expect((await cli(['compare', f('a.json'), f('b.json'), '--fail-above', '1'])).code).toBe(0);
    expect((await cli(['compare', f('a.json'), f('a.json'), '--fail-above', '0'])).code).toBe(0);
  });

  it('on sweeps, names the grid point that moved', async () => {
    expect((await cli(['compare', f('s.json'), f('s.json'), '--fail-above', '0'])).code).toBe(0);
    const r = await cli(['compare', f('s.json'), f('s2.json'), '--fail-above', '50']);
    expect(r.code).toBe(1);
    const sw = sweepFixture();
    const point = Object.entries(sw.points[1]!.point).map(([k, v]) => `${k}=${v}`).join(', ');
    expect(r.stderr).toContain(`[${point}] headline: simulated cycles`);
    expect(r.stderr).toContain('(+100.00%)');
  });

  it('refuses a bad percentage with one line', async () => {
    expect(expectUsageError(await cli(['compare', f('a.json'), f('b.json'), '--fail-above', 'ten']))).toContain('--fail-above: expected a percentage >= 0, got "ten"');
    expect(expectUsageError(await cli(['compare', f('a.json'), f('b.json'), '--fail-above', '-1']))).toContain('expected a percentage >= 0');
  });
});
