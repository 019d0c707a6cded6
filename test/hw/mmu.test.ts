import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultConfig, type MachineConfig } from '../../src/config/machine.js';
import { Machine } from '../../src/hw/machine.js';
import { AddressStream, FAULT_NOT_PRESENT, FAULT_PROTECTION } from '../../src/hw/access.js';
import {
  makePte,
  PTE_ACCESSED,
  PTE_DIRTY,
  PTE_PRESENT,
  PTE_PSE,
  PTE_RW,
  PTE_TABLE,
  PTE_USER,
  pteFlags,
  ptePfn,
  tableIndex,
} from '../../src/hw/pagetable.js';
import { MemMap } from '../../src/kernel/mm/page_alloc.js';
import { single } from './single.js';

const URW = PTE_PRESENT | PTE_RW | PTE_USER;
const PCID = 1;

function config(over: (cfg: MachineConfig) => void = () => {}): MachineConfig {
  const cfg = defaultConfig();
  cfg.cpus = 2;
  cfg.ram_mib = 64;
  over(cfg);
  return cfg;
}

function boot(cfg = config()): { m: Machine; cr3: number } {
  const m = new Machine(cfg);
  m.pt.frames = new MemMap(m.mem);
  const cr3 = m.pt.allocTable();
  m.mmu.setCr3(0, cr3, PCID);
  m.mmu.setCr3(1, cr3, PCID);
  return { m, cr3 };
}

/** Maps vaddr to a fresh zeroed frame; returns the pfn. */
function map(m: Machine, cr3: number, vaddr: number, flags = URW | PTE_ACCESSED): number {
  const pfn = (m.pt.frames as MemMap).alloc();
  m.mem.zero(pfn);
  expect(m.pt.installFunctional(cr3, vaddr, makePte(pfn, flags))).toBe(true);
  return pfn;
}

const VA = 0x7f00_0000_0000;

describe('Mmu cycle composition', () => {
  it('a walk with cold caches: stlb_hit + walk_start + 4 x (llc_hit + dram + walk_step), then the data access', () => {
    const cfg = config((c) => (c.cost.walk_step = 3));
    const { m, cr3 } = boot(cfg);
    const c = cfg.cost;
    const miss = c.llc_hit + c.dram;
    map(m, cr3, VA);
    expect(single(m.mmu.access(0, VA + 8, false))).toBe(c.stlb_hit + c.walk_start + 4 * (miss + c.walk_step) + miss);
    expect(m.tlb.counters()).toMatchObject({ dtlb_l1_miss: 1, stlb_miss: 1 });
    expect(m.caches.counters()).toMatchObject({ llc_miss: 5 });
    // The same page again: L1 dTLB hit (0) and an L1D hit.
    expect(single(m.mmu.access(0, VA + 16, false))).toBe(c.l1d_hit);
  });

  it('a warm walk reads each level from L1; an STLB hit costs stlb_hit', () => {
    const { m, cr3 } = boot();
    const c = m.cfg.cost;
    map(m, cr3, VA);
    m.mmu.access(0, VA, false);
    expect(m.mmu.flushAll(0)).toBe(c.tlb_flush_full);
    expect(single(m.mmu.access(0, VA, false))).toBe(c.stlb_hit + c.walk_start + 4 * (c.l1d_hit + c.walk_step) + c.l1d_hit);
    // Push the entry out of the L1 dTLB (64 entries, 16 sets of 4) but not the STLB.
    for (let i = 1; i <= 4; i++) map(m, cr3, VA + i * 16 * 4096);
    for (let i = 1; i <= 4; i++) m.mmu.access(0, VA + i * 16 * 4096, false);
    const before = m.tlb.counters();
    expect(single(m.mmu.access(0, VA, false))).toBe(c.stlb_hit + c.l1d_hit);
    expect(m.tlb.counters().stlb_hit).toBe(before.stlb_hit! + 1);
  });

  it('a PWC hit skips the PML4, PDPT and PD reads', () => {
    const { m, cr3 } = boot();
    const c = m.cfg.cost;
    const miss = c.llc_hit + c.dram;
    map(m, cr3, VA);
    const b = VA + 8 * 4096; // eight entries on: another line of the same page table
    map(m, cr3, b);
    m.mmu.access(0, VA, false);
    m.pt.walkFunctional(cr3, VA);
    const [entry] = m.mmu.pwcEntries(0);
    expect(entry).toEqual([PCID, Math.floor(VA / 2 ** 21), m.pt.walkTable]);
    expect(single(m.mmu.access(0, b, false))).toBe(c.stlb_hit + c.walk_start + miss + c.walk_step + miss);
    // INVLPG drops every PWC entry of the PCID (SDM); the next walk reads all four levels again.
    expect(m.mmu.invlpg(0, b)).toBe(c.invlpg);
    expect(m.mmu.pwcEntries(0)).toEqual([]);
    expect(single(m.mmu.access(0, b, false))).toBe(c.stlb_hit + c.walk_start + 4 * (c.l1d_hit + c.walk_step) + c.l1d_hit);
  });

  it('without a PWC every walk reads four levels', () => {
    const { m, cr3 } = boot(config((c) => (c.tlb.pwc_entries = 0)));
    const c = m.cfg.cost;
    map(m, cr3, VA);
    map(m, cr3, VA + 4096);
    m.mmu.access(0, VA, false);
    expect(single(m.mmu.access(0, VA + 4096, false))).toBe(c.stlb_hit + c.walk_start + 4 * (c.l1d_hit + c.walk_step) + c.llc_hit + c.dram);
  });
});

