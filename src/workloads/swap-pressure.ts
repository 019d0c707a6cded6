/**
 * swap-pressure: processes that touch more anonymous memory than the
 * machine has, so that reclaim must swap: kswapd and direct reclaim scan the
 * LRU lists, unmap pages (with TLB shootdowns), write them to the swap
 * device, and the read passes fault them back in (major faults, readahead).
 *
 * The machine's memory is limited to --mem-mib, as with the mem= boot
 * parameter (the rest of RAM is reserved at boot, and the watermarks are the
 * kernel's for that much memory), so a run over a few thousand pages shows
 * what a run over gigabytes would, in seconds. Every page holds distinct
 * bytes; the read passes check every byte.
 *
 * --willneed calls madvise(MADV_WILLNEED) on each region before each read
 * pass, which asks the kernel to start swap-in for the whole range at once.
 */
import { bool, choice, int } from '../params/schema.js';
import type { Kernel } from '../kernel/kernel.js';
import { ENOSYS } from '../kernel/errno.js';
import { MADV_WILLNEED, sys_madvise } from '../kernel/mm/madvise.js';
import { mem_limit } from '../kernel/mm/memblock.js';
import { sys_mmap } from '../kernel/mm/mmap.js';
import { oomMessages } from '../kernel/mm/oom_kill.js';
import { accessUser } from '../kernel/mm/uaccess.js';
import { current } from '../kernel/sched/task_struct.js';
import type { Blocking, Task, TaskBody } from '../sim/task.js';
import { defineWorkload } from './types.js';
import { PAGE_SIZE } from '../hw/types.js';

const PROT_RW = 3;
const MAP_PRIVATE_ANON = 0x22;

interface State {
  pagesPer: number[];
  written: number;
  verified: number;
  /** Cycles spent in the read passes and pages read there. */
  readCycles: number;
  readPages: number;
  willneedRet: number | null;
  failures: string[];
  done: number;
}

/** Two pages of a byte ramp: a page's contents are a 4 KiB window into it. */
const RAMP = new Uint8Array(2 * PAGE_SIZE);
for (let i = 0; i < RAMP.length; i++) RAMP[i] = (i * 7 + (i >>> 8) * 13) & 0xff;

/** What page p of process r holds: a window of the ramp chosen by (r, p), stamped with p and r, so no two pages are equal. */
function fillPattern(buf: Uint8Array, r: number, p: number): void {
  const off = ((r * 7919 + p * 131) >>> 0) % PAGE_SIZE;
  buf.set(RAMP.subarray(off, off + PAGE_SIZE));
  buf[0] = p & 0xff;
  buf[1] = (p >>> 8) & 0xff;
  buf[2] = (p >>> 16) & 0xff;
  buf[3] = r & 0xff;
}

export const swapPressure = defineWorkload({
  name: 'swap-pressure',
  summary: 'processes touching more anonymous memory than RAM: reclaim, swap-out and swap-in, with or without MADV_WILLNEED',
  description:
    'The kernel manages --mem-mib MiB (as with mem=; the rest of RAM is reserved at boot and the watermarks are the kernel\'s ' +
    'for that much memory). --processes processes together write --footprint-pct percent of it as private anonymous memory, ' +
    'every page with distinct bytes, then read it back --passes times, in order or at random (--order). Memory runs out during ' +
    'the writes: kswapd wakes at the low watermark, allocations below the min watermark reclaim directly, pages are unmapped ' +
    '(TLB flushes), written to the swap device and faulted back in with readahead of 2^vm.page-cluster pages. --willneed calls ' +
    'madvise(MADV_WILLNEED) on each region before each read pass. Read pswpout, pswpin, pgmajfault, pgscan_kswapd/direct, ' +
    'pgsteal_kswapd/direct, allocstall_normal, the breakdown under do_swap_page and shrink_node, and the figures ' +
    'read_ns_per_page and pswpin_per_majfault. The check verifies every byte of every page on every pass.',
  params: {
    mem_mib: int(16, 'memory the kernel manages (the mem= boot parameter); 0 for all of RAM', { unit: 'MiB', min: 0, max: 1 << 22 }),
    footprint_pct: int(150, 'anonymous memory written, as a percentage of the managed memory', { unit: '%', min: 1, max: 1000 }),
    processes: int(1, 'processes sharing the footprint, each with its own region', { min: 1, max: 64 }),
    passes: int(1, 'read passes over each region after writing it', { min: 0, max: 100 }),
    order: choice(['sequential', 'random'], 'sequential', 'page order of the read passes'),
    willneed: bool(false, 'madvise(MADV_WILLNEED) on the region before each read pass'),
  },

  setup(k, p) {
    if (p.mem_mib > 0) mem_limit(k, p.mem_mib);
    const managed = (p.mem_mib > 0 ? Math.min(p.mem_mib, k.cfg.ram_mib) : k.cfg.ram_mib) * 256;
    const total = Math.max(p.processes, Math.floor((managed * p.footprint_pct) / 100));
    const pagesPer: number[] = [];
    for (let i = 0; i < p.processes; i++) pagesPer.push(Math.floor(total / p.processes) + (i < total % p.processes ? 1 : 0));
    const st: State = { pagesPer, written: 0, verified: 0, readCycles: 0, readPages: 0, willneedRet: null, failures: [], done: 0 };
    for (let i = 0; i < p.processes; i++) {
      k.spawnProcess(`swap-pressure/${i}`, body(k, st, i, pagesPer[i]!, p.passes, p.order === 'random', p.willneed, k.engine.rng.nextU32() | 1), { cpu: i % k.cfg.cpus });
    }
    return st;
  },

  check(k, p, st) {
    const out = [...st.failures];
    const total = st.pagesPer.reduce((a, b) => a + b, 0);
    if (st.written !== total) out.push(`${st.written} of ${total} pages written`);
    if (st.verified !== total * p.passes) out.push(`${st.verified} of ${total * p.passes} page reads verified`);
    if (p.willneed && st.willneedRet !== null && st.willneedRet < 0) {
      out.push(
        st.willneedRet === -ENOSYS
          ? 'madvise(MADV_WILLNEED) is not supported by this kernel\'s madvise yet (ENOSYS): the passes ran without it'
          : `madvise(MADV_WILLNEED) failed with ${st.willneedRet}`,
      );
    }
    for (const m of oomMessages(k)) out.push(`kernel: ${m}`);
    return out;
  },

  figureDefs: {
    pages: { unit: 'pages', definition: 'pages written by all processes (--footprint-pct of --mem-mib)' },
    read_ns_per_page: { unit: 'ns', definition: 'elapsed simulated time of the read passes per page read, swap-ins and waits for the device included' },
    pswpin_per_majfault: { unit: 'pages', definition: 'pages swapped in per major fault: what readahead brings per fault' },
    willneed_supported: { unit: '0/1', definition: 'with --willneed only: 1 when madvise(MADV_WILLNEED) succeeded' },
  },
  headline: 'read_ns_per_page',

  figures(k, p, st) {
    const c = k.engine.counters;
    const maj = c.get('pgmajfault');
    const ns = st.readPages > 0 ? st.readCycles / st.readPages / k.cfg.clock_ghz : 0;
    const out: Record<string, number> = {
      pages: st.pagesPer.reduce((a, b) => a + b, 0),
      read_ns_per_page: Math.round(ns * 10) / 10,
      pswpin_per_majfault: maj > 0 ? Math.round((c.get('pswpin') / maj) * 100) / 100 : 0,
    };
    if (p.willneed) out['willneed_supported'] = st.willneedRet !== null && st.willneedRet >= 0 ? 1 : 0;
    return out;
  },

  progress(k, p, st) {
    const total = st.pagesPer.reduce((a, b) => a + b, 0) * (1 + p.passes);
    return total > 0 ? Math.min(1, (st.written + st.verified) / total) : 1;
  },
});

