/**
 * System calls on the simulator beside the same calls on this host's kernel:
 * `npm run bench:syscalls` prints a table, `-- --json` one JSON object
 * (`--runs N`, `--sim-calls N`, `--host-calls N`, `--only a,b`). A rate is
 * iterations of a case's block per second (a pair of calls for dup_close).
 *
 * Each case is one syscall script (docs/scripts.md) whose measured block is
 * a `repeat` of the calls:
 *
 *   fcntl_getfl       fcntl(fd, F_GETFL) on an open /dev/null
 *   dup_close         dup(fd) then close of the new fd
 *   open_close        open of an existing file, then close
 *   mmap_munmap       mmap of one anonymous page, then munmap
 *   madvise_dontneed  madvise(MADV_DONTNEED) of one page that is not populated
 *   fault_dontneed    a one-byte store that takes a minor fault (a zeroed
 *                     page), then madvise(MADV_DONTNEED) of it, so the next
 *                     store faults again
 *
 * host: the script runs in the conformance runner (src/conform, built with
 * cc) with `"timing": true`; its rate is the repeat's count over its
 * `time_ns` (elapsed time of the repeat alone). simulator: the script runs in
 * this process (runScript); its rate is the count over the elapsed host time
 * of the run, less that of the same script with a repeat of 0 (boot and
 * set-up). Each side runs --runs times (default 5) after a warm-up; the table
 * shows the median and the range, and the ratio of the medians (the target
 * is at least 0.25).
 *
 * bare: the same calls as bare C loops (bench/syscalls-bare.c, built with cc,
 * every call through syscall(2) as the runner's are), timed by the program
 * itself (elapsed and getrusage CPU time of the loop alone): what the host
 * kernel does with nothing of the runner around it. The runner's repeat
 * formats nothing for the iterations it does not print (emit returns before
 * any formatting for a discarded sink), so its rate should equal the bare
 * loop's; the runner / bare column shows whether it does.
 *
 * On a shared machine both sides wait for a CPU, so elapsed rates fall with
 * the load. The CPU-time columns divide by the CPU time each side used
 * instead: the simulator's process.cpuUsage() over the same difference of
 * runs, the runner's user + system time (the children's times of
 * /proc/self/stat, in clock ticks: 10 ms) of a run with the repeat less one
 * with a repeat of 0. The load average and the share of CPU time that was
 * idle while the benchmark ran are printed with the results.
 */
import { loadavg, tmpdir } from 'node:os';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import Table from 'cli-table3';
import { hostRunnerAvailable, runOnHost } from '../src/conform/host.js';
import { defaultConfig } from '../src/config/machine.js';
import { parseScript } from '../src/workloads/script/parse.js';
import { runScript } from '../src/workloads/script/interp.js';

const argv = process.argv.slice(2);
const json = argv.includes('--json');
function flag(name: string, def: number): number {
  const i = argv.indexOf(name);
  if (i < 0) return def;
  const v = Number(argv[i + 1]);
  if (!Number.isInteger(v) || v <= 0) {
    console.error(`bench/syscalls: ${name} expects a positive integer, got ${argv[i + 1]}`);
    process.exit(2);
  }
  return v;
}
const RUNS = flag('--runs', 5);
const SIM_CALLS = flag('--sim-calls', 50_000);
const HOST_CALLS = flag('--host-calls', 2_000_000);

type Op = Record<string, unknown>;
interface Case {
  name: string;
  setup: Op[];
  block: Op[];
}

const FD: Op[] = [{ op: 'open', path: '/dev/null', flags: ['rdonly'], as: 'F' }];
const PAGE_A: Op[] = [{ op: 'mmap', as: 'A', pages: 1, prot: 'rw', flags: ['private', 'anonymous'] }];

const CASES: Case[] = [
  { name: 'fcntl_getfl', setup: FD, block: [{ op: 'fcntl', fd: '$F', cmd: 'F_GETFL' }] },
  { name: 'dup_close', setup: FD, block: [{ op: 'dup', fd: '$F', as: 'D' }, { op: 'close', fd: '$D' }] },
  {
    name: 'open_close',
    setup: [{ op: 'open', path: 'f', flags: ['wronly', 'creat'], as: 'X' }, { op: 'close', fd: '$X' }],
    block: [{ op: 'open', path: 'f', flags: ['rdonly'], as: 'G' }, { op: 'close', fd: '$G' }],
  },
  { name: 'mmap_munmap', setup: [], block: [...PAGE_A, { op: 'munmap', addr: '$A', len: 4096 }] },
  { name: 'madvise_dontneed', setup: PAGE_A, block: [{ op: 'madvise', addr: '$A', len: 4096, advice: 'MADV_DONTNEED' }] },
  {
    name: 'fault_dontneed',
    setup: PAGE_A,
    block: [{ op: 'fill', addr: '$A', len: 1, byte: 1 }, { op: 'madvise', addr: '$A', len: 4096, advice: 'MADV_DONTNEED' }],
  },
];

