import { describe, expect, it } from 'vitest';
import { defaultConfig, type MachineConfig } from '../../src/config/machine.js';
import { bool, int } from '../../src/params/schema.js';
import { syscall } from '../../src/kernel/syscalls.js';
import { intern } from '../../src/sim/attribution.js';
import type { Task, TaskBody } from '../../src/sim/task.js';
import { Completion } from '../../src/sim/wait.js';
import { tlbReach } from '../../src/workloads/demo.js';
import type { RunResult } from '../../src/workloads/result.js';
import { REQUIRED_COUNTERS, resolveParams, runWorkload } from '../../src/workloads/run.js';
import { renderPerfetto } from '../../src/report/perfetto.js';
import { findWorkload } from '../../src/workloads/registry.js';
import { defineWorkload } from '../../src/workloads/types.js';

function cfg(cpus = 4): MachineConfig {
  const c = defaultConfig();
  c.cpus = cpus;
  return c;
}

function withoutHost(r: RunResult): Omit<RunResult, 'host'> {
  const { host: _host, ...rest } = r;
  return rest;
}

const CAT_WORK = intern('user:test_work');

/** Threads that make `calls` system calls with no body, with `work` cycles of user time between them. */
const nullCalls = defineWorkload({
  name: 'test-null-calls',
  summary: 'test',
  description: 'test',
  params: {
    threads: int(2, 'threads', { min: 1 }),
    calls: int(3, 'calls per thread', { min: 0 }),
    work: int(100, 'user cycles between calls', { min: 0 }),
  },
  setup(k, p) {
    const body = (t: Task): TaskBody =>
      (function* () {
        for (let i = 0; i < p.calls; i++) {
          t.enter(CAT_WORK);
          t.charge(p.work);
          t.leave();
          yield* syscall(t, 'getppid', (function* () {
            return 0;
          })());
        }
      })();
    const leader = k.spawnProcess('null', body);
    for (let i = 1; i < p.threads; i++) k.spawnThread(leader, `null/${i}`, body);
  },
  check: () => [],
  figures: (_k, p) => ({ zeta: 1, ops: p.threads * p.calls }),
});

