/**
 * Analytic checks: what a path costs, derived from the machine config rather
 * than pasted. Each is checked under more than one config, so a figure that
 * merely happened to match once cannot pass.
 */
import { describe, expect, it } from 'vitest';
import { runFocused, type FocusedScenario } from '../../src/bench/focused.js';
import { MM_SCENARIOS } from '../../src/bench/scenarios-mm.js';
import { inclusiveNamed } from '../../src/bench/window.js';
import { defaultConfig, type MachineConfig } from '../../src/config/machine.js';
import { Machine } from '../../src/hw/machine.js';
import { makePte, PTE_ACCESSED, PTE_PRESENT, PTE_RW, PTE_USER } from '../../src/hw/pagetable.js';
import { applyProfile } from '../../src/config/profile.js';
import { bootKernel } from '../../src/kernel/boot.js';
import { MemMap } from '../../src/kernel/mm/page_alloc.js';
import { intern } from '../../src/sim/attribution.js';
import type { TaskBody } from '../../src/sim/task.js';
import { single } from '../hw/single.js';

function scenario(name: string): FocusedScenario {
  const s = MM_SCENARIOS.find((x) => x.name === name);
  if (!s) throw new Error(`no scenario ${name}`);
  return s;
}

function cfgWith(over: Record<string, unknown>, cpus?: number): MachineConfig {
  const cfg = applyProfile(defaultConfig(), over, 'test');
  return cpus === undefined ? cfg : applyProfile(cfg, { cpus }, 'test');
}

/** Memory latencies and per-step bookkeeping at zero: what is left of a path is its configured fixed costs. */
/** With memory latencies at zero, a line moves in no time: the DRAM channels' limit (mem.*) is off too. */
const NO_DRAM_LIMIT = { channels: 0 };
const FIXED_ONLY = { l1d_hit: 0, l2_hit: 0, llc_hit: 0, dram: 0, c2c_transfer: 0, stlb_hit: 0, walk_step: 0, walk_start: 0, kernel_op: 0, atomic_rmw: 0, kmalloc: 0, lock_wakeup: 0 };

describe('an unloaded TLB miss whose walk misses every cache', () => {
  for (const lat of [
    { stlb_hit: 11, llc_hit: 44, dram: 195, walk_step: 0 },
    { stlb_hit: 9, llc_hit: 77, dram: 300, walk_step: 4 },
  ]) {
    it(`costs stlb_hit + walk_start + 4 x (llc_hit + dram + walk_step) + the data's llc_hit + dram (${JSON.stringify(lat)})`, () => {
      const cfg = cfgWith({ cpus: 1, ram_mib: 64, cost: lat });
      const m = new Machine(cfg);
      const frames = new MemMap(m.mem);
      m.pt.frames = frames;
      const cr3 = m.pt.allocTable();
      m.mmu.setCr3(0, cr3, 1);
      const va = 0x7f00_0000_0000;
      const pfn = frames.alloc();
      // Accessed already set on every level, so the walk only reads.
      expect(m.pt.installFunctional(cr3, va, makePte(pfn, PTE_PRESENT | PTE_RW | PTE_USER | PTE_ACCESSED))).toBe(true);
      const miss = cfg.cost.llc_hit + cfg.cost.dram;
      expect(single(m.mmu.access(0, va, false))).toBe(cfg.cost.stlb_hit + cfg.cost.walk_start + 4 * (miss + cfg.cost.walk_step) + miss);
      expect(m.caches.counters()).toMatchObject({ llc_miss: 5 });
    });
  }
});