function script(c: Case, count: number) {
  const text = JSON.stringify({ kernsim_script: 1, name: `bench-${c.name}`, timing: true, ops: [...c.setup, { op: 'repeat', count, ops: c.block }] });
  return parseScript(text, `bench-${c.name}.json`);
}

/** CPU time counters of /proc/stat's first line: [idle + iowait, total]. */
function cpuTimes(): [number, number] {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3]! + (f[4] ?? 0);
  return [idle, f.reduce((a, b) => a + b, 0)];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** This process's CPU time, ms. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** CPU time of this process's waited-for children (cutime + cstime of /proc/self/stat), ms. */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();
function childCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 16 and 17 of proc(5) (cutime, cstime) are the 14th and 15th after the command name.
  return ((Number(f[13]) + Number(f[14])) * 1000) / CLK_TCK;
}

interface Rates {
  wall: number[];
  cpu: number[];
}

/** Calls per second of the simulator: count over (time of the script with the repeat - time without), elapsed and CPU. */
function simRate(c: Case): Rates {
  const cfg = defaultConfig();
  const full = script(c, SIM_CALLS);
  const empty = script(c, 0);
  runScript(full, cfg); // warm-up: modules loaded, paths compiled
  const out: Rates = { wall: [], cpu: [] };
  for (let r = 0; r < RUNS; r++) {
    let t = performance.now();
    let u = cpuMs();
    runScript(empty, cfg);
    const base = performance.now() - t;
    const baseCpu = cpuMs() - u;
    t = performance.now();
    u = cpuMs();
    runScript(full, cfg);
    const all = performance.now() - t;
    const allCpu = cpuMs() - u;
    out.wall.push(SIM_CALLS / (Math.max(1e-3, all - base) / 1000));
    out.cpu.push(SIM_CALLS / (Math.max(1e-3, allCpu - baseCpu) / 1000));
  }
  return out;
}

/** Calls per second of the host kernel: the repeat's count over its time_ns; and over the runner's CPU time less a run without the repeat. */
async function hostRate(c: Case): Promise<Rates> {
  const s = script(c, HOST_CALLS);
  const empty = script(c, 0);
  // A busy machine can stretch a run well past the runner's default limit.
  const opts = { timeoutSeconds: 600 };
  await runOnHost(s, opts);
  const out: Rates = { wall: [], cpu: [] };
  for (let r = 0; r < RUNS; r++) {
    let u = childCpuMs();
    await runOnHost(empty, opts);
    const baseCpu = childCpuMs() - u;
    u = childCpuMs();
    const lines = await runOnHost(s, opts);
    const allCpu = childCpuMs() - u;
    const rep = JSON.parse(lines[lines.length - 1]!) as { op: string; time_ns?: number };
    if (rep.op !== 'repeat' || typeof rep.time_ns !== 'number') throw new Error(`bench/syscalls: ${c.name}: the host runner printed no time_ns for the repeat`);
    out.wall.push(HOST_CALLS / (rep.time_ns / 1e9));
    out.cpu.push(HOST_CALLS / (Math.max(1000 / CLK_TCK, allCpu - baseCpu) / 1000));
  }
  return out;
}

/** The bare C loops, built once into a temporary directory (null without cc). */
const bareDir = mkdtempSync(join(tmpdir(), 'kernsim-bench-syscalls-'));
process.on('exit', () => rmSync(bareDir, { recursive: true, force: true }));
const bareExe = ((): string | null => {
  const exe = join(bareDir, 'syscalls-bare');
  const src = fileURLToPath(new URL('../../bench/syscalls-bare.c', import.meta.url));
  return spawnSync('cc', ['-O2', '-std=gnu11', '-Wall', '-o', exe, src]).status === 0 ? exe : null;
})();

