/**
 * alloc-churn: an allocator that frees and reuses memory, as jemalloc or
 * tcmalloc do with their dirty pages. Each thread owns a chunk; every round
 * it writes the whole chunk (allocation and use), checks two bytes, then
 * returns the chunk to the kernel with madvise (the purge). With
 * MADV_DONTNEED the purge zaps the pages and the next round faults them in
 * again, each a zeroed new page; with MADV_FREE the purge only marks them
 * lazily free, and when memory is plentiful the next round writes the same
 * pages without a fault.
 */
import { choice, int } from '../params/schema.js';
import { MADV_DONTNEED, MADV_FREE, sys_madvise } from '../kernel/mm/madvise.js';
import { sys_mmap } from '../kernel/mm/mmap.js';
import { loadUser } from '../kernel/mm/uaccess.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../kernel/mm/uapi.js';
import type { TaskStruct } from '../kernel/sched/task_struct.js';
import type { Task, TaskBody } from '../sim/task.js';
import { cyclesNamed, nodeAt, round2, touchChunk } from './madvise-common.js';
import { defineWorkload } from './types.js';
import { PAGE_SIZE } from '../hw/types.js';


interface State {
  leader: TaskStruct | null;
  bases: number[];
  rounds: number[];
  /** Each thread's elapsed cycles over its rounds (use + purge, and any wait). */
  elapsed: number[];
  /** CPU time each thread was charged over its rounds (Task.cpuTime): the work itself. */
  cpu: number[];
  /** Cycles each thread waited runnable for a CPU over its rounds (Task.runDelay). */
  runDelay: number[];
  failures: string[];
  countersBefore: Record<string, number>;
}

const sum = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0);

/** The byte round r writes: never 0, so a page that lost its data shows up. */
function tag(r: number): number {
  return 1 + (r % 251);
}

