/**
 * `kernsim calibrate`: a machine profile for this host. Geometry and kernel
 * settings are read (hostinfo.ts); primitive costs are measured with timed
 * syscall scripts run on the host kernel, each many times (median and the
 * 10th-90th percentile spread), and each cost parameter is then set so that
 * the simulator, running the same script on the profile, takes the measured
 * time: the rest of the path stays as the model has it, so a parameter takes
 * only what its mechanism costs on this host. Every field written says where
 * it came from.
 *
 * None of the composite experiments of `kernsim validate --host`
 * (hostvalidate.ts) is used here.
 */
import { defaultConfig, machineSchema, type MachineConfig } from '../config/machine.js';
import { describeSchema } from '../params/schema.js';
import { applyProfile } from '../config/profile.js';
import { anon, fmt, hostSamples, PIN0, perIteration, perOp, simSamples, spreadText, stat, touch, type Bench, type RawOp, type Side, type Stat } from './measure.js';
import { cpuidSamples, cpuTimes, readHostInfo, type HostInfo } from './hostinfo.js';

const SCHEMA_PATHS: ReadonlySet<string> = new Set(describeSchema(machineSchema).map((r) => r.path));

/**
 * A field's path in the schema: `path` itself, or else the one field whose
 * path ends with the same section and name (so `cost.fault_handler` finds
 * `kernel.cost.fault_handler` when the kernel's costs have their own section).
 */
function resolveField(path: string): string {
  if (SCHEMA_PATHS.has(path)) return path;
  const hits = [...SCHEMA_PATHS].filter((p) => p.endsWith(`.${path}`));
  return hits.length === 1 ? hits[0]! : path;
}

/** Where each parameter lives in the config. */
export const FIELD = {
  syscall: resolveField('cost.syscall'),
  faultHandler: resolveField('cost.fault_handler'),
  pageAlloc: resolveField('cost.page_alloc'),
  zeroPage: resolveField('cost.zero_page'),
  copyPage: resolveField('cost.copy_page'),
  ipiLatency: resolveField('cost.ipi_latency'),
  invlpg: resolveField('cost.invlpg'),
  /** A local full flush of the current mm is a CR3 reload (native_flush_tlb_local), with or without PCIDs. */
  cr3Write: resolveField('cost.cr3_write'),
  adAssist: resolveField('cost.ad_assist'),
  virtEnabled: 'virt.enabled',
  vmExit: 'virt.vm_exit',
  shadowRoot: 'virt.shadow_root',
  stealPct: 'virt.steal_pct',
} as const;

/** Whether the machine schema has this field (the virt section and the A/D assist come with the guest model). */
export function hasField(path: string): boolean {
  return SCHEMA_PATHS.has(path);
}

const sideCount = (side: Side, host: number, sim: number): number => (side === 'host' ? host : sim);

/** The clock reads around one op: subtracted from per-op host samples (the simulator has none). */
export const TIMER: Bench = {
  id: 'timer',
  what: 'an empty op: the two clock reads around it',
  script: () => [PIN0, ...Array.from({ length: 200 }, () => ({ op: 'repeat', count: 0, ops: [] }))],
  samples: (lines) => perOp(lines, 'repeat'),
};

/**
 * Many short blocks rather than a few long ones: on a busy host a block that
 * is preempted shows as an outlier, and the median of short blocks is the
 * time of the ones that ran undisturbed.
 */
const HOST_BLOCKS = 41;
const SIM_BLOCKS = 3;

/** Repeat blocks, each timed as a whole: samples are ns per iteration (the side is told by the number of blocks). */
export function perIterationBench(id: string, what: string, setup: RawOp[], body: RawOp[], hostCount: number, simCount: number, teardown: RawOp[] = [], hostBlocks = HOST_BLOCKS): Bench {
  return {
    id,
    what,
    script: (side) => [
      ...setup,
      ...Array.from({ length: sideCount(side, hostBlocks, SIM_BLOCKS) }, () => ({ op: 'repeat', count: sideCount(side, hostCount, simCount), ops: body })),
      ...teardown,
    ],
    samples: (lines) => perIteration(lines, lines.filter((l) => l.op === 'repeat').length === hostBlocks ? hostCount : simCount),
  };
}

