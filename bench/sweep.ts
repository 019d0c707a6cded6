/**
 * Host-speed benchmark of `kernsim sweep --jobs N`: how much faster a sweep
 * finishes with 2 threads than with 1, and how idle the host's CPUs were
 * while it was measured (a shared machine makes any parallel speed-up look
 * worse than it is, so the figure is meaningless without that).
 *
 *   npm run bench:sweep                 a table
 *   npm run bench:sweep -- --json       one JSON object
 *   npm run bench:sweep -- --reps 5     repetitions of each --jobs value (default 3)
 *   npm run bench:sweep -- --rounds 300 the same grid with longer points (default 60)
 *   npm run bench:sweep -- --node-flags '--max-inlined-bytecode-size-cumulative=460'
 *                                       V8/node flags for every sweep process (both --jobs values; workers share them)
 *
 * Each repetition runs `node bin/kernsim.js sweep ... --json` as a fresh
 * process, --jobs 1 and --jobs 2 in turn, so module loading and JIT warm-up
 * count as they do for a user. For each run it records the wall time, the
 * sweep's CPU time (all its threads: the reaped child's cutime and cstime in
 * /proc/self/stat), and, from /proc/stat over the same span, the CPU time the
 * rest of the machine used. Before each run it samples /proc/stat for one second and
 * reads /proc/loadavg: the idle share of the CPUs without the sweep; after
 * it, the load average again. From the sweep's own `host.per_thread` it
 * shows each thread's busy share (time running points over the time from
 * the sweep's start to its last point's end), its time before its first
 * point (starting a worker, loading modules), its idle time at the end
 * (waiting for the last point of another thread) and the time it waited for
 * a CPU on the host's run queue while running points (schedstat: high when
 * the host is busy). The speed-up is the ratio of the median wall times; the
 * results of the two --jobs values are compared (everything but `host`) and
 * must be identical. From the sweep's `host` it also shows the CPU time of
 * the threads that ran no points (`helper_cpu_ms`: V8's background
 * compilers and garbage collector), the parallelism `--jobs 1` already has.
 *
 * Before each repetition it measures what the host itself gives two
 * processes: a loop run alone, then two copies at once, of two kinds: `alu`
 * (register arithmetic only) and `mem` (dependent random 4-byte loads over
 * 64 MiB, so nearly every one misses the caches). Each copy reports its
 * loop's wall and CPU time; the scaling is twice the loop's rate in a pair
 * over its rate alone (2.0 = the two cores are independent), and the CPU
 * inflation is the CPU time a loop took in a pair over alone (above 1 when
 * the two copies slow each other down: shared caches, memory bandwidth, a
 * hypervisor's siblings), which time-sharing with other processes does not
 * inflate the way it does wall time.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import Table from 'cli-table3';
import type { SweepThreadStats } from '../src/workloads/result.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const repsAt = args.indexOf('--reps');
const reps = repsAt >= 0 ? Number(args[repsAt + 1]) : 3;
if (!Number.isInteger(reps) || reps < 1) {
  console.error('bench/sweep: --reps: expected an integer >= 1');
  process.exit(2);
}

const roundsAt = args.indexOf('--rounds');
const rounds = roundsAt >= 0 ? Number(args[roundsAt + 1]) : 60;
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error('bench/sweep: --rounds: expected an integer >= 1');
  process.exit(2);
}

const flagsAt = args.indexOf('--node-flags');
const nodeFlags = flagsAt >= 0 ? (args[flagsAt + 1] ?? '').split(/\s+/).filter((f) => f !== '') : [];
if (flagsAt >= 0 && (nodeFlags.length === 0 || nodeFlags.some((f) => !f.startsWith('--')))) {
  console.error("bench/sweep: --node-flags: expected node or V8 flags in one argument, e.g. --node-flags '--max-inlined-bytecode-size-cumulative=460'");
  process.exit(2);
}

/** The sweep measured: the README's MADV_FREE/DONTNEED sweep, 8 points of unequal size (--rounds makes every point longer). */
const SWEEP = ['sweep', 'alloc-churn', '--threads', '16', '--rounds', String(rounds), '--grid', 'cpus=1,2,4,8', '--grid', 'advice=MADV_FREE,MADV_DONTNEED', '--json'];
const root = fileURLToPath(new URL('../..', import.meta.url));

