/**
 * db-discard: what each advice does to a shared file mapping's pages. REMOVE
 * frees the discarded pages from the page cache (they read back zero);
 * DONTNEED only unmaps them (they read back the data, from the cache).
 */
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/machine.js';
import { dbDiscard } from '../../src/workloads/db-discard.js';
import { runWorkload } from '../../src/workloads/run.js';

const pages = 64;
const stride = 4;
const rounds = 3;

function run(advice: 'MADV_REMOVE' | 'MADV_DONTNEED') {
  const cfg = defaultConfig();
  cfg.sim.checks = true;
  return runWorkload(dbDiscard, { pages, stride, rounds, advice }, cfg);
}

describe('db-discard', () => {
  it('remove: every discard punches a hole, freeing the page; the read-back gives zeros and the check passes', () => {
    const r = run('MADV_REMOVE');
    expect(r.checks.failures).toEqual([]);
    const f = r.figures as Record<string, number>;
    expect(f.discards).toBe(rounds * (pages / stride));
    // The last round's holes are still holes (the read-back maps new zero pages of the file again: it was a shared mapping of a memfs file).
    expect(f.cached_pages_after_discard).toBe(pages - pages / stride);
    expect(f.major_faults).toBe(0);
  });

  it('dontneed: the pages stay in the page cache; the read-back gives the round\'s data and no page is freed by the discards', () => {
    const r = run('MADV_DONTNEED');
    expect(r.checks.failures).toEqual([]);
    const f = r.figures as Record<string, number>;
    expect(f.discards).toBe(rounds * (pages / stride));
    expect(f.cached_pages_after_discard).toBe(pages);
    expect(f.frames_freed_per_discard).toBe(0);
  });
});