export const NULL_SYSCALL = perIterationBench('null-syscall', 'fcntl(0, F_GETFD): a system call that does almost nothing', [PIN0], [{ op: 'fcntl', fd: 0, cmd: 'F_GETFD' }], 200, 50);

/** Per-op samples of `op` after a setup, the first `skip` left out (warm-up). */
function perOpBench(id: string, what: string, build: (side: Side) => RawOp[], op: string, skip = 0): Bench {
  return { id, what, script: build, samples: (lines) => perOp(lines, op).slice(skip) };
}

export const FAULT_READ_ZERO = perOpBench('fault-read-zero', 'a read fault on untouched anonymous memory (maps the shared zero page)', (side) => {
  const n = sideCount(side, 256, 16);
  return [PIN0, anon('A', n + 8), ...Array.from({ length: n }, (_, k) => ({ op: 'load', addr: `$A+${(k + 4) * 4096}` }))];
}, 'load', 2);

export const FAULT_FIRST_TOUCH = perOpBench('fault-first-touch', 'a write fault on untouched anonymous memory (allocates and zeroes a page)', (side) => {
  const n = sideCount(side, 256, 16);
  return [PIN0, anon('A', n + 8), ...touch('$A', n + 4).slice(4)];
}, 'fill', 2);

export const ZERO_BANDWIDTH = perIterationBench(
  'store-bandwidth',
  'writing 256 KiB of resident memory (the rate clear_page zeroes at): ns per 4 KiB',
  [PIN0, anon('A', 64), { op: 'fill', addr: '$A', len: 262144, byte: 1 }],
  [{ op: 'fill', addr: '$A', len: 262144, byte: 0 }],
  4,
  2,
);

export const COW_FAULT = perOpBench('cow-fault', 'a write fault on a private file mapping whose page is mapped read-only from the page cache (copies the page)', (side) => {
  const n = sideCount(side, 256, 16);
  return [
    PIN0,
    { op: 'open', path: 'cow', flags: ['rdwr', 'creat'], as: 'F' },
    { op: 'write', fd: '$F', len: (n + 8) * 4096, byte: 3 },
    { op: 'mmap', as: 'M', pages: n + 8, prot: 'rw', flags: ['private'], fd: '$F' },
    ...Array.from({ length: n + 8 }, (_, k) => ({ op: 'load', addr: `$M+${k * 4096}` })),
    ...touch('$M', n + 4).slice(4),
  ];
}, 'fill', 2);

/** mprotect RW -> R -> RW of one present page: only the downgrade flushes (pte_needs_flush), one flush per iteration. */
function mprotectToggle(withThread: boolean): Bench {
  const spinner = withThread ? [{ op: 'thread', as: 'T', cpu: 1, ops: [{ op: 'spin' }] }] : [];
  const join = withThread ? [{ op: 'join', thread: '$T' }] : [];
  return perIterationBench(
    withThread ? 'mprotect-flush-2-threads' : 'mprotect-flush-1-thread',
    `mprotect of one present page to read-only and back${withThread ? ', a second thread spinning on CPU 1' : ''}`,
    [PIN0, anon('A', 1), ...touch('$A', 1), ...spinner],
    [{ op: 'mprotect', addr: '$A', len: 4096, prot: 'r' }, { op: 'mprotect', addr: '$A', len: 4096, prot: 'rw' }],
    20,
    10,
    join,
  );
}
export const MPROTECT_1 = mprotectToggle(false);
export const MPROTECT_2 = mprotectToggle(true);

/** madvise(DONTNEED) of n freshly written pages, per call. */
function dontneed(pages: number): Bench {
  return perOpBench(`dontneed-${pages}`, `madvise(MADV_DONTNEED) of ${pages} present pages`, (side) => {
    const rounds = sideCount(side, 150, 6);
    const ops: RawOp[] = [PIN0, anon('A', pages)];
    for (let r = 0; r < rounds; r++) ops.push({ op: 'fill', addr: '$A', len: pages * 4096, byte: 1 }, { op: 'madvise', addr: '$A', len: pages * 4096, advice: 'MADV_DONTNEED' });
    return ops;
  }, 'madvise', 2);
}
export const DONTNEED_16 = dontneed(16);
export const DONTNEED_32 = dontneed(32);
export const DONTNEED_33 = dontneed(33);
export const DONTNEED_34 = dontneed(34);