describe('Mmu accessed and dirty bits', () => {
  it('sets A on every level and the leaf, each a charged cache write and a locked update (ad_assist)', () => {
    const { m, cr3 } = boot();
    const c = m.cfg.cost;
    const miss = c.llc_hit + c.dram;
    // Build the path by hand with A clear everywhere.
    let table = cr3;
    const tables = [cr3];
    for (let level = 4; level >= 2; level--) {
      const t = m.pt.allocTable();
      m.pt.writeEntry(table, tableIndex(VA, level), makePte(t, URW));
      tables.push(t);
      table = t;
    }
    const pfn = (m.pt.frames as MemMap).alloc();
    m.mem.zero(pfn);
    m.pt.writeEntry(table, tableIndex(VA, 1), makePte(pfn, URW));
    // Each A write hits the line the walker has just read into L1, and is a locked update of the entry.
    expect(single(m.mmu.access(0, VA, false))).toBe(c.stlb_hit + c.walk_start + 4 * (miss + c.walk_step) + 4 * (c.l1d_hit + c.ad_assist) + miss);
    for (let level = 4; level >= 1; level--) {
      const e = m.pt.readEntry(tables[4 - level]!, tableIndex(VA, level));
      expect(pteFlags(e) & (PTE_ACCESSED | PTE_DIRTY)).toBe(PTE_ACCESSED);
    }
    // A write through the clean TLB entry: re-walk (PWC hit, PT entry in L1), set D, then the data write.
    expect(single(m.mmu.access(0, VA, true))).toBe(c.walk_start + c.l1d_hit + c.walk_step + c.l1d_hit + c.ad_assist + c.l1d_hit);
    expect(pteFlags(m.pt.readEntry(table, tableIndex(VA, 1))) & PTE_DIRTY).toBe(PTE_DIRTY);
    // The TLB entry now carries D: another write costs only the L1D hit.
    expect(single(m.mmu.access(0, VA + 64, true))).toBe(c.l1d_hit + (c.llc_hit + c.dram) - c.l1d_hit);
    expect(single(m.mmu.access(0, VA + 64, true))).toBe(c.l1d_hit);
  });

  it('a write walk sets A and D in one entry write (one locked update)', () => {
    const { m, cr3 } = boot();
    const c = m.cfg.cost;
    const miss = c.llc_hit + c.dram;
    map(m, cr3, VA, URW);
    expect(single(m.mmu.access(0, VA, true))).toBe(c.stlb_hit + c.walk_start + 4 * (miss + c.walk_step) + c.l1d_hit + c.ad_assist + miss);
    expect(pteFlags(m.pt.walkFunctional(cr3, VA)) & (PTE_ACCESSED | PTE_DIRTY)).toBe(PTE_ACCESSED | PTE_DIRTY);
  });
});

