/** The Markdown report: the terminal report's content as GitHub-flavoured tables, for pull requests and CI summaries. */
import type { RunResult, SweepResult } from '../workloads/result.js';
import { fmtCycles, fmtCyclesTime, fmtNum, fmtPct } from './format.js';
import { breakdownRows, counterGroups, latencyRows, headline } from './summary.js';
import { sweepColumns, sweepRows } from './sweep.js';
import { headlineValue, paramLine } from './terminal.js';

function esc(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function mdTable(head: string[], rows: string[][], right: boolean[] = head.map((_, i) => i > 0)): string {
  const lines = [`| ${head.map(esc).join(' | ')} |`, `| ${right.map((r) => (r ? '---:' : '---')).join(' | ')} |`];
  for (const r of rows) lines.push(`| ${r.map(esc).join(' | ')} |`);
  return lines.join('\n');
}

export function renderRunMarkdown(r: RunResult): string {
  const out: string[] = [];
  out.push(`# kernsim run \`${r.workload}\``, '');
  const params = paramLine(r.params);
  if (params) out.push(`Parameters: \`${params}\``, '');
  const head = headline(r).map((h) => [h.label, headlineValue(h, r.clock_ghz)]);
  for (const [k, v] of Object.entries(r.figures)) head.push([k, fmtNum(v)]);
  head.push(['checks', r.checks.passed ? 'passed' : `**FAILED** (${r.checks.failures.length})`]);
  out.push(mdTable(['', ''], head, [false, false]), '');

  out.push('## Per CPU', '');
  out.push(
    mdTable(
      ['cpu', 'busy cycles', 'idle cycles', 'busy'],
      r.cpus.map((c) => [String(c.cpu), fmtCycles(c.busy), fmtCycles(c.idle), fmtPct(c.busy + c.idle > 0 ? c.busy / (c.busy + c.idle) : 0)]),
    ),
    '',
  );

  out.push('## Where the cycles went', '');
  out.push(
    mdTable(
      ['category', 'inclusive', 'exclusive', 'share'],
      breakdownRows(r.breakdown).map((b) => [`${'&nbsp;&nbsp;'.repeat(b.depth)}${b.depth === 0 ? `**${b.name}**` : b.name}`, fmtCycles(b.inclusive), fmtCycles(b.exclusive), fmtPct(b.share)]),
    ),
    '',
  );

  const lat = latencyRows(r.latency);
  if (lat.length > 0) {
    out.push('## System call latency (cycles)', '');
    out.push(
      mdTable(
        ['syscall', 'count', 'p50', 'p90', 'p99', 'max', 'p99 time'],
        lat.map(({ name, stats: s }) => [name, fmtNum(s.count), fmtCycles(s.p50), fmtCycles(s.p90), fmtCycles(s.p99), fmtCycles(s.max), fmtCyclesTime(s.p99, r.clock_ghz)]),
      ),
      '',
    );
  }
  const other = Object.entries(r.samples);
  if (other.length > 0) {
    out.push('## Other latencies (cycles)', '');
    out.push(mdTable(['samples', 'count', 'p50', 'p90', 'p99', 'max'], other.map(([n, s]) => [n, fmtNum(s.count), fmtCycles(s.p50), fmtCycles(s.p90), fmtCycles(s.p99), fmtCycles(s.max)])), '');
  }

  out.push('## Counters', '');
  for (const g of counterGroups(r.counters)) {
    out.push(`### ${g.title}`, '');
    out.push(mdTable(['counter', 'value', ''], g.rows.map((row) => [`\`${row.name}\``, fmtNum(row.value), row.note ?? '']), [false, true, false]), '');
  }
  if (!r.checks.passed) {
    out.push('## Check failures', '');
    for (const f of r.checks.failures) out.push(`- ${esc(f)}`);
    out.push('');
  }
  return out.join('\n');
}

export function renderSweepMarkdown(s: SweepResult): string {
  const out: string[] = [];
  out.push(`# kernsim sweep \`${s.workload}\``, '');
  out.push(`Machine \`${s.machine}\`, seed ${s.seed}${s.shard ? `, shard ${s.shard.index}/${s.shard.count} (${s.points.length} of ${s.total_points} points)` : ''}.`, '');
  const base = paramLine(s.base);
  if (base) out.push(`Fixed: \`${base}\``, '');
  const cols = sweepColumns(s);
  out.push(mdTable(cols.map((c) => c.title), sweepRows(s, cols).map((r) => r.cells), cols.map((c) => c.numeric)), '');
  return out.join('\n');
}
