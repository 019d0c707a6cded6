/**
 * `kernsim validate --host FILE`: held-out composite experiments run on this
 * host and on the simulator with the calibrated profile FILE, host beside
 * simulated with each shape's deviation (src/conform/hostvalidate.ts); exit 1
 * when a shape is outside ±30%.
 */
import { fmt, spreadText } from '../../conform/measure.js';
import { validateOnHost, type HostValidateResult } from '../../conform/hostvalidate.js';
import { log, out, toJson, type Ctx } from '../context.js';
import { CheckFailed, UsageError } from '../errors.js';
import { loadMachineConfig } from '../machine.js';
import { cannotCalibrate } from './calibrate.js';

const pct = (d: number | null): string => (d === null ? '' : `${d >= 0 ? '+' : ''}${(100 * d).toFixed(1)}%`);

export function renderHostValidation(v: HostValidateResult, paint: { green(s: string): string; red(s: string): string; bold(s: string): string; dim(s: string): string }): string {
  const lines: string[] = [`profile ${v.profile}; shapes judged within ±${Math.round(v.tolerance * 100)}% (each point relative to its curve's first)`, ''];
  for (const e of v.experiments) {
    lines.push(`${paint.bold(e.id)}  ${e.title} (${e.unit})  ${e.passed ? paint.green('within') : paint.red('outside')}`);
    const rows: string[][] = [];
    for (const c of e.curves) {
      for (const p of c.points) {
        rows.push([c.label, p.x, fmt(p.host.median), spreadText(p.host).replace(/ ns/, ''), fmt(p.sim), pct(p.deviation), pct(p.shape_deviation), p.shape_ok === null ? '' : p.shape_ok ? 'within' : 'OUTSIDE']);
      }
    }
    const head = ['curve', 'x', 'host', 'host spread', 'sim', 'sim/host', 'shape', ''];
    const w = head.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k]!.length)));
    for (const r of [head, ...rows]) lines.push(`  ${r.map((c, k) => (k >= 2 && k !== 3 ? c.padStart(w[k]!) : c.padEnd(w[k]!))).join('  ').trimEnd()}`);
    lines.push(`  ${paint.dim(e.notes)}`, '');
  }
  const bad = v.experiments.filter((e) => !e.passed).length;
  lines.push(bad === 0 ? paint.green(`${v.experiments.length} experiments within ±${Math.round(v.tolerance * 100)}%`) : paint.red(`${bad} of ${v.experiments.length} experiments outside ±${Math.round(v.tolerance * 100)}%`));
  return lines.join('\n');
}

export async function cmdValidateHost(ctx: Ctx, file: string, a: { json?: boolean; filter?: string[] }): Promise<number> {
  const why = cannotCalibrate();
  if (why) throw new UsageError(`validate --host: cannot measure on this host: ${why}`);
  const cfg = loadMachineConfig(file);
  const v = await validateOnHost(cfg, file, { filter: a.filter, log: (l) => log(ctx, ctx.ce.dim(l)) });
  out(ctx, a.json ? toJson(v) : renderHostValidation(v, ctx.c));
  if (!v.passed) {
    const bad = v.experiments.filter((e) => !e.passed).map((e) => e.id);
    throw new CheckFailed(`validate --host: outside ±${Math.round(v.tolerance * 100)}%: ${bad.join(', ')}`, bad);
  }
  return 0;
}