export const allocChurn = defineWorkload({
  name: 'alloc-churn',
  summary: 'an allocator purging and reusing memory with MADV_FREE or MADV_DONTNEED: faults, zeroing and flushes saved',
  description:
    'Each of --threads threads of one process owns a chunk of --chunk-pages pages and runs --rounds rounds: write the chunk ' +
    '(--touch-bytes at the start of each page; by default all of it: allocation and use), read back its first and last byte, then purge it with madvise(--advice). With MADV_DONTNEED the purge ' +
    'zaps the chunk (TLB shootdown to the other threads\' CPUs, frames freed) and the next round takes one page fault per page, ' +
    'each allocating and zeroing a frame; with MADV_FREE the purge only makes the pages clean, old and lazily freed, and the next ' +
    'round writes them in place; with none the chunk is never purged (the baseline: no madvise, memory never returned). Figures: CPU cycles per round and per purge, the wait for a CPU per round, faults and zeroed pages per round. The check compares ' +
    'the bytes read back with what the round wrote. Compare: kernsim run alloc-churn --advice MADV_FREE, then --advice MADV_DONTNEED.',
  params: {
    threads: int(1, 'threads of the process, one chunk each', { min: 1, max: 256 }),
    chunk_pages: int(64, 'pages in each thread\'s chunk', { min: 1, max: 1 << 18 }),
    rounds: int(100, 'use-and-purge rounds per thread', { min: 1, max: 10_000_000 }),
    advice: choice(['MADV_FREE', 'MADV_DONTNEED', 'none'], 'MADV_FREE', 'how the allocator purges a chunk (none: never)'),
    touch_bytes: int(PAGE_SIZE, 'bytes written at the start of each page every round (4096: the whole chunk, as this loop does; 1: one byte a page, as an allocator handing out page-sized objects that are barely used)', { unit: 'B', min: 1, max: PAGE_SIZE }),
  },

  setup(k, p) {
    const st: State = { leader: null, bases: [], rounds: new Array<number>(p.threads).fill(0), elapsed: new Array<number>(p.threads).fill(0), cpu: new Array<number>(p.threads).fill(0), runDelay: new Array<number>(p.threads).fill(0), failures: [], countersBefore: {} };
    const advice = p.advice === 'MADV_FREE' ? MADV_FREE : p.advice === 'MADV_DONTNEED' ? MADV_DONTNEED : -1;
    const len = p.chunk_pages * PAGE_SIZE;
    const body = (idx: number) => (t: Task): TaskBody =>
      (function* (): TaskBody {
        const base = yield* sys_mmap(t, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (base < 0) {
          st.failures.push(`thread ${idx}: mmap failed (${base})`);
          return;
        }
        st.bases[idx] = base;
        const t0 = t.now;
        const cpu0 = t.cpuTime;
        const delay0 = t.runDelay;
        for (let r = 0; r < p.rounds; r++) {
          if ((yield* touchChunk(t, base, p.chunk_pages, p.touch_bytes, tag(r))) !== 0) {
            st.failures.push(`thread ${idx}: fault while writing round ${r}`);
            return;
          }
          for (const a of [base, base + len - PAGE_SIZE + p.touch_bytes - 1]) {
            const v = yield* loadUser(t, a);
            if (v.value !== tag(r) && st.failures.length < 5) st.failures.push(`thread ${idx} round ${r}: byte at +${a - base} reads ${v.value}, wrote ${tag(r)}`);
          }
          const ret = advice < 0 ? 0 : yield* sys_madvise(t, base, len, advice);
          if (ret !== 0) {
            st.failures.push(`thread ${idx}: madvise returned ${ret}`);
            return;
          }
          st.rounds[idx]!++;
        }
        st.elapsed[idx] = t.now - t0;
        st.cpu[idx] = t.cpuTime - cpu0;
        st.runDelay[idx] = t.runDelay - delay0;
      })();
    st.countersBefore = k.engine.counters.snapshot();
    st.leader = k.spawnProcess('alloc-churn', body(0));
    for (let i = 1; i < p.threads; i++) k.spawnThread(st.leader, `alloc-churn/${i}`, body(i));
    return st;
  },

  check(k, p, st) {
    const out = [...st.failures];
    for (let i = 0; i < p.threads; i++) if (st.rounds[i] !== p.rounds) out.push(`thread ${i} ran ${st.rounds[i]} of ${p.rounds} rounds`);
    return out;
  },

  figureDefs: {
    rounds: { unit: 'rounds', definition: 'rounds done by all threads (--threads x --rounds)' },
    cycles_per_round: { unit: 'cycles', definition: 'CPU time of one round (write, read back, madvise): the threads\' CPU time over their rounds divided by the rounds; no waiting for a CPU' },
    runqueue_wait_per_round: { unit: 'cycles', definition: 'time a thread waited runnable for a CPU (run_delay of /proc/PID/schedstat) per round: queueing, grows with threads per CPU' },
    elapsed_cycles_per_round: { unit: 'cycles', definition: 'a thread\'s elapsed cycles per round: its CPU time, its wait for a CPU, the context switches into it and any sleep' },
    madvise_cycles_per_call: { unit: 'cycles', definition: 'CPU time under syscall:madvise (all CPUs; interrupt handlers on the other CPUs not included) divided by the rounds' },
    faults_per_round: { unit: 'faults', definition: 'page faults (pgfault) per round' },
    pages_zeroed_per_round: { unit: 'pages', definition: 'pages cleared by clear_page (pages_cleared) per round' },
    flush_cycles_per_call: { unit: 'cycles', definition: 'cycles of flush_tlb_mm_range under madvise divided by the rounds' },
    pglazyfree: { unit: 'pages', definition: 'pages marked lazily freeable by MADV_FREE (pglazyfree) during the rounds' },
  },

  headline: 'cycles_per_round',

  figures(k, p, st) {
    const ops = p.threads * p.rounds;
    const c = k.engine.counters.snapshot();
    const delta = (n: string): number => (c[n] ?? 0) - (st.countersBefore[n] ?? 0);
    const tree = k.engine.attribution.tree();
    const madv = nodeAt(tree, ['syscall:madvise']);
    const flush = madv ? cyclesNamed(madv, 'flush_tlb_mm_range') : 0;
    return {
      rounds: ops,
      cycles_per_round: ops > 0 ? Math.round(sum(st.cpu) / ops) : 0,
      runqueue_wait_per_round: ops > 0 ? Math.round(sum(st.runDelay) / ops) : 0,
      elapsed_cycles_per_round: ops > 0 ? Math.round(sum(st.elapsed) / ops) : 0,
      madvise_cycles_per_call: madv && ops > 0 ? Math.round(madv.inclusive / ops) : 0,
      faults_per_round: ops > 0 ? round2(delta('pgfault') / ops) : 0,
      pages_zeroed_per_round: ops > 0 ? round2(delta('pages_cleared') / ops) : 0,
      flush_cycles_per_call: ops > 0 ? Math.round(flush / ops) : 0,
      pglazyfree: delta('pglazyfree'),
    };
  },

  progress(k, p, st) {
    return st.rounds.reduce((s, r) => s + r, 0) / (p.threads * p.rounds);
  },
});
