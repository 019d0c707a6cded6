/**
 * The bench suite's output formats: a terminal table, a Markdown table for a
 * pull-request comment (with the per-function deltas of what moved), and the
 * JSON shapes of the CI tools users already run:
 * - github-action-benchmark, tool `customSmallerIsBetter`: an array of
 *   { name, unit, value, range?, extra? } (name, unit strings; value a number);
 * - Bencher Metric Format: { benchmark: { measure: { value, lower_value?,
 *   upper_value? } } }, measure slugs at most 64 characters.
 */
import type { ChalkInstance } from 'chalk';
import Table from 'cli-table3';
import { fmtChangePct, type CheckReport } from '../bench/check.js';
import type { BenchDoc } from '../bench/types.js';
import { fmtCycles, fmtDelta } from './format.js';

export const BENCH_FORMATS = ['terminal', 'json', 'github', 'bencher', 'markdown'] as const;
export type BenchFormat = (typeof BENCH_FORMATS)[number];

/** Counters a reader looks at first, shown beside the cycles when a scenario counted them. */
const KEY_COUNTERS = ['pgfault', 'pgmajfault', 'pswpin', 'pswpout', 'ipi_sent', 'nr_tlb_remote_flush', 'nr_tlb_local_flush_one', 'nr_tlb_local_flush_all', 'rcu_grace_periods', 'fdtable_expand', 'inotify_events_queued'];

export function keyCounters(counters: Record<string, number>): string {
  return KEY_COUNTERS.filter((n) => counters[n]).map((n) => `${n}=${counters[n]}`).join(' ');
}

export interface GithubBenchmarkEntry {
  name: string;
  unit: string;
  value: number;
  range?: string;
  extra?: string;
}

/** github-action-benchmark customSmallerIsBetter: one entry per scenario for its simulated cycles, one for its host time when present. */
export function benchGithub(doc: BenchDoc): GithubBenchmarkEntry[] {
  const out: GithubBenchmarkEntry[] = [];
  for (const [name, r] of Object.entries(doc.scenarios)) {
    const counters = keyCounters(r.sim.counters);
    out.push({ name: `sim/${name}`, unit: 'cycles', value: r.sim.cycles, extra: counters ? `${r.summary}\n${counters}` : r.summary });
  }
  for (const [name, r] of Object.entries(doc.scenarios)) {
    if (r.host) out.push({ name: `host/${name}`, unit: 'ms', value: r.host.wall_ms, extra: `${r.host.sim_cycles_per_s} simulated cycles per host second` });
  }
  return out;
}

export type BencherMetricFormat = Record<string, Record<string, { value: number; lower_value?: number; upper_value?: number }>>;

/** Bencher Metric Format: a benchmark per scenario, with measures sim-cycles, sim-charged-cycles and (when present) host-wall-ms. */
export function benchBencher(doc: BenchDoc): BencherMetricFormat {
  const out: BencherMetricFormat = {};
  for (const [name, r] of Object.entries(doc.scenarios)) {
    const m: BencherMetricFormat[string] = { 'sim-cycles': { value: r.sim.cycles }, 'sim-charged-cycles': { value: r.sim.charged_cycles } };
    if (r.host) m['host-wall-ms'] = { value: r.host.wall_ms };
    out[name] = m;
  }
  return out;
}

function esc(s: string): string {
  return s.replace(/\|/g, '\\|');
}

