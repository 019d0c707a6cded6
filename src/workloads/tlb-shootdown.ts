/**
 * tlb-shootdown: one thread of a process repeatedly dirties a buffer and
 * drops it with madvise(MADV_DONTNEED) while the process's other threads
 * keep running on the other CPUs. Every zap must reach each CPU that may
 * cache the translations: flush_tlb_mm_range sends an IPI to every CPU in
 * the mm's cpumask that is not lazy and waits for all acknowledgements, so
 * the share of madvise's cost spent on the shootdown grows with the number
 * of CPUs running the process.
 */
import { int } from '../params/schema.js';
import type { Kernel } from '../kernel/kernel.js';
import { MADV_DONTNEED, sys_madvise } from '../kernel/mm/madvise.js';
import { sys_mmap } from '../kernel/mm/mmap.js';
import { accessUserRange } from '../kernel/mm/uaccess.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../kernel/mm/uapi.js';
import type { TaskStruct } from '../kernel/sched/task_struct.js';
import type { Task, TaskBody } from '../sim/task.js';
import { cyclesNamed, nodeAt, round2, touchChunk } from './madvise-common.js';
import { defineWorkload } from './types.js';
import { PAGE_SIZE } from '../hw/types.js';


interface State {
  leader: TaskStruct | null;
  started: number;
  done: boolean;
  rounds: number;
  /** CPU time of the madvise calls alone (the caller's, spinning for acknowledgements included). */
  madviseCycles: number;
  /** Thread 0's CPU time over all rounds (touch and madvise). */
  roundCycles: number;
  ipiBefore: number;
  countersBefore: Record<string, number>;
  failures: string[];
}

