/**
 * SVG charts as strings, for the self-contained HTML report: an icicle of
 * the cycle breakdown, histograms, per-CPU stacked bars and line charts.
 * No script: every label and tooltip (<title>) is in the markup, so the page
 * renders the same in any browser and offline.
 */
import type { BreakdownNode } from '../sim/attribution.js';
import { fmtCycles, fmtPct, fmtShort } from './format.js';

export function escXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A stable colour for a category name: hue from a string hash, so a name keeps its colour across reports. */
export function colourOf(name: string): string {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  const hue = (h >>> 0) % 360;
  return `hsl(${hue} 62% 62%)`;
}

export const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

function n(x: number): string {
  return (Math.round(x * 100) / 100).toString();
}

/**
 * An icicle chart (a flame graph drawn top-down): the root spans the width,
 * each child a share of its parent's width by inclusive cycles. Boxes
 * narrower than half a pixel are left out.
 */
export function icicleSvg(tree: BreakdownNode, width = 960, rowH = 20, maxDepth = 10): string {
  const total = tree.inclusive;
  const rects: string[] = [];
  let depthSeen = 0;
  const draw = (node: BreakdownNode, x: number, w: number, depth: number, path: string): void => {
    if (w < 0.5 || depth > maxDepth) return;
    depthSeen = Math.max(depthSeen, depth);
    const y = depth * rowH;
    const label = depth === 0 ? 'all CPUs' : node.name;
    const tip = `${path || 'all'}\ninclusive ${fmtCycles(node.inclusive)} cycles (${fmtPct(total > 0 ? node.inclusive / total : 0)})\nexclusive ${fmtCycles(node.exclusive)} cycles`;
    const fill = depth === 0 ? '#ccc' : colourOf(node.name);
    const text = w > 40 ? `<text x="${n(x + 3)}" y="${n(y + rowH - 6)}" clip-path="url(#ic${rects.length})">${escXml(label)}</text>` : '';
    const clip = text ? `<clipPath id="ic${rects.length}"><rect x="${n(x)}" y="${n(y)}" width="${n(w - 1)}" height="${rowH}"/></clipPath>` : '';
    rects.push(`<g class="node">${clip}<rect x="${n(x)}" y="${n(y)}" width="${n(Math.max(w - 1, 0.5))}" height="${rowH - 1}" fill="${fill}" rx="2"><title>${escXml(tip)}</title></rect>${text}</g>`);
    let cx = x;
    for (const c of node.children) {
      const cw = total > 0 ? (c.inclusive / node.inclusive) * w : 0;
      draw(c, cx, cw, depth + 1, path ? `${path} > ${c.name}` : c.name);
      cx += cw;
    }
  };
  if (total > 0) draw(tree, 0, width, 0, '');
  const h = (depthSeen + 1) * rowH;
  return `<svg class="chart icicle" data-chart="breakdown" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${h}" width="100%" role="img" aria-label="cycle breakdown">${rects.join('')}</svg>`;
}

export interface Bar {
  label: string;
  value: number;
  tip?: string;
}

