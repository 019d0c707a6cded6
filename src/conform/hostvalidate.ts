/**
 * `kernsim validate --host FILE`: composite experiments that `kernsim
 * calibrate` does not use, run on this host and on the simulator with the
 * calibrated profile FILE, as the same timed syscall scripts. Each curve's
 * shape (each point relative to the curve's first) is judged: the
 * simulator must reproduce how the cost changes from one point to the next
 * within ±30%, on whatever machine the profile was calibrated on.
 */
import type { MachineConfig } from '../config/machine.js';
import { judgeCurve, DEFAULT_SHAPE_TOLERANCE } from '../validate/run.js';
import type { CurveResult } from '../validate/types.js';
import { anon, hostSamples, PIN0, perOp, simSamples, stat, touch, type Bench, type RawOp, type Side, type Stat } from './measure.js';
import { perIterationBench } from './calibrate.js';

export interface HostPoint {
  x: string;
  bench: Bench;
}

export interface HostCurve {
  label: string;
  points: HostPoint[];
}

export interface HostExperiment {
  id: string;
  title: string;
  unit: string;
  curves: HostCurve[];
  /** What the shape tells about the model, and what a difference would mean. */
  notes: string;
}

const side = (s: Side, host: number, sim: number): number => (s === 'host' ? host : sim);
const SPINNER: RawOp = { op: 'thread', as: 'S', cpu: 1, ops: [{ op: 'spin' }] };
const JOIN_SPINNER: RawOp = { op: 'join', thread: '$S' };

/** DONTNEED of one page and a one-byte touch, with or without a second thread of the mm spinning on CPU 1. */
function dontneedTouch(threads: 1 | 2): Bench {
  return perIterationBench(
    `dontneed-touch-${threads}`,
    `madvise(MADV_DONTNEED) of one page and a one-byte write to it${threads === 2 ? ', a second thread spinning on CPU 1' : ''}`,
    [PIN0, anon('A', 1), ...touch('$A', 1), ...(threads === 2 ? [SPINNER] : [])],
    [{ op: 'madvise', addr: '$A', len: 4096, advice: 'MADV_DONTNEED' }, { op: 'fill', addr: '$A', len: 1, byte: 1 }],
    50,
    10,
    threads === 2 ? [JOIN_SPINNER] : [],
  );
}

/** madvise(DONTNEED) of `pages` freshly written pages: ns per page. */
function dontneedPerPage(pages: number): Bench {
  return {
    id: `dontneed-per-page-${pages}`,
    what: `madvise(MADV_DONTNEED) of ${pages} present pages, per page`,
    script: (s) => {
      const rounds = side(s, pages >= 1024 ? 25 : 80, 4);
      const ops: RawOp[] = [PIN0, anon('A', pages)];
      for (let r = 0; r < rounds; r++) ops.push({ op: 'fill', addr: '$A', len: pages * 4096, byte: 1 }, { op: 'madvise', addr: '$A', len: pages * 4096, advice: 'MADV_DONTNEED' });
      return ops;
    },
    samples: (lines) => perOp(lines, 'madvise').slice(1).map((ns) => ns / pages),
  };
}

const CHUNK = 64;

/** One round of an allocator: a one-byte write to each page of a 64-page chunk, then purge it with `advice`. */
function allocRound(advice: string, addr: string): RawOp[] {
  return [...touch(addr, CHUNK), { op: 'madvise', addr, len: CHUNK * 4096, advice }];
}

function allocLoop(advice: 'MADV_FREE' | 'MADV_DONTNEED', threads: 1 | 2): Bench {
  const hostCount = 10;
  const simCount = 3;
  const blocks = (s: Side) => side(s, 41, 3);
  const count = (s: Side) => side(s, hostCount, simCount);
  return {
    id: `alloc-${advice === 'MADV_FREE' ? 'free' : 'dontneed'}-${threads}`,
    what: `a round of an allocator loop over a ${CHUNK}-page chunk (write one byte per page, purge with ${advice}), ${threads} thread${threads === 2 ? 's, each on its own chunk and CPU' : ''}`,
    script: (s) => {
      const loop = (addr: string): RawOp[] => Array.from({ length: blocks(s) }, () => ({ op: 'repeat', count: count(s), ops: allocRound(advice, addr) }));
      const other: RawOp[] = threads === 2 ? [{ op: 'thread', as: 'T', cpu: 1, ops: [anon('B', CHUNK), ...loop('$B')] }] : [];
      return [PIN0, anon('A', CHUNK), ...touch('$A', CHUNK), ...other, ...loop('$A'), ...(threads === 2 ? [{ op: 'join', thread: '$T' }] : [])];
    },
    samples: (lines) => {
      const reps = lines.filter((l) => l.op === 'repeat');
      const n = reps.length === 41 ? hostCount : simCount;
      return reps.map((l) => l.time_ns! / n);
    },
  };
}

