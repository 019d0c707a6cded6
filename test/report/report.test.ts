import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { fmtCycles, fmtDelta, fmtNum, fmtPct, fmtRatio, fmtShort, fmtTime, sig } from '../../src/report/format.js';
import { renderRunHtml, renderSweepHtml } from '../../src/report/html.js';
import { flameGraphHtml, subsystemOf } from '../../src/report/flame.js';
import { FORMATS, parseResult, renderReport, ResultError } from '../../src/report/index.js';
import { renderRunMarkdown, renderSweepMarkdown } from '../../src/report/markdown.js';
import { renderPerfetto } from '../../src/report/perfetto.js';
import { breakdownRows, counterGroups, foldedLines, headline, latencyRows } from '../../src/report/summary.js';
import { defaultMetric, metricValue, sweepColumns, sweepCurves, sweepGroups, sweepRows, topFunctions } from '../../src/report/sweep.js';
import { colourOf, icicleSvg } from '../../src/report/svg.js';
import { renderRunTerminal, renderSweepTerminal } from '../../src/report/terminal.js';
import { runFixture, sweepFixture } from './fixtures.js';

const plain = new Chalk({ level: 0 });
const colour = new Chalk({ level: 1 });

describe('number formatting', () => {
  it('separates thousands and keeps decimals', () => {
    expect(fmtNum(1234567)).toBe('1,234,567');
    expect(fmtNum(-1234.5)).toBe('-1,234.5');
    expect(fmtNum(0.125, 2)).toBe('0.13');
    expect(fmtCycles(1499.6)).toBe('1,500');
  });
  it('gives times in the unit that reads best', () => {
    expect(fmtTime(812)).toBe('812 ns');
    expect(fmtTime(3410)).toBe('3.41 µs');
    expect(fmtTime(12_700_000)).toBe('12.7 ms');
    expect(fmtTime(1.5e9)).toBe('1.5 s');
    expect(sig(100)).toBe('100');
    expect(sig(3.1)).toBe('3.1');
  });
  it('formats shares, ratios, deltas and axis labels', () => {
    expect(fmtPct(0.1234)).toBe('12.3%');
    expect(fmtRatio(2, 3)).toBe('1.50x');
    expect(fmtRatio(0, 0)).toBe('1.00x');
    expect(fmtRatio(0, 5)).toBe('-');
    expect(fmtDelta(1500)).toBe('+1,500');
    expect(fmtDelta(-2)).toBe('-2');
    expect(fmtDelta(0)).toBe('0');
    expect(fmtShort(1_200_000)).toBe('1.2M');
    expect(fmtShort(950)).toBe('950');
  });
});

describe('summary', () => {
  it('headline: utilisation and per-operation cost from ops', () => {
    const h = Object.fromEntries(headline(runFixture()).map((x) => [x.label, x.value]));
    expect(h['busy cycles (all CPUs)']).toBe(4500);
    expect(h['CPU utilisation']).toBe(4500 / 6000);
    expect(h['busy cycles per operation']).toBe(450);
    expect(h['simulated time per operation']).toBe(100);
  });
  it('groups counters by subsystem with miss rates, leftovers under Other', () => {
    const g = counterGroups(runFixture().counters);
    expect(g.map((x) => x.title)).toEqual(['TLB', 'Page faults', 'TLB shootdowns', 'IPIs', 'System calls', 'Other']);
    expect(g[0]!.rows).toEqual([
      { name: 'dtlb_l1_hit', value: 90 },
      { name: 'dtlb_l1_miss', value: 10, note: '10.00% miss' },
    ]);
    expect(g[5]!.rows).toEqual([{ name: 'weird_thing', value: 2 }]);
  });
  it('flattens the breakdown depth-first with shares, leaving out small nodes', () => {
    const rows = breakdownRows(runFixture().breakdown);
    expect(rows.map((r) => [r.depth, r.path, r.inclusive, r.exclusive])).toEqual([
      [0, 'syscall:madvise', 3000, 0],
      [1, 'syscall:madvise > zap_page_range', 2000, 1500],
      [2, 'syscall:madvise > zap_page_range > tlb_flush', 500, 500],
      [1, 'syscall:madvise > entry_SYSCALL_64', 1000, 1000],
      [0, 'user', 1500, 1500],
    ]);
    expect(rows[0]!.share).toBeCloseTo(3000 / 4500);
    expect(breakdownRows(runFixture().breakdown, 0.2).map((r) => r.name)).toEqual(['syscall:madvise', 'zap_page_range', 'entry_SYSCALL_64', 'user']);
  });
  it('folded stacks: one line per node with exclusive cycles, summing to the total', () => {
    const lines = foldedLines(runFixture().breakdown);
    expect(lines).toEqual(['syscall:madvise;zap_page_range 1500', 'syscall:madvise;zap_page_range;tlb_flush 500', 'syscall:madvise;entry_SYSCALL_64 1000', 'user 1500']);
    expect(lines.reduce((s, l) => s + Number(l.split(' ').pop()), 0)).toBe(4500);
  });
  it('orders syscalls by total time', () => {
    const lat = runFixture().latency;
    const more = { ...lat, close: { ...lat['madvise']!, count: 1 } };
    expect(latencyRows(more).map((r) => r.name)).toEqual(['madvise', 'close']);
  });
});

