/**
 * Broadcast invalidation as machine options (AMD INVLPGB with Linux 6.15's
 * global ASIDs, Intel RAR) and KVM's paravirtual TLB flush, on the
 * tlb-shootdown workload: one thread zaps 16 pages a round while three more
 * threads of the mm run on the other CPUs.
 */
import { describe, expect, it } from 'vitest';
import { defaultConfig, type MachineConfig } from '../../../src/config/machine.js';
import type { BreakdownNode } from '../../../src/sim/attribution.js';
import { runWorkload } from '../../../src/workloads/run.js';
import { tlbShootdown } from '../../../src/workloads/tlb-shootdown.js';

function machine(over: (c: MachineConfig) => void): MachineConfig {
  const c = defaultConfig();
  c.cpus = 4;
  // A jiffy of 0.1 ms, so consider_global_asid's once-every-32-jiffies check comes within the run.
  c.kernel.hz = 10000;
  over(c);
  return c;
}

function exclusiveNamed(n: BreakdownNode, name: string): number {
  return (n.name === name ? n.exclusive : 0) + n.children.reduce((s, c) => s + exclusiveNamed(c, name), 0);
}

const params = { pages: 16, rounds: 300 };

describe('INVLPGB', () => {
  const r = runWorkload(tlbShootdown, params, machine((c) => (c.tlb.invlpgb = true)));
  const c = r.counters;

  it('gives the mm running on 4 CPUs a global ASID; from then on its flushes are broadcasts, not IPIs', () => {
    expect(r.checks.failures).toEqual([]);
    expect(c['tlb_global_asid']).toBe(1);
    // 16 pages, 8 an instruction: two INVLPGBs a flush.
    const broadcasts = c['tlb_invlpgb']! / 2;
    expect(Number.isInteger(broadcasts)).toBe(true);
    expect(broadcasts).toBeGreaterThan(params.rounds / 2);
    // The IPI flushes were those before the global ASID: three targets each.
    expect(c['ipi_sent']).toBe(3 * (params.rounds - broadcasts));
  });

  it('costs the sender cost.invlpgb per instruction and one cost.tlbsync per flush, and nothing on the other CPUs', () => {
    const cfg = machine((x) => (x.tlb.invlpgb = true));
    const broadcasts = c['tlb_invlpgb']! / 2;
    expect(exclusiveNamed(r.breakdown as BreakdownNode, 'broadcast_tlb_flush')).toBe(c['tlb_invlpgb']! * cfg.cost.invlpgb + broadcasts * cfg.cost.tlbsync);
  });

  it('is not used without the CPU feature', () => {
    const off = runWorkload(tlbShootdown, params, machine(() => {}));
    expect(off.counters['tlb_global_asid'] ?? 0).toBe(0);
    expect(off.counters['ipi_sent']).toBe(3 * params.rounds);
  });
});

describe('Intel RAR', () => {
  it('reaches the same targets as IPIs, each charged cost.rar_action instead of an interrupt and flush_tlb_func', () => {
    const cfg = machine((c) => (c.tlb.rar = true));
    const r = runWorkload(tlbShootdown, params, cfg);
    expect(r.checks.failures).toEqual([]);
    expect(r.counters['ipi_sent']).toBe(3 * params.rounds);
    const tree = r.breakdown as BreakdownNode;
    const irq = tree.children.find((n) => n.name === 'irq')!;
    expect(exclusiveNamed(irq, 'ipi_handler')).toBe(0);
    const handler = irq.children.find((n) => n.name === 'ipi_handler')!.children.find((n) => n.name === 'rar_action')!;
    expect(handler.inclusive).toBe(3 * params.rounds * cfg.cost.rar_action);
  });
});

describe('KVM paravirtual TLB flush', () => {
  it('sends no IPI to a preempted vCPU: it is marked and flushes at its next entry', () => {
    const guest = (pv: boolean) =>
      runWorkload(tlbShootdown, params, machine((c) => {
        c.virt = { ...c.virt, enabled: true, steal_pct: 30, steal_period_us: 50, pv_tlb_flush: pv };
      }));
    const pv = guest(true);
    const native = guest(false);
    expect(pv.checks.failures).toEqual([]);
    expect(native.checks.failures).toEqual([]);
    const marked = pv.counters['kvm_pv_tlb_flush_on_enter']!;
    expect(marked).toBeGreaterThan(0);
    expect(native.counters['kvm_pv_tlb_flush_on_enter'] ?? 0).toBe(0);
    // Every flush reaches the three other vCPUs one way or the other.
    expect(pv.counters['ipi_sent']! + marked).toBe(3 * params.rounds);
    expect(native.counters['ipi_sent']).toBe(3 * params.rounds);
  });
});