describe('Mmu 2 MiB pages', () => {
  it('one TLB entry serves all 512 pages', () => {
    const { m, cr3 } = boot();
    const c = m.cfg.cost;
    const miss = c.llc_hit + c.dram;
    const base = 8192; // a 512-aligned pfn
    const va = 0x4000_0000;
    m.pt.installFunctional(cr3, va, makePte(base, URW | PTE_PSE | PTE_ACCESSED | PTE_DIRTY), 2);
    expect(single(m.mmu.access(0, va, false))).toBe(c.stlb_hit + c.walk_start + 3 * (miss + c.walk_step) + miss);
    for (let p = 1; p < 512; p++) expect(single(m.mmu.access(0, va + p * 4096 + 8, false))).toBe(miss);
    expect(m.tlb.counters()).toMatchObject({ dtlb_l1_hit: 511, stlb_miss: 1 });
    expect(m.caches.counters().llc_miss).toBe(3 + 512);
    expect(m.mmu.translateFunctional(0, va + 300 * 4096)).toBe(base + 300);
    expect(m.mmu.pwcEntries(0)).toEqual([]);
  });

  it('sets D on the PD entry for a write', () => {
    const { m, cr3 } = boot();
    const va = 0x4000_0000;
    m.pt.installFunctional(cr3, va, makePte(8192, URW | PTE_PSE), 2);
    expect(single(m.mmu.access(0, va + 5 * 4096, true))).toBeGreaterThan(0);
    const e = m.pt.walkFunctional(cr3, va);
    expect(m.pt.walkLevel).toBe(2);
    expect(pteFlags(e)).toBe(URW | PTE_PSE | PTE_ACCESSED | PTE_DIRTY);
  });
});

