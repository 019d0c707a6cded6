/**
 * Sampled mode (src/hw/sampler.ts): a sampled run faults at the same
 * accesses, with the same codes, and leaves the same A and D bits as an
 * exact run of the same stream over the same tables; its counts add up; an
 * access it takes functionally is charged the last unit's mean; exact mode
 * is untouched by its existence.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultConfig, type MachineConfig } from '../../src/config/machine.js';
import { AddressStream, FAULT_NOT_PRESENT } from '../../src/hw/access.js';
import { Machine } from '../../src/hw/machine.js';
import { makePte, PTE_ACCESSED, PTE_DIRTY, PTE_PRESENT, PTE_PSE, PTE_RW, PTE_USER } from '../../src/hw/pagetable.js';
import { MemMap } from '../../src/kernel/mm/page_alloc.js';
import { runSchema } from '../../src/report/schema.js';
import { findWorkload } from '../../src/workloads/registry.js';
import { runWorkload } from '../../src/workloads/run.js';

const PCID = 1;
const VA = 0x7f00_0000_0000;
/** Pages of the address space the property runs over: 96 small pages in two 2 MiB regions, then a 2 MiB page. */
const SMALL = 96;
const HUGE_VA = VA + 4 * 2 ** 21;

function config(): MachineConfig {
  const cfg = defaultConfig();
  cfg.cpus = 2;
  cfg.ram_mib = 64;
  return cfg;
}

interface World {
  m: Machine;
  cr3: number;
  frames: MemMap;
}

function boot(): World {
  const m = new Machine(config());
  const frames = new MemMap(m.mem);
  m.pt.frames = frames;
  const cr3 = m.pt.allocTable();
  m.mmu.setCr3(0, cr3, PCID);
  m.mmu.setCr3(1, cr3, PCID);
  return { m, cr3, frames };
}

function smallVa(i: number): number {
  return VA + (i < SMALL / 2 ? i : 512 + i) * 4096;
}

/** The 4 KiB PTE of vaddr (its table must exist), as a number. */
function pteOf(w: World, vaddr: number): number {
  return w.m.pt.walkFunctional(w.cr3, vaddr);
}

/** Builds the same tables in each world: page i's state from `states[i]` (0 unmapped, 1 read-only, 2 RW; +3: A and D clear; +6: supervisor). */
function build(w: World, states: number[], huge: number): void {
  for (let i = 0; i < SMALL; i++) {
    const s = states[i]!;
    const kind = s % 3;
    const pfn = w.frames.alloc();
    w.m.mem.zero(pfn);
    const ad = s % 6 >= 3 ? 0 : PTE_ACCESSED | PTE_DIRTY;
    const user = s >= 6 ? 0 : PTE_USER;
    const flags = kind === 0 ? 0 : PTE_PRESENT | user | ad | (kind === 2 ? PTE_RW : 0);
    expect(w.m.pt.installFunctional(w.cr3, smallVa(i), flags === 0 ? 0 : makePte(pfn, flags))).toBe(true);
  }
  if (huge > 0) {
    const base = w.frames.allocAligned(9);
    const flags = PTE_PRESENT | PTE_USER | PTE_PSE | (huge === 2 ? PTE_RW | PTE_ACCESSED | PTE_DIRTY : PTE_ACCESSED);
    expect(w.m.pt.installFunctional(w.cr3, HUGE_VA, makePte(base, flags), 2)).toBe(true);
  }
}

/** The kernel's answer to a fault, the same in both worlds: map the page, make it writable or user, and flush it. */
function fixFault(w: World, vaddr: number, code: number): void {
  const page = Math.floor(vaddr / 4096) * 4096;
  if (vaddr >= HUGE_VA) {
    const base = w.frames.allocAligned(9);
    w.m.pt.installFunctional(w.cr3, HUGE_VA, makePte(base, PTE_PRESENT | PTE_USER | PTE_RW | PTE_PSE), 2);
  } else if (code === FAULT_NOT_PRESENT) {
    const pfn = w.frames.alloc();
    w.m.mem.zero(pfn);
    w.m.pt.installFunctional(w.cr3, page, makePte(pfn, PTE_PRESENT | PTE_USER | PTE_RW));
  } else {
    const pte = pteOf(w, page);
    w.m.pt.installFunctional(w.cr3, page, (pte | PTE_USER | PTE_RW) >>> 0);
  }
  w.m.mmu.invlpg(0, page, PCID);
  w.m.mmu.invlpg(1, page, PCID);
}

