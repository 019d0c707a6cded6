/**
 * tlb-reach: threads of one process doing uniform random 8-byte loads over a
 * working set of `pages` pages. It shows TLB reach: once the working set
 * outgrows what the L1 dTLB and the STLB map (64 and 1536 entries on the
 * default machine, 256 KiB and 6 MiB of 4 KiB pages), loads pay for STLB
 * hits and page walks, and the walks' own cache misses.
 *
 * The first thread mmaps the working set (private, anonymous) and writes a
 * tag into every page, taking one page fault per page as a program's first
 * touch does; the other threads wait for it, then all of them load. Loads
 * go through the MMU in bulk (Mmu.run over a random address stream), not
 * one step per access; a load that faults (a page reclaimed under memory pressure) enters the
 * kernel's fault handler and is retried.
 */
import { AddressStream, FAULT_PROTECTION } from '../hw/access.js';
import { bool, int } from '../params/schema.js';
import type { Kernel } from '../kernel/kernel.js';
import { do_user_addr_fault, signame } from '../kernel/mm/fault.js';
import { sys_mmap } from '../kernel/mm/mmap.js';
import { fillUser } from '../kernel/mm/uaccess.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../kernel/mm/uapi.js';
import type { TaskStruct } from '../kernel/sched/task_struct.js';
import { intern } from '../sim/attribution.js';
import type { Task, TaskBody } from '../sim/task.js';
import { Completion } from '../sim/wait.js';
import { defineWorkload } from './types.js';
import { PAGE_SIZE } from '../hw/types.js';

const CAT_LOADS = intern('user:random_loads');
/** Bytes of the tag written at the start of every page. */
const TAG = 8;

interface State {
  leader: TaskStruct | null;
  /** The working set's address, once mapped (-1 before, or when mmap failed). */
  base: number;
  /** Completes when the working set is mapped and tagged. */
  ready: Completion;
  done: number[];
  failures: string[];
  /** TLB counters when the loads began, so figures count the loads alone. */
  tlbBefore: Record<string, number>;
}

/** The byte page i is tagged with: never 0, so a page that lost its contents shows up. */
function pageByte(i: number): number {
  return 1 + (i % 255);
}