describe('Mmu faults', () => {
  it('not present: stops the walk at the missing level; nothing charged for data', () => {
    const { m, cr3 } = boot();
    const c = m.cfg.cost;
    const miss = c.llc_hit + c.dram;
    expect(single(m.mmu.access(0, VA, false))).toBe(FAULT_NOT_PRESENT);
    expect(m.mmu.outcome(0).faultCycles).toBe(c.stlb_hit + c.walk_start + miss + c.walk_step);
    expect([m.mmu.outcome(0).faultAddr, m.mmu.outcome(0).faultWrite, m.mmu.outcome(0).faultUser]).toEqual([VA, false, true]);
    map(m, cr3, VA);
    m.mmu.access(0, VA, false);
    expect(m.mmu.pwcEntries(0).length).toBe(1);
    // The next page's entry shares the line just read: a PWC hit, one L1 read, then the fault.
    expect(single(m.mmu.access(0, VA + 4096, true))).toBe(FAULT_NOT_PRESENT);
    expect(m.mmu.outcome(0).faultCycles).toBe(c.stlb_hit + c.walk_start + c.l1d_hit + c.walk_step);
    expect(m.mmu.outcome(0).faultWrite).toBe(true);
    // The fault dropped the PWC entry it used (SDM vol. 3 §4.10.4.1).
    expect(m.mmu.pwcEntries(0)).toEqual([]);
    const none = new Machine(config());
    expect(single(none.mmu.access(0, VA, false))).toBe(FAULT_NOT_PRESENT);
    expect(none.mmu.outcome(0).faultCycles).toBe(c.stlb_hit);
  });

  it('write to a read-only page and user access to a supervisor page fault with FAULT_PROTECTION', () => {
    const { m, cr3 } = boot();
    const c = m.cfg.cost;
    map(m, cr3, VA, PTE_PRESENT | PTE_USER | PTE_ACCESSED);
    map(m, cr3, VA + 4096, PTE_PRESENT | PTE_RW | PTE_ACCESSED);
    expect(single(m.mmu.access(0, VA, true))).toBe(FAULT_PROTECTION);
    // The walk read all four levels; the leaf is left unchanged.
    expect(m.mmu.outcome(0).faultCycles).toBe(c.stlb_hit + c.walk_start + 4 * (c.llc_hit + c.dram + c.walk_step));
    expect(pteFlags(m.pt.walkFunctional(cr3, VA)) & PTE_DIRTY).toBe(0);
    expect(single(m.mmu.access(0, VA, false))).toBeGreaterThan(0);
    expect(single(m.mmu.access(0, VA + 4096, false))).toBe(FAULT_PROTECTION);
    expect(single(m.mmu.access(0, VA + 4096, false, false))).toBeGreaterThan(0);
    expect(single(m.mmu.access(0, VA + 4096, true, false))).toBeGreaterThan(0);
  });

  it('a fault drops the TLB entry, so the fixed entry is used without a flush', () => {
    const { m, cr3 } = boot();
    const c = m.cfg.cost;
    const pfn = map(m, cr3, VA, PTE_PRESENT | PTE_USER | PTE_ACCESSED);
    m.mmu.access(0, VA, false);
    expect(m.tlb.probe(0, PCID, VA / 4096)).toBe(pfn);
    // The TLB hit with insufficient rights costs nothing before the fault.
    expect(single(m.mmu.access(0, VA, true))).toBe(FAULT_PROTECTION);
    expect(m.mmu.outcome(0).faultCycles).toBe(0);
    expect(m.tlb.probe(0, PCID, VA / 4096)).toBe(-1);
    // The kernel makes the entry writable (as do_wp_page's reuse does) and retries.
    m.pt.walkFunctional(cr3, VA);
    m.pt.writeEntry(m.pt.walkTable, m.pt.walkIndex, makePte(pfn, URW | PTE_ACCESSED));
    // The write walk sets D: a cache write and a locked update.
    expect(single(m.mmu.access(0, VA, true))).toBe(c.stlb_hit + c.walk_start + 4 * (c.l1d_hit + c.walk_step) + c.l1d_hit + c.ad_assist + c.l1d_hit);
  });
});

describe('Mmu address spaces and flushes', () => {
  it('PCIDs keep translations apart; a PCID flush drops only its own', () => {
    const { m, cr3 } = boot();
    const cr3b = m.pt.allocTable();
    const a = map(m, cr3, VA);
    const b = map(m, cr3b, VA);
    m.mmu.access(0, VA, false);
    m.mmu.setCr3(0, cr3b, 2);
    m.mmu.access(0, VA, false);
    expect(m.tlb.probe(0, 1, VA / 4096)).toBe(a);
    expect(m.tlb.probe(0, 2, VA / 4096)).toBe(b);
    expect(m.mmu.flushPcid(0, 2)).toBe(m.cfg.cost.tlb_flush_pcid);
    expect(m.tlb.probe(0, 2, VA / 4096)).toBe(-1);
    expect(m.tlb.probe(0, 1, VA / 4096)).toBe(a);
    expect(m.mmu.pwcEntries(0).map((e) => e[0])).toEqual([1]);
    expect(m.mmu.translateFunctional(0, VA + 5)).toBe(b);
  });

  it('without PCIDs a CR3 load flushes everything', () => {
    const { m, cr3 } = boot(config((c) => (c.tlb.pcid = false)));
    map(m, cr3, VA);
    m.mmu.access(0, VA, false);
    expect(m.mmu.setCr3(0, cr3, 7)).toBe(m.cfg.cost.cr3_write);
    expect(m.mmu.pcid[0]).toBe(0);
    expect(m.tlb.probe(0, 0, VA / 4096)).toBe(-1);
    expect(m.mmu.pwcEntries(0)).toEqual([]);
  });
});

