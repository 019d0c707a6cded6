/**
 * kernsim validate --host: the held-out experiments judged by shape. A host
 * that is the simulator itself agrees exactly; one whose shootdown costs
 * differ shows the deviation on the shapes that depend on it, and only
 * those. None of the experiments is a calibrate benchmark.
 */
import { describe, expect, it } from 'vitest';
import { CALIBRATE_BENCHES } from '../../src/conform/calibrate.js';
import { HOST_EXPERIMENTS, validateOnHost } from '../../src/conform/hostvalidate.js';
import { simSamples } from '../../src/conform/measure.js';
import { defaultConfig } from '../../src/config/machine.js';
import { renderHostValidation } from '../../src/cli/commands/validate-host.js';
import { cli, expectUsageError } from '../cli/helpers.js';

const plain = { green: (s: string) => s, red: (s: string) => s, bold: (s: string) => s, dim: (s: string) => s };

describe('validate --host', () => {
  it('has the experiments the issue names, none of them a calibrate benchmark', () => {
    expect(HOST_EXPERIMENTS.map((e) => e.id)).toEqual(['dontneed-touch-threads', 'dontneed-per-page', 'alloc-loop', 'munmap-others', 'fork-cow', 'fd-table-growth']);
    const calibrate = new Set(CALIBRATE_BENCHES.map((b) => b.id));
    for (const e of HOST_EXPERIMENTS) for (const c of e.curves) for (const p of c.points) expect(calibrate.has(p.bench.id), p.bench.id).toBe(false);
    expect(HOST_EXPERIMENTS.find((e) => e.id === 'dontneed-per-page')!.curves[0]!.points.map((p) => p.x)).toEqual(['1024', '1', '8', '33', '34', '64']);
  });

  it('a host that is the simulator on the same profile agrees on every shape; a slower IPI shows as the shootdown ratio falling short', async () => {
    const cfg = defaultConfig();
    cfg.cpus = 2;
    const filter = ['dontneed-touch', 'munmap-others'];
    const same = await validateOnHost(cfg, 'p.json', { filter, measure: async (b) => simSamples(b, cfg) });
    expect(same.passed).toBe(true);
    for (const e of same.experiments) for (const c of e.curves) for (const p of c.points) expect(p.deviation).toBe(0);

    const slowIpi = structuredClone(cfg);
    slowIpi.cost.ipi_latency = cfg.cost.ipi_latency * 20;
    const v = await validateOnHost(cfg, 'p.json', { filter, measure: async (b) => simSamples(b, slowIpi) });
    const shape = (id: string) => v.experiments.find((e) => e.id === id)!.curves[0]!.points[1]!.shape_deviation!;
    // The host's 2-thread point costs more, so the simulated ratio falls short of it.
    expect(shape('dontneed-touch-threads')).toBeLessThan(-0.3);
    expect(v.passed).toBe(false);
    const text = renderHostValidation(v, plain);
    expect(text).toContain('OUTSIDE');
    expect(text).toMatch(/outside ±30%/);
  }, 120_000);

  it('refuses a profile that does not load, with one line', async () => {
    const line = expectUsageError(await cli(['validate', '--host', '/nonexistent/host.json']));
    expect(line).toContain('host.json');
  });
});