/** A vertical bar chart (a histogram when the labels are bucket bounds). */
export function barChartSvg(bars: Bar[], opts: { title: string; xLabel: string; yLabel: string; chart: string; width?: number; height?: number }): string {
  const W = opts.width ?? 440;
  const H = opts.height ?? 220;
  const m = { l: 48, r: 10, t: 24, b: 44 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const bw = bars.length > 0 ? pw / bars.length : pw;
  const parts: string[] = [];
  parts.push(`<text x="${m.l}" y="15" class="title">${escXml(opts.title)}</text>`);
  parts.push(axes(m.l, m.t, pw, ph));
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    const y = m.t + ph - (ph * i) / 4;
    parts.push(`<text x="${m.l - 4}" y="${n(y + 3)}" text-anchor="end" class="tick">${fmtShort(v)}</text>`);
  }
  bars.forEach((b, i) => {
    const h = (b.value / max) * ph;
    const x = m.l + i * bw;
    parts.push(`<rect class="bar" x="${n(x + 1)}" y="${n(m.t + ph - h)}" width="${n(Math.max(bw - 2, 1))}" height="${n(h)}" fill="${PALETTE[0]}"><title>${escXml(b.tip ?? `${b.label}: ${b.value}`)}</title></rect>`);
    if (bars.length <= 16 || i % Math.ceil(bars.length / 16) === 0) {
      parts.push(`<text x="${n(x + bw / 2)}" y="${m.t + ph + 12}" text-anchor="middle" class="tick">${escXml(b.label)}</text>`);
    }
  });
  parts.push(`<text x="${n(m.l + pw / 2)}" y="${H - 6}" text-anchor="middle" class="axis-label">${escXml(opts.xLabel)}</text>`);
  parts.push(`<text transform="translate(11 ${n(m.t + ph / 2)}) rotate(-90)" text-anchor="middle" class="axis-label">${escXml(opts.yLabel)}</text>`);
  return `<svg class="chart" data-chart="${escXml(opts.chart)}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escXml(opts.title)}">${parts.join('')}</svg>`;
}

/** Per-CPU busy and idle cycles as horizontal stacked bars. */
export function cpuBarsSvg(cpus: { cpu: number; busy: number; idle: number }[], width = 960): string {
  const rowH = cpus.length > 32 ? 8 : 16;
  const m = { l: 56, r: 10, t: 6, b: 6 };
  const pw = width - m.l - m.r;
  const max = Math.max(1, ...cpus.map((c) => c.busy + c.idle));
  const parts: string[] = [];
  cpus.forEach((c, i) => {
    const y = m.t + i * rowH;
    const bw = (c.busy / max) * pw;
    const iw = (c.idle / max) * pw;
    if (rowH >= 12 || i % 8 === 0) parts.push(`<text x="${m.l - 4}" y="${n(y + rowH - 4)}" text-anchor="end" class="tick">CPU ${c.cpu}</text>`);
    parts.push(`<rect class="bar busy" x="${m.l}" y="${y}" width="${n(Math.max(bw, 0))}" height="${rowH - 2}" fill="${PALETTE[0]}"><title>CPU ${c.cpu}: busy ${fmtCycles(c.busy)} cycles</title></rect>`);
    parts.push(`<rect class="bar idle" x="${n(m.l + bw)}" y="${y}" width="${n(Math.max(iw, 0))}" height="${rowH - 2}" fill="#ddd"><title>CPU ${c.cpu}: idle ${fmtCycles(c.idle)} cycles</title></rect>`);
  });
  const h = m.t + cpus.length * rowH + m.b;
  return `<svg class="chart" data-chart="cpus" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${h}" width="100%" role="img" aria-label="per-CPU busy and idle cycles">${parts.join('')}</svg>`;
}

export interface Series {
  label: string;
  points: { x: number; y: number }[];
}

