/**
 * Timing experiments written as syscall scripts (docs/scripts.md, Part 2),
 * run the same way on the host kernel (wall time) and on the simulator
 * (simulated time): shared by `kernsim calibrate` and `kernsim validate
 * --host`. A bench builds its script for a side (the host repeats more,
 * since its times vary; the simulator is deterministic) and picks its
 * samples, in nanoseconds per unit of work, out of the result lines.
 */
import type { MachineConfig } from '../config/machine.js';
import type { ResultLine } from '../workloads/script/format.js';
import { runScript } from '../workloads/script/interp.js';
import { parseScript } from '../workloads/script/parse.js';
import { runOnHost } from './host.js';

export type Side = 'host' | 'sim';

/** A script as JSON (parsed and checked before it runs). */
export type RawOp = Record<string, unknown>;

export interface Bench {
  id: string;
  /** One line: what one sample is. */
  what: string;
  script(side: Side): RawOp[];
  /** Samples in ns, from the top-level result lines. */
  samples(lines: ResultLine[]): number[];
}

export interface Stat {
  median: number;
  /** 10th and 90th percentiles of the samples. */
  p10: number;
  p90: number;
  n: number;
}

export function stat(samples: readonly number[]): Stat {
  if (samples.length === 0) throw new Error('no samples');
  const s = [...samples].sort((a, b) => a - b);
  const q = (f: number): number => {
    const x = f * (s.length - 1);
    const lo = Math.floor(x);
    const hi = Math.ceil(x);
    return s[lo]! + (s[hi]! - s[lo]!) * (x - lo);
  };
  return { median: q(0.5), p10: q(0.1), p90: q(0.9), n: s.length };
}

/** Spread as text: "p10-p90 a-b ns (±x%)". */
export function spreadText(st: Stat): string {
  const pct = st.median > 0 ? Math.round((50 * (st.p90 - st.p10)) / st.median) : 0;
  return `p10-p90 ${fmt(st.p10)}-${fmt(st.p90)} ns (±${pct}%)`;
}

export function fmt(ns: number): string {
  return ns >= 100 ? String(Math.round(ns)) : ns.toFixed(1);
}

function parsed(b: Bench, side: Side) {
  return parseScript(JSON.stringify({ kernsim_script: 1, name: b.id, timing: true, ops: b.script(side) }), `${b.id} (${side})`);
}

export async function hostSamples(b: Bench): Promise<number[]> {
  const lines = await runOnHost(parsed(b, 'host'), { timeoutSeconds: 120 });
  return b.samples(lines.map((l) => JSON.parse(l) as ResultLine));
}

export function simSamples(b: Bench, cfg: MachineConfig): number[] {
  return b.samples(runScript(parsed(b, 'sim'), cfg).results);
}

// ---- building blocks ----

/** Main thread on CPU 0 (the runner and the simulator both start it unpinned). */
export const PIN0: RawOp = { op: 'pin', cpu: 0 };
export const anon = (as: string, pages: number): RawOp => ({ op: 'mmap', as, pages, prot: 'rw', flags: ['private', 'anonymous'] });
export const touch = (addr: string, pages: number): RawOp[] => Array.from({ length: pages }, (_, k) => ({ op: 'fill', addr: `${addr}+${k * 4096}`, len: 1, byte: 1 }));

/** time_ns / count of each top-level repeat whose body is `ops`: ns per iteration. */
export function perIteration(lines: ResultLine[], count: number, index?: (i: number) => boolean): number[] {
  return lines.filter((l) => l.op === 'repeat' && (index === undefined || index(l.i))).map((l) => l.time_ns! / count);
}

/** time_ns of the top-level lines of op `op` (optionally only where `pick` says). */
export function perOp(lines: ResultLine[], op: string, pick?: (l: ResultLine) => boolean): number[] {
  return lines.filter((l) => l.op === op && l.time_ns !== undefined && (pick === undefined || pick(l))).map((l) => l.time_ns!);
}
