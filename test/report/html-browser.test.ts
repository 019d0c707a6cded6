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