describe('Mmu bulk accesses', () => {
  it('accessRange equals the sum of single accesses and stops at the budget', () => {
    const a = boot();
    const b = boot();
    for (const { m, cr3 } of [a, b]) for (let p = 0; p < 4; p++) map(m, cr3, VA + p * 4096);
    const n = a.m.mmu.accessRange(0, VA, 2048, 8, false, Infinity).done;
    expect(n).toBe(2048);
    let sum = 0;
    for (let i = 0; i < 2048; i++) sum += single(b.m.mmu.access(0, VA + i * 8, false));
    expect(a.m.mmu.outcome(0).cycles).toBe(sum);
    expect(a.m.caches.counters()).toEqual(b.m.caches.counters());
    expect(a.m.tlb.counters()).toEqual(b.m.tlb.counters());
    const c = a.m.cfg.cost;
    expect(a.m.mmu.accessRange(0, VA, 100, 8, false, 10 * c.l1d_hit).done).toBe(10);
    expect(a.m.mmu.outcome(0).cycles).toBe(10 * c.l1d_hit);
    expect(a.m.mmu.accessRange(0, VA, 100, 8, false, 0).done).toBe(0);
  });

  it('accessRange stops at a fault and reports it', () => {
    const { m, cr3 } = boot();
    map(m, cr3, VA);
    const n = m.mmu.accessRange(0, VA, 1000, 64, true, Infinity).done;
    expect(n).toBe(64);
    expect(m.mmu.outcome(0).fault).toBe(FAULT_NOT_PRESENT);
    expect(m.mmu.outcome(0).faultAddr).toBe(VA + 4096);
    const spent = m.mmu.outcome(0).cycles;
    expect(spent).toBeGreaterThan(m.mmu.outcome(0).faultCycles);
  });

  it('accessRandom is deterministic, stays in range and resumes after a fault', () => {
    const a = boot();
    const b = boot();
    for (const { m, cr3 } of [a, b]) for (let p = 0; p < 16; p++) map(m, cr3, VA + p * 4096);
    expect(a.m.mmu.accessRandom(0, VA, 16 * 4096, 5000, 12345).done).toBe(5000);
    expect(b.m.mmu.accessRandom(0, VA, 16 * 4096, 5000, 12345).done).toBe(5000);
    expect(a.m.mmu.outcome(0).cycles).toBe(b.m.mmu.outcome(0).cycles);
    const sa = AddressStream.random(VA, 16 * 4096, 7);
    const sb = AddressStream.random(VA, 16 * 4096, 7);
    expect(a.m.mmu.run(0, sa, 100, false, Infinity).done).toBe(100);
    expect(b.m.mmu.run(0, sb, 100, false, Infinity).done).toBe(100);
    expect(sa.state).toBe(sb.state);
    // Over 32 pages, half unmapped: the first fault leaves the stream at the state that redraws its address.
    const { m } = a;
    const stream = AddressStream.random(VA, 32 * 4096, 99);
    const n = m.mmu.run(0, stream, 5000, false, Infinity).done;
    expect(n).toBeLessThan(5000);
    expect(m.mmu.outcome(0).fault).toBe(FAULT_NOT_PRESENT);
    const addr = m.mmu.outcome(0).faultAddr;
    expect(addr >= VA + 16 * 4096 && addr < VA + 32 * 4096 && addr % 8 === 0).toBe(true);
    expect(m.mmu.run(0, stream, 1, false, Infinity).done).toBe(0);
    expect(m.mmu.outcome(0).faultAddr).toBe(addr);
  });
});