export const tlbShootdown = defineWorkload({
  name: 'tlb-shootdown',
  summary: 'madvise(MADV_DONTNEED) in a process whose threads run on every CPU: the TLB shootdown\'s share of the cost',
  description:
    'A process runs one thread per CPU (or --threads), each pinned to its own CPU. Thread 0 runs --rounds rounds: write --pages ' +
    'pages of its buffer (--touch-bytes of each), then madvise(MADV_DONTNEED) them; the other threads keep loading from their own small buffers, so their ' +
    'CPUs hold the mm and must take a flush IPI for every zap. Figures: cycles per madvise call, the cycles inside ' +
    'flush_tlb_mm_range (IPIs sent, the local flush and the wait for acknowledgements) and their share of the call, IPIs per call. ' +
    'Sweep the CPU count to see the share grow: kernsim sweep tlb-shootdown --grid cpus=1,4,16. The check reads the buffer back ' +
    'as zero after the last zap.',
  params: {
    threads: int(0, 'threads of the process, one per CPU (0: as many as CPUs)', { min: 0, max: 256 }),
    pages: int(16, 'pages written and dropped per round', { min: 1, max: 1 << 16 }),
    rounds: int(50, 'write-and-drop rounds', { min: 1, max: 10_000_000 }),
    touch_bytes: int(PAGE_SIZE, 'bytes written at the start of each page every round (4096: whole pages; 1: one byte a page, as will-it-scale\'s tlb_flush tests do)', { unit: 'B', min: 1, max: PAGE_SIZE }),
  },

  setup(k, p) {
    const threads = Math.min(p.threads === 0 ? k.cfg.cpus : p.threads, k.cfg.cpus);
    const st: State = { leader: null, started: 1, done: false, rounds: 0, madviseCycles: 0, roundCycles: 0, ipiBefore: 0, countersBefore: {}, failures: [] };
    const len = p.pages * PAGE_SIZE;
    st.leader = k.spawnProcess(
      'tlb-shootdown',
      (t: Task): TaskBody =>
        (function* (): TaskBody {
          const base = yield* sys_mmap(t, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
          if (base < 0) {
            st.failures.push(`mmap failed (${base})`);
            st.done = true;
            return;
          }
          for (let i = 1; i < threads; i++) k.spawnThread(st.leader!, `tlb-shootdown/${i}`, spinner(k, st), { cpu: i, pinned: true });
          while (st.started < threads) yield t.sleepFor(1000);
          st.ipiBefore = k.engine.ipi.counters().ipi_sent;
          st.countersBefore = k.engine.counters.snapshot();
          const rounds0 = t.cpuTime;
          for (let r = 0; r < p.rounds; r++) {
            if ((yield* touchChunk(t, base, p.pages, p.touch_bytes, 1 + (r % 255))) !== 0) {
              st.failures.push(`fault while writing round ${r}`);
              break;
            }
            const cpu0 = t.cpuTime;
            const ret = yield* sys_madvise(t, base, len, MADV_DONTNEED);
            st.madviseCycles += t.cpuTime - cpu0;
            if (ret !== 0) {
              st.failures.push(`madvise returned ${ret}`);
              break;
            }
            st.rounds++;
          }
          st.roundCycles = t.cpuTime - rounds0;
          st.done = true;
          for (let i = 0; i < p.pages; i++) {
            const pfn = k.machine.pt.translateFunctional(st.leader!.mm!.pgd, base + i * PAGE_SIZE);
            if (pfn >= 0 && st.failures.length < 5) st.failures.push(`page ${i} still mapped after the last MADV_DONTNEED`);
          }
        })(),
      { cpu: 0, pinned: true },
    );
    return st;
  },

  check(k, p, st) {
    const out = [...st.failures];
    if (st.rounds !== p.rounds) out.push(`ran ${st.rounds} of ${p.rounds} rounds`);
    return out;
  },

  figureDefs: {
    cpus_running: { unit: 'CPUs', definition: 'CPUs running a thread of the process (min(--threads or cpus, cpus))' },
    cycles_per_round: { unit: 'cycles', definition: 'CPU time of thread 0\'s round (write --touch-bytes of each page, then madvise(MADV_DONTNEED) them): the shape validate --host measures as DONTNEED plus a touch' },
    madvise_cycles_per_call: { unit: 'cycles', definition: 'CPU time of thread 0\'s madvise(MADV_DONTNEED) call, spinning for acknowledgements included, per call' },
    flush_cycles_per_call: { unit: 'cycles', definition: 'cycles under flush_tlb_mm_range inside madvise (IPIs sent, the local flush, the wait for acknowledgements) per call' },
    shootdown_share_pct: { unit: '%', definition: 'flush_tlb_mm_range\'s share of the cycles under syscall:madvise' },
    ipis_per_call: { unit: 'IPIs', definition: 'IPIs sent (ipi_sent) per madvise call' },
  },
  headline: 'madvise_cycles_per_call',

  figures(k, p, st) {
    const n = Math.max(1, st.rounds);
    const madv = nodeAt(k.engine.attribution.tree(), ['syscall:madvise']);
    const flush = madv ? cyclesNamed(madv, 'flush_tlb_mm_range') : 0;
    const inclusive = madv?.inclusive ?? 0;
    return {
      cpus_running: Math.min(p.threads === 0 ? k.cfg.cpus : p.threads, k.cfg.cpus),
      cycles_per_round: Math.round(st.roundCycles / n),
      madvise_cycles_per_call: Math.round(st.madviseCycles / n),
      flush_cycles_per_call: Math.round(flush / n),
      shootdown_share_pct: inclusive > 0 ? round2((100 * flush) / inclusive) : 0,
      ipis_per_call: round2((k.engine.ipi.counters().ipi_sent - st.ipiBefore) / n),
    };
  },

  progress(k, p, st) {
    return st.rounds / p.rounds;
  },
});

/** A thread that keeps its CPU in the process (loading from its own buffer) until the zapping thread is done. */
function spinner(k: Kernel, st: State): (t: Task) => TaskBody {
  return (t) =>
    (function* (): TaskBody {
      const b = yield* sys_mmap(t, 0, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      st.started++;
      if (b < 0) return;
      while (!st.done) {
        const sig = yield* accessUserRange(t, b, 256, 0, false);
        if (sig) return;
        if (t.shouldYield()) yield;
      }
    })();
}
