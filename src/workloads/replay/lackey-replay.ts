/**
 * Feeds a memory trace (lackey-parse.ts's batches) to the MMU as one
 * thread's user accesses, through a trace AddressStream: each run of reads
 * or of writes in a batch is one Mmu.run; a fault goes to the kernel
 * (do_user_addr_fault) and the access is retried, as the CPU does.
 *
 * - Instruction records are user time: `cpi` cycles each (the replay's
 *   --cpi, default DEFAULT_CPI), charged under `user:instructions`. Their
 *   data accesses are charged by the MMU and caches as they happen, under
 *   `user:memory trace`.
 * - An address the simulated process has no mapping for (the stack, the
 *   binary and the libraries that execve and the dynamic loader mapped,
 *   which a trace alone does not show) is mapped on first touch: anonymous,
 *   read-write, private, the 64 KiB-aligned block around it clipped to the
 *   hole between its neighbouring areas, by an mmap the replay makes
 *   (charged under `replay:first-touch mmap`; figures first_touch_maps and
 *   first_touch_pages). An access that faults with a signal all the same (a
 *   write to a read-only area, an address past the user half) is counted in
 *   accesses_refused and passed over.
 * - With an strace log (--strace A --lackey B), valgrind's SYSCALL lines of
 *   the memory calls are markers: each is matched to the next call of the
 *   log of the same name and length (MarkerAlign), the traffic before it is
 *   replayed before that call, and the addresses of what it mapped in the
 *   valgrind run are moved to where the log's call mapped them.
 */
import { MAP_ANONYMOUS, MAP_FIXED_NOREPLACE, MAP_PRIVATE, sys_mmap } from '../../kernel/mm/mmap.js';
import { BRK_BASE, PAGE_SIZE, TASK_SIZE } from '../../kernel/mm/mm_types.js';
import { PROT_READ, PROT_WRITE } from '../../kernel/mm/uapi.js';
import { vma_index } from '../../kernel/mm/vma.js';
import { do_user_addr_fault, signame } from '../../kernel/mm/fault.js';
import { current } from '../../kernel/sched/task_struct.js';
import { AddressStream, FAULT_PROTECTION } from '../../hw/access.js';
import type { Mmu } from '../../hw/mmu.js';
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { FILL_END, FILL_MARKER, MemBatch, type LackeyMarker, type MemSource } from './lackey-parse.js';

/**
 * Cycles per instruction record, beside the data accesses the MMU charges:
 * 0.25, the issue and retire width of 4 per cycle of Intel cores since
 * Haswell (Intel 64 and IA-32 Architectures Optimization Reference Manual,
 * sections 2.3-2.5: 4 uops allocated and retired per cycle), i.e. the core's
 * best case; dependency chains, branch mispredictions and instruction-cache
 * misses are not modelled (a stated gap: set --cpi to perf stat's
 * cycles/instructions minus the memory share to include them).
 */
export const DEFAULT_CPI = 0.25;

const CAT_TRACE = intern('user:memory trace');
const CAT_INSNS = intern('user:instructions');
const CAT_FIRST_TOUCH = intern('replay:first-touch mmap');
const FIRST_TOUCH_BLOCK = 64 * 1024;

export interface MemTally {
  instructions: number;
  loads: number;
  stores: number;
  modifies: number;
  /** Accesses added for records crossing a cache line. */
  splits: number;
  /** Accesses given to the MMU (loads + stores + modifies + splits, less the refused). */
  accesses: number;
  faults: number;
  firstTouchMaps: number;
  firstTouchPages: number;
  /** Accesses that faulted with a signal and were passed over, by signal name. */
  refused: Record<string, number>;
  instructionCycles: number;
  /** Markers (valgrind's SYSCALL lines of memory calls) read, and those matched with a call of the strace log. */
  markers: number;
  markersMatched: number;
}

export function newMemTally(): MemTally {
  return {
    instructions: 0, loads: 0, stores: 0, modifies: 0, splits: 0, accesses: 0, faults: 0, firstTouchMaps: 0, firstTouchPages: 0,
    refused: {}, instructionCycles: 0, markers: 0, markersMatched: 0,
  };
}

/**
 * Address moves from the valgrind run to the replayed log: [from, to) moved
 * by delta. Sorted, disjoint; a later mapping replaces what it overlaps.
 */
export class AddressMap {
  private starts: number[] = [];
  private ends: number[] = [];
  private deltas: number[] = [];
  private last = -1;

  get size(): number {
    return this.starts.length;
  }

