/**
 * Host time against simulated CPUs: `npm run bench:cpus` (`-- --json` for
 * one JSON object; `--runs N`, `--cpus 1,2,64`). A kfree_rcu flood with
 * every CPU busy: one thread per CPU, pinned, loops over --think cycles of
 * user-mode work and a system call that allocates a 64-byte object and
 * frees it with kfree_rcu (the batches, their call_rcu callbacks and the
 * grace-period kthread run meanwhile), for 10 ms of simulated time, on 1, 2,
 * 4, ..., 64 CPUs. The work per CPU is fixed, so host time should grow at
 * most linearly with the CPUs: the table shows host time per simulated CPU.
 * The 64-CPU point has a target: 10 ms simulated in under 50 ms of host time.
 * Each thread's loop is a step function (sim/task.ts StepBody: resuming it
 * is one call that allocates nothing); `--body generator` runs the same loop
 * as a generator, resumed once per engine step as most tasks are.
 *
 * Host time is the CPU time the simulator's process used to run the engine
 * (boot and set-up not counted); a shared machine stretches the elapsed
 * time, shown beside it, more than that. Each point runs --runs times
 * (default 3) after a warm-up; the table shows the median and its range.
 * The load average and the idle share of CPU time while it ran are printed
 * with it.
 */
import { availableParallelism, loadavg } from 'node:os';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import Table from 'cli-table3';
import { defaultConfig } from '../src/config/machine.js';
import { bootKernel } from '../src/kernel/boot.js';
import { kfree_rcu } from '../src/kernel/rcu/kvfree_rcu.js';
import { syscallNoWait } from '../src/kernel/syscalls.js';
import { intern } from '../src/sim/attribution.js';
import { STEP_DONE, StepBody, type Task, type TaskBody, type Yield } from '../src/sim/task.js';

const argv = process.argv.slice(2);
const json = argv.includes('--json');
function arg(name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}
function bad(what: string): never {
  console.error(`bench/cpus: ${what}`);
  process.exit(2);
}
const RUNS = arg('--runs') === undefined ? 3 : Number(arg('--runs'));
if (!Number.isInteger(RUNS) || RUNS < 1) bad(`--runs expects a positive integer, got ${arg('--runs')}`);
const CPUS = (arg('--cpus') ?? '1,2,4,8,16,32,64').split(',').map(Number);
if (CPUS.some((n) => !Number.isInteger(n) || n < 1 || n > 256)) bad(`--cpus expects CPU counts from 1 to 256 separated by commas, got ${arg('--cpus')}`);
const THINK = arg('--think') === undefined ? 2000 : Number(arg('--think'));
if (!Number.isInteger(THINK) || THINK < 0) bad(`--think expects cycles (an integer >= 0), got ${arg('--think')}`);
const BODY = arg('--body') ?? 'step';
if (BODY !== 'step' && BODY !== 'generator') bad(`--body expects step or generator, got ${BODY}`);
const SIM_MS = 10;
const OBJECT_BYTES = 64;
const CAT_USER = intern('user:kfree-rcu-flood');

