import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/machine.js';
import { ebizzy } from '../../src/workloads/ebizzy.js';
import { runWorkload } from '../../src/workloads/run.js';

describe('ebizzy', () => {
  const cfg = defaultConfig();
  cfg.cpus = 2;
  // 64 KiB chunks: 16 pages a copy, 13 bsearch probes; short runs.
  const params = { threads: 2, chunks: 4, chunk_kib: 64, duration_ms: 1 };
  const free = runWorkload(ebizzy, { ...params, advice: 'MADV_FREE' }, cfg);
  const dontneed = runWorkload(ebizzy, { ...params, advice: 'MADV_DONTNEED' }, cfg);

  it('passes its own checks (every probe reads what the copy wrote) with either advice', () => {
    expect(free.checks.failures).toEqual([]);
    expect(dontneed.checks.failures).toEqual([]);
  });

  it('purges after every free (jemalloc: dirty pages above active / 8); DONTNEED refaults every page of every copy', () => {
    // One purge per copy; a copy that ends after the run's end is purged but not counted as a record (at most one a thread).
    for (const r of [free, dontneed]) {
      expect(r.figures['purges']!).toBeGreaterThanOrEqual(r.figures['records']!);
      expect(r.figures['purges']!).toBeLessThanOrEqual(r.figures['records']! + 2);
    }
    expect(dontneed.figures['faults_per_record']).toBe(16);
    // FREE faults a thread's buffer in once, on its first copy.
    const firstCopies = 2 * 16;
    expect(free.figures['faults_per_record']).toBe(Math.round((firstCopies / free.figures['purges']!) * 100) / 100);
  });

  it('completes more records per second with FREE, and records_per_sec is records over the simulated run time', () => {
    expect(free.figures['records_per_sec']!).toBeGreaterThan(dontneed.figures['records_per_sec']!);
    expect(free.figures['records_per_sec']).toBe(free.figures['records']! * 1000);
    expect(free.figures['records']!).toBeGreaterThan(0);
  });

  it('checks its probes with more chunks than a byte can number (the posting\'s -n 512)', () => {
    // Memory holds bytes: chunk 300 is written, copied and read back as 1 + 300 % 255 = 46, not 301 % 256.
    const many = runWorkload(ebizzy, { threads: 1, chunks: 300, chunk_kib: 4, duration_ms: 1, advice: 'MADV_FREE' }, cfg);
    expect(many.checks.failures).toEqual([]);
    expect(many.figures['records']!).toBeGreaterThan(300);
  });
});