describe('Mmu memo', () => {
  type Op = [kind: number, cpu: number, page: number, off: number, write: boolean, n: number];

  function run(ops: Op[], memo: boolean): { cycles: number[]; caches: object; tlb: object; ptes: number[] } {
    const { m, cr3 } = boot(config((c) => (c.cache.l1d_kib = 1))); // a tiny L1 so that lines get evicted
    m.mmu.memo = memo;
    const pages = 24;
    const pfns: number[] = [];
    for (let p = 0; p < pages; p++) {
      const ro = p % 5 === 4;
      if (p >= 16) {
        // Aliases of one frame (as the shared zero page is mapped at many addresses).
        m.pt.installFunctional(cr3, VA + p * 4096, makePte(pfns[3]!, PTE_PRESENT | PTE_USER));
        pfns.push(pfns[3]!);
      } else pfns.push(map(m, cr3, VA + p * 4096, ro ? PTE_PRESENT | PTE_USER : URW));
    }
    const cycles: number[] = [];
    for (const [kind, cpu, page, off, write, n] of ops) {
      const va = VA + page * 4096 + off * 8;
      switch (kind) {
        case 0:
          cycles.push(single(m.mmu.access(cpu, va, write)), m.mmu.outcome(cpu).faultCycles);
          break;
        case 1:
          cycles.push(m.mmu.accessRange(cpu, va, n, off % 3 === 0 ? 4096 : (off % 17) * 8 - 40, write, 50 * n).done, m.mmu.outcome(cpu).cycles);
          break;
        case 2: {
          const stream = AddressStream.random(off % 2 ? VA + 16 * 4096 : VA, 8 * 4096, off + 1);
          const o = m.mmu.run(cpu, stream, n, write, Infinity);
          cycles.push(o.done, o.cycles, stream.state);
          break;
        }
        case 3:
          // Kernel code on the same CPU touching memory directly.
          cycles.push(m.caches.access(cpu, pfns[page]! * 4096 + off * 8, write));
          break;
        case 4:
          cycles.push(m.mmu.invlpg(cpu, va));
          break;
        case 5:
          cycles.push(m.mmu.flushAll(cpu));
          break;
        case 6: {
          // Toggle write permission without a flush (the fault path must cope).
          const e = m.pt.walkFunctional(cr3, va);
          m.pt.writeEntry(m.pt.walkTable, m.pt.walkIndex, e ^ PTE_RW);
          break;
        }
        case 7:
          // Switch PCID (same tables): translations of the other PCID stay in the TLB.
          cycles.push(m.mmu.setCr3(cpu, cr3, 1 + (off % 2), write));
          break;
      }
    }
    const ptes = [];
    for (let p = 0; p < pages; p++) ptes.push(m.pt.walkFunctional(cr3, VA + p * 4096));
    return { cycles, caches: m.caches.counters(), tlb: m.tlb.counters(), ptes };
  }

  it('forgets the last line after a walk: aliases of one frame (directed)', () => {
    const results = [true, false].map((memo) => {
      // L1D of 2 sets x 8 ways, so the LRU order of one set is easy to provoke.
      const { m, cr3 } = boot(config((c) => (c.cache.l1d_kib = 1)));
      m.mmu.memo = memo;
      const shared = map(m, cr3, VA);
      for (let p = 1; p < 8; p++) m.pt.installFunctional(cr3, VA + p * 4096, makePte(shared, URW | PTE_ACCESSED));
      const other = map(m, cr3, VA + 64 * 4096);
      // One line read through eight aliases: a walk before each access.
      m.mmu.accessRange(0, VA + 256, 8, 4096, false, Infinity);
      const line = Math.floor((shared * 4096 + 256) / 64);
      // Seven other lines of the same L1 set evict the seven least recent ways.
      for (let k = 0; k < 7; k++) m.caches.access(0, other * 4096 + k * 128 + (line % 2) * 64, false);
      return [m.caches.probe(0, shared * 4096 + 256), single(m.mmu.access(0, VA + 256, false))];
    });
    expect(results[0]).toEqual(['l1', defaultConfig().cost.l1d_hit]);
    expect(results[0]).toEqual(results[1]);
  });

  it('gives cycles and counters identical to the reference path (differential, property)', () => {
    const op = fc.tuple(
      fc.constantFrom(0, 0, 0, 1, 1, 1, 2, 3, 4, 5, 6, 7),
      fc.integer({ min: 0, max: 1 }),
      fc.integer({ min: 0, max: 25 }),
      fc.integer({ min: 0, max: 511 }),
      fc.boolean(),
      fc.integer({ min: 1, max: 300 }),
    ) as fc.Arbitrary<Op>;
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 60 }), (ops) => {
        expect(run(ops, true)).toEqual(run(ops, false));
      }),
      { numRuns: 150 },
    );
  });
});