describe('runWorkload', () => {
  it('a result carries every documented key and the required counters', () => {
    const r = runWorkload(tlbReach, { pages: 64, loads: 1000, threads: 2 }, cfg());
    expect(Object.keys(r)).toEqual([
      'kernsim_result', 'kind', 'workload', 'params', 'machine', 'seed', 'clock_ghz', 'simulated_cycles', 'simulated_ns',
      'cpus', 'counters', 'breakdown', 'latency', 'samples', 'figures', 'checks', 'config', 'host',
    ]);
    expect(r.params).toEqual({ threads: 2, pages: 64, loads: 1000, write: false });
    expect(r.machine).toBe('default');
    expect(r.seed).toBe(1);
    for (const name of REQUIRED_COUNTERS) expect(typeof r.counters[name], name).toBe('number');
    expect(Object.keys(r.counters)).toEqual(Object.keys(r.counters).sort());
    expect(r.counters['page_walks']).toBe(r.counters['stlb_miss']);
    expect(r.cpus.length).toBe(4);
    for (const c of r.cpus) expect(c.busy + c.idle).toBe(r.simulated_cycles);
    // The run ends at the last CPU's clock: no CPU was busy longer (the last to end may have waited on the way).
    expect(r.simulated_cycles).toBeGreaterThanOrEqual(Math.max(...r.cpus.map((c) => c.busy)));
    expect(r.simulated_ns).toBe(r.simulated_cycles / 3);
    expect(r.breakdown.inclusive).toBe(r.cpus.reduce((s, c) => s + c.busy, 0));
    expect(r.checks).toEqual({ passed: true, failures: [] });
    expect(Object.keys(r.host)).toEqual(['wall_ms', 'node', 'platform', 'kernsim']);
  });

  it('is deterministic: identical runs differ only under host', () => {
    const a = runWorkload(tlbReach, { pages: 512, loads: 5000 }, cfg());
    const b = runWorkload(tlbReach, { pages: 512, loads: 5000 }, cfg());
    expect(JSON.stringify(withoutHost(a))).toBe(JSON.stringify(withoutHost(b)));
  });

  it('the seed changes the random loads', () => {
    const c2 = cfg();
    c2.sim = { ...c2.sim, seed: 2 };
    const a = runWorkload(tlbReach, { pages: 512, loads: 5000 }, cfg());
    const b = runWorkload(tlbReach, { pages: 512, loads: 5000 }, c2);
    expect(b.seed).toBe(2);
    expect(b.simulated_cycles).not.toBe(a.simulated_cycles);
  });

  it('reporting progress changes nothing in the result', () => {
    const seen: number[] = [];
    const cycles: number[] = [];
    const a = runWorkload(tlbReach, { pages: 4096, loads: 40_000 }, cfg());
    const b = runWorkload(tlbReach, { pages: 4096, loads: 40_000 }, cfg(), {
      onProgress: (f, c) => {
        seen.push(f);
        cycles.push(c);
      },
    });
    expect(JSON.stringify(withoutHost(b))).toBe(JSON.stringify(withoutHost(a)));
    expect(seen.length).toBeGreaterThan(2);
    expect(seen[seen.length - 1]).toBe(1);
    for (let i = 1; i < seen.length; i++) {
      expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]!);
      expect(cycles[i]).toBeGreaterThanOrEqual(cycles[i - 1]!);
    }
  });

  it('system calls get latency statistics with a histogram, and their own breakdown path', () => {
    const c = cfg(2);
    const r = runWorkload(nullCalls, {}, c);
    // A call with an empty body costs exactly its entry and exit.
    expect(r.latency).toEqual({
      getppid: { count: 6, min: c.cost.syscall, p50: c.cost.syscall, p90: c.cost.syscall, p99: c.cost.syscall, max: c.cost.syscall, mean: c.cost.syscall, hist: [{ le: 1024, count: 6 }] },
    });
    expect(r.counters['syscall_getppid']).toBe(6);
    const sc = r.breakdown.children.find((n) => n.name === 'syscall:getppid')!;
    expect(sc.inclusive).toBe(6 * c.cost.syscall);
    expect(sc.children.map((n) => n.name)).toContain('entry_SYSCALL_64');
    expect(r.breakdown.children.find((n) => n.name === 'user:test_work')!.inclusive).toBe(600);
    expect(Object.keys(r.figures)).toEqual(['ops', 'zeta']);
  });

  it('a user task blocked for good at the end fails the run', () => {
    const stuck = defineWorkload({
      name: 'test-stuck',
      summary: 'test',
      description: 'test',
      params: {},
      setup(k) {
        const never = new Completion(k.engine, 1);
        k.spawnProcess('waiter', (t) =>
          (function* () {
            t.charge(10);
            yield t.sleepOn(never);
          })(),
        );
      },
      check: () => [],
    });
    const r = runWorkload(stuck, {}, cfg(1));
    expect(r.checks.passed).toBe(false);
    expect(r.checks.failures).toEqual([expect.stringMatching(/^task waiter \(id \d+\) was still blocked when the run ended$/)]);
  });

  it('a long sleep ends where an unchunked run ends', () => {
    const sleeper = defineWorkload({
      name: 'test-sleeper',
      summary: 'test',
      description: 'test',
      params: { cycles: int(5e9, 'sleep') },
      setup(k, p) {
        k.spawnProcess('sleeper', (t) =>
          (function* () {
            t.charge(10);
            yield t.sleepFor(p.cycles);
            t.charge(10);
          })(),
        );
      },
      check: () => [],
    });
    const r = runWorkload(sleeper, {}, cfg(1));
    expect(r.checks.passed).toBe(true);
    expect(r.simulated_cycles).toBeGreaterThanOrEqual(5e9 + 20);
    expect(r.cpus[0]!.busy).toBeLessThan(1e6);
  });

  it('records a trace: one merged slice per continuous stretch, IPI slices and flows', () => {
    const CAT_IPI = intern('test_ipi');
    const ipi = defineWorkload({
      name: 'test-ipi',
      summary: 'test',
      description: 'test',
      params: {},
      setup(k) {
        k.spawnProcess(
          'sender',
          (t) =>
            (function* () {
              t.charge(1000);
              const done = k.engine.sendIpi(t, [1], CAT_IPI, () => 50);
              yield t.spinOn(done);
              t.charge(1000);
            })(),
          { cpu: 0, pinned: true },
        );
      },
      check: () => [],
    });
    const c = cfg(2);
    const r = runWorkload(ipi, {}, c, { trace: true });
    const t = r.trace!;
    expect(t.truncated).toBe(false);
    expect(t.flows.length).toBe(1);
    const f = t.flows[0]!;
    expect(f).toMatchObject({ fromCpu: 0, toCpu: 1, name: 'ipi' });
    expect(f.toTs - f.fromTs).toBe(c.cost.ipi_latency);
    const ipiSlice = t.slices.find((s) => s.name === 'ipi')!;
    expect(ipiSlice).toEqual({ cpu: 1, ts: f.toTs, dur: c.cost.ipi_handler + 50, name: 'ipi' });
    // The sender ran without a break on CPU 0 (its spin-wait counts as running), so its stretches merge
    // into one slice: 1000 cycles, the send, the wait for the acknowledgement, 1000 more.
    const start = f.fromTs - c.cost.ipi_send - 1000;
    const ackAt = f.toTs + c.cost.ipi_handler + 50 + c.cost.ipi_ack;
    expect(t.slices.filter((s) => s.name === 'sender')).toEqual([{ cpu: 0, ts: start, dur: ackAt + 1000 - start, name: 'sender' }]);
    // Without --trace there is no trace and no change in the figures.
    const plain = runWorkload(ipi, {}, c);
    expect(plain.trace).toBeUndefined();
    expect(plain.simulated_cycles).toBe(r.simulated_cycles);
  });

  it('samples free pages and queued RCU callbacks over the run, without changing it', () => {
    const c = cfg(2);
    const pages = 512;
    const traced = runWorkload(tlbReach, { threads: 2, pages, loads: 20_000 }, c, { trace: true });
    const plain = runWorkload(tlbReach, { threads: 2, pages, loads: 20_000 }, c);
    const { trace: _t, host: _h1, ...a } = traced;
    const { host: _h2, ...b } = plain;
    expect(a).toEqual(b);
    const s = traced.trace!.counters!;
    // Samples come between the engine's chunks of simulated time (a CPU running alone runs on to its next tick).
    expect(s.length).toBeGreaterThanOrEqual(2);
    // Times increase; the first sample is before the working set was faulted in, and the last after it.
    for (let i = 1; i < s.length; i++) expect(s[i]!.ts).toBeGreaterThan(s[i - 1]!.ts);
    expect(s[0]!.free_pages - s[s.length - 1]!.free_pages).toBeGreaterThanOrEqual(pages);
    expect(s.every((x) => x.rcu_callbacks_queued === 0)).toBe(true);
    // RCU callbacks pile up and drain in a kfree_rcu flood.
    const flood = runWorkload(findWorkload('rcu-flood')!, { updates: 400, reads: 800 }, defaultConfig(), { trace: true }).trace!.counters!;
    expect(flood.length).toBeGreaterThan(10);
    expect(Math.max(...flood.map((x) => x.rcu_callbacks_queued))).toBeGreaterThan(0);
    // The Perfetto trace carries them as counter tracks.
    const ev = renderPerfetto(traced)!.traceEvents.filter((e) => e.ph === 'C');
    expect(ev.filter((e) => e.name === 'free pages').map((e) => e.args!['value'])).toEqual(s.map((x) => x.free_pages));
    expect(ev.filter((e) => e.name === 'RCU callbacks queued').length).toBe(s.length);
  });

  /** A traced run of a built-in workload, checked to match the untraced run in everything but the trace. */
  function tracedRun(name: string, params: Record<string, number | boolean | string>): RunResult {
    const w = findWorkload(name)!;
    const traced = runWorkload(w, params, defaultConfig(), { trace: true });
    const { trace: _t, host: _h1, ...a } = traced;
    const { host: _h2, ...b } = runWorkload(w, params, defaultConfig());
    expect(a).toEqual(b);
    expect(traced.trace!.truncated).toBe(false);
    return traced;
  }
  const ofCat = (r: RunResult, cat: string) => r.trace!.slices.filter((s) => s.cat === cat);
  /** Every span of a kind lies within the run, on one of its CPUs. */
  function sane(r: RunResult, cat: string): void {
    for (const s of ofCat(r, cat)) {
      expect(s.cpu).toBeLessThan(r.cpus.length);
      expect(s.dur).toBeGreaterThanOrEqual(0);
      expect(s.ts + s.dur).toBeLessThanOrEqual(r.simulated_cycles);
    }
  }

  it('records system calls, page faults, lock waits, IPIs and wake-ups in a TLB shootdown, without changing the run', () => {
    const r = tracedRun('tlb-shootdown', { rounds: 20, pages: 8 });
    const c = r.counters;
    // One span per call and per fault, each where the counters count one.
    const calls = ofCat(r, 'syscall');
    expect(calls.filter((s) => s.name === 'madvise').length).toBe(c['syscall_madvise']);
    expect(calls.filter((s) => s.name === 'mmap').length).toBe(c['syscall_mmap']);
    expect(ofCat(r, 'fault').length).toBe(c['pgfault']);
    expect(new Set(ofCat(r, 'fault').map((s) => s.name))).toEqual(new Set(['page fault (read)', 'page fault (write)']));
    // Each madvise takes at least its entry and exit.
    const cost = defaultConfig().cost;
    expect(Math.min(...calls.map((s) => s.dur))).toBeGreaterThanOrEqual(cost.syscall);
    // Lock waits: one per contended acquisition (mmap_lock: the madvise against the faulting threads; zone->lock: the
    // threads' first per-CPU list refills at once).
    const contended = Object.entries(c).filter(([k, v]) => k.startsWith('lock_contended:') && v > 0);
    expect(ofCat(r, 'lock').length).toBe(contended.reduce((n, [, v]) => n + v, 0));
    expect(c['lock_contended:mmap_lock']).toBeGreaterThan(0);
    const lockNames = new Set(contended.map(([k]) => k.slice('lock_contended:'.length)));
    expect(ofCat(r, 'lock').every((s) => lockNames.has(s.name) && s.dur > 0)).toBe(true);
    for (const cat of ['syscall', 'fault', 'lock']) sane(r, cat);
    expect(r.trace!.slices.filter((s) => s.name === 'ipi').length).toBe(c['ipi_received']);
    // Wake-ups run forward in time, to a CPU the woken task then runs on.
    const wakes = r.trace!.flows.filter((f) => f.name === 'wakeup');
    expect(wakes.length).toBeGreaterThan(0);
    for (const f of wakes) {
      expect(f.toTs).toBeGreaterThanOrEqual(f.fromTs);
      expect(r.trace!.slices.some((s) => s.cat === undefined && s.name !== 'ipi' && s.cpu === f.toCpu && s.ts === f.toTs)).toBe(true);
    }
    // The Perfetto trace: each kind on its own per-CPU tracks, where no two slices of one track overlap.
    const ev = renderPerfetto(r)!.traceEvents;
    const names = ev.filter((e) => e.name === 'thread_name').map((e) => String(e.args!['name']));
    expect(names).toContain('CPU 0 syscalls');
    expect(names.some((n) => / page faults$/.test(n))).toBe(true);
    expect(names.some((n) => / lock waits( \d+)?$/.test(n))).toBe(true);
    const byTid = new Map<number, { ts: number; dur: number }[]>();
    for (const e of ev) if (e.ph === 'X' && e.tid >= 200_000) byTid.set(e.tid, [...(byTid.get(e.tid) ?? []), { ts: e.ts!, dur: e.dur! }]);
    expect(byTid.size).toBeGreaterThan(0);
    for (const xs of byTid.values()) for (let i = 1; i < xs.length; i++) expect(xs[i]!.ts).toBeGreaterThanOrEqual(xs[i - 1]!.ts + xs[i - 1]!.dur);
    expect(ev.filter((e) => e.cat === 'wakeup' && e.ph === 's').length).toBe(wakes.length);
  });

  it('records RCU grace periods and callback batches', () => {
    const r = tracedRun('rcu-flood', { updates: 400, reads: 800 });
    const gps = ofCat(r, 'rcu_gp');
    expect(gps.length).toBe(r.counters['rcu_grace_periods']);
    expect(gps.length).toBeGreaterThan(0);
    // Grace periods follow one another.
    for (let i = 1; i < gps.length; i++) expect(gps[i]!.ts).toBeGreaterThanOrEqual(gps[i - 1]!.ts + gps[i - 1]!.dur);
    expect(gps.map((g) => g.name)).toEqual(gps.map((_, i) => `grace period ${i + 1}`));
    // Every callback invoked is counted in one batch.
    const batches = ofCat(r, 'rcu_cb');
    const invoked = batches.map((b) => Number(/\((\d+) callbacks\)/.exec(b.name)![1]));
    expect(invoked.reduce((a, b) => a + b, 0)).toBe(r.counters['rcu_callbacks_invoked']);
    for (const cat of ['rcu_gp', 'rcu_cb']) sane(r, cat);
    const names = renderPerfetto(r)!.traceEvents.filter((e) => e.name === 'thread_name').map((e) => String(e.args!['name']));
    expect(names).toContain('RCU grace periods');
    expect(names.some((n) => / RCU callbacks$/.test(n))).toBe(true);
  });

  it('records lock waits under file_lock contention, and dirty pages of a shared file mapping', () => {
    const fd = tracedRun('fd-server', { connections: 400, lookups: 400 });
    const waits = ofCat(fd, 'lock').filter((s) => s.name === 'files_struct.file_lock');
    expect(waits.length).toBe(fd.counters['lock_contended:files_struct.file_lock']);
    expect(waits.length).toBeGreaterThan(0);
    sane(fd, 'lock');
    // The kernel keeps no count of dirty pages; the trace counts PG_dirty at each sample.
    const db = tracedRun('db-discard', {});
    const counters = db.trace!.counters!;
    expect(Math.max(...counters.map((x) => x.dirty_pages!))).toBeGreaterThan(0);
    expect(renderPerfetto(db)!.traceEvents.filter((e) => e.name === 'dirty pages').length).toBe(counters.length);
  });
});

describe('resolveParams', () => {
  const w = defineWorkload({
    name: 'test-params',
    summary: 'test',
    description: 'test',
    params: { n: int(4, 'n', { min: 1, max: 8 }), flag: bool(false, 'f') },
    setup: () => {},
    check: () => [],
  });
  it('fills defaults and keeps given values', () => {
    expect(resolveParams(w, {})).toEqual({ n: 4, flag: false });
    expect(resolveParams(w, { n: 8, flag: true })).toEqual({ n: 8, flag: true });
  });
  it('names an unknown parameter or a bad value', () => {
    expect(() => resolveParams(w, { m: 1 }, 'cli')).toThrow('cli: m: expected a known field (one of n, flag)');
    expect(() => resolveParams(w, { n: 9 }, 'cli')).toThrow('cli: n: expected an integer from 1 to 8, got 9');
    expect(() => resolveParams(w, { flag: 'yes' }, 'cli')).toThrow('cli: flag: expected true or false, got "yes"');
  });
});
