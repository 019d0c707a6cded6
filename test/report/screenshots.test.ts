/**
 * Screenshots of the three HTML reports (a run, a sweep, a comparison of two
 * runs) taken in headless Chromium from real results, each checked for the
 * elements the reports promise: the interactive flame graph with its
 * controls and subsystem legend, a chart per sweep axis and the per-point
 * breakdown, the differential flame graph and the grew/shrank tables, and
 * that each page fits its window. `UPDATE_SCREENSHOTS=1` writes them to
 * docs/img/ for the README. Skipped without Chromium, never passed.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGrid } from '../../src/cli/grid.js';
import { runSweep } from '../../src/cli/sweep.js';
import { defaultConfig } from '../../src/config/machine.js';
import { renderCompareHtml } from '../../src/report/compare-html.js';
import { compareResults } from '../../src/report/compare.js';
import { renderRunHtml, renderSweepHtml } from '../../src/report/html.js';
import { findWorkload } from '../../src/workloads/registry.js';
import type { RunResult, SweepResult } from '../../src/workloads/result.js';
import { runWorkload } from '../../src/workloads/run.js';
import { chromiumAvailable, inspectPage } from './chromium.js';

const have = chromiumAvailable();
const dir = mkdtempSync(join(tmpdir(), 'kernsim-shots-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const docsImg = fileURLToPath(new URL('../../docs/img/', import.meta.url));
const WINDOW = { width: 1100, height: 1300 };

const PROBE = `(() => ({
  charts: [...document.querySelectorAll('svg.chart')].map((s) => s.dataset.chart),
  flameBoxes: document.querySelectorAll('.flame svg rect').length,
  controls: [...document.querySelectorAll('.flame-controls input, .flame-controls button')].map((e) => e.type),
  legend: document.querySelector('.flame .legend')?.textContent ?? '',
  h2: [...document.querySelectorAll('h2')].map((h) => h.textContent),
  fits: document.documentElement.scrollWidth <= window.innerWidth,
}))()`;

interface Probe {
  charts: string[];
  flameBoxes: number;
  controls: string[];
  legend: string;
  h2: string[];
  fits: boolean;
}

let run: RunResult;
let before: RunResult;
let sweep: SweepResult;

beforeAll(async () => {
  if (!have) return;
  const w = findWorkload('alloc-churn')!;
  before = runWorkload(w, { threads: 4, rounds: 10, advice: 'MADV_DONTNEED' }, { ...defaultConfig(), cpus: 4 });
  run = runWorkload(w, { threads: 4, rounds: 10, advice: 'MADV_FREE' }, { ...defaultConfig(), cpus: 4 });
  sweep = await runSweep({ workload: w, axes: parseGrid(w, ['cpus=1..4:pow2', 'advice=MADV_FREE,MADV_DONTNEED']), params: { threads: 4, rounds: 5 }, machine: {}, jobs: 1 });
}, 300_000);

async function shot(name: string, html: string): Promise<Probe> {
  const file = join(dir, `${name}.html`);
  writeFileSync(file, html);
  const r = await inspectPage(pathToFileURL(file).href, PROBE, 60_000, WINDOW);
  expect(r.errors).toEqual([]);
  const png = r.png!;
  // A PNG of the window's size (IHDR: width and height, big-endian, at bytes 16 and 20), and not blank.
  expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([WINDOW.width, WINDOW.height]);
  expect(png.length).toBeGreaterThan(20_000);
  if (process.env['UPDATE_SCREENSHOTS']) {
    mkdirSync(docsImg, { recursive: true });
    writeFileSync(join(docsImg, `report-${name}.png`), png);
  }
  return r.value as Probe;
}

describe.skipIf(!have)('screenshots of the HTML reports', () => {
  it('a run: the interactive flame graph with its search, kernel-only view, zoom reset and subsystem legend', async () => {
    const p = await shot('run', renderRunHtml(run));
    expect(p.charts).toContain('breakdown');
    expect(p.flameBoxes).toBeGreaterThan(10);
    expect(p.controls).toEqual(['search', 'checkbox', 'button']);
    for (const s of ['mm', 'fs', 'rcu', 'locking', 'irq']) expect(p.legend).toContain(s);
    expect(p.fits).toBe(true);
  }, 120_000);

  it('a sweep: a chart per axis and the breakdown per point', async () => {
    const p = await shot('sweep', renderSweepHtml(sweep));
    expect(p.charts).toEqual(['sweep:cpus', 'sweep:advice', 'breakdown-by-point']);
    expect(p.h2).toContain('Where the cycles went, per point');
    expect(p.fits).toBe(true);
  }, 120_000);

  it('a comparison: what grew and shrank, and the differential flame graph', async () => {
    const p = await shot('compare', renderCompareHtml(compareResults(before, run, ['dontneed.json', 'free.json']), before, run));
    expect(p.charts).toContain('breakdown-diff');
    expect(p.h2).toContain('Which kernel functions grew, which shrank');
    expect(p.fits).toBe(true);
  }, 120_000);
});
