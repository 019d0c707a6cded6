/**
 * `kernsim script FILE` runs a syscall script on the simulated kernel;
 * `kernsim conform [PATHS]` runs scripts on the host kernel too and compares
 * the two line by line (spec: syscall-script.md).
 */
import { HostRunnerError, hostRunnerAvailable, packageRoot, runOnHost } from '../../conform/host.js';
import { applyRecordedSettings } from '../../conform/recorded.js';
import { hostSettingsOverlay, readHostKernelSettings } from '../../conform/hostprofile.js';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { MachineConfig } from '../../config/machine.js';
import { applyProfile } from '../../config/profile.js';
import { compareRuns } from '../../workloads/script/compare.js';
import { parseExact } from '../../workloads/script/format.js';
import { hostOutputPath, listScriptFiles, loadScript } from '../../workloads/script/files.js';
import { log, out, readText, toJson, type Ctx } from '../context.js';
import { CheckFailed, UsageError } from '../errors.js';
import { loadMachineConfig } from '../machine.js';
import { simulateScript } from '../scriptsim.js';

/** Where `kernsim conform` looks when given no paths. */
export const CONFORMANCE_DIR = 'test/conformance';

export async function cmdScript(ctx: Ctx, file: string, a: { sim?: boolean; machine?: string; host?: boolean; json?: boolean }): Promise<number> {
  const script = loadScript(file);
  let lines: string[];
  if (a.host) {
    if (!hostRunnerAvailable()) throw new UsageError(`${file}: cannot run on the host: needs Linux and a C compiler (cc)`);
    try {
      lines = await runOnHost(script);
    } catch (err) {
      if (err instanceof HostRunnerError) throw new CheckFailed(err.message);
      throw err;
    }
  } else {
    lines = simulateScript(script, loadMachineConfig(a.machine), a.sim === true);
  }
  // --json: one document (which script, which kernel, the result lines as objects) rather than JSON lines.
  if (a.json) out(ctx, toJson({ script: file, kernel: a.host ? 'host' : 'sim', results: lines.map((l) => parseExact(l)) }));
  else for (const line of lines) out(ctx, line);
  return 0;
}

export interface ConformEntry {
  file: string;
  agree: boolean;
  /** Where the host's lines came from: run now, or the recorded NAME.host.jsonl. */
  host_source: 'live' | 'recorded';
  /** For a difference: index of the first differing line and that line on each side (null: the side has no line there). */
  index?: number;
  host?: string | null;
  sim?: string | null;
  /** The host runner could not run the script (build failure, timeout); counted as a difference. */
  error?: string;
  /** The script is marked timing_dependent: run on both sides, not compared. */
  skipped?: boolean;
}

/**
 * The simulator's config for conformance: the profile with the host's kernel
 * settings merged over it. Compared with recorded outputs, the settings are
 * those recorded with them (`recordedOn`: a recorded-on.host.jsonl), not this
 * machine's.
 */
export function conformConfig(machine?: string, recordedOn?: string): MachineConfig {
  const base = loadMachineConfig(machine);
  if (recordedOn !== undefined && existsSync(recordedOn)) return applyRecordedSettings(base, recordedOn);
  return applyProfile(base, hostSettingsOverlay(readHostKernelSettings()), 'host kernel settings');
}

async function hostLines(file: string, live: boolean): Promise<{ lines: string[]; source: 'live' | 'recorded' }> {
  if (live) return { lines: await runOnHost(loadScript(file)), source: 'live' };
  const rec = hostOutputPath(file);
  if (!existsSync(rec)) throw new UsageError(`${file}: not run on the host (--recorded, or no C compiler) and no recorded output ${rec}`);
  return { lines: readText(rec).split('\n'), source: 'recorded' };
}

/** The suite `conform` runs by default: test/conformance here in a checkout, else the one shipped in the package. */
export function defaultSuiteDir(cwd = process.cwd()): string {
  const here = join(cwd, CONFORMANCE_DIR);
  if (existsSync(here) && existsSync(join(cwd, 'package.json'))) return CONFORMANCE_DIR;
  return join(packageRoot(), CONFORMANCE_DIR);
}

export async function cmdConform(ctx: Ctx, paths: string[], a: { json?: boolean; machine?: string; recorded?: boolean }): Promise<number> {
  const suite = paths.length > 0 ? paths : [defaultSuiteDir()];
  const files = listScriptFiles(suite);
  if (files.length === 0) throw new UsageError(`conform: no scripts in ${suite.join(', ')}`);
  const scripts = files.map((f) => ({ file: f, script: loadScript(f) }));
  const live = !a.recorded && hostRunnerAvailable();
  // Recorded outputs are judged with the settings they were recorded under (one recorded-on file per suite directory).
  const cfgs = new Map<string, MachineConfig>();
  const cfgFor = (file: string): MachineConfig => {
    const dir = live ? '' : dirname(file);
    let c = cfgs.get(dir);
    if (!c) cfgs.set(dir, (c = conformConfig(a.machine, live ? undefined : join(dir, 'recorded-on.host.jsonl'))));
    return c;
  };
  if (!live && !a.recorded) log(ctx, ctx.ce.yellow('conform: no C compiler on this host; comparing with recorded host outputs'));
  const { c } = ctx;
  const entries: ConformEntry[] = [];
  for (const { file, script } of scripts) {
    let host: Awaited<ReturnType<typeof hostLines>>;
    try {
      host = await hostLines(file, live);
    } catch (err) {
      if (!(err instanceof HostRunnerError)) throw err;
      entries.push({ file, agree: false, host_source: 'live', error: err.message });
      if (!a.json) out(ctx, `${c.red('error ')} ${file}: ${err.message}`);
      continue;
    }
    const sim = simulateScript(script, cfgFor(file), false);
    if (script.timingDependent) {
      entries.push({ file, agree: true, host_source: host.source, skipped: true });
      if (!a.json) out(ctx, `${c.yellow('skip  ')} ${file}: timing_dependent (its lines depend on how threads interleave)`);
      continue;
    }
    const r = compareRuns(host.lines, sim);
    const e: ConformEntry = r.agree ? { file, agree: true, host_source: host.source } : { file, agree: false, host_source: host.source, index: r.index, host: r.host, sim: r.sim };
    entries.push(e);
    if (!a.json) {
      if (e.agree) out(ctx, `${c.green('agree ')} ${file}`);
      else {
        out(ctx, `${c.red('differ')} ${file}: line ${e.index}`);
        out(ctx, `  host: ${e.host ?? c.dim('(no line)')}`);
        out(ctx, `  sim:  ${e.sim ?? c.dim('(no line)')}`);
      }
    }
  }
  const differ = entries.filter((e) => !e.agree).length;
  const skipped = entries.filter((e) => e.skipped).length;
  const agree = entries.length - differ - skipped;
  if (a.json) out(ctx, toJson({ agree, differ, ...(skipped > 0 ? { skipped } : {}), scripts: entries }));
  else out(ctx, (differ > 0 ? c.red : c.green)(`${agree} agree, ${differ} differ${skipped > 0 ? `, ${skipped} skipped (timing_dependent)` : ''}`));
  return differ > 0 ? 1 : 0;
}
