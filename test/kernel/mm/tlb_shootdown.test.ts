/**
 * TLB shootdown as on Linux x86 (item 4/8): unmapping on one CPU sends
 * flush IPIs to exactly the other CPUs running the mm, skips lazy ones
 * (unless page tables were freed), flushes by single INVLPGs up to the
 * ceiling and with a full flush beyond it, waits for every acknowledgement,
 * and frees the frames only afterwards.
 */
import { describe, expect, it } from 'vitest';
import { defaultConfig, type MachineConfig } from '../../../src/config/machine.js';
import { bootKernel } from '../../../src/kernel/boot.js';
import type { Kernel } from '../../../src/kernel/kernel.js';
import { checkInvariants } from '../../../src/kernel/mm/invariants.js';
import { mmCore } from '../../../src/kernel/mm/core.js';
import { sys_madvise, MADV_DONTNEED } from '../../../src/kernel/mm/madvise.js';
import { sys_mmap, sys_munmap } from '../../../src/kernel/mm/mmap.js';
import { cpuTlbState } from '../../../src/kernel/mm/tlbflush.js';
import { accessUserRange, fillUser } from '../../../src/kernel/mm/uaccess.js';
import { current, type TaskStruct } from '../../../src/kernel/sched/task_struct.js';
import type { Task } from '../../../src/sim/task.js';

const PAGE = 4096;
const RW = 3;
const PRIVATE_ANON = 0x22;

function cfg(cpus = 8): MachineConfig {
  const c = defaultConfig();
  c.cpus = cpus;
  return c;
}

interface Scenario {
  k: Kernel;
  /** Cycles the unmapping call took on CPU 0. */
  cycles: number;
  received: number[];
  sent: number;
  /** What each CPU had loaded right after the unmapping call (null: init_mm). */
  loadedAfter: (unknown | null)[];
  counters: Record<string, number>;
}

/**
 * A process whose leader on CPU 0 maps `pages` pages, touches them, lets
 * `threads` threads on CPUs 1..threads start, then unmaps `unmapPages` of
 * them (from the start) with `how`. The threads either keep touching their
 * own memory (running) or sleep (their CPUs idle, in lazy TLB mode).
 */
function scenario(threads: number, mode: 'running' | 'sleeping', pages: number, unmapPages: number, how: 'munmap' | 'dontneed' = 'munmap', cpus = 8): Scenario {
  const k = bootKernel(cfg(cpus));
  const out: Scenario = { k, cycles: 0, received: [], sent: 0, loadedAfter: [], counters: {} };
  const state = { done: false, started: 0 };
  k.spawnProcess(
    'leader',
    function* (t: Task) {
      const leader = current(t);
      // At 16 TiB, alone in its page-table subtree: unmapping all of it frees its tables.
      const a = yield* sys_mmap(t, 2 ** 44, pages * PAGE, RW, PRIVATE_ANON, -1, 0);
      expect(a).toBe(2 ** 44);
      expect(yield* fillUser(t, a, pages * PAGE, 1)).toBe(0);
      for (let c = 1; c <= threads; c++) {
        k.spawnThread(leader, `thread${c}`, threadBody(k, mode, state), { cpu: c, pinned: true });
      }
      while (state.started < threads) yield t.sleepFor(1000);
      // Let the sleepers' CPUs settle into idle.
      if (mode === 'sleeping') yield t.sleepFor(100_000);
      const ipiBefore = k.engine.ipi.counters().ipi_sent;
      const before = k.engine.counters.snapshot();
      const start = t.now;
      if (how === 'munmap') expect(yield* sys_munmap(t, a, unmapPages * PAGE)).toBe(0);
      else expect(yield* sys_madvise(t, a, unmapPages * PAGE, MADV_DONTNEED)).toBe(0);
      out.cycles = t.now - start;
      for (let c = 0; c < cpus; c++) out.loadedAfter.push(cpuTlbState(k, c).loadedMm);
      out.sent = k.engine.ipi.counters().ipi_sent - ipiBefore;
      const after = k.engine.counters.snapshot();
      for (const key of Object.keys(after)) if (after[key] !== (before[key] ?? 0)) out.counters[key] = after[key]! - (before[key] ?? 0);
      state.done = true;
      checkInvariants(k);
    },
    { cpu: 0, pinned: true },
  );
  const recv0 = [...k.engine.ipi.received];
  k.run();
  out.received = [...k.engine.ipi.received].map((v, i) => v - recv0[i]!);
  return out;
}

function threadBody(k: Kernel, mode: 'running' | 'sleeping', state: { done: boolean; started: number }) {
  return function* (t: Task) {
    const ts: TaskStruct = current(t);
    void ts;
    const b = yield* sys_mmap(t, 0, 4 * PAGE, RW, PRIVATE_ANON, -1, 0);
    state.started++;
    if (mode === 'sleeping') {
      while (!state.done) yield t.sleepFor(10_000_000);
      return;
    }
    // Keep the CPU busy in user mode (a few thousand cycles per round) until the test is done.
    while (!state.done) expect(yield* accessUserRange(t, b, 1000, 0, false)).toBe(0);
  };
}

