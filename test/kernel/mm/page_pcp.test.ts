/**
 * The per-CPU page lists and zone->lock (src/kernel/mm/page_pcp.ts): the
 * kernel's batch and high formulas, a spill past the high mark and a refill
 * of an empty list, each with its exact cycles on warm lines, and the lock
 * contended when CPUs spill at once.
 */
import { describe, expect, it } from 'vitest';
import { MmCore } from '../../../src/kernel/mm/core.js';
import { pcp_alloc, pcp_free_commit, zoneBatchsize, zoneHighsize, zonePcp, type ZonePcp } from '../../../src/kernel/mm/page_pcp.js';
import type { Task } from '../../../src/sim/task.js';
import { allocChurn } from '../../../src/workloads/alloc-churn.js';
import { runWorkload } from '../../../src/workloads/run.js';
import { runProcess, testConfig } from './helpers.js';

/** 64 MiB (16,384 frames) and min_free_kbytes 128 (min 32, low 40 frames) on 2 CPUs: batch 3, high 20..1024. */
const small = () =>
  testConfig((c) => {
    c.ram_mib = 64;
    c.kernel.min_free_kbytes = 128;
  });

/** Empties CPU 0's list and clears its tuning state (the process's own start allocated and freed pages). */
function reset(z: ZonePcp): void {
  while (z.count[0]! > 0) z.popOldest(0);
  z.high[0] = 0;
  z.freeCount[0] = 0;
  z.allocFactor[0] = 0;
}

function warm(t: Task, addrs: number[]): void {
  for (const a of addrs) t.k.machine.caches.access(t.cpu, a, true);
}

describe('per-CPU page lists', () => {
  it('sizes batch and high as zone_batchsize and zone_highsize do', () => {
    // 4 GiB: min(1M >> 10, 256) / 4 = 64 -> rounddown_pow_of_two(96) - 1.
    expect(zoneBatchsize(1 << 20)).toBe(63);
    // 64 MiB: 16 / 4 = 4 -> rounddown_pow_of_two(6) - 1.
    expect(zoneBatchsize(16384)).toBe(3);
    expect(zoneBatchsize(512)).toBe(0);
    // The low watermark over the CPUs, at least four batches.
    expect(zoneHighsize(2560, 63, 4)).toBe(640);
    expect(zoneHighsize(2560, 63, 64)).toBe(252);
    runProcess(function* (t) {
      const z = zonePcp(t.k);
      expect([z.batch, z.highMin, z.highMax, z.highWmark]).toEqual([3, 20, 1024, 48]);
    }, small());
  });

  it('spills nr_pcp_free pages under one zone->lock hold when the list reaches high: exact cycles on warm lines', () => {
    runProcess(function* (t) {
      const k = t.k;
      const c = k.cfg;
      const z = zonePcp(k);
      reset(z);
      const pfns = Array.from({ length: 20 }, (_, i) => 1000 + 2 * i);
      for (const p of pfns.slice(0, 19)) pcp_free_commit(t, p);
      expect(z.count[0]).toBe(19);
      warm(t, [z.zoneKaddr, z.zoneKaddr + 64, ...pfns.flatMap((p) => [MmCore.pageKaddr(p), MmCore.pageKaddr(p ^ 1)])]);
      const bulk0 = k.engine.counters.snapshot()['pcp_free_bulk'] ?? 0;
      const c0 = t.cpuTime;
      pcp_free_commit(t, pfns[19]!);
      // count 20 >= high 20: nr_pcp_free = clamp(free_count 20, batch 3, high - batch 17) = 17, the oldest; 3 stay.
      const moved = 17;
      const lock = c.cost.l1d_hit + c.cost.atomic_rmw + c.cost.l1d_hit;
      expect(t.cpuTime - c0).toBe(moved * (c.kernel.cost.kernel_op + 3 * c.cost.l1d_hit) + lock);
      expect(z.count[0]).toBe(3);
      expect((k.engine.counters.snapshot()['pcp_free_bulk'] ?? 0) - bulk0).toBe(1);
      // nr_pcp_high raised pcp->high to free_count + batch for the next round.
      expect(z.high[0]).toBe(23);
    }, small());
  });

  it('starts each CPU with one batch on its list, as after boot: its first allocations take no zone->lock, the batch+1st refills', () => {
    const cfg = small();
    cfg.cpus = 2;
    runProcess(function* (t) {
      const k = t.k;
      const z = zonePcp(k);
      // The process's own start may have allocated on CPU 0: CPU 1's list is untouched.
      expect(z.count[1]).toBe(z.batch);
      const bulk = () => k.engine.counters.snapshot()['pcp_alloc_bulk'] ?? 0;
      const t1 = Object.assign(Object.create(Object.getPrototypeOf(t)), t, { cpu: 1 }) as Task;
      const b0 = bulk();
      for (let i = 0; i < z.batch; i++) pcp_alloc(t1, k.mem_map.freeCount);
      expect(z.count[1]).toBe(0);
      expect(bulk() - b0).toBe(0);
      pcp_alloc(t1, k.mem_map.freeCount);
      expect(bulk() - b0).toBe(1);
    }, cfg);
  });

  it('refills an empty list with nr_pcp_alloc pages under one hold, doubling with consecutive refills', () => {
    runProcess(function* (t) {
      const k = t.k;
      const c = k.cfg;
      const z = zonePcp(k);
      reset(z);
      const next = [0, 1, 2].map((i) => MmCore.pageKaddr(k.mem_map.peekFree(i)));
      warm(t, [z.zoneKaddr, z.zoneKaddr + 64, ...next]);
      const c0 = t.cpuTime;
      pcp_alloc(t, k.mem_map.freeCount);
      // batch 3 << alloc_factor 0; the list keeps 2 after this allocation takes one.
      expect(t.cpuTime - c0).toBe(3 * 2 * c.cost.l1d_hit + c.cost.l1d_hit + c.cost.atomic_rmw + c.cost.l1d_hit);
      expect(z.count[0]).toBe(2);
      pcp_alloc(t, k.mem_map.freeCount);
      pcp_alloc(t, k.mem_map.freeCount);
      expect(z.count[0]).toBe(0);
      pcp_alloc(t, k.mem_map.freeCount);
      // alloc_factor 1: 6 pages.
      expect(z.count[0]).toBe(5);
    }, small());
  });

  it('keeps balanced churn off zone->lock after the first refills (pcp->high grows with them), which contend when CPUs refill at once', () => {
    const cfg = small();
    cfg.cpus = 4;
    const params = { chunk_pages: 64, rounds: 20, advice: 'MADV_DONTNEED' };
    const one = runWorkload(allocChurn, { ...params, threads: 1 }, cfg);
    const four = runWorkload(allocChurn, { ...params, threads: 4 }, cfg);
    expect(one.counters['lock_contended:zone->lock'] ?? 0).toBe(0);
    // Each round frees the 64 pages it allocated: the list never reaches high, so nothing spills.
    expect(one.counters['pcp_free_bulk'] ?? 0).toBe(0);
    expect(four.counters['pcp_free_bulk'] ?? 0).toBe(0);
    expect(one.counters['pcp_alloc_bulk']!).toBeLessThan(10);
    expect(four.counters['lock_contended:zone->lock']!).toBeGreaterThan(0);
  });
});
