/**
 * db-discard: a database that keeps its table in a shared file mapping and
 * gives pages it no longer needs back with madvise. MADV_REMOVE punches a
 * hole in the file (the page-cache pages are freed, the data is gone: a
 * later read maps a new zero page of the file); MADV_DONTNEED on a shared
 * file mapping only drops this process's PTEs: the pages stay in the page
 * cache with their data, and a later access faults them back in without
 * I/O. The first gives memory back, the second only mappings.
 */
import { choice, int } from '../params/schema.js';
import { sys_close, sys_open } from '../kernel/fs/fd_syscalls.js';
import { sys_ftruncate } from '../kernel/fs/open.js';
import { O_CREAT, O_RDWR, O_TRUNC } from '../kernel/fs/uapi_fcntl.js';
import { MADV_DONTNEED, MADV_REMOVE, sys_madvise } from '../kernel/mm/madvise.js';
import { sys_mmap } from '../kernel/mm/mmap.js';
import { fillUser, loadUser } from '../kernel/mm/uaccess.js';
import { MAP_SHARED, PROT_READ, PROT_WRITE } from '../kernel/mm/uapi.js';
import { current } from '../kernel/sched/task_struct.js';
import type { Task, TaskBody } from '../sim/task.js';
import { nodeAt, round2 } from './madvise-common.js';
import { defineWorkload } from './types.js';
import { PAGE_SIZE } from '../hw/types.js';


interface State {
  rounds: number;
  discards: number;
  /** CPU time of the rounds (Task.cpuTime). */
  cycles: number;
  /** Cycles waited runnable for a CPU during the rounds (Task.runDelay). */
  runDelay: number;
  /** Page-cache pages of the table file after the last round's discards. */
  cachedAfterDiscard: number;
  failures: string[];
  countersBefore: Record<string, number>;
}

/** The byte round r writes: never 0, so a page that lost its data shows up. */
function tag(r: number): number {
  return 1 + (r % 251);
}