export const tlbReach = defineWorkload({
  name: 'tlb-reach',
  summary: 'threads doing uniform random loads over a working set: TLB reach and page-walk cost',
  description:
    'Each of --threads threads of one process does --loads uniform random 8-byte loads over a working set of --pages 4 KiB pages. ' +
    'The first thread maps the working set (mmap, private and anonymous) and tags every page, one page fault each; then all load. ' +
    'While the working set fits the L1 dTLB, a load costs a cache access; past it, the STLB hit latency; past the STLB, a page ' +
    'walk whose page-table reads go through the caches. Sweep --pages to see the steps (e.g. kernsim sweep tlb-reach --grid ' +
    'pages=16,1024,16384). The check reads every page\'s tag back through the page tables; figures give cycles per load and ' +
    'STLB misses per 1000 loads, counted over the loads alone.',
  params: {
    threads: int(4, 'threads of the process, spread over the CPUs', { min: 1, max: 1024 }),
    pages: int(4096, 'working set in 4 KiB pages', { min: 1, max: 1 << 22 }),
    loads: int(200_000, 'random loads per thread', { min: 0, max: 100_000_000 }),
    write: bool(false, 'stores instead of loads (dirty pages; same TLB reach)'),
  },

  unfit(cfg, p) {
    // Every page is touched and tagged: a working set past the machine's memory cannot be measured as TLB reach.
    const frames = cfg.ram_mib * (1024 * 1024 / PAGE_SIZE);
    return p.pages > frames ? { param: 'pages', expected: `at most ${frames} (the machine's ${cfg.ram_mib} MiB of memory; raise it with --set ram_mib=)` } : undefined;
  },

  setup(k, p) {
    const st: State = { leader: null, base: -1, ready: new Completion(k.engine, 1), done: new Array<number>(p.threads).fill(0), failures: [], tlbBefore: {} };
    const seeds = Array.from({ length: p.threads }, () => k.engine.rng.nextU32() | 1);
    const len = p.pages * PAGE_SIZE;
    st.leader = k.spawnProcess('tlb-reach', (t) =>
      (function* (): TaskBody {
        const addr = yield* sys_mmap(t, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (addr < 0) st.failures.push(`mmap of ${len} bytes failed: ${addr}`);
        else {
          for (let i = 0; i < p.pages; i++) {
            const sig = yield* fillUser(t, addr + i * PAGE_SIZE, TAG, pageByte(i));
            if (sig) {
              st.failures.push(`tagging page ${i}: ${signame(sig)}`);
              break;
            }
          }
          if (st.failures.length === 0) st.base = addr;
        }
        st.tlbBefore = k.machine.tlb.counters();
        st.ready.complete(t.now);
        if (st.base >= 0) yield* loads(k, st, t, 0, len, p.loads, p.write, seeds[0]!);
      })(),
    );
    for (let i = 1; i < p.threads; i++) {
      k.spawnThread(st.leader, `tlb-reach/${i}`, (t) =>
        (function* (): TaskBody {
          yield t.sleepOn(st.ready);
          if (st.base >= 0) yield* loads(k, st, t, i, len, p.loads, p.write, seeds[i]!);
        })(),
      );
    }
    return st;
  },

  check(k, p, st) {
    const out = [...st.failures];
    for (let i = 0; i < p.threads; i++) {
      if (st.done[i] !== p.loads) out.push(`thread ${i} did ${st.done[i]} of ${p.loads} loads`);
    }
    const mm = st.leader?.mm;
    if (!mm || st.base < 0) return out.length > 0 ? out : ['the working set was never mapped'];
    const pt = k.machine.pt;
    const mem = k.machine.mem;
    let bad = 0;
    for (let i = 0; i < p.pages; i++) {
      const pfn = pt.translateFunctional(mm.pgd, st.base + i * PAGE_SIZE);
      // The loads and stores are timing only: each page still holds its tag, then the zeroes its fault gave it.
      const ok = pfn >= 0 && mem.readByte(pfn, 0) === pageByte(i) && mem.readByte(pfn, TAG - 1) === pageByte(i) && mem.readByte(pfn, TAG) === 0;
      if (!ok && bad++ < 3) out.push(`page ${i} reads ${pfn < 0 ? 'unmapped' : `${mem.readByte(pfn, 0)}, ${mem.readByte(pfn, TAG)}`}, expected ${pageByte(i)}, 0`);
    }
    if (bad > 3) out.push(`... and ${bad - 3} more pages`);
    return out;
  },

  figureDefs: {
    ops: { unit: 'loads', definition: 'loads done by all threads (--threads x --loads)' },
    cycles_per_load: { unit: 'cycles', definition: 'cycles charged to the load loop (breakdown node user:random_loads) per load' },
    stlb_miss_per_1k_loads: { unit: 'misses per 1000 loads', definition: 'STLB misses (page walks) per 1000 dTLB lookups during the loads' },
  },
  headline: 'cycles_per_load',

  figures(k, p, st) {
    const ops = p.threads * p.loads;
    const user = k.engine.attribution.tree().children.find((c) => c.name === 'user:random_loads');
    const tlb = k.machine.tlb.counters();
    const delta = (name: string): number => (tlb[name] ?? 0) - (st.tlbBefore[name] ?? 0);
    const lookups = delta('dtlb_l1_hit') + delta('dtlb_l1_miss');
    return {
      ops,
      cycles_per_load: ops > 0 ? Math.round(((user?.inclusive ?? 0) / ops) * 100) / 100 : 0,
      stlb_miss_per_1k_loads: lookups > 0 ? Math.round((delta('stlb_miss') / lookups) * 1e5) / 100 : 0,
    };
  },

  progress(k, p, st) {
    const total = p.threads * p.loads;
    return total > 0 ? st.done.reduce((s, d) => s + d, 0) / total : 1;
  },
});

/** `count` random loads (or stores) over [base, base + len), in bulk; a fault goes to the kernel and the load is retried. */
function* loads(k: Kernel, st: State, t: Task, idx: number, len: number, count: number, write: boolean, seed: number): TaskBody {
  const mmu = k.machine.mmu;
  let left = count;
  // After a fault the stream stands at the faulting address, so the retry loads the same byte.
  const stream = AddressStream.random(st.base, len, seed);
  while (left > 0) {
    t.enter(CAT_LOADS);
    const o = mmu.run(t.cpu, stream, left, write, Math.max(1, t.budget()));
    const n = o.done;
    t.charge(o.cycles);
    t.leave();
    left -= n;
    st.done[idx]! += n;
    if (o.fault !== 0) {
      const faultAddr = o.faultAddr;
      const sig = yield* do_user_addr_fault(t, faultAddr, write, o.fault === FAULT_PROTECTION);
      if (sig) {
        st.failures.push(`thread ${idx}: ${signame(sig)} at 0x${faultAddr.toString(16)} inside the working set`);
        return;
      }
    }
    if (t.shouldYield()) yield;
  }
}