function cpuTimes(): [number, number] {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return [f[3]! + (f[4] ?? 0), f.reduce((a, b) => a + b, 0)];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** The system call's body: kmalloc an object and kfree_rcu it. It never waits, so it takes the boundary's no-wait path (no generator, nothing allocated on the host). */
function allocAndKfreeRcu(t: Task): number {
  kfree_rcu(t, t.k.slab.kmalloc(OBJECT_BYTES), OBJECT_BYTES);
  return 0;
}

/** The run in progress: where the threads stop, and the calls they made. */
let until = 0;
let calls = 0;

/**
 * The thread's loop, run until its CPU's window ends. One function for
 * every run (its state is the run's, above): a loop made per run is another
 * closure each time, and once the previous run's is collected the engine's
 * optimized step, which called it directly, is thrown away and compiled
 * again within the next timed run.
 */
const step = (t: Task): Yield | typeof STEP_DONE => {
  while (t.now < until) {
    t.chargeAs(CAT_USER, THINK);
    syscallNoWait(t, 'ioctl', allocAndKfreeRcu);
    calls++;
    if (t.shouldYield()) return undefined;
  }
  return STEP_DONE;
};

/** As a step function the engine resumes the loop with one call; as a generator (--body generator) with a resumption that allocates its result. */
const flood =
  BODY === 'step'
    ? (t: Task): TaskBody => new StepBody(t, step)
    : (t: Task): TaskBody =>
        (function* () {
          for (;;) {
            const r = step(t);
            if (r === STEP_DONE) return;
            yield r;
          }
        })();

/** Host CPU ms (and elapsed ms) to simulate SIM_MS of the flood on `cpus` CPUs; and the kfree_rcu calls made. */
function once(cpus: number): { cpu: number; wall: number; calls: number } {
  const cfg = defaultConfig();
  cfg.cpus = cpus;
  const k = bootKernel(cfg);
  until = SIM_MS * 1e6 * cfg.clock_ghz;
  calls = 0;
  const leader = k.spawnProcess('flood/0', flood, { cpu: 0, pinned: true });
  for (let i = 1; i < cpus; i++) k.spawnThread(leader, `flood/${i}`, flood, { cpu: i, pinned: true });
  // The previous runs' kernels are garbage by now: collect them before the clock starts (with --expose-gc, as npm run bench:cpus passes), so a run is not charged for its predecessors' collection.
  (globalThis as { gc?: () => void }).gc?.();
  const c = process.cpuUsage();
  const t = performance.now();
  k.run(until);
  const used = process.cpuUsage(c);
  return { cpu: (used.user + used.system) / 1000, wall: performance.now() - t, calls };
}

const before = cpuTimes();
const load0 = loadavg()[0]!;
interface Row {
  cpus: number;
  host_ms: number;
  range: [number, number];
  host_ms_per_cpu: number;
  wall_ms: number;
  kfree_rcu_calls: number;
}
const rows: Row[] = [];
once(4); // warm-up
for (const n of CPUS) {
  if (!json) process.stderr.write(`${n} `);
  const runs = Array.from({ length: RUNS }, () => once(n));
  const ms = runs.map((r) => r.cpu);
  const m = median(ms);
  rows.push({
    cpus: n,
    host_ms: Math.round(m * 10) / 10,
    range: [Math.round(Math.min(...ms)), Math.round(Math.max(...ms))],
    host_ms_per_cpu: Math.round((m / n) * 100) / 100,
    wall_ms: Math.round(median(runs.map((r) => r.wall))),
    kfree_rcu_calls: runs[0]!.calls,
  });
}
const after = cpuTimes();
const idle = (after[0] - before[0]) / Math.max(1, after[1] - before[1]);
const machine = { load_average_1m_start: load0, load_average_1m_end: loadavg()[0]!, cpu_idle_share: Math.round(idle * 1000) / 1000, cpus: availableParallelism() };

if (json) console.log(JSON.stringify({ simulated_ms: SIM_MS, think_cycles: THINK, body: BODY, runs: RUNS, machine, rows }, null, 2));
else {
  process.stderr.write('\n');
  const t = new Table({
    head: ['simulated CPUs', 'kfree_rcu calls', `host CPU ms per ${SIM_MS} ms simulated (range)`, 'per simulated CPU', 'elapsed ms'],
    style: { head: [], border: [] },
  });
  for (const r of rows) t.push([r.cpus, r.kfree_rcu_calls, `${r.host_ms} (${r.range[0]}-${r.range[1]})`, r.host_ms_per_cpu, r.wall_ms]);
  console.log(t.toString());
  console.log(
    `kfree_rcu flood, one pinned thread per CPU (a ${BODY} body), ${THINK} user cycles between calls; ${RUNS} runs per point after a warm-up; ` +
      `target at 64 CPUs: < 50 ms. Load average ${machine.load_average_1m_start.toFixed(1)} -> ${machine.load_average_1m_end.toFixed(1)} ` +
      `on ${machine.cpus} CPUs; CPU time idle: ${(idle * 100).toFixed(0)}%.`,
  );
}
