/**
 * tlb-reach: threads of one process doing uniform random 8-byte loads over a
 * working set of `pages` pages. It shows TLB reach: once the working set
 * outgrows what the L1 dTLB and the STLB map (64 and 1536 entries on the
 * default machine, 256 KiB and 6 MiB of 4 KiB pages), loads pay for STLB
 * hits and page walks, and the walks' own cache misses.
 *
 * The working set is mapped up front, as mmap(MAP_POPULATE) would, by
 * installing page-table entries directly through the hardware model, and
 * every CPU's CR3 points at that one address space; no system call runs.
 * This keeps the workload independent of the memory-management code, so it
 * can exercise the engine, the MMU, the caches and every report format on
 * its own.
 */
import { makePte, PTE_ACCESSED, PTE_PRESENT, PTE_RW, PTE_USER } from '../hw/pagetable.js';
import { bool, int } from '../hw/params.js';
import { intern } from '../sim/attribution.js';
import type { Task, TaskBody } from '../sim/task.js';
import type { Kernel } from '../kernel/kernel.js';
import { defineWorkload } from './types.js';

const CAT_LOADS = intern('user:random_loads');
const PAGE = 4096;
/** Where the working set starts: 1 GiB, clear of address 0 and 2 MiB aligned. */
const BASE = 2 ** 30;
/** The PCID the process's address space runs under. */
const PCID = 1;

interface State {
  pml4: number;
  done: number[];
  failures: string[];
}

/** Per-kernel state of the workload (one run, one kernel). */
function state(k: Kernel): State {
  return k.sub['demo:tlb-reach'] as State;
}

/** The byte every byte of page i holds: never 0, so a page that lost its contents shows up. */
function pageByte(i: number): number {
  return 1 + (i % 255);
}

export const tlbReach = defineWorkload({
  name: 'tlb-reach',
  summary: 'threads doing uniform random loads over a working set: TLB reach and page-walk cost',
  description:
    'Each of --threads threads of one process does --loads uniform random 8-byte loads over a working set of --pages 4 KiB pages, ' +
    'mapped up front as with MAP_POPULATE. While the working set fits the L1 dTLB, loads cost a cache access; past it they pay ' +
    'the STLB hit latency, and past the STLB a page walk whose page-table reads go through the caches. Sweep --pages to see ' +
    'the steps (e.g. kernsim sweep tlb-reach --grid pages=16,256,4096,65536). The check reads every page back through the page ' +
    'tables and compares it with what was written; figures give cycles per load and the STLB miss rate.',
  params: {
    threads: int(4, 'threads of the process, spread over the CPUs', { min: 1, max: 1024 }),
    pages: int(4096, 'working set in 4 KiB pages', { min: 1, max: 1 << 22 }),
    loads: int(200_000, 'random loads per thread', { min: 0 }),
    write: bool(false, 'stores instead of loads (sets dirty bits; same TLB reach)'),
  },

  setup(k, p) {
    const m = k.machine;
    const pml4 = m.pt.allocTable();
    if (pml4 < 0) throw new Error('tlb-reach: no memory for a page table');
    const st: State = { pml4, done: new Array<number>(p.threads).fill(0), failures: [] };
    k.sub['demo:tlb-reach'] = st;
    for (let i = 0; i < p.pages; i++) {
      const pfn = m.mem.alloc();
      if (pfn < 0) throw new Error(`tlb-reach: --pages ${p.pages} does not fit in ${k.cfg.ram_mib} MiB of simulated RAM`);
      m.mem.fill(pfn, 0, PAGE, pageByte(i));
      m.mem.refcount[pfn] = 1;
      m.mem.mapcount[pfn] = 1;
      if (!m.pt.installFunctional(pml4, BASE + i * PAGE, makePte(pfn, PTE_PRESENT | PTE_RW | PTE_USER | PTE_ACCESSED))) {
        throw new Error('tlb-reach: no memory for page tables');
      }
    }
    for (let c = 0; c < k.cfg.cpus; c++) m.mmu.setCr3(c, pml4, PCID);
    const len = p.pages * PAGE;
    const leader = k.spawnProcess('tlb-reach', threadBody(k, 0, len, p.loads, p.write, k.engine.rng.nextU32() | 1));
    for (let i = 1; i < p.threads; i++) {
      k.spawnThread(leader, `tlb-reach/${i}`, threadBody(k, i, len, p.loads, p.write, k.engine.rng.nextU32() | 1));
    }
  },

  check(k, p) {
    const st = state(k);
    const out = [...st.failures];
    for (let i = 0; i < p.threads; i++) {
      if (st.done[i] !== p.loads) out.push(`thread ${i} did ${st.done[i]} of ${p.loads} loads`);
    }
    const pt = k.machine.pt;
    const mem = k.machine.mem;
    let bad = 0;
    for (let i = 0; i < p.pages; i++) {
      const pfn = pt.translateFunctional(st.pml4, BASE + i * PAGE);
      // The loop's stores are timing only (no data), so every page still holds its fill byte.
      const ok = pfn >= 0 && mem.readByte(pfn, 0) === pageByte(i) && mem.readByte(pfn, PAGE - 1) === pageByte(i);
      if (!ok && bad++ < 3) out.push(`page ${i} reads ${pfn < 0 ? 'unmapped' : mem.readByte(pfn, 0)}, expected ${pageByte(i)}`);
    }
    if (bad > 3) out.push(`... and ${bad - 3} more pages`);
    return out;
  },

  figures(k, p) {
    const e = k.engine;
    const ops = p.threads * p.loads;
    const user = e.attribution.tree().children.find((c) => c.name === 'user:random_loads');
    const tlb = k.machine.tlb.counters();
    const lookups = (tlb['dtlb_l1_hit'] ?? 0) + (tlb['dtlb_l1_miss'] ?? 0);
    return {
      ops,
      cycles_per_load: ops > 0 ? Math.round(((user?.inclusive ?? 0) / ops) * 100) / 100 : 0,
      stlb_miss_per_1k_loads: lookups > 0 ? Math.round(((tlb['stlb_miss'] ?? 0) / lookups) * 1e5) / 100 : 0,
    };
  },

  progress(k, p) {
    const total = p.threads * p.loads;
    return total > 0 ? state(k).done.reduce((s, d) => s + d, 0) / total : 1;
  },
});

function threadBody(k: Kernel, idx: number, len: number, loads: number, write: boolean, seed: number) {
  return function* (t: Task): TaskBody {
    const mmu = k.machine.mmu;
    const st = state(k);
    let left = loads;
    let x = seed;
    t.enter(CAT_LOADS);
    while (left > 0) {
      const n = mmu.accessRandom(t.cpu, BASE, len, left, x, write, Math.max(1, t.budget()));
      t.charge(mmu.lastCycles);
      x = mmu.rngState;
      left -= n;
      st.done[idx]! += n;
      if (mmu.lastFault !== 0) {
        st.failures.push(`thread ${idx}: fault ${mmu.lastFault} at ${mmu.faultAddr.toString(16)} inside the populated working set`);
        break;
      }
      if (t.shouldYield()) yield;
    }
    t.leave();
  };
}
