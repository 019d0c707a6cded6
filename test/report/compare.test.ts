import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { compareResults, figureDirection, renderCompareMarkdown, renderCompareTerminal, type RunComparison, type SweepComparison } from '../../src/report/compare.js';
import { grewShrank, renderCompareHtml } from '../../src/report/compare-html.js';
import { runFixture, sweepFixture } from './fixtures.js';

const plain = new Chalk({ level: 0 });

describe('compare', () => {
  it('two runs: deltas and ratios for headline, figures, latency, breakdown and counters', () => {
    const a = runFixture();
    const b = runFixture({ simulated_cycles: 1500, figures: { ops: 10, records_per_sec: 2469 }, params: { threads: 4, advice: 'MADV_FREE' } });
    const cmp = compareResults(a, b, ['a.json', 'b.json']) as RunComparison;
    expect(cmp.kind).toBe('run');
    expect(cmp.differences).toEqual([['threads', '2', '4']]);
    const row = (name: string) => cmp.rows.find((r) => r.name === name)!;
    expect(row('simulated cycles')).toMatchObject({ a: 3000, b: 1500, delta: -1500, ratio: 0.5, better: 'lower' });
    expect(row('records_per_sec')).toMatchObject({ a: 1234.5, b: 2469, ratio: 2, better: 'higher' });
    expect(row('madvise p99')).toMatchObject({ a: 900, b: 900, ratio: 1 });
    expect(row('syscall:madvise > zap_page_range')).toMatchObject({ a: 2000, b: 2000 });
    expect(row('pgfault')).toMatchObject({ a: 7, b: 7, better: 'none' });
    expect(cmp.rows.filter((r) => r.section === 'counters').map((r) => r.name)).toContain('dtlb_l1_hit');
  });

  it('reads figure names for their direction', () => {
    expect(figureDirection('cycles_per_load')).toBe('lower');
    expect(figureDirection('p99_latency')).toBe('lower');
    expect(figureDirection('gp_wait_us')).toBe('lower');
    expect(figureDirection('records_per_sec')).toBe('higher');
  });

  it('colours improvements green and regressions red in the terminal', () => {
    const a = runFixture();
    const b = runFixture({ simulated_cycles: 6000 });
    const t = renderCompareTerminal(compareResults(a, b), new Chalk({ level: 1 }));
    expect(t).toContain('\x1b[31m2.00x');
    const better = renderCompareTerminal(compareResults(b, a), new Chalk({ level: 1 }));
    expect(better).toContain('\x1b[32m0.50x');
    const p = renderCompareTerminal(compareResults(a, b, ['x.json', 'y.json']), plain);
    expect(p).toContain('a = x.json');
    expect(p).toMatch(/simulated cycles\s+│\s+3,000\s+│\s+6,000\s+│\s+\+3,000\s+│\s+2\.00x/);
  });

  it('two sweeps: points matched by grid values, unmatched ones listed', () => {
    const a = sweepFixture();
    const b = sweepFixture();
    b.points = b.points.slice(1).map((p) => ({ ...p, result: { ...p.result, simulated_cycles: p.result.simulated_cycles * 2 } }));
    const cmp = compareResults(a, b) as SweepComparison;
    expect(cmp.kind).toBe('sweep');
    expect(cmp.points.length).toBe(3);
    expect(cmp.points[0]!.point).toEqual({ cpus: 1, advice: 'MADV_FREE' });
    expect(cmp.points[0]!.rows[0]).toMatchObject({ name: 'simulated cycles', a: 3000, b: 6000, ratio: 2 });
    expect(cmp.onlyA).toEqual([{ cpus: 1, advice: 'MADV_DONTNEED' }]);
    expect(cmp.onlyB).toEqual([]);
    const t = renderCompareTerminal(cmp, plain);
    expect(t).toContain('cpus=4, advice=MADV_FREE');
    expect(t).toContain('only in a: {"cpus":1,"advice":"MADV_DONTNEED"}');
    expect(renderCompareMarkdown(cmp)).toContain('## cpus=1, advice=MADV_FREE');
  });

  it('will not compare a run with a sweep', () => {
    expect(() => compareResults(runFixture(), sweepFixture())).toThrow('cannot compare a run result with a sweep result');
  });

  it('markdown has a table per section', () => {
    const md = renderCompareMarkdown(compareResults(runFixture(), runFixture({ simulated_cycles: 4500 })));
    expect(md).toContain('## headline');
    expect(md).toContain('| simulated cycles | 3,000 | 4,500 | +1,500 | 1.50x |');
  });

  it('html: which functions grew and shrank, and a differential flame graph of two runs', () => {
    const a = runFixture();
    const b = runFixture();
    // In b, zap_page_range does 700 more cycles itself and entry_SYSCALL_64 400 fewer.
    const madv = b.breakdown.children[0]!;
    madv.children[0]!.exclusive += 700;
    madv.children[0]!.inclusive += 700;
    madv.children[1]!.exclusive -= 400;
    madv.children[1]!.inclusive -= 400;
    madv.inclusive += 300;
    b.breakdown.inclusive += 300;
    const gs = grewShrank(a.breakdown, b.breakdown);
    expect(gs.grew).toEqual([['zap_page_range', 1500, 2200]]);
    expect(gs.shrank).toEqual([['entry_SYSCALL_64', 1000, 600]]);
    const html = renderCompareHtml(compareResults(a, b, ['a.json', 'b.json']), a, b);
    expect(html).toContain('<h2>Which kernel functions grew, which shrank</h2>');
    expect(html).toContain('data-chart="breakdown-diff"');
    expect(html).toMatch(/<code>zap_page_range<\/code><\/td><td>1,500<\/td><td>2,200<\/td><td>\+700<\/td>/);
    const data = JSON.parse(/class="flame-data">(.*)<\/script>/.exec(html)![1]!) as { diff: boolean; tree: [string, number, number, number, [string, number, number, number, unknown[], number][], number] };
    expect(data.diff).toBe(true);
    expect(data.tree[4][0]![5]).toBe(300);
    // Sweeps: the tables, no flame graph.
    const sw = renderCompareHtml(compareResults(sweepFixture(), sweepFixture()), sweepFixture(), sweepFixture());
    expect(sw).toContain('<h2>cpus=1, advice=MADV_DONTNEED</h2>');
    expect(sw).not.toContain('flame-data');
  });
});
