/**
 * ebizzy: the web-server-like benchmark Minchan Kim used to show what
 * MADV_FREE saves an allocator (linux-mm, "mm: support madvise(MADV_FREE)"
 * v3, 2015: ebizzy with jemalloc purging by MADV_DONTNEED or MADV_FREE on a
 * 12-vCPU KVM guest). What ebizzy 0.3 does: the main thread allocates
 * --chunks chunks of --chunk-kib KiB and writes a pattern into them; then
 * each thread, until time is up, picks a chunk at random, mallocs a buffer
 * of the same size, copies the chunk into it, binary-searches it for a
 * random record (one 8-byte record_t per slot: 16 probes for 64 Ki
 * records), and frees the buffer. Every copy-search is one record;
 * records_per_sec is their total over the run's simulated seconds.
 *
 * The allocator is jemalloc 3.x reduced to what this loop exercises: an
 * arena per thread (jemalloc gives threads arenas round-robin over 4 x CPUs
 * of them), 4 MiB chunks from mmap (opt.lg_chunk 22), large allocations as
 * page runs taken lowest address first, and a purge after each free while
 * the arena holds more dirty pages than its active pages >> 3
 * (opt.lg_dirty_mult 3): the purge is madvise(--advice) of the dirty runs.
 * With one buffer per thread every free purges it: DONTNEED zaps it (the
 * next copy faults every page in again), FREE only marks it lazily free (the
 * next copy writes the same frames, the walker setting the accessed and
 * dirty bits again).
 */
import { choice, int } from '../params/schema.js';
import { MADV_DONTNEED, MADV_FREE, sys_madvise } from '../kernel/mm/madvise.js';
import { sys_mmap } from '../kernel/mm/mmap.js';
import { fillUser, loadUser, streamUser } from '../kernel/mm/uaccess.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../kernel/mm/uapi.js';
import type { TaskStruct } from '../kernel/sched/task_struct.js';
import type { Blocking, Task, TaskBody } from '../sim/task.js';
import { round2 } from './madvise-common.js';
import { defineWorkload } from './types.js';
import { PAGE_SIZE } from '../hw/types.js';

/** jemalloc 3.x opt.lg_chunk: arenas get memory from mmap in 4 MiB chunks. */
const JEMALLOC_CHUNK = 4 << 20;
/** jemalloc 3.x opt.lg_dirty_mult: purge while dirty pages exceed active pages >> 3. */
const LG_DIRTY_MULT = 3;
/** ebizzy's record_t is a size_t. */
const RECORD_BYTES = 8;

/** A run of pages in an arena chunk: allocated, or free (dirty until purged). */
interface Run {
  addr: number;
  pages: number;
  free: boolean;
  dirty: boolean;
}

/** One thread's arena: its chunks' runs in address order, and the page counts purging watches. */
class Arena {
  readonly runs: Run[] = [];
  nactive = 0;
  ndirty = 0;
  purges = 0;
  mmaps = 0;

  constructor(private readonly advice: number) {}

