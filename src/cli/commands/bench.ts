/**
 * `kernsim bench`: the fixed suite of simulated-cost scenarios (every
 * built-in workload at a small size, then focused kernel paths), written as
 * one document, checked against a committed baseline, or blessed into it.
 */
import { existsSync } from 'node:fs';
import { BaselineError, checkBench, parseBenchDoc, updatedBaseline, type CheckReport } from '../../bench/check.js';
import { ScenarioFailed } from '../../bench/focused.js';
import { allScenarios, runSuite } from '../../bench/suite.js';
import type { BenchDoc } from '../../bench/types.js';
import { BENCH_FORMATS, benchBencher, benchGithub, benchMarkdown, benchTerminal, checkTerminal, type BenchFormat } from '../../report/bench.js';
import { log, out, readText, toJson, writeText, type Ctx } from '../context.js';
import { CheckFailed, UsageError } from '../errors.js';
import { buildConfig, readMachineFlags } from '../options.js';
import { Progress } from '../progress.js';

export interface BenchArgs {
  filter?: string;
  list?: boolean;
  check?: string;
  update?: boolean;
  hostTolerance?: unknown;
  format?: string;
  json?: boolean;
  out?: string;
  machine?: string;
  set?: unknown;
  [flag: string]: unknown;
}

function parseFilter(text: string | undefined): RegExp | undefined {
  if (text === undefined) return undefined;
  try {
    return new RegExp(text);
  } catch (e) {
    throw new UsageError(`bench: --filter: expected a regular expression, got "${text}" (${(e as Error).message})`);
  }
}

function parseHostTolerance(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v === '' || !Number.isFinite(n) || n < 0) throw new UsageError(`bench: --host-tolerance: expected a percentage >= 0, got "${String(v)}"`);
  return n;
}

function render(doc: BenchDoc, format: BenchFormat, check: CheckReport | null, baseline: BenchDoc | null, ctx: Ctx): string {
  switch (format) {
    case 'json':
      return toJson(doc);
    case 'github':
      return toJson(benchGithub(doc));
    case 'bencher':
      return toJson(benchBencher(doc));
    case 'markdown':
      return benchMarkdown(doc, check, baseline);
    default:
      return benchTerminal(doc, ctx.c);
  }
}

export function cmdBench(ctx: Ctx, a: BenchArgs): number {
  const filter = parseFilter(a.filter);
  if (a.list) {
    const chosen = allScenarios().filter((s) => !filter || filter.test(s.name));
    const width = Math.max(...chosen.map((s) => s.name.length), 8);
    out(ctx, chosen.map((s) => `${s.name.padEnd(width)}  ${s.summary}`).join('\n'));
    return 0;
  }
  const format = (a.json ? 'json' : (a.format ?? (a.out ? 'json' : 'terminal'))) as BenchFormat;
  if (!BENCH_FORMATS.includes(format)) throw new UsageError(`bench: --format: expected one of ${BENCH_FORMATS.join(', ')}, got "${format}"`);
  if (a.update && !a.check) throw new UsageError('bench: --update needs --check FILE, the baseline to rewrite (e.g. --check bench/baseline.json --update)');
  const hostTolerance = parseHostTolerance(a.hostTolerance);
  if (hostTolerance !== undefined && !a.check) throw new UsageError('bench: --host-tolerance needs --check FILE');

  let baseline: BenchDoc | null = null;
  if (a.check && !(a.update && !existsSync(a.check))) {
    try {
      baseline = parseBenchDoc(readText(a.check), a.check);
    } catch (e) {
      if (e instanceof BaselineError) throw new UsageError(e.message);
      throw e;
    }
  }

  const choice = readMachineFlags(a);
  const cfg = buildConfig(choice);
  if (baseline && baseline.machine !== cfg.name) {
    throw new UsageError(`bench: ${a.check} was written on machine "${baseline.machine}", this run uses "${cfg.name}" (give --machine ${baseline.machine})`);
  }
  const overrides = choice.fields && Object.keys(choice.fields).length > 0 ? { ...choice.fields } : undefined;
  const bar = new Progress(ctx.io, ctx.ce, 'bench', { json: format !== 'terminal' && !a.out });
  let doc: BenchDoc;
  try {
    doc = runSuite(cfg, {
      filter,
      overrides,
      hostClock: () => performance.now(),
      onScenario: bar.enabled ? (i, n, name) => bar.update(i / n, `${i + 1}/${n} ${name}`, true) : undefined,
    });
  } catch (e) {
    bar.done();
    if (e instanceof ScenarioFailed) throw new CheckFailed(e.message, e.failures);
    throw e;
  }
  bar.done();
  if (Object.keys(doc.scenarios).length === 0) throw new UsageError(`bench: --filter "${a.filter}" matches no scenario (kernsim bench --list shows them)`);

  if (a.update) {
    const next = updatedBaseline(baseline, doc, filter !== undefined);
    writeText(a.check!, toJson(next));
    log(ctx, `bench: wrote ${a.check} (${Object.keys(doc.scenarios).length} scenarios; tolerances kept)`);
    if (a.out) writeText(a.out, render(doc, format, null, baseline, ctx));
    else out(ctx, render(doc, format, null, baseline, ctx));
    return 0;
  }

  let check: CheckReport | null = null;
  if (baseline) {
    try {
      check = checkBench(baseline, doc, a.check!, { hostTolerancePct: hostTolerance, filtered: filter !== undefined });
    } catch (e) {
      if (e instanceof BaselineError) throw new UsageError(e.message);
      throw e;
    }
  }
  const text = render(doc, format, check, baseline, ctx);
  if (a.out) {
    writeText(a.out, text);
    log(ctx, ctx.ce.dim(`wrote ${a.out}`));
  } else out(ctx, text);
  if (check) {
    // The verdict goes with the human-readable output: stdout for the terminal table, stderr when stdout is data.
    const verdict = checkTerminal(check, format === 'terminal' && !a.out ? ctx.c : ctx.ce);
    if (format === 'terminal' && !a.out) out(ctx, verdict);
    else ctx.io.stderr.write(verdict);
    if (!check.passed) return 1;
  }
  return 0;
}