/** The host-pair loop, run by `node -e` with HOSTPAIR_KIND alu|mem: prints its loop's wall and CPU seconds. */
const PAIR_LOOP = `
const kind = process.env.HOSTPAIR_KIND;
const a = kind === 'mem' ? new Int32Array(16 << 20) : null;
if (a) for (let i = 0; i < a.length; i++) a[i] = Math.imul(i, 0x9e3779b1);
const n = kind === 'mem' ? 8e6 : 1.5e8;
const t0 = performance.now();
const c0 = process.cpuUsage();
let x = 0x9e3779b9 | 0;
let sum = 0;
if (a) {
  const m = a.length;
  for (let i = 0; i < n; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; sum = (sum + a[((x >>> 0) + sum) % m]) | 0; }
} else {
  for (let i = 0; i < n; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; sum = (sum + x) | 0; }
}
const c = process.cpuUsage(c0);
console.log(JSON.stringify({ wall: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6, sum }));
`;

interface PairLoop {
  wall: number;
  cpu: number;
}

function pairLoop(kind: 'alu' | 'mem'): Promise<PairLoop> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', PAIR_LOOP], { env: { ...process.env, HOSTPAIR_KIND: kind } });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as PairLoop) : reject(new Error(`host-pair loop exited ${code}`))));
  });
}

interface HostPair {
  kind: 'alu' | 'mem';
  /** The loop's wall and CPU seconds alone, and in each of two copies run at once. */
  alone: PairLoop;
  pair: PairLoop[];
  /** Two copies' total rate over one copy's (2.0: the cores are independent). */
  scaling: number;
  /** CPU seconds of a copy in the pair (the mean of the two) over alone. */
  cpu_inflation: number;
  loadavg_1m: number;
}

async function hostPair(kind: 'alu' | 'mem'): Promise<HostPair> {
  const loadavg_1m = loadavg();
  const alone = await pairLoop(kind);
  const pair = await Promise.all([pairLoop(kind), pairLoop(kind)]);
  const scaling = pair.reduce((s, p) => s + alone.wall / p.wall, 0);
  const cpu_inflation = (pair[0]!.cpu + pair[1]!.cpu) / 2 / alone.cpu;
  return { kind, alone, pair, scaling, cpu_inflation, loadavg_1m };
}
const TICK_HZ = 100; // USER_HZ: /proc/stat and /proc/PID/stat count in 1/100 s on Linux

interface CpuTimes {
  busy: number;
  idle: number;
}

/** All CPUs' busy and idle time in seconds from /proc/stat's first line (iowait counts as idle, steal as busy elsewhere). */
function cpuTimes(): CpuTimes {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  return { busy: (user + nice + system + irq + softirq + steal) / TICK_HZ, idle: (idle + iowait) / TICK_HZ };
}