  set(from: number, to: number, delta: number): void {
    const keep: number[] = [];
    for (let i = 0; i < this.starts.length; i++) if (this.ends[i]! <= from || this.starts[i]! >= to) keep.push(i);
    const s = keep.map((i) => this.starts[i]!);
    const e = keep.map((i) => this.ends[i]!);
    const d = keep.map((i) => this.deltas[i]!);
    if (delta !== 0) {
      let at = 0;
      while (at < s.length && s[at]! < from) at++;
      s.splice(at, 0, from);
      e.splice(at, 0, to);
      d.splice(at, 0, delta);
    }
    this.starts = s;
    this.ends = e;
    this.deltas = d;
    this.last = -1;
  }

  /** Moves the batch's addresses in place. */
  apply(b: MemBatch): void {
    const n = this.starts.length;
    if (n === 0) return;
    const a = b.addrs;
    const starts = this.starts;
    const ends = this.ends;
    let last = this.last;
    for (let i = 0; i < b.n; i++) {
      const v = a[i]!;
      if (last >= 0 && v >= starts[last]! && v < ends[last]!) {
        a[i] = v + this.deltas[last]!;
        continue;
      }
      let lo = 0;
      let hi = n - 1;
      let hit = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (v < starts[mid]!) hi = mid - 1;
        else if (v >= ends[mid]!) lo = mid + 1;
        else {
          hit = mid;
          break;
        }
      }
      if (hit >= 0) {
        last = hit;
        a[i] = v + this.deltas[hit]!;
      }
    }
    this.last = last;
  }
}

/** One thread's memory trace, fed batch by batch. */
export class MemFeed {
  readonly batch = new MemBatch();
  private readonly stream = new AddressStream();
  /** Position in the current batch still to run. */
  private pos = 0;
  private loaded = false;
  private insnCarry = 0;
  private ended = false;
  /** The marker the last batch stopped at, not yet passed. */
  pending: LackeyMarker | null = null;
  readonly moves = new AddressMap();

  constructor(
    readonly source: MemSource,
    readonly tally: MemTally,
    readonly cpi: number,
    private readonly mmu: Mmu,
  ) {}

  get done(): boolean {
    return this.ended && !this.loaded;
  }

  /**
   * Runs the trace's records on t until the next marker (left in `pending`)
   * or, with `throughMarkers`, to the end of the trace. Returns whether the
   * trace has records left.
   */
  *run(t: Task, throughMarkers: boolean): Blocking<boolean> {
    for (;;) {
      if (!this.loaded) {
        if (this.ended) return false;
        if (this.pending && !throughMarkers) return true;
        this.pending = null;
        const r = this.source.fill(this.batch);
        const b = this.batch;
        const tl = this.tally;
        tl.instructions += b.instructions;
        tl.loads += b.loads;
        tl.stores += b.stores;
        tl.modifies += b.modifies;
        tl.splits += b.splits;
        this.moves.apply(b);
        if (b.instructions > 0) {
          // Whole cycles; the fraction carries to the next batch.
          const due = this.insnCarry + b.instructions * this.cpi;
          const cyc = Math.floor(due);
          this.insnCarry = due - cyc;
          tl.instructionCycles += cyc;
          if (cyc > 0) t.chargeAs(CAT_INSNS, cyc);
        }
        if (r === FILL_END) {
          this.ended = true;
          this.source.close();
        }
        if (r === FILL_MARKER) {
          this.pending = b.marker;
          tl.markers++;
        }
        this.pos = 0;
        this.loaded = true;
      }
      yield* this.runBatch(t);
      this.loaded = false;
      if (t.shouldYield()) yield;
    }
  }

  /** The current batch's accesses, from pos. */
  private *runBatch(t: Task): Blocking<void> {
    const b = this.batch;
    const mmu = this.mmu;
    const writes = b.writes;
    const n = b.n;
    const stream = this.stream;
    const tl = this.tally;
    let i = this.pos;
    while (i < n) {
      const w = writes[i] === 0 ? 0 : 1;
      let j = i + 1;
      if (w === 0) while (j < n && writes[j] === 0) j++;
      else while (j < n && writes[j] !== 0) j++;
      stream.setTrace(b.addrs, i);
      t.enter(CAT_TRACE);
      const o = mmu.run(t.cpu, stream, j - i, w === 1, Math.max(1, t.budget()));
      t.charge(o.cycles);
      t.leave();
      i += o.done;
      tl.accesses += o.done;
      if (o.fault !== 0) {
        tl.faults++;
        const addr = o.faultAddr;
        const write = o.faultWrite;
        const protection = o.fault === FAULT_PROTECTION;
        this.pos = i;
        if (!protection && (yield* this.firstTouch(t, addr))) continue;
        const sig = yield* do_user_addr_fault(t, addr, write, protection);
        if (sig) {
          const name = signame(sig);
          tl.refused[name] = (tl.refused[name] ?? 0) + 1;
          i++;
        }
      }
      if (t.shouldYield()) {
        this.pos = i;
        yield;
      }
    }
    this.pos = n;
  }