/** munmap of 8 freshly written pages, with 0 or 1 other threads of the process running (spinning on CPU 1). */
function munmap8(others: 0 | 1): Bench {
  return {
    id: `munmap-8-${others}`,
    what: `munmap of 8 written pages, ${others} other thread${others === 1 ? ' running on CPU 1' : 's'}`,
    script: (s) => {
      const ops: RawOp[] = [PIN0, ...(others === 1 ? [SPINNER] : [])];
      for (let r = 0; r < side(s, 100, 4); r++) ops.push(anon('M', 8), ...touch('$M', 8), { op: 'munmap', addr: '$M', len: 8 * 4096 });
      if (others === 1) ops.push(JOIN_SPINNER);
      return ops;
    },
    samples: (lines) => perOp(lines, 'munmap').slice(1),
  };
}

/** fork of a process with 256 written pages; the child writes `pages` of them (COW) and exits; the parent waits. */
function forkCow(pages: number): Bench {
  return {
    id: `fork-cow-${pages}`,
    what: `fork, the child writes ${pages} of 256 pages and exits, the parent waits for it`,
    script: (s) => {
      const ops: RawOp[] = [PIN0, anon('A', 256), ...touch('$A', 256)];
      for (let r = 0; r < side(s, 30, 3); r++) ops.push({ op: 'fork', ops: touch('$A', pages) });
      return ops;
    },
    samples: (lines) => perOp(lines, 'fork').slice(1),
  };
}

/** dup2 onto fd `target` in a fresh child whose table has grown to `target`'s half (64 first): each call expands the table once. */
const FD_TARGETS = [32, 127, 255, 511, 1023, 2047, 4095];
function fdGrowth(target: number): Bench {
  const index = FD_TARGETS.indexOf(target);
  return {
    id: `fd-grow-${target + 1 > 64 ? target + 1 : 'none'}`,
    what: target < 64 ? 'dup2 onto a free fd below 64 (no growth)' : `dup2 onto fd ${target}: expand_fdtable to ${target + 1} fds`,
    script: (s) => {
      const ops: RawOp[] = [PIN0, { op: 'setrlimit', resource: 'NOFILE', cur: 4096, max: 4096 }];
      // The child's first ops take its first copy-on-write faults (stack, libc data): two warm-up calls come first.
      const warm: RawOp[] = [{ op: 'dup2', fd: 0, newfd: 20 }, { op: 'close', fd: 20 }];
      for (let r = 0; r < side(s, 30, 2); r++) ops.push({ op: 'fork', ops: [...warm, ...FD_TARGETS.map((fd) => ({ op: 'dup2', fd: 0, newfd: fd }))] });
      return ops;
    },
    samples: (lines) => lines.filter((l) => l.op === 'fork').slice(1).map((l) => l.child![2 + index]!.time_ns!),
  };
}

