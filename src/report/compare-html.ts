/**
 * `kernsim compare A B --format html`: the comparison's tables on one
 * self-contained page and, for two runs, which kernel functions grew and
 * which shrank (exclusive cycles by function name) and a differential flame
 * graph: B's breakdown, each box coloured by its change against A.
 */
import type { BreakdownNode } from '../sim/attribution.js';
import type { AnyResult } from '../workloads/result.js';
import type { Comparison, CompareRow } from './compare.js';
import { FLAME_SCRIPT, flameGraphHtml } from './flame.js';
import { fmtDelta, fmtNum, fmtRatio, fmtValue } from './format.js';
import { page } from './html.js';
import { escXml } from './svg.js';

/** Exclusive cycles by function name, summed wherever the name appears in the tree. */
export function exclusiveByName(tree: BreakdownNode): Map<string, number> {
  const out = new Map<string, number>();
  const stack = [tree];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (n.exclusive > 0) out.set(n.name, (out.get(n.name) ?? 0) + n.exclusive);
    stack.push(...n.children);
  }
  return out;
}

/** The functions whose exclusive cycles grew most from a to b, and those that shrank most (at most n each). */
export function grewShrank(a: BreakdownNode, b: BreakdownNode, n = 10): { grew: [string, number, number][]; shrank: [string, number, number][] } {
  const ea = exclusiveByName(a);
  const eb = exclusiveByName(b);
  const all = [...new Set([...ea.keys(), ...eb.keys()])].map((k): [string, number, number] => [k, ea.get(k) ?? 0, eb.get(k) ?? 0]);
  const delta = (x: [string, number, number]): number => x[2] - x[1];
  const byName = (x: [string, number, number], y: [string, number, number]): number => (x[0] < y[0] ? -1 : 1);
  return {
    grew: all.filter((x) => delta(x) > 0).sort((x, y) => delta(y) - delta(x) || byName(x, y)).slice(0, n),
    shrank: all.filter((x) => delta(x) < 0).sort((x, y) => delta(x) - delta(y) || byName(x, y)).slice(0, n),
  };
}

function table(head: string[], rows: string[][]): string {
  return `<div class="scroll"><table><thead><tr>${head.map((h) => `<th>${escXml(h)}</th>`).join('')}</tr></thead><tbody>\n${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n')}\n</tbody></table></div>`;
}

function rowsTable(rows: CompareRow[]): string {
  return table(['', 'a', 'b', 'delta', 'b/a'], rows.map((r) => [escXml(r.name), fmtNum(r.a), fmtNum(r.b), fmtDelta(r.delta), fmtRatio(r.a, r.b)]));
}

export function renderCompareHtml(cmp: Comparison, ra: AnyResult, rb: AnyResult): string {
  const b: string[] = [];
  b.push('<h1>kernsim compare</h1>');
  b.push(`<p><b>a</b> = <code>${escXml(cmp.a.label)}</code>, <b>b</b> = <code>${escXml(cmp.b.label)}</code></p>`);
  if (cmp.differences.length > 0) {
    b.push('<h2>Differences in setup</h2>');
    b.push(table(['setting', 'a', 'b'], cmp.differences.map((d) => d.map(escXml))));
  }
  if (cmp.kind === 'run' && ra.kind === 'run' && rb.kind === 'run') {
    const titles: Record<string, string> = { headline: 'Headline', figures: 'Workload figures', latency: 'System call latency (cycles)' };
    for (const [s, title] of Object.entries(titles)) {
      const rows = cmp.rows.filter((r) => r.section === s);
      if (rows.length > 0) b.push(`<h2>${title}</h2>`, rowsTable(rows));
    }
    const gs = grewShrank(ra.breakdown, rb.breakdown);
    b.push('<h2>Which kernel functions grew, which shrank</h2>');
    b.push('<p class="dim">Exclusive cycles of each function (summed over every path it appears on and over all CPUs), a against b.</p>');
    b.push('<div class="groups">');
    b.push(`<div><h3>grew</h3>${table(['function', 'a', 'b', 'delta'], gs.grew.map(([n, x, y]) => [`<code>${escXml(n)}</code>`, fmtNum(x), fmtNum(y), fmtDelta(y - x)]))}</div>`);
    b.push(`<div><h3>shrank</h3>${table(['function', 'a', 'b', 'delta'], gs.shrank.map(([n, x, y]) => [`<code>${escXml(n)}</code>`, fmtNum(x), fmtNum(y), fmtDelta(y - x)]))}</div>`);
    b.push('</div>');
    b.push('<h2>Differential flame graph</h2>');
    b.push('<p class="dim">b\'s breakdown; each box red as its inclusive cycles grew against a, blue as they shrank (the deepest colour is the largest change). A box only in a is not drawn: see the table above. Click to zoom, search, hide user time as in a run\'s report.</p>');
    b.push(flameGraphHtml(rb.breakdown, { base: ra.breakdown, chart: 'breakdown-diff' }));
    const rest = cmp.rows.filter((r) => r.section === 'breakdown' || r.section === 'counters');
    if (rest.length > 0) b.push('<h2>Breakdown and counters</h2>', rowsTable(rest));
    return page('kernsim compare', b.join('\n'), FLAME_SCRIPT);
  }
  if (cmp.kind === 'sweep') {
    for (const p of cmp.points) {
      b.push(`<h2>${escXml(Object.entries(p.point).map(([k, v]) => `${k}=${fmtValue(v)}`).join(', '))}</h2>`, rowsTable(p.rows));
    }
    if (cmp.onlyA.length) b.push(`<p class="dim">only in a: ${escXml(cmp.onlyA.map((p) => JSON.stringify(p)).join(' '))}</p>`);
    if (cmp.onlyB.length) b.push(`<p class="dim">only in b: ${escXml(cmp.onlyB.map((p) => JSON.stringify(p)).join(' '))}</p>`);
  }
  return page('kernsim compare', b.join('\n'));
}
