/**
 * A fuzzing campaign: generate random valid scripts (workloads/script/fuzz),
 * run each on the simulator in this process with invariant checks on, and
 * with `host` on the host kernel too, comparing the result lines. A script
 * that fails (an invariant violation or other internal error, a process that
 * never finished, or a difference from the host) is shrunk to a minimal one
 * that fails the same way.
 */
import { runOnHost, HostRunnerError } from '../conform/host.js';
import type { MachineConfig } from '../config/machine.js';
import { compareRuns } from '../workloads/script/compare.js';
import { countOps, generateScript, type GenOptions, type RawScript } from '../workloads/script/fuzz/generate.js';
import { shrinkScript } from '../workloads/script/fuzz/shrink.js';
import { runScript } from '../workloads/script/interp.js';
import { parseScript, ScriptError } from '../workloads/script/parse.js';
import { ConfigError } from '../params/schema.js';

/** What went wrong with one script. */
export type FailureKind = 'internal' | 'hang' | 'invalid' | 'differ';

export interface Outcome {
  kind: 'ok' | FailureKind;
  /** For a failure: one line saying what (the error's message, or the differing lines). */
  message?: string;
  lines?: string[];
}

export interface FuzzFailure {
  index: number;
  kind: FailureKind;
  message: string;
  /** Ops of the generated script and of the shrunk one (fork children included). */
  ops: number;
  minimalOps: number;
  minimal: RawScript;
}

export interface CampaignOptions {
  seed: number;
  scripts: number;
  /** Stop after this many ops (whichever of scripts/ops comes first). */
  ops?: number;
  gen: GenOptions;
  /** The simulator's config for every script (the script's machine block goes over it). */
  cfg: MachineConfig;
  /** Run each script on the host kernel too and compare. */
  host: boolean;
  /** Candidates tried when shrinking one failure. */
  shrinkBudget: number;
  /** Stop at the first failure (after shrinking it). */
  stopAtFirst: boolean;
  /** The host's clock in ms, for throughput only. */
  clock: () => number;
  onScript?: (done: number, ops: number, failures: number) => void;
}

export interface CampaignResult {
  seed: number;
  scripts: number;
  ops: number;
  /** Scripts also run on the host kernel and compared. */
  hostCompared: number;
  simMs: number;
  hostMs: number;
  wallMs: number;
  failures: FuzzFailure[];
}

/** Simulated cycles after which a script's process counts as hung (10 s at 3 GHz; scripts take milliseconds). */
export const HANG_CYCLES = 30_000_000_000;

/** Runs one script on the simulator; never throws. */
export function simOutcome(raw: RawScript, cfg: MachineConfig): Outcome {
  let parsed;
  try {
    parsed = parseScript(JSON.stringify(raw), raw.name);
  } catch (e) {
    return { kind: 'invalid', message: (e as Error).message };
  }
  try {
    const run = runScript(parsed, cfg, { maxCycles: HANG_CYCLES });
    if (!run.finished) return { kind: 'hang', message: `the script's process had not finished after ${HANG_CYCLES} simulated cycles` };
    return { kind: 'ok', lines: run.lines };
  } catch (e) {
    if (e instanceof ConfigError || e instanceof ScriptError) return { kind: 'invalid', message: e.message };
    const err = e as Error;
    return { kind: 'internal', message: `${err.name}: ${err.message}`.split('\n')[0]! };
  }
}

async function hostOutcome(raw: RawScript, sim: Outcome): Promise<Outcome> {
  const parsed = parseScript(JSON.stringify(raw), raw.name);
  let host: string[];
  try {
    host = await runOnHost(parsed);
  } catch (e) {
    if (e instanceof HostRunnerError) return { kind: 'hang', message: `host runner: ${e.message}` };
    throw e;
  }
  const r = compareRuns(host, sim.lines!);
  if (r.agree) return sim;
  return { kind: 'differ', message: `line ${r.index}: host ${r.host ?? '(none)'} / sim ${r.sim ?? '(none)'}` };
}

/** The failure's class, for "fails the same way" while shrinking: its kind and its message without numbers. */
function signature(o: Outcome): string {
  if (o.kind === 'differ') return 'differ';
  return `${o.kind}:${(o.message ?? '').replace(/0x[0-9a-f]+|\d+/g, '#')}`;
}

export async function runCampaign(o: CampaignOptions): Promise<CampaignResult> {
  const res: CampaignResult = { seed: o.seed, scripts: 0, ops: 0, hostCompared: 0, simMs: 0, hostMs: 0, wallMs: 0, failures: [] };
  const t0 = o.clock();
  for (let i = 0; i < o.scripts; i++) {
    if (o.ops !== undefined && res.ops >= o.ops) break;
    const raw = generateScript(o.seed, i, o.gen);
    const n = countOps(raw.ops);
    const ts = o.clock();
    let out = simOutcome(raw, o.cfg);
    res.simMs += o.clock() - ts;
    if (out.kind === 'ok' && o.host) {
      const th = o.clock();
      out = await hostOutcome(raw, out);
      res.hostMs += o.clock() - th;
      res.hostCompared++;
    }
    res.scripts++;
    res.ops += n;
    if (out.kind !== 'ok') {
      const sig = signature(out);
      const fails = (cand: RawScript): boolean => signature(simOutcome(cand, o.cfg)) === sig;
      const shrunk = out.kind === 'differ' ? await shrinkDiffer(raw, o) : shrinkScript(raw, fails, o.shrinkBudget);
      res.failures.push({ index: i, kind: out.kind, message: out.message ?? '', ops: n, minimalOps: countOps(shrunk.script.ops), minimal: shrunk.script });
      if (o.stopAtFirst) {
        o.onScript?.(res.scripts, res.ops, res.failures.length);
        break;
      }
    }
    o.onScript?.(res.scripts, res.ops, res.failures.length);
  }
  res.wallMs = o.clock() - t0;
  return res;
}

/**
 * Shrinks a script that differs from the host. The host runs are
 * asynchronous, so the delta-debugging loop is run with a synchronous
 * predicate over a cache filled by running candidates ahead: each round
 * runs the shrinker once to see which candidates it asks about, runs those
 * on both sides, and repeats until the shrinker asks only about known ones.
 */
async function shrinkDiffer(raw: RawScript, o: CampaignOptions): Promise<{ script: RawScript }> {
  const known = new Map<string, boolean>();
  for (let round = 0; round < 64; round++) {
    const ask: RawScript[] = [];
    const r = shrinkScript(
      raw,
      (cand) => {
        const key = JSON.stringify(cand);
        const k = known.get(key);
        if (k !== undefined) return k;
        ask.push(cand);
        return false;
      },
      o.shrinkBudget,
    );
    if (ask.length === 0) return r;
    for (const cand of ask.slice(0, 32)) {
      const s = simOutcome(cand, o.cfg);
      let differs = false;
      if (s.kind === 'ok') differs = (await hostOutcome(cand, s)).kind === 'differ';
      known.set(JSON.stringify(cand), differs);
    }
  }
  return { script: raw };
}
