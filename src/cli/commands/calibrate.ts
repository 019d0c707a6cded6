/**
 * `kernsim calibrate --out FILE`: measures this host's primitive costs with
 * timed syscall scripts and writes a machine profile for it, every field
 * with its source (src/conform/calibrate.ts). Refuses, with one line, where
 * it cannot measure: not Linux, no C compiler, one CPU.
 */
import { cpus } from 'node:os';
import { calibrate, type Calibration } from '../../conform/calibrate.js';
import { hostRunnerAvailable } from '../../conform/host.js';
import { fmt, spreadText } from '../../conform/measure.js';
import { log, out, toJson, writeText, type Ctx } from '../context.js';
import { UsageError } from '../errors.js';

export interface CalibrateArgs {
  out: string;
  json?: boolean;
}

/** Why this host cannot be calibrated, or undefined when it can. */
export function cannotCalibrate(): string | undefined {
  if (process.platform !== 'linux') return `needs Linux (this host runs ${process.platform})`;
  if (!hostRunnerAvailable()) return 'needs a C compiler (cc) to build the host runner';
  if (cpus().length < 2) return 'needs at least two CPUs (the IPI round trip is measured with a thread spinning on a second CPU)';
  return undefined;
}

export function renderCalibration(cal: Calibration): string {
  const lines = [`${cal.host.model}, ${cal.host.cpus.value} CPUs, ${cal.host.kernel}${cal.host.hypervisor ? `, virtual machine (${cal.host.hypervisor.value})` : ''}`, ''];
  const rows = cal.rows.map((r) => [r.bench, fmt(r.host.median), spreadText(r.host), String(r.host.n), r.field ?? '', r.value !== undefined ? String(r.value) : '', r.sim_ns !== undefined ? fmt(r.sim_ns) : '']);
  const head = ['benchmark', 'host ns', 'spread', 'n', 'sets', 'value', 'sim ns'];
  const w = head.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k]!.length)));
  for (const r of [head, ...rows]) lines.push(r.map((c, k) => (k === 1 || k === 3 || k >= 5 ? c.padStart(w[k]!) : c.padEnd(w[k]!))).join('  ').trimEnd());
  if (cal.skipped.length > 0) lines.push('', 'not set (the default stays):', ...cal.skipped.map((s) => `  ${s}`));
  return lines.join('\n');
}

export async function cmdCalibrate(ctx: Ctx, a: CalibrateArgs): Promise<number> {
  const why = cannotCalibrate();
  if (why) throw new UsageError(`calibrate: cannot measure on this host: ${why}`);
  // The date is host data for the profile's sources, read here in the CLI (never inside the simulation).
  const date = new Date().toISOString().slice(0, 10);
  const cal = await calibrate({ date, log: (l) => log(ctx, ctx.ce.dim(l)) });
  writeText(a.out, toJson(cal.profile));
  if (a.json) out(ctx, toJson({ out: a.out, rows: cal.rows, skipped: cal.skipped, profile: cal.profile }));
  else out(ctx, `${renderCalibration(cal)}\n\nwrote ${a.out} (use it with --machine ${a.out}; kernsim validate --host ${a.out} checks it)`);
  return 0;
}
