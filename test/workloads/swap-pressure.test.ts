import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/machine.js';
import { runWorkload } from '../../src/workloads/run.js';
import { swapPressure } from '../../src/workloads/swap-pressure.js';

describe('swap-pressure', () => {
  it('on the default machine, swaps the overflow out and back in with every byte intact', () => {
    const r = runWorkload(swapPressure, {}, defaultConfig());
    expect(r.checks.failures).toEqual([]);
    const c = r.counters;
    const pages = r.figures['pages']!;
    expect(pages).toBe(Math.floor((16 * 256 * 150) / 100));
    // Everything was written, the overflow at least went out, and the read pass brought it back.
    expect(c['pswpout']).toBeGreaterThanOrEqual(pages - 16 * 256);
    expect(c['pswpin']).toBeGreaterThanOrEqual(pages - 16 * 256);
    expect(c['pgmajfault']).toBeGreaterThan(0);
    expect(c['pgscan_kswapd']! + c['pgscan_direct']!).toBeGreaterThan(0);
    expect(c['oom_kill'] ?? 0).toBe(0);
    // Readahead brings several pages per major fault on a sequential pass.
    expect(r.figures['pswpin_per_majfault']).toBeGreaterThan(1);
  });

  it('with several processes reading at random, still every byte', () => {
    const r = runWorkload(swapPressure, { processes: 3, order: 'random', passes: 2, mem_mib: 4, footprint_pct: 300 }, defaultConfig());
    expect(r.checks.failures).toEqual([]);
    expect(r.counters['pswpin']).toBeGreaterThan(0);
  });

  it('--willneed asks madvise for readahead, and the check says when madvise does not support it', () => {
    const r = runWorkload(swapPressure, { willneed: true, mem_mib: 8 }, defaultConfig());
    if (r.figures['willneed_supported'] === 1) expect(r.checks.failures).toEqual([]);
    else expect(r.checks.failures).toEqual(["madvise(MADV_WILLNEED) is not supported by this kernel's madvise yet (ENOSYS): the passes ran without it"]);
  });

  it('past RAM and swap together, the OOM killer ends a process and the check reports the kernel\'s message', () => {
    const cfg = defaultConfig();
    cfg.swap = { ...cfg.swap, size_mib: 4 };
    const r = runWorkload(swapPressure, { mem_mib: 8, footprint_pct: 200, processes: 2 }, cfg);
    expect(r.counters['oom_kill']).toBeGreaterThanOrEqual(1);
    expect(r.checks.failures.some((f) => /^kernel: Out of memory: Killed process \d+ \(swap-pressure\/\d\)/.test(f))).toBe(true);
    expect(r.checks.failures.some((f) => /killed by signal 9/.test(f))).toBe(true);
  });
});