/** Ages a page as reclaim would with a flush: A and D cleared, the TLB entries on both CPUs dropped. */
function age(w: World, i: number): void {
  const va = smallVa(i);
  const pte = pteOf(w, va);
  if ((pte & PTE_PRESENT) === 0) return;
  w.m.pt.installFunctional(w.cr3, va, (pte & ~(PTE_ACCESSED | PTE_DIRTY)) >>> 0);
  w.m.mmu.invlpg(0, va, PCID);
  w.m.mmu.invlpg(1, va, PCID);
}

type Op = [kind: number, cpu: number, write: boolean, count: number, a: number, b: number];

/** Runs the ops in one world; returns every fault (where, why, after how many accesses) and the final PTEs. */
function play(w: World, ops: Op[]): { faults: string[]; ptes: number[]; done: number } {
  const faults: string[] = [];
  let done = 0;
  for (const [kind, cpu, write, count, a, b] of ops) {
    if (kind === 3) {
      age(w, a % SMALL);
      continue;
    }
    const s = new AddressStream();
    if (kind === 0) s.setStride(smallVa(a % SMALL) + (b % 64) * 8, 8 * (1 + (b % 700)));
    else if (kind === 1) s.setRandom(VA, 2 * 2 ** 21, a * 7919 + b);
    else {
      const trace = new Float64Array(count);
      for (let i = 0; i < count; i++) trace[i] = i % 5 === 4 ? HUGE_VA + ((a * 131 + i * 4099) % 2 ** 21) : smallVa((a + i * b) % SMALL) + ((i * 24) % 4096);
      s.setTrace(trace);
    }
    let left = count;
    for (let guard = 0; left > 0 && guard < 200; guard++) {
      const o = w.m.mmu.run(cpu, s, left, write, Infinity, true);
      left -= o.done;
      done += o.done;
      if (o.fault === 0) continue;
      const va = o.faultAddr;
      // outside the mapped regions: the stride or random stream left them; skip the access
      if (!((va >= VA && va < VA + 2 * 2 ** 21 + 512 * 4096) || (va >= HUGE_VA && va < HUGE_VA + 2 ** 21))) {
        faults.push(`skip ${va}`);
        break;
      }
      faults.push(`${va.toString(16)} ${o.fault} ${o.faultWrite} after ${o.done}`);
      fixFault(w, va, o.fault);
    }
  }
  const ptes: number[] = [];
  for (let i = 0; i < SMALL; i++) ptes.push(pteOf(w, smallVa(i)));
  ptes.push(w.m.pt.walkFunctional(w.cr3, HUGE_VA));
  return { faults, ptes, done };
}

const opArb: fc.Arbitrary<Op> = fc.tuple(
  fc.constantFrom(0, 0, 1, 1, 2, 2, 3),
  fc.integer({ min: 0, max: 1 }),
  fc.boolean(),
  fc.integer({ min: 1, max: 400 }),
  fc.integer({ min: 0, max: 10_000 }),
  fc.integer({ min: 1, max: 10_000 }),
);

