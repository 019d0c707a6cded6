/**
 * validate results as text: the terminal listing and the Markdown of
 * docs/validation.md (and its summary, which the README shows). Both are
 * pure functions of the result, so the docs can be checked for drift.
 */
import type { ExperimentResult, PointResult, ValidateResult } from './types.js';
import { DEFAULT_SHAPE_TOLERANCE } from './run.js';

/** Four significant digits, without exponent notation for the magnitudes we meet. */
export function fmtValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  if (a === 0) return '0';
  return String(Number(v.toPrecision(4)));
}

export function fmtDev(d: number | null): string {
  if (d === null) return '';
  if (!Number.isFinite(d)) return String(d);
  const pct = d * 100;
  return `${pct >= 0 ? '+' : ''}${pct.toFixed(1)}%`;
}

function fmtTol(t: number | undefined): string {
  return t === undefined ? 'not judged' : `±${Math.round(t * 100)}%`;
}

function verdict(p: PointResult): string {
  if (p.point_ok === false || p.shape_ok === false) return 'outside';
  if (p.point_ok === null && p.shape_ok === null) return '';
  return 'within';
}

function toleranceLine(r: ExperimentResult): string {
  return `points ${fmtTol(r.tolerance.point)}, shapes ${fmtTol(r.tolerance.shape ?? DEFAULT_SHAPE_TOLERANCE)}: ${r.tolerance.why}`;
}

/** Worst |shape deviation| of an experiment, or null when no curve has a second point. */
function worstShape(r: ExperimentResult): number | null {
  let w: number | null = null;
  for (const c of r.curves) for (const p of c.points) if (p.shape_deviation !== null && (w === null || Math.abs(p.shape_deviation) > Math.abs(w))) w = p.shape_deviation;
  return w;
}

function worstPoint(r: ExperimentResult): number {
  let w = 0;
  for (const c of r.curves) for (const p of c.points) if (Math.abs(p.deviation) > Math.abs(w)) w = p.deviation;
  return w;
}

export interface Paint {
  bold(s: string): string;
  dim(s: string): string;
  green(s: string): string;
  red(s: string): string;
}

const plain: Paint = { bold: (s) => s, dim: (s) => s, green: (s) => s, red: (s) => s };

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

/** The terminal listing: each experiment with its points side by side, then one line of verdict. */
export function renderText(v: ValidateResult, c: Paint = plain): string {
  const out: string[] = [];
  for (const r of v.experiments) {
    out.push(`${c.bold(r.id)}  ${r.title}  ${r.passed ? c.green('within tolerance') : c.red('OUTSIDE tolerance')}`);
    out.push(c.dim(`  ${r.source}; measured on ${r.hardware}; simulated on profile ${r.profile}`));
    out.push(c.dim(`  tolerance: ${toleranceLine(r)}`));
    const rows: string[][] = [['curve', r.x, `published (${r.unit})`, `simulated (${r.unit})`, 'deviation', 'shape', '']];
    for (const cu of r.curves) {
      for (const p of cu.points) rows.push([cu.label, String(p.x), fmtValue(p.published), fmtValue(p.simulated), fmtDev(p.deviation), fmtDev(p.shape_deviation), verdict(p)]);
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
    for (const [n, row] of rows.entries()) {
      const cells = row.map((cell, i) => pad(cell, widths[i]!, i >= 2 && i <= 5));
      const line = `  ${cells.join('  ')}`.trimEnd();
      out.push(n === 0 ? c.dim(line) : row[6] === 'outside' ? c.red(line) : line);
    }
    out.push('');
  }
  const bad = v.experiments.filter((r) => !r.passed).map((r) => r.id);
  out.push(bad.length === 0 ? c.green(`${v.experiments.length} experiment(s), all within tolerance`) : c.red(`${bad.length} of ${v.experiments.length} experiment(s) outside tolerance: ${bad.join(', ')}`));
  return out.join('\n');
}

const esc = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** One row per experiment: the README's table and the head of docs/validation.md. */
export function summaryMarkdown(v: ValidateResult, linkBase = 'docs/validation.md'): string {
  const lines = ['| experiment | profile | points | worst point | worst shape | verdict |', '| --- | --- | --- | --- | --- | --- |'];
  for (const r of v.experiments) {
    const pts = r.curves.reduce((n, c) => n + c.points.length, 0);
    lines.push(`| [${esc(r.title)}](${linkBase}#${r.id}) | ${r.profile} | ${pts} | ${fmtDev(worstPoint(r))} | ${fmtDev(worstShape(r)) || 'n/a'} | ${r.passed ? 'within' : '**outside**'} |`);
  }
  return lines.join('\n');
}

/** One experiment's section of docs/validation.md. */
export function experimentMarkdown(r: ExperimentResult): string {
  const lines = [
    `<a id="${r.id}"></a>`,
    `### ${esc(r.title)} (\`${r.id}\`)`,
    '',
    `- Source: ${r.source}`,
    `- Measured on: ${r.hardware}; simulated on profile \`${r.profile}\``,
    `- Tolerance: ${toleranceLine(r)}`,
    `- Verdict: ${r.passed ? 'within tolerance' : '**outside tolerance**'}`,
    '',
    `| curve | ${esc(r.x)} | published (${r.unit}) | simulated (${r.unit}) | deviation | shape deviation | |`,
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const c of r.curves) {
    for (const p of c.points) lines.push(`| ${esc(c.label)} | ${esc(String(p.x))} | ${fmtValue(p.published)} | ${fmtValue(p.simulated)} | ${fmtDev(p.deviation)} | ${fmtDev(p.shape_deviation)} | ${verdict(p)} |`);
  }
  lines.push('', r.notes);
  return lines.join('\n');
}