/** A Markdown table of every scenario; with a check, what moved against the baseline and the functions that moved most. */
export function benchMarkdown(doc: BenchDoc, check: CheckReport | null, baseline: BenchDoc | null): string {
  const out: string[] = ['## kernsim bench', ''];
  if (check) {
    out.push(check.passed ? `No simulated cost moved against \`${check.baseline}\` (${check.compared} scenarios).` : `**${check.moved.length} scenario${check.moved.length > 1 ? 's' : ''} moved** against \`${check.baseline}\`:`, '');
    if (!check.passed) {
      out.push('| scenario | old cycles | new cycles | change | what moved | functions that moved most |', '| --- | ---: | ---: | ---: | --- | --- |');
      for (const m of check.moved) {
        const fns = m.functions.map((f) => `\`${esc(f.name)}\` ${fmtDelta(f.delta)}`).join(', ');
        out.push(`| \`${esc(m.scenario)}\` | ${m.status === 'new' ? '-' : fmtCycles(m.old)} | ${m.status === 'missing' ? '-' : fmtCycles(m.new)} | ${m.status === 'changed' ? fmtChangePct(m.old, m.new) : m.status} | ${esc(m.reasons.join('; '))} | ${fns} |`);
      }
      out.push('');
    }
  }
  out.push('| scenario | cycles | key counters |' + (baseline ? ' baseline | change |' : ''), '| --- | ---: | --- |' + (baseline ? ' ---: | ---: |' : ''));
  for (const [name, r] of Object.entries(doc.scenarios)) {
    const b = baseline?.scenarios[name];
    const tail = baseline ? ` ${b ? fmtCycles(b.sim.cycles) : '-'} | ${b ? fmtChangePct(b.sim.cycles, r.sim.cycles) : 'new'} |` : '';
    out.push(`| \`${esc(name)}\` | ${fmtCycles(r.sim.cycles)} | ${keyCounters(r.sim.counters)} |${tail}`);
  }
  return out.join('\n') + '\n';
}

function newTable(head: string[], c: ChalkInstance): Table.Table {
  return new Table({
    head: head.map((h) => c.bold(h)),
    style: { head: [], border: [], compact: true },
    colAligns: head.map((_, i) => (i === 0 || i >= head.length - 2 ? 'left' : 'right')),
  });
}

/** The suite's results for a terminal: cycles and key counters per scenario, host time dimmed. */
export function benchTerminal(doc: BenchDoc, c: ChalkInstance): string {
  const t = newTable(['scenario', 'cycles', 'host ms', 'key counters'], c);
  for (const [name, r] of Object.entries(doc.scenarios)) t.push([name, fmtCycles(r.sim.cycles), c.dim(r.host ? r.host.wall_ms.toFixed(0) : '-'), keyCounters(r.sim.counters)]);
  return `${c.bold.cyan('kernsim bench')}  ${Object.keys(doc.scenarios).length} scenarios on ${doc.machine}${doc.overrides ? ` with ${JSON.stringify(doc.overrides)}` : ''}\n${t.toString()}\n`;
}

/** The table of what moved (for stderr or the terminal), and the closing line. */
export function checkTerminal(check: CheckReport, c: ChalkInstance): string {
  if (check.passed) {
    const within = check.withinTolerance.length ? ` (${check.withinTolerance.length} moved within their tolerance: ${check.withinTolerance.join(', ')})` : '';
    return `${c.green('bench: no simulated cost moved')} against ${check.baseline}: ${check.compared} scenarios${within}\n`;
  }
  const t = newTable(['scenario', 'old cycles', 'new cycles', 'change', 'what moved', 'functions that moved most'], c);
  for (const m of check.moved) {
    t.push([
      m.scenario,
      m.status === 'new' ? '-' : fmtCycles(m.old),
      m.status === 'missing' ? '-' : fmtCycles(m.new),
      m.status === 'changed' ? fmtChangePct(m.old, m.new) : m.status,
      m.reasons.join('\n'),
      m.functions.map((f) => `${f.name} ${fmtDelta(f.delta)}`).join('\n'),
    ]);
  }
  return (
    `${c.red(`bench: ${check.moved.length} scenario${check.moved.length > 1 ? 's' : ''} moved`)} against ${check.baseline}\n${t.toString()}\n` +
    `If the change is deliberate, bless it: kernsim bench --check ${check.baseline} --update (and say why in the commit).\n`
  );
}