export const HOST_EXPERIMENTS: readonly HostExperiment[] = [
  {
    id: 'dontneed-touch-threads',
    title: 'DONTNEED + one-byte touch of one page: 1 thread vs a second thread of the mm spinning on another CPU',
    unit: 'ns per round',
    curves: [{ label: 'threads of the mm', points: [{ x: '1 thread', bench: dontneedTouch(1) }, { x: '2 threads', bench: dontneedTouch(2) }] }],
    notes: 'The ratio is the shootdown IPI round trip against a zap, a local INVLPG and a first-touch fault.',
  },
  {
    id: 'dontneed-per-page',
    title: 'DONTNEED cost per page by pages per call, relative to 1024 pages',
    unit: 'ns per page',
    curves: [{ label: 'pages per call', points: [1024, 1, 8, 33, 34, 64].map((n) => ({ x: String(n), bench: dontneedPerPage(n) })) }],
    notes: 'Fixed costs (entry, flush set-up) spread over the pages; 33 INVLPGs against one full flush at 34.',
  },
  {
    id: 'alloc-loop',
    title: `Allocator loop over a ${CHUNK}-page chunk (one byte per page, then purge): DONTNEED relative to FREE`,
    unit: 'ns per round',
    curves: [1, 2].map((t) => ({ label: `${t} thread${t === 2 ? 's' : ''}`, points: [{ x: 'MADV_FREE', bench: allocLoop('MADV_FREE', t as 1 | 2) }, { x: 'MADV_DONTNEED', bench: allocLoop('MADV_DONTNEED', t as 1 | 2) }] })),
    notes: 'FREE keeps the pages (a write re-dirties them without a fault); DONTNEED frees them, so every write faults and zeroes a new page.',
  },
  {
    id: 'munmap-others',
    title: 'munmap of 8 written pages while 0 or 1 other threads of the process run',
    unit: 'ns per call',
    curves: [{ label: 'other threads', points: [{ x: '0', bench: munmap8(0) }, { x: '1', bench: munmap8(1) }] }],
    notes: 'With another thread on the mm, the unmap waits for a flush IPI round trip.',
  },
  {
    id: 'fork-cow',
    title: 'fork; the child writes N of 256 pages (COW) and exits',
    unit: 'ns per fork (to the parent\'s wait returning)',
    curves: [{ label: 'pages written by the child', points: [0, 16, 64, 256].map((n) => ({ x: String(n), bench: forkCow(n) })) }],
    notes: 'Fork copies the page tables and write-protects the pages; each child write is a COW fault; exit frees the copies.',
  },
  {
    id: 'fd-table-growth',
    title: 'fd-table growth from 64 to 4096 fds (dup2 onto the next power of two)',
    unit: 'ns per dup2',
    curves: [{ label: 'fds after the call', points: FD_TARGETS.map((fd) => ({ x: fd < 64 ? '64 (none)' : String(fd + 1), bench: fdGrowth(fd) })) }],
    notes: 'expand_fdtable allocates the bigger table and copies the fd array and bitmaps (no grace period: the table is not shared).',
  },
];

export interface HostPointResult {
  x: string;
  bench: string;
  host: Stat;
  sim: number;
  /** sim / host - 1. */
  deviation: number;
  /** (sim_i / sim_0) / (host_i / host_0) - 1; null for a curve's first point. */
  shape_deviation: number | null;
  shape_ok: boolean | null;
}

export interface HostExperimentResult {
  id: string;
  title: string;
  unit: string;
  notes: string;
  curves: { label: string; points: HostPointResult[] }[];
  passed: boolean;
}

export interface HostValidateResult {
  kernsim_validate_host: 1;
  profile: string;
  tolerance: number;
  passed: boolean;
  experiments: HostExperimentResult[];
}

export interface HostValidateOptions {
  log?: (line: string) => void;
  measure?: (b: Bench) => Promise<number[]>;
  filter?: readonly string[];
}

export async function validateOnHost(cfg: MachineConfig, profile: string, opts: HostValidateOptions = {}): Promise<HostValidateResult> {
  const measure = opts.measure ?? hostSamples;
  const chosen = HOST_EXPERIMENTS.filter((e) => !opts.filter?.length || opts.filter.some((f) => e.id.includes(f)));
  const experiments: HostExperimentResult[] = [];
  for (const e of chosen) {
    const curves: HostExperimentResult['curves'] = [];
    for (const c of e.curves) {
      const hostStats: Stat[] = [];
      const sims: number[] = [];
      for (const p of c.points) {
        opts.log?.(`validate --host: ${p.bench.id} ...`);
        hostStats.push(stat(await measure(p.bench)));
        sims.push(stat(simSamples(p.bench, cfg)).median);
      }
      const judged: CurveResult = judgeCurve({ label: c.label, points: c.points.map((p, i) => ({ x: p.x, value: hostStats[i]!.median })) }, sims, { shape: DEFAULT_SHAPE_TOLERANCE, why: '' }, e.id);
      curves.push({
        label: c.label,
        points: judged.points.map((p, i) => ({ x: String(p.x), bench: c.points[i]!.bench.id, host: hostStats[i]!, sim: p.simulated, deviation: p.deviation, shape_deviation: p.shape_deviation, shape_ok: p.shape_ok })),
      });
    }
    experiments.push({ id: e.id, title: e.title, unit: e.unit, notes: e.notes, curves, passed: curves.every((c) => c.points.every((p) => p.shape_ok !== false)) });
  }
  return { kernsim_validate_host: 1, profile, tolerance: DEFAULT_SHAPE_TOLERANCE, passed: experiments.every((e) => e.passed), experiments };
}