/**
 * MADV_FREE of `pages` written pages, then a one-byte write to each: the
 * write walks (FREE flushed the entry) and sets the dirty (and accessed) bit
 * the advice cleared. Under a hypervisor that traps the write, a round costs
 * 10-25 us and its cost moves in steps with the hypervisor's state: blocks of
 * 20 rounds gave medians that jumped between the modes (p10-p90 ±55%). Short
 * blocks (5 rounds), many of them (121), leave a disturbance in few blocks;
 * the median of those is the undisturbed round. Two sizes: the A/D assist is
 * fitted on the per-page slope between them, because the per-call part of a
 * round (entry, mmap_lock, the gather and its flush, on a guest the kick of
 * the other vCPUs) moves in modes of its own that a one-page round would put
 * on the assist, which an allocator loop then pays once a page.
 */
function freeWrite(pages: number): Bench {
  return perIterationBench(
    `free-write-${pages}`,
    `madvise(MADV_FREE) of ${pages} written page${pages === 1 ? '' : 's'}, then a one-byte write to each (the walker sets the bits FREE cleared)`,
    [PIN0, anon('A', pages), ...touch('$A', pages)],
    [{ op: 'madvise', addr: '$A', len: pages * 4096, advice: 'MADV_FREE' }, ...Array.from({ length: pages }, (_, k) => ({ op: 'fill', addr: `$A+${k * 4096}`, len: 1, byte: 1 }))],
    5,
    10,
    [],
    121,
  );
}
export const FREE_WRITE_8 = freeWrite(8);
export const FREE_WRITE_32 = freeWrite(32);

/** membarrier(MEMBARRIER_CMD_GLOBAL) waits for one RCU grace period (synchronize_rcu). */
export const SYNCHRONIZE_RCU = perOpBench('synchronize-rcu', 'membarrier(MEMBARRIER_CMD_GLOBAL): one synchronize_rcu grace period', (side) => [PIN0, ...Array.from({ length: sideCount(side, 25, 4) }, () => ({ op: 'membarrier', cmd: 1 }))], 'membarrier', 1);

/**
 * fork of a process with nothing of its own mapped; the child exits at once and the parent waits: process
 * creation and exit with a new address space. On a guest whose hypervisor shadows page tables, most of it is
 * the shadow tables of the new address space (a clone that shares the mm, CLONE_VM|CLONE_VFORK, took 31 us
 * on the development host where this took 0.9 ms).
 */
export const FORK_EXIT = perOpBench('fork-exit', 'fork of a process with nothing mapped, the child exiting at once, the parent waiting for it', (side) => [PIN0, ...Array.from({ length: sideCount(side, 41, 4) }, () => ({ op: 'fork', ops: [] }))], 'fork', 1);

export const CALIBRATE_BENCHES: readonly Bench[] = [TIMER, NULL_SYSCALL, FAULT_READ_ZERO, ZERO_BANDWIDTH, FAULT_FIRST_TOUCH, DONTNEED_16, DONTNEED_32, DONTNEED_33, DONTNEED_34, MPROTECT_1, MPROTECT_2, COW_FAULT, FREE_WRITE_8, FREE_WRITE_32, SYNCHRONIZE_RCU, FORK_EXIT];

// ---- the profile ----

type Json = Record<string, unknown>;

function setPath(obj: Json, path: string, v: unknown): void {
  const keys = path.split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) o = (o[k] ??= {}) as Json;
  o[keys[keys.length - 1]!] = v;
}

function getPath(obj: unknown, path: string): number {
  let o = obj as Json;
  for (const k of path.split('.')) o = o[k] as Json;
  return o as unknown as number;
}

export interface CalibrationRow {
  bench: string;
  what: string;
  host: Stat;
  /** The parameter set from it, its value and the simulated figure after the fit; absent for a bench that only feeds another. */
  field?: string;
  value?: number;
  sim_ns?: number;
  note?: string;
}

export interface Calibration {
  profile: Json;
  rows: CalibrationRow[];
  /** Fields it could not set, and why. */
  skipped: string[];
  host: HostInfo;
}