/** This process's reaped children's CPU time in seconds (cutime + cstime of /proc/self/stat). */
function childrenCpu(): number {
  const s = readFileSync('/proc/self/stat', 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  // Fields after the command: state is field 3, so cutime (16) and cstime (17) are at 13 and 14 here.
  return (Number(f[13]) + Number(f[14])) / TICK_HZ;
}

function loadavg(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

async function idleShare(seconds: number): Promise<number> {
  const a = cpuTimes();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const b = cpuTimes();
  const total = b.busy - a.busy + (b.idle - a.idle);
  return total > 0 ? (b.idle - a.idle) / total : 0;
}

interface Run {
  jobs: number;
  wall_s: number;
  cpu_s: number;
  /** CPU seconds the rest of the machine used during the run, per second of it (1.0 = one whole CPU). */
  others_cpus: number;
  /** Idle share of all CPUs over the second before the run. */
  idle_before: number;
  loadavg_1m: number;
  loadavg_1m_after: number;
  result_hash: string;
  /** CPU seconds of the sweep's threads that ran no points (V8's background compilers and GC, libuv), and of the main thread when workers ran them; null where not reported. */
  helper_cpu_s: number | null;
  main_cpu_s: number | null;
  /** Each thread that ran points: busy share of the span to the last point's end, and its seconds before the first point, idle at the end, and waiting for a CPU. */
  threads: { points: number; busy: number; ready_s: number; idle_end_s: number; runq_s: number | null }[];
}

/** Per-thread figures from a sweep result's host block. */
function threadFigures(per: SweepThreadStats[]): Run['threads'] {
  const span = Math.max(...per.map((t) => t.ready_ms + t.busy_ms + t.idle_end_ms), 1e-9);
  return per.map((t) => ({
    points: t.points.length,
    busy: round(t.busy_ms / span, 3),
    ready_s: round(t.ready_ms / 1000),
    idle_end_s: round(t.idle_end_ms / 1000),
    runq_s: t.points_runq_ms === undefined ? null : round(t.points_runq_ms / 1000),
  }));
}

function runOnce(jobs: number): Promise<Omit<Run, 'idle_before' | 'loadavg_1m' | 'loadavg_1m_after'>> {
  return new Promise((resolve, reject) => {
    const c0 = childrenCpu();
    const s0 = cpuTimes();
    const t0 = performance.now();
    const child = spawn(process.execPath, [...nodeFlags, `${root}/bin/kernsim.js`, ...SWEEP, '--jobs', String(jobs)], { cwd: root, env: { ...process.env, CI: 'true' } });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.resume();
    child.on('error', reject);
    child.on('close', (code) => {
      const wall = (performance.now() - t0) / 1000;
      if (code !== 0) return reject(new Error(`kernsim sweep --jobs ${jobs} exited ${code}`));
      const cpu = childrenCpu() - c0;
      const s1 = cpuTimes();
      const others = Math.max(0, s1.busy - s0.busy - cpu) / wall;
      const parsed = JSON.parse(out) as { host: { per_thread?: SweepThreadStats[]; helper_cpu_ms?: number; main_cpu_ms?: number } };
      const simulated = JSON.stringify(parsed, (k, v: unknown) => (k === 'host' ? undefined : v));
      const threads = threadFigures(parsed.host.per_thread ?? []);
      const helper = parsed.host.helper_cpu_ms === undefined ? null : round(parsed.host.helper_cpu_ms / 1000);
      const main = parsed.host.main_cpu_ms === undefined ? null : round(parsed.host.main_cpu_ms / 1000);
      resolve({ jobs, wall_s: wall, cpu_s: cpu, others_cpus: others, result_hash: createHash('sha256').update(simulated).digest('hex').slice(0, 16), threads, helper_cpu_s: helper, main_cpu_s: main });
    });
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const round = (x: number, d = 3): number => Number(x.toFixed(d));
const medianOrNull = (xs: (number | null)[]): number | null => {
  const v = xs.filter((x): x is number => x !== null);
  return v.length > 0 ? round(median(v)) : null;
};

const runs: Run[] = [];
const pairs: HostPair[] = [];
for (let r = 0; r < reps; r++) {
  pairs.push(await hostPair('alu'), await hostPair('mem'));
  for (const jobs of [1, 2]) {
    const idle = await idleShare(1);
    const load = loadavg();
    const run = await runOnce(jobs);
    runs.push({ ...run, idle_before: idle, loadavg_1m: load, loadavg_1m_after: loadavg() });
  }
}
const of = (jobs: number): Run[] => runs.filter((x) => x.jobs === jobs);
/** Median over the --jobs 2 runs of a figure of their threads (null when the sweeps did not report threads: a build before host.per_thread). */
const perThread = (f: (x: Run) => number): number | null => {
  const xs = of(2).filter((x) => x.threads.length > 0);
  return xs.length > 0 ? round(median(xs.map(f)), 3) : null;
};
const wall1 = median(of(1).map((x) => x.wall_s));
const wall2 = median(of(2).map((x) => x.wall_s));
const result = {
  sweep: `kernsim ${SWEEP.join(' ')}`,
  node_flags: nodeFlags,
  host_cpus: availableParallelism(),
  reps,
  wall_s_jobs1: round(wall1),
  wall_s_jobs2: round(wall2),
  speedup: round(wall1 / wall2, 2),
  cpu_s_jobs1: round(median(of(1).map((x) => x.cpu_s))),
  cpu_s_jobs2: round(median(of(2).map((x) => x.cpu_s))),
  /** CPUs the sweep kept busy on average (its CPU time over its wall time), median of the runs. */
  cpus_used_jobs1: round(median(of(1).map((x) => x.cpu_s / x.wall_s)), 2),
  cpus_used_jobs2: round(median(of(2).map((x) => x.cpu_s / x.wall_s)), 2),
  identical_results: new Set(runs.map((x) => x.result_hash)).size === 1,
  max_loadavg_1m: Math.max(...runs.map((x) => Math.max(x.loadavg_1m, x.loadavg_1m_after))),
  /** Median over the --jobs 2 runs of the least busy thread's busy share, and of the longest idle time at the end. */
  min_thread_busy_jobs2: perThread((x) => Math.min(...x.threads.map((t) => t.busy))),
  max_idle_end_s_jobs2: perThread((x) => Math.max(...x.threads.map((t) => t.idle_end_s))),
  /** Median CPU seconds of the threads that ran no points (V8's background compilers and GC), per --jobs value. */
  helper_cpu_s_jobs1: medianOrNull(of(1).map((x) => x.helper_cpu_s)),
  helper_cpu_s_jobs2: medianOrNull(of(2).map((x) => x.helper_cpu_s)),
  /** The host's own two-process scaling and CPU inflation (medians over the repetitions), by loop kind. */
  host_pair: Object.fromEntries(
    (['alu', 'mem'] as const).map((k) => {
      const ps = pairs.filter((p) => p.kind === k);
      return [k, { scaling: round(median(ps.map((p) => p.scaling)), 2), cpu_inflation: round(median(ps.map((p) => p.cpu_inflation)), 2), alone_s: round(median(ps.map((p) => p.alone.wall))) }];
    }),
  ),
  min_idle_before: round(Math.min(...runs.map((x) => x.idle_before))),
  max_others_cpus: round(Math.max(...runs.map((x) => x.others_cpus))),
  runs: runs.map((x) => ({ ...x, wall_s: round(x.wall_s), cpu_s: round(x.cpu_s), others_cpus: round(x.others_cpus), idle_before: round(x.idle_before) })),
  host_pairs: pairs.map((p) => ({ ...p, scaling: round(p.scaling, 2), cpu_inflation: round(p.cpu_inflation, 2) })),
  node: process.version,
};

if (json) {
  console.log(JSON.stringify(result));
} else {
  const colour = process.stdout.isTTY === true && !process.env['NO_COLOR'];
  const t = new Table({
    head: ['--jobs', 'wall s', 'CPU s', 'CPUs used', 'helpers CPU s', 'idle before', 'load 1m before/after', 'others (CPUs)', 'threads: points, busy %, s to first point, s idle at end, s on run queue', 'result'],
    style: colour ? {} : { head: [], border: [] },
  });
  const thr = (x: Run['threads'][number]): string => `${x.points}p ${Math.round(x.busy * 100)}% ${x.ready_s}/${x.idle_end_s}/${x.runq_s ?? '-'}`;
  for (const x of result.runs) {
    t.push([x.jobs, x.wall_s, x.cpu_s, round(x.cpu_s / x.wall_s, 2), x.helper_cpu_s ?? '-', `${Math.round(x.idle_before * 100)} %`, `${x.loadavg_1m} / ${x.loadavg_1m_after}`, x.others_cpus, x.threads.map(thr).join(', '), x.result_hash]);
  }
  console.log(nodeFlags.length > 0 ? `node ${nodeFlags.join(' ')} ... ${result.sweep}` : result.sweep);
  console.log(t.toString());
  console.log(`median wall: --jobs 1 ${result.wall_s_jobs1} s, --jobs 2 ${result.wall_s_jobs2} s: ${result.speedup}x on ${result.host_cpus} CPUs; results identical: ${result.identical_results ? 'yes' : 'NO'}`);
  console.log(`median CPU: --jobs 1 ${result.cpu_s_jobs1} s (${result.cpus_used_jobs1} CPUs busy), --jobs 2 ${result.cpu_s_jobs2} s (${result.cpus_used_jobs2} CPUs busy)`);
  if (result.helper_cpu_s_jobs1 !== null) {
    console.log(`threads that ran no points (V8's background compilers and GC): --jobs 1 ${result.helper_cpu_s_jobs1} s, --jobs 2 ${result.helper_cpu_s_jobs2} s CPU`);
  }
  const hp = result.host_pair;
  console.log(
    `host, two processes at once (median of ${reps}): arithmetic loop ${hp['alu']!.scaling}x one (CPU per copy x${hp['alu']!.cpu_inflation}), ` +
      `random loads over 64 MiB ${hp['mem']!.scaling}x (CPU per copy x${hp['mem']!.cpu_inflation})`,
  );
  if (result.min_thread_busy_jobs2 !== null) {
    console.log(`--jobs 2 threads (medians): the less busy one ran points ${Math.round(result.min_thread_busy_jobs2 * 100)} % of the sweep, the longest idle at the end ${result.max_idle_end_s_jobs2} s`);
  }
  console.log(
    `host: 1-minute load average up to ${result.max_loadavg_1m}, CPUs idle at least ${Math.round(result.min_idle_before * 100)} % in the second before each run, ` +
      `other processes used up to ${result.max_others_cpus} CPUs during a run` +
      (result.max_others_cpus > 0.1 ? ' (not idle: the speed-up is understated)' : ''),
  );
}
if (!result.identical_results) process.exit(1);