/** A store to the page through the MMU (faulting it in), then its bytes. Returns a signal or 0. */
function* writePage(t: Task, addr: number, data: Uint8Array): Blocking<number> {
  const k = t.k;
  const sig = yield* accessUser(t, addr, true);
  if (sig) return sig;
  const pfn = k.machine.mmu.translateFunctional(t.cpu, addr);
  k.machine.mem.writeFrom(pfn, 0, data, 0, PAGE_SIZE);
  return 0;
}

function body(k: Kernel, st: State, r: number, pages: number, passes: number, random: boolean, willneed: boolean, seed: number) {
  return function* (t: Task): TaskBody {
    const fail = (msg: string): void => {
      if (st.failures.length < 8) st.failures.push(`process ${r}: ${msg}`);
    };
    const base = yield* sys_mmap(t, 0, pages * PAGE_SIZE, PROT_RW, MAP_PRIVATE_ANON, -1, 0);
    if (base < 0) {
      fail(`mmap of ${pages} pages failed with ${base}`);
      return;
    }
    const want = new Uint8Array(PAGE_SIZE);
    const got = new Uint8Array(PAGE_SIZE);
    const want32 = new Uint32Array(want.buffer);
    const got32 = new Uint32Array(got.buffer);
    let sig = 0;
    for (let i = 0; i < pages && !sig; i++) {
      fillPattern(want, r, i);
      sig = yield* writePage(t, base + i * PAGE_SIZE, want);
      if (!sig) st.written++;
    }
    let x = seed;
    for (let pass = 0; pass < passes && !sig; pass++) {
      if (willneed) st.willneedRet = yield* sys_madvise(t, base, pages * PAGE_SIZE, MADV_WILLNEED);
      const start = t.now;
      for (let n = 0; n < pages && !sig; n++) {
        let i = n;
        if (random) {
          x = (Math.imul(x, 1103515245) + 12345) >>> 0;
          i = x % pages;
        }
        const addr = base + i * PAGE_SIZE;
        sig = yield* accessUser(t, addr, false);
        if (sig) break;
        k.machine.mem.readInto(k.machine.mmu.translateFunctional(t.cpu, addr), 0, got, 0, PAGE_SIZE);
        fillPattern(want, r, i);
        let bad = -1;
        for (let w = 0; w < PAGE_SIZE / 4; w++) {
          if (got32[w] !== want32[w]) {
            bad = w * 4;
            while (got[bad] === want[bad]) bad++;
            break;
          }
        }
        if (bad >= 0) fail(`pass ${pass}: page ${i} byte ${bad} reads ${got[bad]}, expected ${want[bad]}`);
        else st.verified++;
      }
      // Elapsed simulated time, sleeps for swap-in included.
      st.readCycles += t.now - start;
      st.readPages += pages;
    }
    if (sig) fail(`killed by signal ${sig}`);
    yield* k.exit(t, current(t));
    st.done++;
  };
}
