/**
 * `kernsim fuzz`: a seeded campaign of random valid syscall scripts on the
 * simulator with invariant checks on (and with --host on the host kernel
 * too); failures are shrunk and written out as scripts `kernsim script`
 * runs again.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { hostRunnerAvailable } from '../../conform/host.js';
import { MACHINE_VARIANTS } from '../../workloads/script/fuzz/generate.js';
import { out, toJson, writeText, type Ctx } from '../context.js';
import { CheckFailed, UsageError } from '../errors.js';
import { runCampaign, type CampaignResult } from '../fuzz.js';
import { loadMachineConfig } from '../machine.js';
import { conformConfig } from './script.js';

export interface FuzzArgs {
  seed?: unknown;
  scripts?: unknown;
  ops?: unknown;
  maxOps?: unknown;
  host?: boolean;
  variants?: unknown;
  out?: string;
  json?: boolean;
  keepGoing?: boolean;
  machine?: string;
}

function count(v: unknown, flag: string, min: number, max: number, def: number): number {
  if (v === undefined) return def;
  const s = String(v).trim().replace(/_/g, '');
  const n = /^[0-9]+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`--${flag}: expected an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return n;
}

export async function cmdFuzz(ctx: Ctx, a: FuzzArgs): Promise<number> {
  const seed = count(a.seed, 'seed', 0, 2 ** 32 - 1, 1);
  const scripts = count(a.scripts, 'scripts', 1, 1e9, 100);
  const ops = a.ops === undefined ? undefined : count(a.ops, 'ops', 1, 1e12, 0);
  const maxOps = count(a.maxOps, 'max-ops', 1, 1000, 40);
  const host = a.host === true;
  if (host && !hostRunnerAvailable()) throw new UsageError('fuzz --host: no C compiler (cc) on this host to build the host runner');
  const names = a.variants === undefined ? (host ? [] : Object.keys(MACHINE_VARIANTS)) : String(a.variants).split(',').map((v) => v.trim()).filter((v) => v !== '');
  for (const v of names) if (!(v in MACHINE_VARIANTS)) throw new UsageError(`--variants: expected names from ${Object.keys(MACHINE_VARIANTS).join(', ')}, got "${v}"`);
  if (host && names.some((v) => v !== 'default')) throw new UsageError('fuzz --host: machine variants apply to the simulator only; the host kernel runs as it is (leave out --variants)');
  // Against the host, the simulator takes the host's kernel settings, as kernsim conform does.
  const cfg = host ? conformConfig(a.machine) : loadMachineConfig(a.machine);
  const r = await runCampaign({
    seed,
    scripts,
    ops,
    gen: { maxOps, variants: names, checks: true, exhaust: !host },
    cfg,
    host,
    shrinkBudget: 300,
    stopAtFirst: a.keepGoing !== true,
    clock: () => performance.now(),
  });
  const dir = a.out ?? 'fuzz-failures';
  const files: string[] = [];
  if (r.failures.length > 0) {
    mkdirSync(dir, { recursive: true });
    for (const f of r.failures) {
      const file = join(dir, `${f.minimal.name}.json`);
      writeText(file, JSON.stringify(f.minimal, null, 1) + '\n');
      files.push(file);
    }
  }
  if (a.json) out(ctx, toJson({ ...r, files }));
  else printSummary(ctx, r, files);
  if (r.failures.length > 0) throw new CheckFailed(`fuzz: ${r.failures.length} failing script(s); minimal ones in ${dir}/`);
  return 0;
}

function printSummary(ctx: Ctx, r: CampaignResult, files: string[]): void {
  const s = (ms: number): string => (ms / 1000).toFixed(1);
  const rate = r.simMs > 0 ? Math.round((r.ops / r.simMs) * 1000) : 0;
  out(ctx, `fuzz seed ${r.seed}: ${r.scripts} scripts, ${r.ops} ops in ${s(r.wallMs)} s; simulator ${rate} ops/s (${s(r.simMs)} s)${r.hostCompared > 0 ? `; ${r.hostCompared} compared with the host kernel (${s(r.hostMs)} s)` : ''}`);
  r.failures.forEach((f, k) => {
    out(ctx, `${ctx.c.red(f.kind.padEnd(8))} script ${f.index}: ${f.message}`);
    out(ctx, `         shrunk from ${f.ops} to ${f.minimalOps} ops: ${files[k]}`);
  });
  out(ctx, r.failures.length === 0 ? ctx.c.green('no violation, internal error, hang or difference') : ctx.c.red(`${r.failures.length} failing script(s)`));
}
