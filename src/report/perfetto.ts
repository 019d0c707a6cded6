/**
 * A Chrome / Perfetto trace (JSON trace-event format) of a run recorded with
 * `--trace`: one track per CPU for the tasks it ran, one track beneath it for
 * its interrupt handlers, and each IPI as a flow arrow from the sender's
 * track to the handler on the target. Open it at https://ui.perfetto.dev or
 * chrome://tracing. Handlers get their own track because a retroactive IPI
 * can overlap the task slice it interrupted, and slices on one track must
 * nest. Kernel state sampled over the run (free pages, RCU callbacks
 * queued) becomes counter tracks.
 */
import type { RunResult } from '../workloads/result.js';

export interface TraceEvent {
  name: string;
  ph: string;
  pid: number;
  tid: number;
  ts?: number;
  dur?: number;
  cat?: string;
  id?: number;
  bp?: string;
  args?: Record<string, unknown>;
}

export interface ChromeTrace {
  traceEvents: TraceEvent[];
  displayTimeUnit: 'ns';
  metadata: Record<string, unknown>;
}

const PID = 1;
const IRQ_TID_BASE = 100_000;

/** The trace, or null when the result was recorded without --trace. */
export function renderPerfetto(r: RunResult): ChromeTrace | null {
  if (!r.trace) return null;
  // Trace-event timestamps are microseconds; cycles / (GHz * 1000) gives them.
  const us = (cycles: number): number => cycles / (r.clock_ghz * 1000);
  const ev: TraceEvent[] = [];
  ev.push({ name: 'process_name', ph: 'M', pid: PID, tid: 0, args: { name: `kernsim ${r.workload} on ${r.machine}` } });
  for (const cpu of r.cpus) {
    ev.push({ name: 'thread_name', ph: 'M', pid: PID, tid: cpu.cpu, args: { name: `CPU ${cpu.cpu}` } });
    ev.push({ name: 'thread_sort_index', ph: 'M', pid: PID, tid: cpu.cpu, args: { sort_index: cpu.cpu * 2 } });
    ev.push({ name: 'thread_name', ph: 'M', pid: PID, tid: IRQ_TID_BASE + cpu.cpu, args: { name: `CPU ${cpu.cpu} irq` } });
    ev.push({ name: 'thread_sort_index', ph: 'M', pid: PID, tid: IRQ_TID_BASE + cpu.cpu, args: { sort_index: cpu.cpu * 2 + 1 } });
  }
  for (const s of r.trace.slices) {
    const irq = s.name === 'ipi';
    ev.push({
      name: s.name,
      cat: irq ? 'irq' : 'task',
      ph: 'X',
      pid: PID,
      tid: irq ? IRQ_TID_BASE + s.cpu : s.cpu,
      ts: us(s.ts),
      dur: us(s.dur),
      args: { start_cycle: s.ts, cycles: s.dur },
    });
  }
  let id = 1;
  for (const f of r.trace.flows) {
    ev.push({ name: f.name, cat: 'ipi', ph: 's', id, pid: PID, tid: f.fromCpu, ts: us(f.fromTs) });
    ev.push({ name: f.name, cat: 'ipi', ph: 'f', bp: 'e', id, pid: PID, tid: IRQ_TID_BASE + f.toCpu, ts: us(f.toTs) });
    id++;
  }
  // Kernel state over time: one counter track each.
  for (const c of r.trace.counters ?? []) {
    ev.push({ name: 'free pages', ph: 'C', pid: PID, tid: 0, ts: us(c.ts), args: { value: c.free_pages } });
    ev.push({ name: 'RCU callbacks queued', ph: 'C', pid: PID, tid: 0, ts: us(c.ts), args: { value: c.rcu_callbacks_queued } });
  }
  return {
    traceEvents: ev,
    displayTimeUnit: 'ns',
    metadata: { workload: r.workload, machine: r.machine, seed: r.seed, clock_ghz: r.clock_ghz, truncated: r.trace.truncated },
  };
}
