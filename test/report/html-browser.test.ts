/**
 * The HTML report in a real browser: headless Chromium opens the page, and
 * the test checks that it renders, that every chart has drawn content of a
 * real size, and that the console stays free of errors. Without Chromium
 * (/usr/bin/chromium; .ci/run installs it) the tests are reported as
 * skipped, never passed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { renderRunHtml, renderSweepHtml } from '../../src/report/html.js';
import { renderCompareHtml } from '../../src/report/compare-html.js';
import { compareResults } from '../../src/report/compare.js';
import { chromiumAvailable, CHROMIUM, inspectPage } from './chromium.js';
import { runFixture, sweepFixture } from './fixtures.js';

const have = chromiumAvailable();
if (!have) console.warn(`html-browser: ${CHROMIUM} not found; skipping the browser tests (apt-get install -y chromium)`);

const dir = mkdtempSync(join(tmpdir(), 'kernsim-html-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every chart's name, rendered size and count of drawn marks; the page's title and table count. */
const PROBE = `(() => {
  const charts = [...document.querySelectorAll('svg.chart')].map((s) => {
    const r = s.getBoundingClientRect();
    const marks = [...s.querySelectorAll('rect, polyline, circle')].filter((m) => {
      const b = m.getBoundingClientRect();
      return b.width > 0 && b.height > 0;
    }).length;
    return { chart: s.dataset.chart, width: Math.round(r.width), height: Math.round(r.height), marks };
  });
  const fits = document.documentElement.scrollWidth <= window.innerWidth;
  return { title: document.title, h1: document.querySelector('h1')?.textContent, tables: document.querySelectorAll('table').length, charts, fits, viewport: window.innerWidth };
})()`;

interface Probe {
  title: string;
  h1: string;
  tables: number;
  charts: { chart: string; width: number; height: number; marks: number }[];
  /** The page needs no horizontal scrolling at the window's width. */
  fits: boolean;
  viewport: number;
}