  /** arena_malloc_large: the lowest-addressed free run that fits, split; a new chunk from mmap when none does. */
  *malloc(t: Task, bytes: number): Blocking<number> {
    const pages = Math.ceil(bytes / PAGE_SIZE);
    let i = this.runs.findIndex((r) => r.free && r.pages >= pages);
    if (i < 0) {
      const base = yield* sys_mmap(t, 0, JEMALLOC_CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (base < 0) return base;
      this.mmaps++;
      this.runs.push({ addr: base, pages: JEMALLOC_CHUNK / PAGE_SIZE, free: true, dirty: false });
      this.runs.sort((a, b) => a.addr - b.addr);
      i = this.runs.findIndex((r) => r.addr === base);
    }
    const r = this.runs[i]!;
    if (r.pages > pages) {
      // The rest keeps its state; a dirty remainder stays counted as dirty.
      this.runs.splice(i + 1, 0, { addr: r.addr + pages * PAGE_SIZE, pages: r.pages - pages, free: true, dirty: r.dirty });
      r.pages = pages;
    }
    if (r.dirty) this.ndirty -= r.pages;
    r.free = false;
    r.dirty = false;
    this.nactive += r.pages;
    return r.addr;
  }

  /** arena_dalloc_large: the run becomes free and dirty; neighbours in the same state merge; then arena_maybe_purge. */
  *free(t: Task, addr: number): Blocking<number> {
    const i = this.runs.findIndex((r) => r.addr === addr && !r.free);
    if (i < 0) throw new Error(`ebizzy: free of 0x${addr.toString(16)}, not an allocated run`);
    const r = this.runs[i]!;
    r.free = true;
    r.dirty = true;
    this.nactive -= r.pages;
    this.ndirty += r.pages;
    this.coalesce();
    // arena_maybe_purge / arena_purge: madvise the dirty runs until the ratio holds.
    while (this.ndirty > this.nactive >> LG_DIRTY_MULT) {
      const d = this.runs.find((x) => x.free && x.dirty);
      if (!d) break;
      const ret = yield* sys_madvise(t, d.addr, d.pages * PAGE_SIZE, this.advice);
      if (ret !== 0) return ret;
      d.dirty = false;
      this.ndirty -= d.pages;
      this.purges++;
      this.coalesce();
    }
    return 0;
  }

  private coalesce(): void {
    for (let i = 0; i + 1 < this.runs.length; ) {
      const a = this.runs[i]!;
      const b = this.runs[i + 1]!;
      if (a.free && b.free && a.dirty === b.dirty && a.addr + a.pages * PAGE_SIZE === b.addr) {
        a.pages += b.pages;
        this.runs.splice(i + 1, 1);
      } else i++;
    }
  }
}

interface State {
  leader: TaskStruct | null;
  records: number[];
  /** Copy-searches done, counting one that ends after the run's end. */
  copies: number;
  arenas: Arena[];
  start: number;
  end: number;
  failures: string[];
  countersBefore: Record<string, number>;
}

/**
 * The byte each chunk is written with, and that its copies carry: 1 to 255 (memory holds bytes, so a chunk
 * number past 255 would read back modulo 256; 0 is what a fresh page reads).
 */
function chunkTag(chunk: number): number {
  return 1 + (chunk % 255);
}

/** A small xorshift per thread, seeded from the thread index and the run's seed (ebizzy's rand_r per thread). */
function xorshift(seed: number): () => number {
  let x = (seed * 2654435761) >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

export const ebizzy = defineWorkload({
  name: 'ebizzy',
  summary: 'ebizzy with a jemalloc-like allocator purging by MADV_FREE or MADV_DONTNEED: records per second by threads',
  description:
    'What ebizzy 0.3 does: --chunks chunks of --chunk-kib KiB are written with a pattern, then each of --threads threads ' +
    '(0: twice the CPUs, ebizzy\'s default) runs for --duration-ms of simulated time, each record: pick a chunk at random, ' +
    'malloc a buffer of its size, copy the chunk into it, binary-search it for a random 8-byte record, free it. The allocator ' +
    'is jemalloc 3.x reduced to this loop: an arena per thread, 4 MiB chunks from mmap, runs taken lowest address first, ' +
    'and a purge by madvise(--advice) whenever dirty pages exceed active pages / 8, so every free purges the buffer. ' +
    'Figure: records_per_sec (Minchan Kim 2015 measured 2,962 DONTNEED vs 12,070 FREE with one thread on a 12-vCPU KVM ' +
    'guest). The check reads every probe back as what the copy wrote. Compare: kernsim run ebizzy --advice MADV_FREE, then ' +
    '--advice MADV_DONTNEED; sweep --threads.',
  params: {
    threads: int(0, 'threads searching (0: twice the CPUs, as ebizzy)', { min: 0, max: 256 }),
    advice: choice(['MADV_FREE', 'MADV_DONTNEED'], 'MADV_FREE', 'how the allocator purges freed memory'),
    chunks: int(10, 'chunks searched (ebizzy -n; default 10)', { min: 1, max: 1024 }),
    chunk_kib: int(512, 'size of each chunk and of each copy (ebizzy -s; default 64 Ki records of 8 bytes)', { unit: 'KiB', min: 4, max: 1 << 20 }),
    duration_ms: int(2, 'simulated run time (ebizzy -S, in milliseconds here; short by default so a run takes seconds)', { unit: 'ms', min: 1, max: 100000 }),
  },

  setup(k, p) {
    const threads = p.threads === 0 ? 2 * k.cfg.cpus : p.threads;
    const advice = p.advice === 'MADV_FREE' ? MADV_FREE : MADV_DONTNEED;
    const st: State = { leader: null, records: new Array<number>(threads).fill(0), copies: 0, arenas: [], start: 0, end: 0, failures: [], countersBefore: {} };
    const bytes = p.chunk_kib * 1024;
    const records = bytes / RECORD_BYTES;
    const probes = Math.max(1, Math.ceil(Math.log2(records)));
    const cyclesPerMs = k.cfg.clock_ghz * 1e6;
    const mem: number[] = [];
    const worker = (idx: number) => (t: Task): TaskBody =>
      (function* (): TaskBody {
        const arena = new Arena(advice);
        st.arenas[idx] = arena;
        const rand = xorshift(k.cfg.sim.seed * 7919 + idx + 1);
        while (t.now < st.end) {
          const chunk = rand() % p.chunks;
          const copy = yield* arena.malloc(t, bytes);
          if (copy < 0) {
            st.failures.push(`thread ${idx}: mmap failed (${copy})`);
            return;
          }
          // memcpy(copy, src, size): the source streamed in, the copy streamed out (its bytes take the chunk's tag); each half
          // at the stream rate a sequential copy runs at (streamUser), the faults and walks as they come.
          if ((yield* streamUser(t, mem[chunk]!, bytes, false)) !== 0 || (yield* streamUser(t, copy, bytes, true, chunkTag(chunk))) !== 0) {
            st.failures.push(`thread ${idx}: fault in the copy`);
            return;
          }
          // bsearch for a random key: log2(records) probes, halving the interval.
          const key = rand() % records;
          let lo = 0;
          let hi = records;
          for (let i = 0; i < probes && lo < hi; i++) {
            const mid = (lo + hi) >>> 1;
            const v = yield* loadUser(t, copy + mid * RECORD_BYTES);
            if (v.value !== chunkTag(chunk) && st.failures.length < 5) st.failures.push(`thread ${idx}: probe at +${mid * RECORD_BYTES} reads ${v.value}, the copy wrote ${chunkTag(chunk)}`);
            if (mid < key) lo = mid + 1;
            else hi = mid;
          }
          const r = yield* arena.free(t, copy);
          if (r !== 0) {
            st.failures.push(`thread ${idx}: madvise returned ${r}`);
            return;
          }
          // A record that ends after the run's end does not count (ebizzy's runs are seconds long, where one in flight is noise).
          st.copies++;
          if (t.now <= st.end) st.records[idx]!++;
        }
      })();
    st.leader = k.spawnProcess('ebizzy', (t: Task): TaskBody =>
      (function* (): TaskBody {
        // alloc_mem + write_pattern: the chunks, written once before the threads start.
        for (let c = 0; c < p.chunks; c++) {
          const a = yield* sys_mmap(t, 0, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
          if (a < 0 || (yield* fillUser(t, a, bytes, chunkTag(c))) !== 0) {
            st.failures.push(`chunk ${c}: mmap or fill failed`);
            return;
          }
          mem.push(a);
        }
        st.start = t.now;
        st.end = t.now + p.duration_ms * cyclesPerMs;
        st.countersBefore = k.engine.counters.snapshot();
        for (let i = 1; i < threads; i++) k.spawnThread(st.leader!, `ebizzy/${i}`, worker(i));
        yield* worker(0)(t);
      })(),
    );
    return st;
  },

  check(_k, _p, st) {
    const out = [...st.failures];
    if (st.records.reduce((s, r) => s + r, 0) === 0) out.push('no record completed');
    return out;
  },

  figureDefs: {
    threads: { unit: 'threads', definition: 'worker threads run (--threads, or twice the CPUs when 0)' },
    records: { unit: 'records', definition: 'records done by all threads within --duration-ms (a record ending after it is not counted)' },
    records_per_sec: { unit: 'records/s', definition: 'records per simulated second of --duration-ms, as ebizzy reports' },
    faults_per_record: { unit: 'faults', definition: 'page faults (pgfault) per record, counting every record started' },
    purges: { unit: 'purges', definition: 'madvise purges made by the arenas' },
    tlb_shootdowns_per_record: { unit: 'shootdowns', definition: 'remote TLB flushes (nr_tlb_remote_flush) per record, counting every record started' },
  },
  headline: 'records_per_sec',

  figures(k, p, st) {
    const total = st.records.reduce((s, r) => s + r, 0);
    const c = k.engine.counters.snapshot();
    const delta = (n: string): number => (c[n] ?? 0) - (st.countersBefore[n] ?? 0);
    return {
      threads: st.records.length,
      records: total,
      records_per_sec: Math.round(total / (p.duration_ms / 1000)),
      faults_per_record: st.copies > 0 ? round2(delta('pgfault') / st.copies) : 0,
      purges: st.arenas.reduce((s, a) => s + (a?.purges ?? 0), 0),
      tlb_shootdowns_per_record: st.copies > 0 ? round2(delta('nr_tlb_remote_flush') / st.copies) : 0,
    };
  },

  progress(k, _p, st) {
    if (st.end === 0) return 0;
    let min = Infinity;
    for (const t of k.engine.allTasks()) if (t.name.startsWith('ebizzy')) min = Math.min(min, t.now);
    return Math.max(0, Math.min(1, (min - st.start) / (st.end - st.start)));
  },
});
