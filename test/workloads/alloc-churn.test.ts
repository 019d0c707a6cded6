import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/machine.js';
import { allocChurn } from '../../src/workloads/alloc-churn.js';
import { runWorkload } from '../../src/workloads/run.js';

describe('alloc-churn', () => {
  const cfg = defaultConfig();
  const params = { chunk_pages: 32, rounds: 20 };
  const free = runWorkload(allocChurn, { ...params, advice: 'MADV_FREE' }, cfg);
  const dontneed = runWorkload(allocChurn, { ...params, advice: 'MADV_DONTNEED' }, cfg);

  it('passes its own checks with either advice', () => {
    expect(free.checks.failures).toEqual([]);
    expect(dontneed.checks.failures).toEqual([]);
  });

  it('with DONTNEED every round refaults and zeroes every page; with FREE only the first round does', () => {
    expect(dontneed.figures['faults_per_round']).toBe(32);
    expect(dontneed.figures['pages_zeroed_per_round']).toBeGreaterThanOrEqual(32);
    expect(free.figures['faults_per_round']).toBe(32 / 20);
    expect(free.figures['pglazyfree']).toBe(32);
  });

  it('is cheaper per round with FREE when memory is plentiful', () => {
    expect(free.figures['cycles_per_round']!).toBeLessThan(dontneed.figures['cycles_per_round']!);
    expect(free.figures['madvise_cycles_per_call']!).toBeLessThan(dontneed.figures['madvise_cycles_per_call']!);
  });

  it('with none never calls madvise: one fault per page in the first round only, the cheapest rounds', () => {
    const none = runWorkload(allocChurn, { ...params, advice: 'none' }, cfg);
    expect(none.checks.failures).toEqual([]);
    expect(none.counters['syscall_madvise'] ?? 0).toBe(0);
    expect(none.figures['faults_per_round']).toBe(32 / 20);
    expect(none.figures['cycles_per_round']!).toBeLessThan(free.figures['cycles_per_round']!);
  });

  it('--touch-bytes 1 writes one byte a page: the same faults with DONTNEED, fewer user cycles, and the bytes still read back', () => {
    const one = runWorkload(allocChurn, { ...params, advice: 'MADV_DONTNEED', touch_bytes: 1 }, cfg);
    expect(one.checks.failures).toEqual([]);
    expect(one.figures['faults_per_round']).toBe(32);
    expect(one.figures['cycles_per_round']!).toBeLessThan(dontneed.figures['cycles_per_round']!);
    const oneFree = runWorkload(allocChurn, { ...params, advice: 'MADV_FREE', touch_bytes: 1 }, cfg);
    expect(oneFree.checks.failures).toEqual([]);
    // FREE's advantage grows when less of each page is written: the saved fault is a larger share of the round.
    const ratio = (a: typeof one, b: typeof one) => a.figures['cycles_per_round']! / b.figures['cycles_per_round']!;
    expect(ratio(one, oneFree)).toBeGreaterThan(ratio(dontneed, free));
  });

  it('cycles per round are CPU time: threads queued on one CPU wait apart and do not make the round costlier', () => {
    const one = defaultConfig();
    one.cpus = 1;
    // Enough rounds that the threads outlast a tick and take turns on the CPU.
    const base = { chunk_pages: 32, rounds: 400, advice: 'MADV_FREE' };
    const alone = runWorkload(allocChurn, { ...base, threads: 1 }, one);
    const crowded = runWorkload(allocChurn, { ...base, threads: 4 }, one);
    expect(alone.figures['runqueue_wait_per_round']).toBe(0);
    expect(alone.figures['elapsed_cycles_per_round']).toBe(alone.figures['cycles_per_round']);
    // Four threads on one CPU: the elapsed round holds the waits, the CPU time of a round stays that of one thread.
    const c = crowded.figures;
    expect(c['runqueue_wait_per_round']!).toBeGreaterThan(c['cycles_per_round']!);
    // The rest of the elapsed round: the context switches into the thread (charged to the CPU's scheduler, not to the thread).
    const rest = c['elapsed_cycles_per_round']! - c['cycles_per_round']! - c['runqueue_wait_per_round']!;
    expect(rest).toBeGreaterThanOrEqual(0);
    // About 1% (1,132 cycles of 112,000 a round): a switch's cost moves with where kernel objects sit in the caches.
    expect(rest).toBeLessThan(0.02 * c['elapsed_cycles_per_round']!);
    expect(Math.abs(c['cycles_per_round']! / alone.figures['cycles_per_round']! - 1)).toBeLessThan(0.03);
  }, 60_000);
});