describe('terminal report', () => {
  it('has the headline, breakdown, latency and counters, without colour codes at level 0', () => {
    const t = renderRunTerminal(runFixture(), plain);
    for (const s of ['kernsim run fixture', '--threads 2 --advice MADV_FREE', 'simulated time', '1 µs', 'busy cycles per operation', 'records_per_sec', '1,234.5', 'Where the cycles went', 'zap_page_range', 'System call latency', 'madvise', 'Counters', 'TLB shootdowns', '10.00% miss', 'passed']) {
      expect(t).toContain(s);
    }
    expect(t).not.toMatch(/\x1b\[/);
  });
  it('colours when asked', () => {
    expect(renderRunTerminal(runFixture(), colour)).toMatch(/\x1b\[/);
  });
  it('lists check failures', () => {
    const t = renderRunTerminal(runFixture({ checks: { passed: false, failures: ['page 3 reads 0'] } }), plain);
    expect(t).toContain('FAILED (1)');
    expect(t).toContain('- page 3 reads 0');
  });
  it('summarises many CPUs on one line', () => {
    const cpus = Array.from({ length: 32 }, (_, i) => ({ cpu: i, busy: 100 + i, idle: 0 }));
    const t = renderRunTerminal(runFixture({ cpus }), plain);
    expect(t).toContain('busy mean');
    expect(t).not.toContain('│ 31 ');
  });
  it('renders a sweep as one row per point', () => {
    const t = renderSweepTerminal(sweepFixture(), plain);
    expect(t).toContain('kernsim sweep fixture');
    expect(t).toContain('fixed: --threads 2');
    expect(t.split('\n').filter((l) => l.includes('MADV_')).length).toBe(4);
  });
});

describe('markdown report', () => {
  it('is GitHub tables with every section', () => {
    const md = renderRunMarkdown(runFixture());
    expect(md).toContain('# kernsim run `fixture`');
    expect(md).toContain('| simulated cycles | 3,000 (1 µs) |');
    expect(md).toContain('| **syscall:madvise** | 3,000 | 0 | 66.7% |');
    expect(md).toContain('| madvise | 4 | 700 | 900 | 900 | 900 | 300 ns |');
    expect(md).toContain('### TLB shootdowns');
    expect(md).toContain('| `pgfault` | 7 |  |');
  });
  it('renders sweeps', () => {
    const md = renderSweepMarkdown(sweepFixture());
    expect(md).toContain('| cpus | advice | simulated cycles |');
    expect(md).toContain('| 4 | MADV_FREE | 1,000 |');
  });
});

describe('HTML report', () => {
  it('is one self-contained page with the breakdown, CPU and latency charts', () => {
    const html = renderRunHtml(runFixture());
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    // Script only inline (the flame graph's), nothing loaded from elsewhere.
    expect(html).not.toMatch(/<script[^>]* src=|<link|src="http|href="http/);
    expect((html.match(/<script>/g) ?? []).length).toBe(1);
    expect(html).toContain('data-chart="breakdown"');
    expect(html).toContain('data-chart="cpus"');
    expect(html).toContain('data-chart="latency:madvise"');
    expect((html.match(/<rect class="bar[ "]/g) ?? []).length).toBe(2 + 4);
  });
  it('flame graph: boxes coloured by subsystem, the tree inline and safe, a differential one coloured by change', () => {
    expect(['madvise_dontneed_free', 'zap_page_range_single', 'syscall:madvise', 'handle_mm_fault', 'clear_page'].map(subsystemOf)).toEqual(['mm', 'mm', 'mm', 'mm', 'mm']);
    expect(['syscall:openat', 'expand_fdtable', 'proc_reg_read', 'inotify_handle_event', 'vfs_read'].map(subsystemOf)).toEqual(['fs', 'fs', 'fs', 'fs', 'fs']);
    expect(['call_rcu', 'rcu_do_batch', 'synchronize_rcu'].map(subsystemOf)).toEqual(['rcu', 'rcu', 'rcu']);
    expect(['mmap_lock', 'spin_lock', 'rwsem_down_read_slowpath'].map(subsystemOf)).toEqual(['locking', 'locking', 'locking']);
    expect(['irq', 'ipi_handler', 'flush_tlb_func'].map(subsystemOf)).toEqual(['irq', 'irq', 'irq']);
    expect(['user', 'user:random_loads', 'context_switch'].map(subsystemOf)).toEqual(['user', 'user', 'sched']);
    const r = runFixture();
    const html = flameGraphHtml(r.breakdown);
    const data = JSON.parse(/<script type="application\/json" class="flame-data">(.*)<\/script>/.exec(html)![1]!) as { diff: boolean; tree: unknown[] };
    expect(data.diff).toBe(false);
    expect(data.tree[0]).toBe(r.breakdown.name);
    expect(data.tree[1]).toBe(r.breakdown.inclusive);
    // A name cannot close the script element.
    const evil = flameGraphHtml({ name: 'all', inclusive: 2, exclusive: 0, children: [{ name: '</script><b>', inclusive: 2, exclusive: 2, children: [] }] });
    expect(evil).not.toContain('</script><b>');
    // Differential: the change of each box against the baseline travels with it, and grown boxes are red.
    const base = runFixture().breakdown;
    const grown = JSON.parse(JSON.stringify(base)) as typeof base;
    grown.inclusive += 100;
    grown.children[0]!.inclusive += 100;
    grown.children[0]!.exclusive += 100;
    const diff = flameGraphHtml(grown, { base });
    const d = JSON.parse(/class="flame-data">(.*)<\/script>/.exec(diff)![1]!) as { diff: boolean; tree: [string, number, number, number, unknown[][], number] };
    expect(d.diff).toBe(true);
    expect(d.tree[5]).toBe(100);
    expect(d.tree[4][0]![5]).toBe(100);
    expect(d.tree[4][1]![5]).toBe(0);
    expect(diff).toMatch(/fill="hsl\(0 75% 45%\)"/);
  });
  it('escapes names', () => {
    const html = renderRunHtml(runFixture({ workload: '<b>&"' }));
    expect(html).toContain('&lt;b&gt;&amp;&quot;');
    expect(html).not.toContain('<b>&"');
  });
  it('draws a sweep as curves against its numeric axis, one per other-axis value', () => {
    const s = sweepFixture();
    expect(defaultMetric(s)).toBe('figure:records_per_sec');
    const c = sweepCurves(s, 'figure:records_per_sec')!;
    expect(c.xKey).toBe('cpus');
    expect(c.curves).toEqual([
      { label: 'advice=MADV_DONTNEED', points: [{ x: 1, y: 100 }, { x: 4, y: 300 }] },
      { label: 'advice=MADV_FREE', points: [{ x: 1, y: 200 }, { x: 4, y: 600 }] },
    ]);
    const html = renderSweepHtml(s);
    expect(html).toContain('data-chart="sweep:cpus"');
    expect((html.match(/<polyline class="series"/g) ?? []).length).toBe(2);
  });
  it('draws a categorical axis as grouped bars: a group per value, a bar per other-axis combination', () => {
    const s = sweepFixture();
    const g = sweepGroups(s, 'figure:records_per_sec', 'advice');
    expect(g.series).toEqual(['cpus=1', 'cpus=4']);
    expect(g.groups).toEqual([
      { label: 'MADV_DONTNEED', bars: [{ series: 'cpus=1', value: 100 }, { series: 'cpus=4', value: 300 }] },
      { label: 'MADV_FREE', bars: [{ series: 'cpus=1', value: 200 }, { series: 'cpus=4', value: 600 }] },
    ]);
    const html = renderSweepHtml(s);
    expect(html).toContain('data-chart="sweep:advice"');
    // The tallest bar (600) fills the plot's height (320 - 24 - 40 = 256).
    expect(html).toMatch(/<rect class="bar" x="[\d.]+" y="24" width="[\d.]+" height="256" fill="[^"]+"><title>advice=MADV_FREE, cpus=4: 600/);
  });
  it('splits each point\'s cycles by the functions with the most exclusive cycles over the sweep', () => {
    const s = sweepFixture();
    const t = topFunctions(s, 2);
    expect(t.names.length).toBe(3);
    expect(t.names[2]).toBe('other');
    for (const p of t.perPoint) expect(p.cycles.reduce((a, b) => a + b, 0)).toBe(p.total);
    expect(t.perPoint.map((p) => p.label)).toEqual(['cpus=1, advice=MADV_DONTNEED', 'cpus=1, advice=MADV_FREE', 'cpus=4, advice=MADV_DONTNEED', 'cpus=4, advice=MADV_FREE']);
    expect(renderSweepHtml(s)).toContain('data-chart="breakdown-by-point"');
  });
  it('icicle widths follow inclusive cycles', () => {
    const svg = icicleSvg(runFixture().breakdown, 900);
    expect(svg).toMatch(/<rect x="0" y="0" width="899"/);
    expect(svg).toMatch(/<rect x="0" y="20" width="599"/);
    expect(svg).toMatch(/<rect x="600" y="20" width="299"/);
    expect(colourOf('user')).toBe(colourOf('user'));
  });
});

describe('sweep tables', () => {
  it('fit the terminal: axes, the headline and the checks always, other columns while they fit, and a line saying how many are left out', () => {
    const s = sweepFixture();
    for (const p of s.points) for (let i = 0; i < 12; i++) p.result.figures[`figure_number_${i}`] = 1000 + i;
    const plain = new Chalk({ level: 0 });
    const all = renderSweepTerminal(s, plain);
    expect(Math.max(...all.split('\n').map((l) => l.length))).toBeGreaterThan(200);
    for (const width of [60, 80, 120]) {
      const text = renderSweepTerminal(s, plain, width);
      const lines = text.split('\n');
      for (const l of lines) expect(l.length, `${width}: ${l}`).toBeLessThanOrEqual(width);
      const head = lines.find((l) => l.includes('cpus'))!;
      expect(head).toMatch(/│ cpus +│ advice +│ figure_number_0 /);
      expect(head).toContain('checks');
      const hidden = sweepColumns(s).length - (head.match(/│/g)!.length - 1);
      expect(text).toContain(`+${hidden} columns not shown: report --format html or markdown`);
    }
  });

  it('has axis, cycle, figure and counter columns', () => {
    const s = sweepFixture();
    const cols = sweepColumns(s);
    expect(cols.map((c) => c.title)).toEqual(['cpus', 'advice', 'simulated cycles', 'simulated time', 'records_per_sec', 'pgfault', 'nr_tlb_remote_flush', 'ipi_sent', 'checks']);
    expect(sweepRows(s, cols)[3]!.cells).toEqual(['4', 'MADV_FREE', '1,000', '333 ns', '600', '7', '1', '3', 'ok']);
    expect(metricValue(s.points[0]!.result, 'counter:pgfault')).toBe(7);
    expect(metricValue(s.points[0]!.result, 'simulated_cycles')).toBe(4000);
  });

  it('charts the workload\'s headline figure by default, not the first figure by name', () => {
    const s = sweepFixture();
    for (const p of s.points) p.result.figures = { another_figure: 9, cycles_per_round: 5, faults_per_round: 1 };
    expect(defaultMetric({ ...s, workload: 'alloc-churn' })).toBe('figure:cycles_per_round');
    // A workload the registry does not know: the first figure by name.
    expect(defaultMetric(s)).toBe('figure:another_figure');
  });
});

describe('Perfetto trace', () => {
  it('has CPU tracks, slices in microseconds and IPI flows', () => {
    const r = runFixture({
      trace: {
        slices: [
          { cpu: 0, ts: 0, dur: 3000, name: 'worker' },
          { cpu: 1, ts: 1500, dur: 600, name: 'ipi' },
        ],
        flows: [{ fromCpu: 0, fromTs: 300, toCpu: 1, toTs: 1500, name: 'ipi' }],
        truncated: false,
      },
    });
    const t = renderPerfetto(r)!;
    expect(t.displayTimeUnit).toBe('ns');
    const x = t.traceEvents.filter((e) => e.ph === 'X');
    expect(x).toEqual([
      { name: 'worker', cat: 'task', ph: 'X', pid: 1, tid: 0, ts: 0, dur: 1, args: { start_cycle: 0, cycles: 3000 } },
      { name: 'ipi', cat: 'irq', ph: 'X', pid: 1, tid: 100001, ts: 0.5, dur: 0.2, args: { start_cycle: 1500, cycles: 600 } },
    ]);
    const flow = t.traceEvents.filter((e) => e.ph === 's' || e.ph === 'f');
    expect(flow).toEqual([
      { name: 'ipi', cat: 'ipi', ph: 's', id: 1, pid: 1, tid: 0, ts: 0.1 },
      { name: 'ipi', cat: 'ipi', ph: 'f', bp: 'e', id: 1, pid: 1, tid: 100001, ts: 0.5 },
    ]);
    expect(t.traceEvents.filter((e) => e.name === 'thread_name').map((e) => e.args!['name'])).toEqual(['CPU 0', 'CPU 0 irq', 'CPU 1', 'CPU 1 irq']);
  });
  it('puts overlapping kernel spans of one CPU on separate lanes, grace periods on the RCU track, wake-ups on task tracks', () => {
    const r = runFixture({
      trace: {
        slices: [
          { cpu: 0, ts: 0, dur: 3000, name: 'read', cat: 'syscall' },
          { cpu: 0, ts: 1500, dur: 3000, name: 'write', cat: 'syscall' },
          { cpu: 0, ts: 3000, dur: 300, name: 'close', cat: 'syscall' },
          { cpu: 1, ts: 0, dur: 6000, name: 'grace period 1', cat: 'rcu_gp' },
        ],
        flows: [{ fromCpu: 1, fromTs: 300, toCpu: 0, toTs: 1500, name: 'wakeup' }],
        truncated: false,
      },
    });
    const t = renderPerfetto(r)!;
    const track = new Map(t.traceEvents.filter((e) => e.name === 'thread_name').map((e) => [e.tid, e.args!['name']]));
    const x = t.traceEvents.filter((e) => e.ph === 'X').map((e) => [e.name, track.get(e.tid), e.ts, e.dur]);
    expect(x).toEqual([
      ['read', 'CPU 0 syscalls', 0, 1],
      ['grace period 1', 'RCU grace periods', 0, 2],
      ['write', 'CPU 0 syscalls 2', 0.5, 1],
      // The first lane is free again when the read ends.
      ['close', 'CPU 0 syscalls', 1, 0.1],
    ]);
    const flow = t.traceEvents.filter((e) => e.ph === 's' || e.ph === 'f');
    expect(flow).toEqual([
      { name: 'wakeup', cat: 'wakeup', ph: 's', id: 1, pid: 1, tid: 1, ts: 0.1 },
      { name: 'wakeup', cat: 'wakeup', ph: 'f', bp: 'e', id: 1, pid: 1, tid: 0, ts: 0.5 },
    ]);
  });
  it('is null without a recorded trace', () => {
    expect(renderPerfetto(runFixture())).toBeNull();
  });
});

describe('renderReport and parseResult', () => {
  it('renders every format of a run with a trace', () => {
    const r = runFixture({ trace: { slices: [], flows: [], truncated: false } });
    for (const f of FORMATS) expect(renderReport(r, f, { chalk: plain }).length).toBeGreaterThan(10);
    expect(JSON.parse(renderReport(r, 'json', { chalk: plain }))).toEqual(r);
    expect(renderReport(r, 'folded', { chalk: plain })).toBe('syscall:madvise;zap_page_range 1500\nsyscall:madvise;zap_page_range;tlb_flush 500\nsyscall:madvise;entry_SYSCALL_64 1000\nuser 1500\n');
  });
  it('refuses a trace it does not have, and flame stacks of a sweep', () => {
    expect(() => renderReport(runFixture(), 'perfetto', { chalk: plain, file: 'r.json' })).toThrow('r.json: trace: expected a run recorded with --trace');
    expect(() => renderReport(sweepFixture(), 'perfetto', { chalk: plain })).toThrow(ResultError);
    expect(() => renderReport(sweepFixture(), 'folded', { chalk: plain })).toThrow(ResultError);
  });
  it('accepts results and names what is wrong with anything else', () => {
    expect(parseResult(JSON.stringify(runFixture()), 'r.json').kind).toBe('run');
    expect(parseResult(JSON.stringify(sweepFixture()), 's.json').kind).toBe('sweep');
    expect(() => parseResult('{', 'x.json')).toThrow(/^x\.json: \(file\): expected a JSON result/);
    expect(() => parseResult('[]', 'x.json')).toThrow('x.json: (top level): expected an object');
    expect(() => parseResult('{"a":1}', 'x.json')).toThrow('x.json: kernsim_result: expected a kernsim result');
    expect(() => parseResult('{"kernsim_result":99,"kind":"run"}', 'x.json')).toThrow('x.json: kernsim_result: expected version 1, got 99');
    expect(() => parseResult('{"kernsim_result":1,"kind":"nope"}', 'x.json')).toThrow('x.json: kind: expected "run" or "sweep", got "nope"');
    const noCounters = { ...runFixture(), counters: undefined };
    expect(() => parseResult(JSON.stringify(noCounters), 'x.json')).toThrow('x.json: counters: expected an object, got nothing');
  });
});
