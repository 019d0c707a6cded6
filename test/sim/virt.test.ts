/**
 * A virtualised machine (the `virt` section): what an IPI costs the sender
 * and the target in VM exits, with and without PV IPIs and posted
 * interrupts, and steal time. Exact cycles from the config.
 */
import { describe, expect, it } from 'vitest';
import { defaultConfig, type MachineConfig } from '../../src/config/machine.js';
import { intern } from '../../src/sim/attribution.js';
import { Engine } from '../../src/sim/engine.js';
import type { Task, TaskBody } from '../../src/sim/task.js';

const FLUSH = intern('test_flush');

function guest(over: Partial<MachineConfig['virt']> = {}): MachineConfig {
  const c = defaultConfig();
  c.cpus = 4;
  c.virt = { ...c.virt, enabled: true, ...over };
  return c;
}

/** Sends one IPI from CPU 0 to CPUs 1-3 (handler work 0) and returns the sender's cycles for the sends and each target's handler cycles. */
function oneSend(c: MachineConfig): { send: number; handler: number[]; exits: number } {
  const e = new Engine(c);
  let send = 0;
  e.spawn('sender', (t: Task): TaskBody => (function* () {
    const t0 = t.now;
    const done = e.sendIpi(t, [1, 2, 3], FLUSH, () => 0);
    send = t.now - t0;
    yield t.spinOn(done);
  })(), { cpu: 0, pinned: true });
  e.run();
  const irq = e.attribution.tree().children.find((n) => n.name === 'irq')!;
  const h = irq.children.find((n) => n.name === 'ipi_handler')!.children.find((n) => n.name === 'test_flush')!;
  return { send, handler: [h.inclusive / 3], exits: e.ipi.vmExits };
}

describe('virt: IPIs in a KVM guest', () => {
  const bare = defaultConfig();
  bare.cpus = 4;
  const cost = bare.cost;

  it('bare metal: ipi_send per target, ipi_handler per delivery, no VM exit', () => {
    expect(oneSend(bare)).toEqual({ send: 3 * cost.ipi_send, handler: [cost.ipi_handler], exits: 0 });
  });

  it('PV IPI: one hypercall (one VM exit) for the whole mask; without posted interrupts each target is kicked out and injected (one exit each)', () => {
    const c = guest();
    expect(oneSend(c)).toEqual({ send: c.virt.vm_exit + 3 * cost.ipi_send, handler: [cost.ipi_handler + c.virt.vm_exit], exits: 1 + 3 });
  });

  it('without PV IPIs every trapped ICR write is an exit; with posted interrupts delivery takes none', () => {
    const c = guest({ pv_ipi: false, posted_interrupts: true });
    expect(oneSend(c)).toEqual({ send: 3 * (cost.ipi_send + c.virt.vm_exit), handler: [cost.ipi_handler], exits: 3 });
  });
});

describe('virt: steal time', () => {
  it('each vCPU loses steal_pct of every steal period, in a slice staggered by CPU, and a busy vCPU\'s clock jumps over it', () => {
    const c = guest({ steal_pct: 25, steal_period_us: 100 });
    const e = new Engine(c);
    const period = Math.round(100 * 1000 * c.clock_ghz);
    const slice = period / 4;
    expect(e.preemptedUntil(0, 0)).toBe(slice);
    expect(e.preemptedUntil(0, slice)).toBe(-1);
    expect(e.preemptedUntil(1, period / 4)).toBe(period / 4 + slice);
    expect(e.preemptedUntil(1, 0)).toBe(-1);
    // A task computing 2 periods' worth of cycles on CPU 0 also spends 2-3 slices preempted.
    e.spawn('busy', (t: Task): TaskBody => (function* () {
      for (let i = 0; i < 2 * period / 100; i++) {
        t.charge(100);
        if (t.shouldYield()) yield;
      }
    })(), { cpu: 0, pinned: true });
    e.run();
    expect(e.busy[0]).toBe(2 * period);
    expect(e.steal[0]! % slice).toBe(0);
    expect(e.steal[0]).toBeGreaterThanOrEqual(2 * slice);
    expect(e.counters.snapshot()['steal_cycles']).toBe(e.steal[0]);
  });

  it('bare metal has no steal time', () => {
    const c = defaultConfig();
    c.virt = { ...c.virt, steal_pct: 50 };
    expect(new Engine(c).preemptedUntil(0, 0)).toBe(-1);
  });
});