describe('shadow paging (virt.shadow_root)', () => {
  it('the first CR3 load of a root costs the shadow build once per root, on any CPU, until the root is dropped', () => {
    const cfg = config((c) => {
      c.virt.enabled = true;
      c.virt.shadow_root = 50_000;
    });
    const m = new Machine(cfg);
    m.pt.frames = new MemMap(m.mem);
    const a = m.pt.allocTable();
    const b = m.pt.allocTable();
    const cr3 = cfg.cost.cr3_write;
    expect(m.mmu.setCr3(0, a, 1)).toBe(cr3 + 50_000);
    expect(m.mmu.setCr3(1, a, 1)).toBe(cr3);
    expect(m.mmu.setCr3(0, b, 2)).toBe(cr3 + 50_000);
    expect(m.mmu.setCr3(0, a, 1)).toBe(cr3);
    m.mmu.dropShadowRoot(a);
    expect(m.mmu.setCr3(0, a, 1)).toBe(cr3 + 50_000);
  });

  it('costs nothing on bare metal or with the default 0 (nested paging)', () => {
    for (const over of [(c: MachineConfig) => (c.virt.shadow_root = 50_000), (c: MachineConfig) => (c.virt.enabled = true)]) {
      const cfg = config(over);
      const m = new Machine(cfg);
      m.pt.frames = new MemMap(m.mem);
      expect(m.mmu.setCr3(0, m.pt.allocTable(), 1)).toBe(cfg.cost.cr3_write);
    }
  });
});

describe('the walker\'s memo of page tables\' pool slots (host speed only)', () => {
  it('a walk reads the table a PD entry now points at after the old table was freed and its pool slot given to a data frame', () => {
    const { m, cr3 } = boot();
    const frames = m.pt.frames as MemMap;
    map(m, cr3, VA);
    m.pt.walkFunctional(cr3, VA);
    const t1 = m.pt.walkTable;
    expect(m.mmu.access(0, VA, false).fault).toBe(0);
    let pd = cr3;
    for (let l = 4; l > 2; l--) pd = ptePfn(m.pt.readEntry(pd, tableIndex(VA, l)));
    const pdIdx = tableIndex(VA, 2);
    m.pt.writeEntry(pd, pdIdx, 0);
    m.pt.freeTable(t1);
    // a frame of arbitrary bytes takes the freed table's pool slot
    const d = frames.alloc();
    m.mem.materialize(d);
    const b = frames.alloc();
    m.mem.zero(b);
    const t2 = m.pt.allocTable();
    expect(t2).not.toBe(t1);
    m.pt.writeEntry(t2, tableIndex(VA, 1), makePte(b, URW | PTE_ACCESSED));
    m.pt.writeEntry(pd, pdIdx, makePte(t2, PTE_TABLE));
    m.mmu.flushAll(0);
    expect(m.mmu.access(0, VA, false).fault).toBe(0);
    expect(m.mmu.walker.pfn).toBe(b);
    // and the same region again, through the remembered slot
    m.mmu.flushAll(0);
    expect(m.mmu.access(0, VA + 4096 * 0, false).fault).toBe(0);
    expect(m.mmu.walker.pfn).toBe(b);
  });
});