export const dbDiscard = defineWorkload({
  name: 'db-discard',
  summary: 'a database discarding pages of a shared file mapping with MADV_REMOVE (hole punch) or MADV_DONTNEED',
  description:
    'One process creates a file of --pages pages, maps it MAP_SHARED and runs --rounds rounds: write every page of the table, ' +
    'then discard every --stride-th page (a different residue class each round), one madvise(--advice) call per page, as a ' +
    'database frees pages of its table one at a time, and read each discarded page back. With MADV_REMOVE each call punches a hole ' +
    'in the file: the page leaves the page cache and is freed, and the read-back faults in a new zeroed page. With MADV_DONTNEED the ' +
    'call only zaps this mapping\'s PTE: the page stays cached and dirty, and the read-back faults the same data back from the ' +
    'page cache (a minor fault). Figures: CPU cycles per round and per madvise call, faults per round, frames freed per discard, ' +
    'the file\'s cached pages after the last discards. The check compares every byte read back with what MADV_REMOVE (zero) or ' +
    'MADV_DONTNEED (the round\'s data) must give, and a page that was not discarded with the round\'s data.',
  params: {
    pages: int(512, 'pages in the table file', { min: 2, max: 1 << 18 }),
    rounds: int(8, 'write-discard-read rounds', { min: 1, max: 10_000_000 }),
    stride: int(4, 'every stride-th page is discarded each round', { min: 2, max: 1 << 18 }),
    advice: choice(['MADV_REMOVE', 'MADV_DONTNEED'], 'MADV_REMOVE', 'how the database discards a page'),
  },

  setup(k, p) {
    const st: State = { rounds: 0, discards: 0, cycles: 0, runDelay: 0, cachedAfterDiscard: 0, failures: [], countersBefore: {} };
    const advice = p.advice === 'MADV_REMOVE' ? MADV_REMOVE : MADV_DONTNEED;
    const len = p.pages * PAGE_SIZE;
    const fail = (msg: string): void => {
      if (st.failures.length < 8) st.failures.push(msg);
    };
    const body = (t: Task): TaskBody =>
      (function* (): TaskBody {
        const ts = current(t);
        const fd = yield* sys_open(t, '/tmp/db-discard.table', O_RDWR | O_CREAT | O_TRUNC, 0o600);
        if (fd < 0) return fail(`open failed (${fd})`);
        const tr = yield* sys_ftruncate(t, fd, len);
        if (tr < 0) return fail(`ftruncate failed (${tr})`);
        const base = yield* sys_mmap(t, 0, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (base < 0) return fail(`mmap failed (${base})`);
        yield* sys_close(t, fd);
        const mapping = ts.mm!.vmas.find((v) => v.vmStart === base)!.vmFile!.mapping;
        const cpu0 = t.cpuTime;
        const delay0 = t.runDelay;
        for (let r = 0; r < p.rounds; r++) {
          if ((yield* fillUser(t, base, len, tag(r))) !== 0) return fail(`fault while writing round ${r}`);
          const first = r % p.stride;
          for (let i = first; i < p.pages; i += p.stride) {
            const ret = yield* sys_madvise(t, base + i * PAGE_SIZE, PAGE_SIZE, advice);
            if (ret !== 0) return fail(`round ${r}: madvise of page ${i} returned ${ret}`);
            st.discards++;
          }
          st.cachedAfterDiscard = mapping.nrpages;
          const want = advice === MADV_REMOVE ? 0 : tag(r);
          for (let i = first; i < p.pages; i += p.stride) {
            for (const off of [0, PAGE_SIZE - 1]) {
              const v = yield* loadUser(t, base + i * PAGE_SIZE + off);
              if (v.sig !== 0 || v.value !== want) fail(`round ${r}: discarded page ${i} +${off} reads ${v.value} (signal ${v.sig}), want ${want}`);
            }
          }
          const kept = (first + 1) % p.stride;
          const v = yield* loadUser(t, base + kept * PAGE_SIZE);
          if (v.value !== tag(r)) fail(`round ${r}: kept page ${kept} reads ${v.value}, want ${tag(r)}`);
          st.rounds++;
        }
        st.cycles = t.cpuTime - cpu0;
        st.runDelay = t.runDelay - delay0;
      })();
    st.countersBefore = k.engine.counters.snapshot();
    k.spawnProcess('db-discard', body);
    return st;
  },

  check(k, p, st) {
    const out = [...st.failures];
    if (st.rounds !== p.rounds) out.push(`ran ${st.rounds} of ${p.rounds} rounds`);
    return out;
  },

  figureDefs: {
    rounds: { unit: 'rounds', definition: 'rounds done (--rounds)' },
    discards: { unit: 'calls', definition: 'madvise calls made, one per discarded page' },
    cycles_per_round: { unit: 'cycles', definition: 'CPU time of one round (write the table, discard, read back) per round; no waiting for a CPU' },
    runqueue_wait_per_round: { unit: 'cycles', definition: 'time the process waited runnable for a CPU (run_delay of /proc/PID/schedstat) per round' },
    madvise_cycles_per_call: { unit: 'cycles', definition: 'CPU time under syscall:madvise divided by the madvise calls' },
    faults_per_round: { unit: 'faults', definition: 'page faults (pgfault) per round' },
    major_faults: { unit: 'faults', definition: 'major page faults (pgmajfault) during the rounds' },
    frames_freed_per_discard: { unit: 'pages', definition: 'frames returned to the page allocator (pgfree) per madvise call' },
    cached_pages_after_discard: { unit: 'pages', definition: 'pages of the file in the page cache just after the last round\'s discards' },
    table_pages: { unit: 'pages', definition: 'pages of the file (--pages)' },
  },
  headline: 'madvise_cycles_per_call',

  figures(k, p, st) {
    const c = k.engine.counters.snapshot();
    const delta = (n: string): number => (c[n] ?? 0) - (st.countersBefore[n] ?? 0);
    const madv = nodeAt(k.engine.attribution.tree(), ['syscall:madvise']);
    const rounds = Math.max(1, st.rounds);
    return {
      rounds: st.rounds,
      discards: st.discards,
      cycles_per_round: Math.round(st.cycles / rounds),
      runqueue_wait_per_round: Math.round(st.runDelay / rounds),
      madvise_cycles_per_call: madv && st.discards > 0 ? Math.round(madv.inclusive / st.discards) : 0,
      faults_per_round: round2(delta('pgfault') / rounds),
      major_faults: delta('pgmajfault'),
      frames_freed_per_discard: st.discards > 0 ? round2(delta('pgfree') / st.discards) : 0,
      cached_pages_after_discard: st.cachedAfterDiscard,
      table_pages: p.pages,
    };
  },

  progress(k, p, st) {
    return st.rounds / p.rounds;
  },
});