export interface CalibrateOptions {
  /** "YYYY-MM-DD", the date the sources name (the CLI passes the host's date). */
  date: string;
  /** Progress lines (stderr). */
  log?: (line: string) => void;
  /** Measures a bench on the host (tests substitute a fake host). */
  measure?: (b: Bench) => Promise<number[]>;
  /** Host facts (tests substitute them). */
  info?: HostInfo;
  /** ns per CPUID, per block (tests substitute them). */
  cpuid?: () => number[];
}

function pow2Floor(n: number): number {
  return n < 1 ? 0 : 2 ** Math.floor(Math.log2(n));
}

/** The profile's geometry and settings from what the host says; returns the fields set and their sources. */
function geometry(info: HostInfo, stamp: string, values: Json, sources: Record<string, string>, skipped: string[]): void {
  const set = (path: string, v: unknown, from: string): void => {
    setPath(values, path, v);
    sources[path] = `read: ${from}, ${stamp}`;
  };
  set('cpus', info.cpus.value, info.cpus.source);
  if (info.clockGhz) set('clock_ghz', info.clockGhz.value, info.clockGhz.source);
  else skipped.push('clock_ghz: /proc/cpuinfo gives no "cpu MHz"');
  const tlb = (level: number, page: '4k' | '2m') => info.tlbs.find((t) => t.level === level && t.page === page && t.entries > 0);
  const putTlb = (t: ReturnType<typeof tlb>, entries: string, ways: string, name: string): void => {
    if (!t) {
      skipped.push(`${entries}, ${ways}: CPUID does not give the ${name}`);
      return;
    }
    const n = pow2Floor(t.entries);
    const w = t.ways === 0 ? n : Math.min(t.ways, n);
    const note = n !== t.entries ? ` (${t.entries} entries${t.ways === 0 ? ', fully associative' : ''}; rounded down to a power of two, which the model's set index needs)` : t.ways === 0 ? ' (fully associative)' : '';
    set(entries, n, `${t.source}: ${name} ${t.entries} entries, ${t.ways === 0 ? 'fully associative' : `${t.ways}-way`}${note}`);
    set(ways, w, `${t.source}: ${name}${note}`);
  };
  putTlb(tlb(1, '4k'), 'tlb.l1_entries', 'tlb.l1_ways', 'L1 dTLB for 4 KiB pages');
  putTlb(tlb(1, '2m'), 'tlb.l1_2m_entries', 'tlb.l1_2m_ways', 'L1 dTLB for 2 MiB pages');
  putTlb(tlb(2, '4k'), 'tlb.stlb_entries', 'tlb.stlb_ways', 'L2 TLB for 4 KiB pages');
  const cache = (level: number) => info.caches.find((c) => c.level === level);
  const putCache = (level: number, kib: string, ways: string, line: number): void => {
    const c = cache(level);
    if (!c || c.ways < 0) {
      skipped.push(`${kib}: ${c ? `the L${level} associativity is not given (${c.source})` : `no L${level} cache in sysfs or CPUID`}`);
      return;
    }
    const w = c.ways === 0 ? c.bytes / c.line : c.ways;
    const sets = pow2Floor(c.bytes / (line * w));
    const size = (sets * line * w) / 1024;
    const note = size * 1024 !== c.bytes ? `; ${c.bytes / 1024} KiB rounded down to ${size} KiB for a power-of-two set count` : '';
    set(kib, size, `${c.source}: L${level} ${c.bytes / 1024} KiB ${w}-way${note}`);
    set(ways, w, `${c.source}: L${level} ${w}-way`);
  };
  const line = cache(1)?.line ?? 64;
  set('cache.line_bytes', line, `${cache(1)?.source ?? 'x86'}: ${line}-byte lines`);
  putCache(1, 'cache.l1d_kib', 'cache.l1d_ways', line);
  putCache(2, 'cache.l2_kib', 'cache.l2_ways', line);
  const l3 = cache(3);
  if (l3 && l3.source.startsWith('CPUID') && /AMD/i.test(info.model)) {
    skipped.push(`cache.llc_kib: CPUID Fn8000_0006 gives the whole package's L3 (${Math.round(l3.bytes / 1048576)} MiB), not the part one core shares, and Fn8000_001D (which would) is empty here`);
  } else putCache(3, 'cache.llc_kib', 'cache.llc_ways', line);
  if (info.hz) set('kernel.hz', info.hz.value, info.hz.source);
  else skipped.push('kernel.hz: no kernel config at /boot/config-RELEASE or /proc/config.gz');
  set('kernel.pti', info.pti.value, info.pti.source);
  if (info.pcid) set('tlb.pcid', info.pcid.value, info.pcid.source);
  if (info.thp) set('kernel.thp', info.thp.value, info.thp.source);
  set('kernel.swapon', info.swap.value, info.swap.source);
  if (info.rcuFirstFqs) set('kernel.rcu_jiffies_till_first_fqs', info.rcuFirstFqs.value, info.rcuFirstFqs.source);
  if (info.rcuNextFqs) set('kernel.rcu_jiffies_till_next_fqs', Math.max(1, info.rcuNextFqs.value), info.rcuNextFqs.source);
  if (info.rcuExpedited) set('kernel.rcu_expedited', info.rcuExpedited.value, info.rcuExpedited.source);
  if (info.memcgDepth) set('kernel.memcg_depth', info.memcgDepth.value, info.memcgDepth.source);
}

