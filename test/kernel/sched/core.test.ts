/**
 * Context switches (item 1): their cost (cost.context_switch plus the CR3
 * write, plus a flush when the ASID slot is new or stale, or always without
 * PCIDs), threads of one process switching without a CR3 write, and lazy
 * TLB: idle and kernel threads keep the last mm loaded, a CPU that missed a
 * shootdown while lazy flushes when it returns.
 */
import { describe, expect, it } from 'vitest';
import { defaultConfig, type MachineConfig } from '../../../src/config/machine.js';
import { bootKernel } from '../../../src/kernel/boot.js';
import type { Kernel } from '../../../src/kernel/kernel.js';
import { sys_mmap, sys_munmap } from '../../../src/kernel/mm/mmap.js';
import { cpuTlbState } from '../../../src/kernel/mm/tlbflush.js';
import { fillUser } from '../../../src/kernel/mm/uaccess.js';
import { current } from '../../../src/kernel/sched/task_struct.js';
import { Completion } from '../../../src/sim/wait.js';

function cfg(over: (c: MachineConfig) => void = () => {}): MachineConfig {
  const c = defaultConfig();
  c.cpus = 2;
  over(c);
  return c;
}

/** Records every CR3 load: [cpu, pml4, pcid, flushing]. */
function spyCr3(k: Kernel): [number, number, number, boolean][] {
  const log: [number, number, number, boolean][] = [];
  const mmu = k.machine.mmu;
  const orig = mmu.setCr3.bind(mmu);
  mmu.setCr3 = (cpu, pml4, pcid, noflush = true) => {
    log.push([cpu, pml4, pcid, !noflush]);
    return orig(cpu, pml4, pcid, noflush);
  };
  return log;
}

function switchCycles(k: Kernel): number {
  const a = k.engine.attribution;
  return a.exclusiveOf(a.pathNode(['schedule', 'context_switch']));
}

describe('context switch', () => {
  it('switching a CPU to a new address space costs context_switch, the CR3 write and a PCID flush, plus the mm lines it touches', () => {
    const c = cfg();
    const k = bootKernel(c);
    const cr3 = spyCr3(k);
    k.spawnProcess('p', function* () {}, { cpu: 0 });
    k.run();
    const miss = c.cost.llc_hit + c.cost.dram;
    // The cpumask line (written, an atomic) and the tlb_gen line (read), both cold.
    const expected = c.kernel.cost.context_switch + c.cost.cr3_write + 2 * miss + c.cost.atomic_rmw;
    expect(switchCycles(k)).toBe(expected);
    // ASID 0 is init_mm's from boot: the first process gets ASID 1, hardware PCID 2 (kern_pcid).
    expect(cr3[0]!.slice(2)).toEqual([2, true]);
  });

  it('without PCIDs every CR3 write flushes the whole TLB', () => {
    const c = cfg((x) => (x.tlb = { ...x.tlb, pcid: false }));
    const k = bootKernel(c);
    k.spawnProcess('p', function* () {}, { cpu: 0 });
    k.run();
    const miss = c.cost.llc_hit + c.cost.dram;
    expect(switchCycles(k)).toBe(c.kernel.cost.context_switch + c.cost.cr3_write + 2 * miss + c.cost.atomic_rmw);
    expect(k.machine.tlb.counters()['tlb_flush_all']).toBe(1);
  });

  it('threads of one process switch without a CR3 write', () => {
    const c = cfg();
    const k = bootKernel(c);
    const cr3 = spyCr3(k);
    const turn = new Completion(k.engine, 1);
    k.spawnProcess(
      'a',
      function* (t) {
        k.spawnThread(current(t), 'b', function* (tb) {
          tb.charge(10);
          turn.complete(tb.now);
        }, { cpu: 0, pinned: true });
        yield t.sleepOn(turn);
      },
      { cpu: 0, pinned: true },
    );
    k.run();
    // One load when the process first ran; a -> b and b -> a reuse it.
    expect(cr3.filter(([cpu]) => cpu === 0).length).toBe(1);
    expect(k.engine.counters.get('context_switches')).toBe(3);
  });

  it('two processes on one CPU keep their ASIDs: switching back needs no flush', () => {
    const k = bootKernel(cfg());
    const cr3 = spyCr3(k);
    const ping = new Completion(k.engine, 1);
    const pong = new Completion(k.engine, 1);
    k.spawnProcess('p1', function* (t) {
      yield t.sleepOn(ping);
      t.charge(5);
    }, { cpu: 0, pinned: true });
    k.spawnProcess('p2', function* (t) {
      ping.complete(t.now);
      yield t.sleepOn(pong);
    }, { cpu: 0, pinned: true });
    k.spawnKernelThread('k', function* (t) {
      yield t.sleepFor(1_000_000);
      pong.complete(t.now);
    }, { cpu: 1 });
    k.run();
    const cpu0 = cr3.filter(([cpu]) => cpu === 0);
    // p1 (new ASID, flush), p2 (new ASID, flush), p1 again (its slot is current: no flush), p2 (no flush).
    expect(cpu0.map(([, , pcid, flush]) => [pcid, flush])).toEqual([[2, true], [3, true], [2, false], [3, false]]);
  });

  it('idle keeps the mm loaded (lazy TLB); coming back to the same mm writes no CR3', () => {
    const k = bootKernel(cfg());
    const cr3 = spyCr3(k);
    k.spawnProcess('p', function* (t) {
      yield t.sleepFor(100_000);
      expect(cpuTlbState(k, t.cpu).isLazy).toBe(false);
    }, { cpu: 0, pinned: true });
    k.run();
    expect(cr3.filter(([cpu]) => cpu === 0).length).toBe(1);
  });

  it('a CPU that skipped a shootdown while lazy flushes its ASID when the mm returns', () => {
    const k = bootKernel(cfg());
    const cr3 = spyCr3(k);
    const state = { addr: 0, unmapped: new Completion(k.engine, 1) };
    k.spawnProcess('p', function* (t) {
      const leader = current(t);
      state.addr = yield* sys_mmap(t, 0, 16 * 4096, 3, 0x22, -1, 0);
      yield* fillUser(t, state.addr, 16 * 4096, 1);
      k.spawnThread(leader, 'unmapper', function* (tu) {
        expect(cpuTlbState(k, 0).isLazy).toBe(true);
        expect(yield* sys_munmap(tu, state.addr, 4096)).toBe(0);
        state.unmapped.complete(tu.now);
      }, { cpu: 1, pinned: true });
      // Sleep: CPU 0 idles in lazy mode with this mm loaded.
      yield t.sleepOn(state.unmapped);
      yield t.sleepFor(10_000);
    }, { cpu: 0, pinned: true });
    k.run();
    expect(k.engine.ipi.counters().ipi_sent).toBe(0);
    const cpu0 = cr3.filter(([cpu]) => cpu === 0);
    // The first load, then the catch-up flush on return (same ASID).
    expect(cpu0.map(([, , pcid, flush]) => [pcid, flush])).toEqual([[2, true], [2, true]]);
  });
});
