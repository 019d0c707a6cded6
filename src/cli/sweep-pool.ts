/**
 * A sweep's worker threads, started as early as the command line allows.
 *
 * `bin/kernsim.js` calls prestartSweepWorkers before it loads the rest of
 * the command line: for `kernsim sweep ... --jobs N` and `kernsim demo`
 * (N > 1, or no --jobs on a host with more than one CPU) the N workers then load the simulator's
 * modules on the other cores while this thread loads its own, instead of
 * after it (~0.3-0.6 s of a worker's module loading no longer adds to the
 * sweep's wall time). runJobs takes them; workers it does not need (a grid
 * with fewer points) are ended, and a command line that fails before the
 * sweep starts exits without waiting for them (they are unref'd until
 * taken). This module loads nothing but node:worker_threads, so that the
 * workers start at once.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';

/** A worker started for a sweep and when it had loaded its modules (ms on nowMs()'s clock, 0 until it says). */
export interface SweepWorker {
  worker: Worker;
  ready: number;
  /** Its thread id on the host, 0 until it says (or where unknown). */
  tid: number;
}

let prestarted: SweepWorker[] = [];

/** The compiled worker next to this module, or null when running from TypeScript sources (tests), where points run in-process. */
export function workerUrl(): URL | null {
  if (!import.meta.url.endsWith('.js')) return null;
  const u = new URL('./sweep-worker.js', import.meta.url);
  return existsSync(fileURLToPath(u)) ? u : null;
}

/**
 * Starts `n` sweep workers. V8's optimising compiler then runs inside each
 * worker's own thread (--no-concurrent-recompilation, set before the first
 * worker's isolate is made, when V8 reads it; the main isolate, made
 * earlier, keeps its background compiler): with a sweep thread on every
 * core, background compile threads only take the cores from the other
 * sweep threads; and functions are optimised later (--interrupt-budget),
 * with fuller feedback (README, Sweeps in parallel).
 */
export function startWorkers(url: URL, n: number): SweepWorker[] {
  setFlagsFromString('--no-concurrent-recompilation');
  // Each worker warms up alone: V8 tiers a function up to TurboFan after 4 times the default interrupt budget (67584 bytes of bytecode run), with fuller type feedback, so that fewer compiles are thrown away by a deoptimisation. Measured (README): 779 -> 534 compiles over two workers, TurboFan -24% a worker, CPU -10% (median of 8 alternating pairs on a busy host). --jobs 1 keeps V8's default.
  setFlagsFromString('--interrupt-budget=270336');
  const out: SweepWorker[] = [];
  for (let i = 0; i < n; i++) {
    const sw: SweepWorker = { worker: new Worker(url), ready: 0, tid: 0 };
    sw.worker.once('message', (m: { ready?: number; tid?: number }) => {
      if (typeof m.ready === 'number') sw.ready = m.ready;
      if (typeof m.tid === 'number') sw.tid = m.tid;
    });
    out.push(sw);
  }
  return out;
}

/** The value of `--jobs` in raw argv, undefined when absent, NaN when not a number. */
function jobsFlag(argv: readonly string[]): number | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (a === '--jobs') return Number(argv[i + 1]);
    if (a.startsWith('--jobs=')) return Number(a.slice('--jobs='.length));
  }
  return undefined;
}

/** Starts the workers a `kernsim sweep` or `kernsim demo` command line will want, if it is one (argv without node and the script). */
export function prestartSweepWorkers(argv: readonly string[]): void {
  const command = argv.find((a) => !a.startsWith('-'));
  if ((command !== 'sweep' && command !== 'demo') || argv.includes('--help') || argv.includes('-h')) return;
  const jobs = jobsFlag(argv);
  const n = Math.min(jobs ?? Infinity, availableParallelism());
  const url = workerUrl();
  if (!Number.isInteger(n) || n < 2 || !url) return;
  prestarted = startWorkers(url, n);
  for (const sw of prestarted) sw.worker.unref();
}

/** Ends the workers started ahead that no sweep took (one that runs in this thread). */
export function dropPrestarted(): void {
  for (const sw of prestarted) void sw.worker.terminate();
  prestarted = [];
}

/**
 * Up to `n` workers for a sweep: those started ahead (ref'd again), then
 * new ones; prestarted workers beyond `n` are ended.
 */
export function takeWorkers(url: URL, n: number): SweepWorker[] {
  const have = prestarted.slice(0, n);
  prestarted = prestarted.slice(n);
  dropPrestarted();
  for (const sw of have) sw.worker.ref();
  return have.length < n ? [...have, ...startWorkers(url, n - have.length)] : have;
}
