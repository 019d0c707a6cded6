/**
 * One sweep point, run where it is: in the main thread or in a worker. Kept
 * apart from sweep.ts so a worker loads only the simulator and the
 * workloads, not the command line's modules.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { MachineConfig } from '../config/machine.js';
import { ConfigError } from '../params/schema.js';
import { cannotRead } from '../workloads/read-error.js';
import { LackeyParseError, StraceParseError, TraceFormatError } from '../workloads/replay/index.js';
import { ScriptError } from '../workloads/script/parse.js';
import type { ParamValue, RunResult } from '../workloads/result.js';
import { findWorkload } from '../workloads/registry.js';
import { runWorkload } from '../workloads/run.js';

/** What a worker needs to run one point: plain data, so it crosses a thread boundary. */
export interface PointJob {
  index: number;
  workload: string;
  params: Record<string, ParamValue>;
  config: MachineConfig;
  /** Machine fields changed on the command line or by the grid, recorded in the point's result as a single run records them. */
  overrides: Record<string, ParamValue>;
}

export function runPoint(job: PointJob): RunResult {
  const w = findWorkload(job.workload);
  if (!w) throw new Error(`unknown workload "${job.workload}"`);
  const r = runWorkload(w, job.params, job.config, { hostClock: () => performance.now() });
  if (Object.keys(job.overrides).length > 0) r.overrides = job.overrides;
  return r;
}

/**
 * The one-line message of an error that is the input's fault (a file that
 * cannot be read or does not parse, a bad value or script: exit 2, as
 * `kernsim run` and `kernsim replay` give for the same input), or null for
 * anything else (a bug: exit 3 with its stack). An error loses its class
 * crossing a thread boundary, so a worker classifies it where it was thrown
 * and sends this beside the stack.
 */
export function inputErrorMessage(e: unknown): string | null {
  if (e instanceof ConfigError || e instanceof ScriptError || e instanceof StraceParseError || e instanceof LackeyParseError || e instanceof TraceFormatError) return e.message;
  const err = e as NodeJS.ErrnoException;
  if (e instanceof Error && typeof err.code === 'string' && typeof err.path === 'string' && err.syscall === 'open') return `${err.path}: ${cannotRead(e)}`;
  return null;
}

/**
 * The points of one sweep, the order to take them in, and a counter shared
 * by every thread running them: each thread takes the next point with one
 * atomic add, so no thread waits for another to hand it work.
 */
export interface SharedJobs {
  jobs: PointJob[];
  /** Slots of `jobs` in the order they are taken (the likely longest first: see dealOrder in sweep.ts). */
  order: Int32Array;
  /** Int32Array over a SharedArrayBuffer: [next entry of `order` to take]. */
  next: Int32Array;
}

/** Takes the next point's slot, or -1 when none is left. */
export function takeSlot(s: SharedJobs): number {
  const i = Atomics.add(s.next, 0, 1);
  return i < s.order.length ? s.order[i]! : -1;
}

/**
 * The calling thread's scheduler times in ms since it started
 * (/proc/thread-self/schedstat: time on a CPU, time waiting on a run queue),
 * or null where the host has no such file.
 */
export function threadTimes(): { cpu: number; runq: number } | null {
  try {
    const [run, wait] = readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ');
    return { cpu: Number(run) / 1e6, runq: Number(wait) / 1e6 };
  } catch {
    return null;
  }
}

/** The calling thread's id on the host (Linux: /proc/thread-self is PID/task/TID), or 0 where unknown. */
export function threadId(): number {
  try {
    return Number(readlinkSync('/proc/thread-self').split('/').pop()) || 0;
  } catch {
    return 0;
  }
}

/**
 * CPU ms (user + system) so far of each of this process's threads, by
 * thread id (/proc/self/task/TID/stat, in USER_HZ ticks of 10 ms), or null
 * where the host has no such files. Counts the threads that are not the
 * sweep's own too: V8's background compilers and garbage collector, libuv.
 */
export function taskCpuMs(): Map<number, number> | null {
  try {
    const out = new Map<number, number>();
    for (const tid of readdirSync('/proc/self/task')) {
      let s: string;
      try {
        s = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      } catch {
        continue; // the thread ended meanwhile
      }
      // After "(comm) ": state is field 3, so utime (14) and stime (15) are at 11 and 12.
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), (Number(f[11]) + Number(f[12])) * 10);
    }
    return out;
  } catch {
    return null;
  }
}

/** Wall-clock ms on a clock every thread shares (a worker's performance.now() counts from its own start). */
export const nowMs = (): number => performance.timeOrigin + performance.now();

/** Where a point's host time went, as the thread that ran it saw it. */
export interface PointTiming {
  /** nowMs() at the point's start and end. */
  start: number;
  end: number;
  /** The thread's CPU time and run-queue wait during the point (ms), when the host reports them. */
  cpu?: number;
  runq?: number;
}

/** Runs a point and times it. */
export function runTimed(job: PointJob): { result: RunResult; timing: PointTiming } {
  const a = threadTimes();
  const start = nowMs();
  const result = runPoint(job);
  const end = nowMs();
  const b = threadTimes();
  const timing: PointTiming = { start, end };
  if (a && b) {
    timing.cpu = b.cpu - a.cpu;
    timing.runq = b.runq - a.runq;
  }
  return { result, timing };
}

/** Messages from a worker: that it is ready (modules loaded), a point's result or error, and that it has run out of points. */
export type WorkerMessage =
  | { ready: number; tid: number }
  | { slot: number; ok: true; result: RunResult; timing: PointTiming }
  | { slot: number; ok: false; error: string; /** inputErrorMessage of the error, when it is the input's fault. */ input?: string }
  | { done: true; cpu?: number; runq?: number };