describe('TLB shootdown', () => {
  it('unmapping with threads running on CPUs 1..7 sends one flush IPI to each of exactly those CPUs', () => {
    const s = scenario(7, 'running', 64, 8);
    expect(s.received).toEqual([0, 1, 1, 1, 1, 1, 1, 1]);
    expect(s.sent).toBe(7);
    expect(s.counters['nr_tlb_remote_flush']).toBe(1);
    expect(s.counters['nr_tlb_remote_flush_received']).toBe(7);
    expect(s.counters['tlb_shootdown_pages']).toBe(8);
    expect(s.counters['nr_tlb_local_flush_one']).toBe(8);
  });

  it("the initiator's cost grows with the number of CPUs it must flush", () => {
    const c1 = scenario(1, 'running', 64, 8).cycles;
    const c3 = scenario(3, 'running', 64, 8).cycles;
    const c7 = scenario(7, 'running', 64, 8).cycles;
    expect(c3).toBeGreaterThan(c1);
    expect(c7).toBeGreaterThan(c3);
    // Each extra target costs at least the IPI send.
    const send = defaultConfig().cost.ipi_send;
    expect(c7 - c3).toBeGreaterThanOrEqual(4 * send);
  });

  it('a process whose other threads sleep sends no IPIs: their CPUs are lazy and catch up later', () => {
    const s = scenario(7, 'sleeping', 64, 8);
    expect(s.sent).toBe(0);
    expect(s.received).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(s.counters['nr_tlb_remote_flush']).toBe(1);
    expect(s.counters['nr_tlb_remote_flush_received']).toBeUndefined();
  });

  it('MADV_DONTNEED with sleeping threads sends no IPIs either', () => {
    const s = scenario(3, 'sleeping', 16, 16, 'dontneed');
    expect(s.sent).toBe(0);
  });

  it('freeing page tables sends the flush to lazy CPUs too (they could walk a freed table)', () => {
    // Unmapping the whole mapping frees its PTE table.
    const s = scenario(3, 'sleeping', 16, 16);
    expect(s.received).toEqual([0, 1, 1, 1, 0, 0, 0, 0]);
    // A lazy CPU that receives the flush leaves the mm for init_mm.
    expect(s.loadedAfter.slice(1, 4)).toEqual([null, null, null]);
  });

  it('flushes by single INVLPGs up to tlb_single_page_flush_ceiling pages and fully beyond', () => {
    const ceiling = defaultConfig().kernel.tlb_single_page_flush_ceiling;
    const at = scenario(1, 'running', 128, ceiling, 'munmap', 2);
    expect(at.counters['tlb_shootdown_pages']).toBe(ceiling);
    expect(at.counters['nr_tlb_local_flush_one']).toBe(ceiling);
    expect(at.counters['tlb_shootdown_full']).toBeUndefined();
    const over = scenario(1, 'running', 128, ceiling + 1, 'munmap', 2);
    expect(over.counters['tlb_shootdown_full']).toBe(1);
    expect(over.counters['nr_tlb_local_flush_all']).toBe(1);
    expect(over.counters['nr_tlb_local_flush_one']).toBeUndefined();
  });

  it('frees the unmapped frames only after every target has flushed', () => {
    const k = bootKernel(cfg(4));
    k.engine.tracing = true;
    const freedAt: number[] = [];
    const state = { done: false, started: 0 };
    let unmapStart = Infinity;
    mmCore(k).hooks.onFree = (kk, pfn) => {
      if (kk.engine.clock[0]! >= unmapStart && (kk.mem_map.flags[pfn]! & (1 << 16)) !== 0) freedAt.push(kk.engine.clock[0]!);
    };
    k.spawnProcess(
      'leader',
      function* (t) {
        const leader = current(t);
        const a = yield* sys_mmap(t, 0, 64 * PAGE, RW, PRIVATE_ANON, -1, 0);
        yield* fillUser(t, a, 64 * PAGE, 9);
        for (let c = 1; c <= 3; c++) k.spawnThread(leader, `t${c}`, threadBody(k, 'running', state), { cpu: c, pinned: true });
        while (state.started < 3) yield t.sleepFor(1000);
        const recv = [...k.engine.ipi.received];
        unmapStart = t.now;
        yield* sys_munmap(t, a, 8 * PAGE);
        for (let c = 1; c <= 3; c++) expect(k.engine.ipi.received[c]).toBe(recv[c]! + 1);
        state.done = true;
      },
      { cpu: 0, pinned: true },
    );
    k.run();
    expect(freedAt.length).toBe(8);
    // Every target's handler ended, and its acknowledgement arrived, before the initiator freed a frame.
    const ipis = k.engine.traceSlices.filter((s) => s.name === 'ipi' && s.ts >= unmapStart);
    expect(ipis.map((s) => s.cpu).sort()).toEqual([1, 2, 3]);
    const lastAck = Math.max(...ipis.map((s) => s.ts + s.dur)) + k.cfg.cost.ipi_ack;
    expect(Math.min(...freedAt)).toBeGreaterThanOrEqual(lastAck);
  });
});