/** The config of a profile (geometry and costs so far), for the simulator runs of the fit. */
function configOf(values: Json): MachineConfig {
  return applyProfile(defaultConfig(), values, 'calibrate');
}

/**
 * Sets `field` so that the simulated figure `simNs(cfg)` equals `target` ns:
 * two simulations give the figure's slope in the parameter (costs enter
 * linearly), a third checks the result.
 */
function fit(values: Json, field: string, target: number, simNs: (cfg: MachineConfig) => number): { value: number; simAfter: number; clamped: boolean } {
  const v0 = getPath(configOf(values), field);
  const at = (v: number): number => {
    const trial = structuredClone(values);
    setPath(trial, field, v);
    return simNs(configOf(trial));
  };
  const s0 = at(v0);
  const dv = Math.max(200, Math.round(v0 / 2));
  const slope = (at(v0 + dv) - s0) / dv;
  let v = slope > 0 ? Math.round(v0 + (target - s0) / slope) : v0;
  const clamped = v < 0;
  if (clamped) v = 0;
  // A second secant step from the first estimate: the simulated time is not exactly linear in a cost far from its
  // default (timer ticks and cache state move with it), so one step from the default can land a little off.
  let s = at(v);
  if (!clamped && slope > 0 && v !== v0 && s !== s0) {
    const slope2 = (s - s0) / (v - v0);
    if (slope2 > 0) {
      const v2 = Math.round(v + (target - s) / slope2);
      if (v2 >= 0) {
        const s2 = at(v2);
        if (Math.abs(s2 - target) < Math.abs(s - target)) {
          v = v2;
          s = s2;
        }
      }
    }
  }
  setPath(values, field, v);
  return { value: v, simAfter: s, clamped };
}