/** Calls per second of bare C loops of the case: elapsed and CPU time of the loop as the program measures them. */
function bareRate(c: Case, exe: string): Rates {
  const run = (): [number, number] => {
    const out = execFileSync(exe, [c.name, String(HOST_CALLS), bareDir], { encoding: 'utf8' }).trim().split(' ').map(Number);
    return [out[0]!, out[1]!];
  };
  run();
  const out: Rates = { wall: [], cpu: [] };
  for (let r = 0; r < RUNS; r++) {
    const [wall, cpu] = run();
    out.wall.push(HOST_CALLS / (Math.max(1, wall) / 1e9));
    out.cpu.push(HOST_CALLS / (Math.max(1, cpu) / 1e9));
  }
  return out;
}

interface Side {
  per_s: number;
  range: [number, number];
  cpu_per_s: number;
}

interface Row {
  name: string;
  sim: Side;
  host: Side | null;
  /** The same calls as bare C loops (no runner). */
  bare: Side | null;
  /** runner / bare of the CPU-time medians: 1 when the runner adds nothing to the calls. */
  runner_over_bare_cpu: number | null;
  /** sim / host of the elapsed-time medians, and of the CPU-time medians. */
  ratio: number | null;
  ratio_cpu: number | null;
}

function side(r: Rates): Side {
  return { per_s: Math.round(median(r.wall)), range: [Math.round(Math.min(...r.wall)), Math.round(Math.max(...r.wall))], cpu_per_s: Math.round(median(r.cpu)) };
}

const before = cpuTimes();
const load0 = loadavg()[0]!;
const host = hostRunnerAvailable();
const rows: Row[] = [];
const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1]!.split(',') : null;
for (const c of CASES) {
  if (only && !only.includes(c.name)) continue;
  if (!json) process.stderr.write(`${c.name} `);
  const sim = side(simRate(c));
  const h = host ? side(await hostRate(c)) : null;
  const b = bareExe ? side(bareRate(c, bareExe)) : null;
  const round = (x: number): number => Math.round(x * 1000) / 1000;
  rows.push({ name: c.name, sim, host: h, bare: b, runner_over_bare_cpu: h && b ? round(h.cpu_per_s / b.cpu_per_s) : null, ratio: h ? round(sim.per_s / h.per_s) : null, ratio_cpu: h ? round(sim.cpu_per_s / h.cpu_per_s) : null });
}
if (!json) process.stderr.write('\n');
const after = cpuTimes();
const idle = (after[0] - before[0]) / Math.max(1, after[1] - before[1]);
const machine = { load_average_1m_start: load0, load_average_1m_end: loadavg()[0]!, cpu_idle_share: Math.round(idle * 1000) / 1000, cpus: (await import('node:os')).availableParallelism() };

if (json) {
  console.log(JSON.stringify({ runs: RUNS, sim_calls: SIM_CALLS, host_calls: HOST_CALLS, machine, rows }, null, 2));
} else {
  const k = (v: number): string => (v >= 1e6 ? `${(v / 1e6).toFixed(2)} M` : `${(v / 1e3).toFixed(0)} k`);
  const t = new Table({
    head: ['calls', 'simulator /s (range)', 'host kernel /s (range)', 'sim / host', 'simulator /CPU s', 'host kernel /CPU s', 'sim / host (CPU)', 'bare C loop /CPU s', 'runner / bare (CPU)'],
    style: { head: [], border: [] },
  });
  for (const r of rows) {
    const h = r.host;
    t.push([
      r.name,
      `${k(r.sim.per_s)} (${k(r.sim.range[0])}-${k(r.sim.range[1])})`,
      h === null ? 'no cc: not run' : `${k(h.per_s)} (${k(h.range[0])}-${k(h.range[1])})`,
      r.ratio === null ? '' : r.ratio.toFixed(3),
      k(r.sim.cpu_per_s),
      h === null ? '' : k(h.cpu_per_s),
      r.ratio_cpu === null ? '' : r.ratio_cpu.toFixed(3),
      r.bare === null ? 'no cc' : k(r.bare.cpu_per_s),
      r.runner_over_bare_cpu === null ? '' : r.runner_over_bare_cpu.toFixed(2),
    ]);
  }
  console.log(t.toString());
  console.log(
    `${RUNS} runs each after a warm-up; ${SIM_CALLS} simulated and ${HOST_CALLS} host repeats per run; the target is sim / host >= 0.25. ` +
      `Load average ${machine.load_average_1m_start.toFixed(1)} -> ${machine.load_average_1m_end.toFixed(1)} on ${machine.cpus} CPUs; ` +
      `CPU time idle during the run: ${(idle * 100).toFixed(0)}%.`,
  );
}