  /** Maps the block around addr if no area holds it; returns whether it mapped one. */
  private *firstTouch(t: Task, addr: number): Blocking<boolean> {
    const mm = current(t).mm;
    if (!mm || addr >= TASK_SIZE || addr < PAGE_SIZE) return false;
    const idx = vma_index(mm, addr);
    const next = mm.vmas[idx];
    if (next && next.vmStart <= addr) return false;
    const prevEnd = idx > 0 ? mm.vmas[idx - 1]!.vmEnd : PAGE_SIZE;
    let start = Math.max(Math.floor(addr / FIRST_TOUCH_BLOCK) * FIRST_TOUCH_BLOCK, prevEnd);
    let end = Math.min(start + FIRST_TOUCH_BLOCK, next ? next.vmStart : TASK_SIZE);
    if (addr >= end) {
      start = Math.floor(addr / PAGE_SIZE) * PAGE_SIZE;
      end = start + PAGE_SIZE;
    }
    t.enter(CAT_FIRST_TOUCH);
    const r = yield* sys_mmap(t, start, end - start, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    t.leave();
    if (r < 0) return false;
    this.tally.firstTouchMaps++;
    this.tally.firstTouchPages += (end - start) / PAGE_SIZE;
    return true;
  }
}

/** The key a memory call is matched by: its name and length (madvise: and advice). */
function markerKey(name: string, args: readonly number[]): string {
  switch (name) {
    case 'mmap':
    case 'munmap':
    case 'mprotect':
      return `${name} ${pageUp(args[1] ?? 0)}`;
    case 'madvise':
      return `${name} ${pageUp(args[1] ?? 0)} ${args[2] ?? 0}`;
    case 'mremap':
      return `${name} ${pageUp(args[1] ?? 0)} ${pageUp(args[2] ?? 0)}`;
    default:
      return name;
  }
}

function pageUp(v: number): number {
  return Math.ceil(v / PAGE_SIZE) * PAGE_SIZE;
}

/** A memory call of the strace log as the aligner sees it. */
export interface AlignCall {
  /** Its index in the thread's call list. */
  index: number;
  name: string;
  args: readonly number[];
}

/** How far ahead in the log (in memory calls) a marker's call is looked for. */
const LOOKAHEAD = 256;

/**
 * Matches valgrind's markers with the strace log's memory calls, in order:
 * a marker goes with the next memory call of the log, from the call about
 * to run on, with the same key (name and length; madvise also its advice),
 * looked for among the next LOOKAHEAD memory calls; a marker with none
 * (valgrind's own preload library, a call the two runs did not share, a
 * call of another thread: markers are taken from valgrind's thread 1 only)
 * is unmatched and the traffic runs on past it.
 */
export class MarkerAlign {
  /** Position in `calls` from which the next marker is looked for. */
  private cursor = 0;
  /** The valgrind run's first break, and the highest since. */
  private vBrk0: number | null = null;
  private vBrkMax = 0;

  constructor(
    private readonly calls: readonly AlignCall[],
    private readonly feed: MemFeed,
  ) {}

  /** The index of the log call the marker goes with, searching from call index `from` on; -1 when none. */
  target(m: LackeyMarker, from: number): number {
    if (m.tid !== 1) return -1;
    const key = markerKey(m.name, m.args);
    let j = this.cursor;
    while (j < this.calls.length && this.calls[j]!.index < from) j++;
    this.cursor = j;
    for (let seen = 0; j < this.calls.length && seen < LOOKAHEAD; j++, seen++) {
      const c = this.calls[j]!;
      if (markerKey(c.name, c.args) === key) return c.index;
    }
    return -1;
  }

  /** The marker went with the log call at `index`, whose simulated result was `simRet` (an address for mmap and mremap; < 0 if it failed): the valgrind run's addresses of what it mapped move to the replayed ones. */
  matched(m: LackeyMarker, index: number, simRet: number): void {
    while (this.cursor < this.calls.length && this.calls[this.cursor]!.index <= index) this.cursor++;
    this.feed.tally.markersMatched++;
    if (m.ret < 0 || simRet < 0) return;
    if (m.name === 'mmap' || m.name === 'mremap') {
      const len = pageUp(m.name === 'mmap' ? m.args[1]! : m.args[2]!);
      this.feed.moves.set(m.ret, m.ret + len, simRet - m.ret);
    } else if (m.name === 'brk') {
      if (this.vBrk0 === null) this.vBrk0 = m.ret;
      this.vBrkMax = Math.max(this.vBrkMax, pageUp(m.ret), this.vBrk0 + PAGE_SIZE);
      this.feed.moves.set(this.vBrk0, this.vBrkMax, BRK_BASE - this.vBrk0);
    }
  }
}