describe('a TLB shootdown initiator', () => {
  for (const ipi of [
    { ipi_send: 300, ipi_latency: 1500, ipi_handler: 600, ipi_ack: 142 },
    { ipi_send: 123, ipi_latency: 4000, ipi_handler: 911, ipi_ack: 77 },
  ]) {
    it(`waits send + latency + handler + work + acknowledgement (${JSON.stringify(ipi)})`, () => {
      const cfg = cfgWith({ cpus: 2, cost: ipi });
      const k = bootKernel(cfg);
      const WORK = 250;
      let waited = -1;
      k.spawnProcess(
        'sender',
        (t) =>
          (function* (): TaskBody {
            yield t.sleepFor(10_000);
            const t0 = t.now;
            const done = k.engine.sendIpi(t, [1], intern('bench_test_ipi'), () => WORK);
            yield t.spinOn(done);
            waited = t.now - t0;
          })(),
        { cpu: 0, pinned: true },
      );
      k.engine.run();
      expect(waited).toBe(ipi.ipi_send + ipi.ipi_latency + ipi.ipi_handler + WORK + ipi.ipi_ack);
    });

    it(`in flush_tlb_mm_range of 1 page at 2 CPUs: the local flush and csd_lock_wait fill latency + the target's handler + ack exactly (${JSON.stringify(ipi)})`, () => {
      const r = runFocused(scenario('shootdown/1-page/2-cpus'), cfgWith({ cost: ipi }, 2));
      const paths = r.window.paths;
      const at = (suffix: string): number => [...paths].filter(([p]) => p.endsWith(suffix)).reduce((s, [, v]) => s + v, 0);
      // The target's whole interrupt: the configured handler cost plus the flush work it did.
      const handled = at('irq > ipi_handler > flush_tlb_func');
      expect(handled).toBeGreaterThan(ipi.ipi_handler);
      const localFlush = at('native_flush_tlb_multi > flush_tlb_func');
      const waited = inclusiveNamed(paths, 'csd_lock_wait');
      expect(localFlush + waited).toBe(ipi.ipi_latency + handled + ipi.ipi_ack);
      expect(r.sim.counters['ipi_sent']).toBe(1);
    });
  }
});

describe('a minor fault', () => {
  for (const costs of [{}, { page_fault_trap: 700, fault_handler: 1500, page_alloc: 400, zero_page: 1000 }]) {
    it(`costs trap + handler + allocation + zeroing once memory latencies and bookkeeping are zero (${JSON.stringify(costs)})`, () => {
      const cfg = cfgWith({ cost: { ...FIXED_ONLY, ...costs }, mem: NO_DRAM_LIMIT });
      const r = runFocused(scenario('fault/minor'), cfg);
      const c = { ...cfg.cost, ...cfg.kernel.cost };
      expect(r.sim.cycles).toBe(c.page_fault_trap + c.fault_handler + c.page_alloc + c.zero_page);
      expect(r.sim.counters['pgfault']).toBe(1);
    });
  }

  it('on the default machine: exactly one zeroing and one allocation, the rest is the trap, the handler and memory accesses', () => {
    const cfg = defaultConfig();
    const r = runFocused(scenario('fault/minor'), cfg);
    const c = { ...cfg.cost, ...cfg.kernel.cost };
    expect(r.sim.functions['clear_page']).toBe(c.zero_page);
    const fixed = c.page_fault_trap + c.fault_handler + c.page_alloc + c.zero_page;
    expect(r.sim.cycles).toBeGreaterThan(fixed);
    // What is above the fixed costs is memory the fault touched (struct page, the PTE, the VMA) and the retried store:
    // no more than a few DRAM misses' worth.
    expect(r.sim.cycles - fixed).toBeLessThan(12 * (c.llc_hit + c.dram));
  });
});

describe('a copy-on-write fault', () => {
  it('costs trap + handler + allocation + copy + the local flush of the old PTE, once memory latencies and bookkeeping are zero', () => {
    const cfg = cfgWith({ cost: FIXED_ONLY, mem: NO_DRAM_LIMIT });
    const r = runFocused(scenario('fault/cow'), cfg);
    const c = { ...cfg.cost, ...cfg.kernel.cost };
    expect(r.sim.cycles).toBe(c.page_fault_trap + c.fault_handler + c.page_alloc + c.copy_page + c.flush_tlb_func + c.invlpg);
  });
});