/** A line chart: one polyline with markers per series; x on a log2 scale when every x is positive and they span 8x or more. */
export function lineChartSvg(series: Series[], opts: { title: string; xLabel: string; yLabel: string; chart: string; width?: number; height?: number }): string {
  const W = opts.width ?? 640;
  const H = opts.height ?? 320;
  const m = { l: 60, r: 170, t: 24, b: 40 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  const ys = series.flatMap((s) => s.points.map((p) => p.y));
  const xmin = Math.min(...xs);
  const xmax = Math.max(...xs);
  const logX = xs.length > 0 && xmin > 0 && xmax / xmin >= 8;
  const fx = (x: number): number => (logX ? Math.log2(x) : x);
  const x0 = xs.length ? fx(xmin) : 0;
  const x1 = xs.length ? fx(xmax) : 1;
  const ymax = Math.max(0, ...ys) || 1;
  const ymin = Math.min(0, ...ys);
  const px = (x: number): number => m.l + (x1 === x0 ? pw / 2 : ((fx(x) - x0) / (x1 - x0)) * pw);
  const py = (y: number): number => m.t + ph - ((y - ymin) / (ymax - ymin)) * ph;
  const parts: string[] = [];
  parts.push(`<text x="${m.l}" y="15" class="title">${escXml(opts.title)}</text>`);
  parts.push(axes(m.l, m.t, pw, ph));
  for (let i = 0; i <= 4; i++) {
    const v = ymin + ((ymax - ymin) * i) / 4;
    parts.push(`<text x="${m.l - 4}" y="${n(py(v) + 3)}" text-anchor="end" class="tick">${fmtShort(v)}</text>`);
  }
  for (const x of [...new Set(xs)].sort((a, b) => a - b)) {
    parts.push(`<text x="${n(px(x))}" y="${m.t + ph + 14}" text-anchor="middle" class="tick">${fmtShort(x)}</text>`);
  }
  series.forEach((s, i) => {
    const col = PALETTE[i % PALETTE.length]!;
    const pts = s.points.map((p) => `${n(px(p.x))},${n(py(p.y))}`).join(' ');
    parts.push(`<polyline class="series" points="${pts}" fill="none" stroke="${col}" stroke-width="2"/>`);
    for (const p of s.points) {
      parts.push(`<circle cx="${n(px(p.x))}" cy="${n(py(p.y))}" r="3.5" fill="${col}"><title>${escXml(`${s.label}: ${opts.xLabel}=${p.x} -> ${fmtShort(p.y)} (${p.y})`)}</title></circle>`);
    }
    const ly = m.t + 10 + i * 16;
    parts.push(`<rect x="${W - m.r + 10}" y="${ly - 8}" width="10" height="10" fill="${col}"/><text x="${W - m.r + 24}" y="${ly + 1}" class="tick">${escXml(s.label)}</text>`);
  });
  parts.push(`<text x="${n(m.l + pw / 2)}" y="${H - 6}" text-anchor="middle" class="axis-label">${escXml(opts.xLabel)}${logX ? ' (log scale)' : ''}</text>`);
  parts.push(`<text transform="translate(12 ${n(m.t + ph / 2)}) rotate(-90)" text-anchor="middle" class="axis-label">${escXml(opts.yLabel)}</text>`);
  return `<svg class="chart" data-chart="${escXml(opts.chart)}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="100%" style="max-width:${W}px" role="img" aria-label="${escXml(opts.title)}">${parts.join('')}</svg>`;
}

function axes(x: number, y: number, w: number, h: number): string {
  return `<line x1="${x}" y1="${y + h}" x2="${x + w}" y2="${y + h}" class="axis"/><line x1="${x}" y1="${y}" x2="${x}" y2="${y + h}" class="axis"/>`;
}

/** Grouped vertical bars: a group per category, a bar per series in each, one legend. */
export function groupedBarSvg(groups: { label: string; bars: { series: string; value: number }[] }[], series: string[], opts: { title: string; xLabel: string; yLabel: string; chart: string; width?: number; height?: number }): string {
  const W = opts.width ?? 640;
  const H = opts.height ?? 320;
  const m = { l: 60, r: 170, t: 24, b: 40 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const values = groups.flatMap((g) => g.bars.map((b) => b.value)).filter(Number.isFinite);
  const max = Math.max(0, ...values) || 1;
  const gw = groups.length > 0 ? pw / groups.length : pw;
  const bw = Math.max(1, (gw * 0.8) / Math.max(1, series.length));
  const parts: string[] = [];
  parts.push(`<text x="${m.l}" y="15" class="title">${escXml(opts.title)}</text>`);
  parts.push(axes(m.l, m.t, pw, ph));
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    parts.push(`<text x="${m.l - 4}" y="${n(m.t + ph - (ph * i) / 4 + 3)}" text-anchor="end" class="tick">${fmtShort(v)}</text>`);
  }
  groups.forEach((g, gi) => {
    const gx = m.l + gi * gw + gw * 0.1;
    for (const b of g.bars) {
      if (!Number.isFinite(b.value)) continue;
      const si = series.indexOf(b.series);
      const h = (Math.max(0, b.value) / max) * ph;
      parts.push(`<rect class="bar" x="${n(gx + si * bw)}" y="${n(m.t + ph - h)}" width="${n(Math.max(bw - 1, 1))}" height="${n(h)}" fill="${PALETTE[si % PALETTE.length]}"><title>${escXml(`${opts.xLabel}=${g.label}, ${b.series}: ${fmtShort(b.value)} (${b.value})`)}</title></rect>`);
    }
    parts.push(`<text x="${n(m.l + gi * gw + gw / 2)}" y="${m.t + ph + 14}" text-anchor="middle" class="tick">${escXml(g.label)}</text>`);
  });
  series.forEach((label, i) => {
    const ly = m.t + 10 + i * 16;
    parts.push(`<rect x="${W - m.r + 10}" y="${ly - 8}" width="10" height="10" fill="${PALETTE[i % PALETTE.length]}"/><text x="${W - m.r + 24}" y="${ly + 1}" class="tick">${escXml(label)}</text>`);
  });
  parts.push(`<text x="${n(m.l + pw / 2)}" y="${H - 6}" text-anchor="middle" class="axis-label">${escXml(opts.xLabel)}</text>`);
  parts.push(`<text transform="translate(12 ${n(m.t + ph / 2)}) rotate(-90)" text-anchor="middle" class="axis-label">${escXml(opts.yLabel)}</text>`);
  return `<svg class="chart" data-chart="${escXml(opts.chart)}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="100%" style="max-width:${W}px" role="img" aria-label="${escXml(opts.title)}">${parts.join('')}</svg>`;
}

/** One horizontal bar per row, stacked by category (the same categories and colours in every row), with a legend. */
export function stackedBarsSvg(rows: { label: string; values: number[] }[], categories: string[], opts: { chart: string; title: string; width?: number }): string {
  const W = opts.width ?? 960;
  const rowH = 18;
  const labelW = 230;
  const m = { l: labelW, r: 10, t: 24 };
  const pw = W - m.l - m.r;
  const max = Math.max(1, ...rows.map((r) => r.values.reduce((a, b) => a + b, 0)));
  const parts: string[] = [`<text x="4" y="15" class="title">${escXml(opts.title)}</text>`];
  rows.forEach((r, i) => {
    const y = m.t + i * rowH;
    const total = r.values.reduce((a, b) => a + b, 0);
    parts.push(`<text x="${labelW - 6}" y="${y + rowH - 6}" text-anchor="end" class="tick">${escXml(r.label.length > 36 ? r.label.slice(0, 35) + '…' : r.label)}</text>`);
    let x = m.l;
    r.values.forEach((v, ci) => {
      const w = (v / max) * pw;
      if (w < 0.25) return;
      const fill = categories[ci] === 'other' ? '#ccc' : colourOf(categories[ci]!);
      parts.push(`<rect class="bar" x="${n(x)}" y="${y}" width="${n(w)}" height="${rowH - 3}" fill="${fill}"><title>${escXml(`${r.label}\n${categories[ci]}: ${fmtCycles(v)} cycles (${fmtPct(total > 0 ? v / total : 0)})`)}</title></rect>`);
      x += w;
    });
  });
  const ly = m.t + rows.length * rowH + 10;
  let lx = 4;
  let line = 0;
  categories.forEach((c) => {
    const w = 22 + c.length * 7.2;
    if (lx + w > W) {
      lx = 4;
      line++;
    }
    const yy = ly + line * 16;
    parts.push(`<rect x="${n(lx)}" y="${yy - 8}" width="10" height="10" fill="${c === 'other' ? '#ccc' : colourOf(c)}"/><text x="${n(lx + 14)}" y="${yy + 1}" class="tick">${escXml(c)}</text>`);
    lx += w;
  });
  const H = ly + (line + 1) * 16;
  return `<svg class="chart" data-chart="${escXml(opts.chart)}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${escXml(opts.title)}">${parts.join('')}</svg>`;
}