describe.skipIf(!have)('HTML report in headless Chromium', () => {
  it('a run: renders its breakdown, CPU and latency charts with no console errors', async () => {
    const file = join(dir, 'run.html');
    writeFileSync(file, renderRunHtml(runFixture()));
    const r = await inspectPage(pathToFileURL(file).href, PROBE);
    expect(r.errors).toEqual([]);
    const p = r.value as Probe;
    expect(p.title).toBe('kernsim fixture');
    expect(p.h1).toBe('kernsim run fixture');
    expect(p.tables).toBeGreaterThanOrEqual(4);
    expect(p.charts.map((c) => c.chart)).toEqual(['breakdown', 'cpus', 'latency:madvise']);
    for (const c of p.charts) {
      expect(c.width, c.chart).toBeGreaterThan(100);
      expect(c.height, c.chart).toBeGreaterThan(20);
    }
    const marks = Object.fromEntries(p.charts.map((c) => [c.chart, c.marks]));
    // Root, two top-level categories, two under madvise, one under zap_page_range.
    expect(marks['breakdown']).toBe(6);
    // Busy and idle per CPU; CPU 0 was never idle, so its idle bar has no width.
    expect(marks['cpus']).toBe(3);
    expect(marks['latency:madvise']).toBe(2);
  }, 60_000);

  it('the flame graph zooms on click, searches, hides user time and zooms back out', async () => {
    const file = join(dir, 'flame.html');
    const r = runFixture();
    writeFileSync(file, renderRunHtml(r));
    const INTERACT = `(() => {
      const el = document.querySelector('.flame'), svg = el.querySelector('svg'), info = () => el.querySelector('.flame-info').textContent;
      const w = (n) => { const b = svg.querySelector('rect[data-name="' + n + '"]'); return b ? Number(b.getAttribute('width')) : null; };
      const out = { initial: { zap: w('zap_page_range'), user: w('user'), boxes: svg.querySelectorAll('rect').length } };
      svg.querySelector('rect[data-name="zap_page_range"]').dispatchEvent(new MouseEvent('click'));
      out.zoomed = { zap: w('zap_page_range'), tlb: w('tlb_flush'), entry: w('entry_SYSCALL_64'), madvise: w('syscall:madvise'), info: info() };
      svg.querySelector('rect[data-name="all"]').dispatchEvent(new MouseEvent('click'));
      out.out = { zap: w('zap_page_range'), info: info() };
      const s = el.querySelector('input[type=search]');
      s.value = 'TLB_'; s.dispatchEvent(new Event('input'));
      out.search = { matches: [...svg.querySelectorAll('rect.match')].map((b) => b.dataset.name), dimmed: svg.querySelectorAll('rect.dimmed').length, info: info() };
      s.value = ''; s.dispatchEvent(new Event('input'));
      const k = el.querySelector('.kernel-only'); k.checked = true; k.dispatchEvent(new Event('change'));
      out.kernel = { user: w('user'), madvise: w('syscall:madvise'), zap: w('zap_page_range') };
      return out;
    })()`;
    const res = await inspectPage(pathToFileURL(file).href, INTERACT);
    expect(res.errors).toEqual([]);
    const v = res.value as Record<string, Record<string, unknown>>;
    const total = r.breakdown.inclusive;
    const madvise = r.breakdown.children.find((c) => c.name === 'syscall:madvise')!;
    const zap = madvise.children.find((c) => c.name === 'zap_page_range')!;
    const px = (x: number): number => Number((Math.max(x - 1, 0.5)).toFixed(2));
    expect(v['initial']).toEqual({ zap: px((zap.inclusive / total) * 960), user: px((1500 / total) * 960), boxes: 6 });
    // Zoomed to zap_page_range: it and its ancestors span the width, its child by its share, its sibling gone.
    expect(v['zoomed']).toEqual({ zap: 959, tlb: px((500 / zap.inclusive) * 960), entry: null, madvise: 959, info: 'zoomed to syscall:madvise > zap_page_range' });
    expect(v['out']).toEqual({ zap: px((zap.inclusive / total) * 960), info: '' });
    expect(v['search']).toEqual({ matches: ['tlb_flush'], dimmed: 5, info: `matched ${((100 * 500) / total).toFixed(1)}% of cycles` });
    // Kernel only: user is gone and madvise, the only kernel path, spans the width.
    expect(v['kernel']).toEqual({ user: null, madvise: 959, zap: px((zap.inclusive / madvise.inclusive) * 960) });
  }, 60_000);

  it('compare --format html: the differential flame graph draws, grown boxes red', async () => {
    const file = join(dir, 'compare.html');
    const a = runFixture();
    const b = runFixture();
    b.breakdown.children[0]!.children[0]!.inclusive += 700;
    b.breakdown.children[0]!.children[0]!.exclusive += 700;
    b.breakdown.children[0]!.inclusive += 700;
    b.breakdown.inclusive += 700;
    writeFileSync(file, renderCompareHtml(compareResults(a, b), a, b));
    const r = await inspectPage(pathToFileURL(file).href, `(() => ({ fills: Object.fromEntries([...document.querySelectorAll('.flame rect')].map((x) => [x.dataset.name, x.getAttribute('fill')])), fits: document.documentElement.scrollWidth <= window.innerWidth }))()`);
    expect(r.errors).toEqual([]);
    const v = r.value as { fills: Record<string, string>; fits: boolean };
    // zap_page_range grew most: the deepest red; user did not change: grey.
    expect(v.fills['zap_page_range']).toBe('hsl(0 75% 45%)');
    expect(v.fills['user']).toBe('#ddd');
    expect(v.fits).toBe(true);
  }, 60_000);

  it('a sweep: renders its curves', async () => {
    const file = join(dir, 'sweep.html');
    writeFileSync(file, renderSweepHtml(sweepFixture()));
    const r = await inspectPage(pathToFileURL(file).href, PROBE);
    expect(r.errors).toEqual([]);
    const p = r.value as Probe;
    // A chart per axis (a line against cpus, grouped bars by advice), then the stacked breakdown per point.
    expect(p.charts.map((c) => c.chart)).toEqual(['sweep:cpus', 'sweep:advice', 'breakdown-by-point']);
    const marks = Object.fromEntries(p.charts.map((c) => [c.chart, c.marks]));
    // Two polylines, four markers, two legend swatches.
    expect(marks['sweep:cpus']).toBe(8);
    // Two advice groups of two bars (a series per cpus value) and two legend swatches.
    expect(marks['sweep:advice']).toBe(6);
    expect(marks['breakdown-by-point']).toBeGreaterThanOrEqual(4 + 2);
    for (const c of p.charts) expect(c.width, c.chart).toBeGreaterThan(100);
    expect(p.fits, `page wider than the ${p.viewport}px window`).toBe(true);
    // A table of 40 figure columns scrolls inside its box; the page itself still fits.
    const wide = sweepFixture();
    for (const pt of wide.points) for (let i = 0; i < 40; i++) pt.result.figures[`a_rather_long_figure_name_${i}`] = 123456789 + i;
    writeFileSync(file, renderSweepHtml(wide));
    const w = (await inspectPage(pathToFileURL(file).href, PROBE)).value as Probe;
    expect(w.fits, `page wider than the ${w.viewport}px window`).toBe(true);
  }, 60_000);

  it('the probe does see console errors (the check is not vacuous)', async () => {
    const file = join(dir, 'bad.html');
    writeFileSync(file, '<!DOCTYPE html><html><body><script>console.error("boom")</script></body></html>');
    const r = await inspectPage(pathToFileURL(file).href, '1');
    expect(r.errors).toEqual(['console.error: ["boom"]']);
  }, 60_000);
});
