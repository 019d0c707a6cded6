/**
 * A Chrome / Perfetto trace (JSON trace-event format) of a run recorded with
 * `--trace`: one track per CPU for the tasks it ran, one track beneath it for
 * its interrupt handlers, and each IPI as a flow arrow from the sender's
 * track to the handler on the target. Open it at https://ui.perfetto.dev or
 * chrome://tracing. Handlers get their own track because a retroactive IPI
 * can overlap the task slice it interrupted, and slices on one track must
 * nest. Kernel work recorded with the trace gets tracks of its own for the
 * same reason (a system call that sleeps spans the tasks that ran while it
 * waited): per CPU, system calls, page faults, lock waits and RCU callback
 * batches; one track for RCU grace periods and one for expedited ones. Where
 * two spans of one kind overlap on a CPU (two tasks each blocked in a call),
 * the later goes on a second lane of that kind. Wake-ups are flow arrows
 * from the waker's CPU to the woken task's next run. Kernel state sampled
 * over the run (free pages, RCU callbacks queued, dirty pages) becomes
 * counter tracks.
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
/** Kernel-work tracks (and their lanes) are numbered from here, in order of first use. */
const KERNEL_TID_BASE = 200_000;

/** Track names and sort order of each kind of kernel span; `perCpu` false: one track for the machine. */
const KINDS: Record<string, { track: string; perCpu: boolean; order: number }> = {
  syscall: { track: 'syscalls', perCpu: true, order: 2 },
  fault: { track: 'page faults', perCpu: true, order: 3 },
  lock: { track: 'lock waits', perCpu: true, order: 4 },
  rcu_cb: { track: 'RCU callbacks', perCpu: true, order: 5 },
  rcu_gp: { track: 'RCU grace periods', perCpu: false, order: 0 },
  rcu_exp_gp: { track: 'RCU expedited grace periods', perCpu: false, order: 1 },
};
/** Sort-index stride per CPU: the task track, irq, then each kind's lanes. */
const CPU_STRIDE = 1000;
const LANE_STRIDE = 100;

/**
 * Lanes of kernel-work tracks: each span goes on the first lane of its
 * track (kind and CPU) whose last span has ended, so spans on one lane
 * never overlap. Spans must arrive in start order.
 */
class Lanes {
  private readonly ends = new Map<string, number[]>();
  private readonly tids = new Map<string, number>();
  readonly meta: TraceEvent[] = [];

  tid(kind: string, cpu: number, ts: number, end: number, ncpus: number): number {
    const k = KINDS[kind]!;
    const key = k.perCpu ? `${kind}/${cpu}` : kind;
    let ends = this.ends.get(key);
    if (!ends) this.ends.set(key, (ends = []));
    let lane = ends.findIndex((e) => e <= ts);
    if (lane < 0) lane = ends.push(end) - 1;
    else ends[lane] = end;
    const laneKey = `${key}/${lane}`;
    let tid = this.tids.get(laneKey);
    if (tid === undefined) {
      tid = KERNEL_TID_BASE + this.tids.size;
      this.tids.set(laneKey, tid);
      const name = (k.perCpu ? `CPU ${cpu} ${k.track}` : k.track) + (lane > 0 ? ` ${lane + 1}` : '');
      const sort = k.perCpu ? cpu * CPU_STRIDE + k.order * LANE_STRIDE + lane : ncpus * CPU_STRIDE + k.order * LANE_STRIDE + lane;
      this.meta.push({ name: 'thread_name', ph: 'M', pid: PID, tid, args: { name } });
      this.meta.push({ name: 'thread_sort_index', ph: 'M', pid: PID, tid, args: { sort_index: sort } });
    }
    return tid;
  }
}

/** The trace, or null when the result was recorded without --trace. */
export function renderPerfetto(r: RunResult): ChromeTrace | null {
  if (!r.trace) return null;
  // Trace-event timestamps are microseconds; cycles / (GHz * 1000) gives them.
  const us = (cycles: number): number => cycles / (r.clock_ghz * 1000);
  const ev: TraceEvent[] = [];
  ev.push({ name: 'process_name', ph: 'M', pid: PID, tid: 0, args: { name: `kernsim ${r.workload} on ${r.machine}` } });
  for (const cpu of r.cpus) {
    ev.push({ name: 'thread_name', ph: 'M', pid: PID, tid: cpu.cpu, args: { name: `CPU ${cpu.cpu}` } });
    ev.push({ name: 'thread_sort_index', ph: 'M', pid: PID, tid: cpu.cpu, args: { sort_index: cpu.cpu * CPU_STRIDE } });
    ev.push({ name: 'thread_name', ph: 'M', pid: PID, tid: IRQ_TID_BASE + cpu.cpu, args: { name: `CPU ${cpu.cpu} irq` } });
    ev.push({ name: 'thread_sort_index', ph: 'M', pid: PID, tid: IRQ_TID_BASE + cpu.cpu, args: { sort_index: cpu.cpu * CPU_STRIDE + 1 } });
  }
  const lanes = new Lanes();
  const kernel = r.trace.slices.filter((s) => s.cat !== undefined && KINDS[s.cat] !== undefined).sort((a, b) => a.ts - b.ts || a.cpu - b.cpu);
  for (const s of kernel) {
    const tid = lanes.tid(s.cat!, s.cpu, s.ts, s.ts + s.dur, r.cpus.length);
    ev.push({ name: s.name, cat: s.cat!, ph: 'X', pid: PID, tid, ts: us(s.ts), dur: us(s.dur), args: { cpu: s.cpu, start_cycle: s.ts, cycles: s.dur } });
  }
  ev.push(...lanes.meta);
  for (const s of r.trace.slices) {
    if (s.cat !== undefined) continue;
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
    // An IPI lands on the target's irq track; a wake-up on the woken task's slice on its CPU's track.
    const ipi = f.name === 'ipi';
    const cat = ipi ? 'ipi' : 'wakeup';
    ev.push({ name: f.name, cat, ph: 's', id, pid: PID, tid: f.fromCpu, ts: us(f.fromTs) });
    ev.push({ name: f.name, cat, ph: 'f', bp: 'e', id, pid: PID, tid: ipi ? IRQ_TID_BASE + f.toCpu : f.toCpu, ts: us(f.toTs) });
    id++;
  }
  // Kernel state over time: one counter track each.
  for (const c of r.trace.counters ?? []) {
    ev.push({ name: 'free pages', ph: 'C', pid: PID, tid: 0, ts: us(c.ts), args: { value: c.free_pages } });
    ev.push({ name: 'RCU callbacks queued', ph: 'C', pid: PID, tid: 0, ts: us(c.ts), args: { value: c.rcu_callbacks_queued } });
    if (c.dirty_pages !== undefined) ev.push({ name: 'dirty pages', ph: 'C', pid: PID, tid: 0, ts: us(c.ts), args: { value: c.dirty_pages } });
  }
  return {
    traceEvents: ev,
    displayTimeUnit: 'ns',
    metadata: { workload: r.workload, machine: r.machine, seed: r.seed, clock_ghz: r.clock_ghz, truncated: r.trace.truncated },
  };
}