/** The whole calibration: read the host, measure, fit, and assemble the profile (validated before it is returned). */
export async function calibrate(opts: CalibrateOptions): Promise<Calibration> {
  const info = opts.info ?? readHostInfo();
  const log = opts.log ?? (() => {});
  const measure = opts.measure ?? hostSamples;
  const stamp = `${info.model}, ${info.kernel}, ${opts.date}`;
  const values: Json = { name: 'host', description: `calibrated on this host: ${info.model}, ${info.cpus.value} CPUs, ${info.kernel}, ${opts.date}` };
  const sources: Record<string, string> = {};
  const skipped: string[] = [];
  geometry(info, stamp, values, sources, skipped);
  const rows: CalibrationRow[] = [];
  const host = new Map<string, Stat>();
  const times0 = opts.info ? undefined : cpuTimes();
  for (const b of CALIBRATE_BENCHES) {
    log(`calibrate: ${b.id} ...`);
    const st = stat(await measure(b));
    host.set(b.id, st);
    rows.push({ bench: b.id, what: b.what, host: st });
  }
  const times1 = opts.info ? undefined : cpuTimes();
  const timer = host.get(TIMER.id)!.median;
  const row = (id: string): CalibrationRow => rows.find((r) => r.bench === id)!;
  const measured = (b: Bench, extra = ''): string => {
    const st = host.get(b.id)!;
    return `measured: ${b.id} (${b.what}), median of ${st.n} (${spreadText(st)})${extra}, ${stamp}`;
  };
  const put = (b: Bench, field: string, target: number, simNs: (cfg: MachineConfig) => number, how: string, partner?: Bench): void => {
    const r = fit(values, field, target, simNs);
    sources[field] = `${measured(b, partner ? ` and ${partner.id}, median of ${host.get(partner.id)!.n}` : '')}; ${how}${r.clamped ? '; the fit came out negative and was clamped to 0' : ''}`;
    const rr = row(b.id);
    rr.field = field;
    rr.value = r.value;
    rr.sim_ns = r.simAfter;
    if (r.clamped) rr.note = 'fit below 0, clamped';
  };
  const onCfg = (b: Bench) => (cfg: MachineConfig): number => stat(simSamples(b, cfg)).median;
  const perOpHost = (b: Bench): number => host.get(b.id)!.median - timer;

  // In the order that makes each fit depend only on parameters already set: a COW fault flushes the old
  // entry (INVLPG) and allocates, a flush IPI's handler runs INVLPG too.

  put(NULL_SYSCALL, FIELD.syscall, host.get(NULL_SYSCALL.id)!.median, onCfg(NULL_SYSCALL), 'set so the simulated call takes as long (the rest of the path as modelled)');
  put(FAULT_READ_ZERO, FIELD.faultHandler, perOpHost(FAULT_READ_ZERO), onCfg(FAULT_READ_ZERO), `less ${fmt(timer)} ns of clock reads; the exception entry taken as cost.page_fault_trap, the rest set here`);
  const zeroNs = host.get(ZERO_BANDWIDTH.id)!.median / 64;
  setPath(values, FIELD.zeroPage, Math.round(zeroNs * getPath(values, 'clock_ghz')));
  sources[FIELD.zeroPage] = `${measured(ZERO_BANDWIDTH)}; ${fmt(zeroNs)} ns per 4 KiB (${(4096 / zeroNs).toFixed(1)} GB/s) x clock`;
  row(ZERO_BANDWIDTH.id).field = FIELD.zeroPage;
  row(ZERO_BANDWIDTH.id).value = getPath(values, FIELD.zeroPage);
  put(FAULT_FIRST_TOUCH, FIELD.pageAlloc, perOpHost(FAULT_FIRST_TOUCH), onCfg(FAULT_FIRST_TOUCH), `less ${fmt(timer)} ns of clock reads; what the first touch costs beyond the zero-page fault and the zeroing, set here`);
  const slopeHost = (host.get(DONTNEED_32.id)!.median - host.get(DONTNEED_16.id)!.median) / 16;
  put(DONTNEED_32, FIELD.invlpg, slopeHost, (cfg) => (stat(simSamples(DONTNEED_32, cfg)).median - stat(simSamples(DONTNEED_16, cfg)).median) / 16, `the per-page slope between 16 and 32 pages (${fmt(slopeHost)} ns) with the zap of a page as modelled`, DONTNEED_16);
  // The full flush from the 34-page call itself (INVLPG and the zap of a page already set): the step from 33 pages is
  // a difference of two calls whose INVLPGs dominate it (a trapped INVLPG here costs more than a whole 34-page call),
  // so it carried both calls' noise and came out negative.
  const stepHost = host.get(DONTNEED_34.id)!.median - host.get(DONTNEED_33.id)!.median;
  put(DONTNEED_34, FIELD.cr3Write, perOpHost(DONTNEED_34), onCfg(DONTNEED_34), `less ${fmt(timer)} ns of clock reads; set so the simulated 34-page call (one full flush: a CR3 reload, with the refill's walks after it outside the call) takes as long, the zap of a page and INVLPG as set above (the step from 33 pages: ${fmt(stepHost)} ns)`);
  row(DONTNEED_34.id).note = `step from 33 pages ${fmt(stepHost)} ns`;

  const ipiHost = host.get(MPROTECT_2.id)!.median - host.get(MPROTECT_1.id)!.median;
  put(MPROTECT_2, FIELD.ipiLatency, ipiHost, (cfg) => stat(simSamples(MPROTECT_2, cfg)).median - stat(simSamples(MPROTECT_1, cfg)).median, `the difference (${fmt(ipiHost)} ns: one flush IPI round trip) set as the IPI latency, with send, handler and acknowledgement costs as modelled`, MPROTECT_1);
  row(MPROTECT_2.id).note = `difference ${fmt(ipiHost)} ns`;
  put(COW_FAULT, FIELD.copyPage, perOpHost(COW_FAULT), onCfg(COW_FAULT), `less ${fmt(timer)} ns of clock reads; the copy is what this fault adds to the first-touch path`);
  // A guest: the virt section, when the schema has it.
  if (info.hypervisor) {
    if (!hasField(FIELD.virtEnabled)) skipped.push(`virt: this host is a guest (${info.hypervisor.value}), but the machine schema has no virt section`);
    else {
      setPath(values, FIELD.virtEnabled, true);
      sources[FIELD.virtEnabled] = `read: ${info.hypervisor.source} (${info.hypervisor.value}), ${stamp}`;
      const cpuid = (opts.cpuid ?? cpuidSamples)();
      if (cpuid.length > 0) {
        const st = stat(cpuid);
        setPath(values, FIELD.vmExit, Math.round(st.median * getPath(values, 'clock_ghz')));
        sources[FIELD.vmExit] = `measured: CPUID, which exits to the hypervisor, 2000 a block, median of ${st.n} blocks (${spreadText(st)}), ${stamp}`;
        rows.push({ bench: 'cpuid-exit', what: 'one CPUID instruction: a VM exit and re-entry', host: st, field: FIELD.vmExit, value: getPath(values, FIELD.vmExit) });
      } else skipped.push(`${FIELD.vmExit}: CPUID could not be timed here`);
      if (times0 && times1 && times1.total > times0.total) {
        const pct = Math.round((1000 * (times1.steal - times0.steal)) / (times1.total - times0.total)) / 10;
        setPath(values, FIELD.stealPct, pct);
        sources[FIELD.stealPct] = `measured: /proc/stat steal over the calibration run (${times1.total - times0.total} ticks), ${stamp}`;
      }
      skipped.push('virt.pv_ipi, virt.pv_tlb_flush, virt.posted_interrupts: the guest cannot see them; the defaults stay');
      if (hasField(FIELD.shadowRoot)) {
        put(FORK_EXIT, FIELD.shadowRoot, perOpHost(FORK_EXIT), onCfg(FORK_EXIT), `less ${fmt(timer)} ns of clock reads; what a new address space costs beyond process creation and exit as modelled (the hypervisor's shadow tables for it; with nested paging the fit comes out near 0). The host's child also takes the runner's own copy-on-write faults (stack, libc data), which the simulated process has no image for: they are in this figure too`);
      }
    }
  }
  if (hasField(FIELD.adAssist)) {
    const freeSlope = (b: (id: string) => number): number => (b(FREE_WRITE_32.id) - b(FREE_WRITE_8.id)) / 24;
    const freeSlopeHost = freeSlope((id) => host.get(id)!.median);
    put(FREE_WRITE_32, FIELD.adAssist, freeSlopeHost, (cfg) => (stat(simSamples(FREE_WRITE_32, cfg)).median - stat(simSamples(FREE_WRITE_8, cfg)).median) / 24, `the per-page slope between 8 and 32 pages a call (${fmt(freeSlopeHost)} ns: FREE's per-page work, an INVLPG, and a write that walks and sets the bits FREE cleared), the rest of a page as modelled`, FREE_WRITE_8);
    row(FREE_WRITE_32.id).note = `slope ${fmt(freeSlopeHost)} ns a page`;
  } else skipped.push(`${FIELD.adAssist}: measured (free-write) but the machine schema has no A/D-assist cost`);

  // A grace period's length follows HZ and the force-quiescent-state intervals (read above), not a cost: shown beside the host's, not fitted.
  const rcuRow = row(SYNCHRONIZE_RCU.id);
  rcuRow.sim_ns = onCfg(SYNCHRONIZE_RCU)(configOf(values));
  rcuRow.note = configOf(values).kernel.rcu_expedited
    ? 'not fitted: an expedited grace period (kernel.rcu_expedited) follows the IPI costs'
    : 'not fitted: the grace period follows kernel.hz and the rcu_jiffies settings';

  const profile: Json = { ...values, sources };
  // Never write what the loader would refuse.
  applyProfile(defaultConfig(), profile, 'calibrate');
  return { profile, rows, skipped, host: info };
}