describe('sampled mode', () => {
  it('faults at the same accesses with the same codes, and sets the same A and D bits, as exact mode', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 8 }), { minLength: SMALL, maxLength: SMALL }),
        fc.integer({ min: 0, max: 2 }),
        fc.array(opArb, { minLength: 1, maxLength: 25 }),
        fc.integer({ min: 2, max: 12 }),
        fc.constantFrom(0.05, 0.2, 0.5),
        (states, huge, ops, unit, fraction) => {
          const exact = boot();
          const sampled = boot();
          sampled.m.mmu.setSampling(fraction, unit, 0);
          build(exact, states, huge);
          build(sampled, states, huge);
          const e = play(exact, ops);
          const s = play(sampled, ops);
          expect(s.faults).toEqual(e.faults);
          expect(s.ptes).toEqual(e.ptes);
          const r = sampled.m.mmu.samplingReport()!;
          expect(r.detailed_accesses + r.functional_accesses).toBe(s.done);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('with fraction 1 is exact mode: the same cycles and counters', () => {
    const run = (sample: boolean): unknown => {
      const w = boot();
      if (sample) w.m.mmu.setSampling(1, 1000, 0);
      build(w, Array.from({ length: SMALL }, (_, i) => (i % 3 === 0 ? 1 : 2)), 2);
      const o = w.m.mmu.run(0, AddressStream.random(VA, 2 ** 21, 5), 5000, false, Infinity);
      return [o.cycles, o.done, w.m.caches.counters(), w.m.tlb.counters(), w.m.mmu.samplingReport()];
    };
    const e = run(false);
    expect(run(true)).toEqual(e);
    expect((e as unknown[])[4]).toBe(null);
  });

  it('runs a unit in detail (half warm-up, half measured), then charges each functional access the unit mean', () => {
    const w = boot();
    build(w, Array.from({ length: SMALL }, () => 2), 0);
    w.m.mmu.setSampling(0.1, 10, 20);
    // period 100: warm-up 20, then per period 5 warm + 5 measured detailed, 90 functional
    const s = AddressStream.random(VA, 48 * 4096, 99);
    const exact = boot();
    build(exact, Array.from({ length: SMALL }, () => 2), 0);
    const es = AddressStream.random(VA, 48 * 4096, 99);
    // detailed part: the first 30 accesses cost what exact mode charges
    const first = w.m.mmu.run(0, s, 30, false, Infinity).cycles;
    expect(first).toBe(exact.m.mmu.run(0, es, 30, false, Infinity).cycles);
    const r0 = w.m.mmu.samplingReport()!;
    expect(r0).toMatchObject({ units: 1, detailed_accesses: 30, functional_accesses: 0 });
    // the unit's mean is that of accesses 25..29 of the exact run
    const e25 = boot();
    build(e25, Array.from({ length: SMALL }, () => 2), 0);
    const s25 = AddressStream.random(VA, 48 * 4096, 99);
    const c25 = e25.m.mmu.run(0, s25, 25, false, Infinity).cycles;
    const mean = (first - c25) / 5;
    expect(r0.unit_mean_cycles).toBeCloseTo(mean, 9);
    // the next 90 are functional (every page is mapped with A and D set): 90 x the mean
    const o = w.m.mmu.run(0, s, 90, false, Infinity);
    expect(o.done).toBe(90);
    expect(o.cycles).toBeCloseTo(90 * mean, 6);
    expect(w.m.mmu.samplingReport()).toMatchObject({ units: 1, detailed_accesses: 30, functional_accesses: 90 });
    // the stream moved past them: the next address is the exact stream's 121st
    for (let i = 0; i < 90; i++) exact.m.mmu.run(0, es, 1, false, Infinity);
    expect(s.state).toBe(es.state);
    // and a budget stops a functional stretch as it stops detailed accesses: before the access once reached
    w.m.mmu.run(0, s, 10, false, Infinity); // the next unit: its mean m2 is charged from now on
    const m2 = 2 * w.m.mmu.samplingReport()!.unit_mean_cycles - mean;
    const b = w.m.mmu.run(0, s, 90, false, 3 * m2 + 0.5);
    expect(b.done).toBe(4);
  });

  it('a functional access that would set D is done in detail, and the walk sets it', () => {
    const w = boot();
    build(w, Array.from({ length: SMALL }, () => 2 + 3), 0); // RW, A and D clear
    w.m.mmu.setSampling(0.01, 2, 0);
    const s = AddressStream.stride(smallVa(0), 4096);
    const o = w.m.mmu.run(0, s, 40, true, Infinity);
    expect(o.done).toBe(40);
    for (let i = 0; i < 40; i++) expect(pteOf(w, smallVa(i)) & (PTE_ACCESSED | PTE_DIRTY)).toBe(PTE_ACCESSED | PTE_DIRTY);
    // every access needed the walker: none was functional
    expect(w.m.mmu.samplingReport()).toMatchObject({ detailed_accesses: 40, functional_accesses: 0 });
    // no unit has measured an access a functional translation could take, so there is no estimate yet:
    // the period (200 accesses) runs in detail; once the next unit measures one, the same pages go functional
    for (let r = 0; r < 6; r++) w.m.mmu.run(0, AddressStream.stride(smallVa(0), 4096), 40, true, Infinity);
    const rep = w.m.mmu.samplingReport()!;
    expect(rep.detailed_accesses + rep.functional_accesses).toBe(280);
    expect(rep.functional_accesses).toBe(280 - 202);
  });

  it('a workload run states its sampling and estimate error; the result is a valid run result', () => {
    const w = findWorkload('tlb-reach')!;
    const cfg = defaultConfig();
    cfg.sim.sample = 0.05;
    cfg.sim.sample_unit = 200;
    cfg.sim.sample_warmup = 1000;
    const r = runWorkload(w, { pages: 2048, loads: 20_000, threads: 2 }, cfg);
    expect(r.checks.passed).toBe(true);
    const s = r.sampling!;
    expect(s.fraction).toBe(0.05);
    expect(s.detailed_accesses + s.functional_accesses).toBeGreaterThanOrEqual(40_000);
    expect(s.units).toBeGreaterThan(2);
    expect(s.ci95_cycles).toBeGreaterThan(0);
    expect(() => runSchema(JSON.parse(JSON.stringify(r)), 'result')).not.toThrow();
    // exact mode carries no sampling field
    expect(runWorkload(w, { pages: 64, loads: 100, threads: 1 }, defaultConfig()).sampling).toBeUndefined();
  });
});


