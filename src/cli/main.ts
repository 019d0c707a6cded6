/**
 * The `kernsim` command. yargs only parses and picks a command; the command
 * then runs, and every error ends here: bad input (UsageError, and the
 * ConfigError / ScriptError / ResultError of the layers below) prints one
 * line and exits 2; a run whose own checks fail exits 1 (CheckFailed);
 * anything else is a bug and prints its stack with exit 3.
 *
 * bin/kernsim.js calls main(); tests call it in-process with an Io that
 * captures stdout and stderr.
 */
import yargs, { type Argv } from 'yargs';
import { ConfigError } from '../params/schema.js';
import { FORMATS, ResultError, type Format } from '../report/index.js';
import { findWorkload, WORKLOADS } from '../workloads/registry.js';
import { kernsimVersion } from '../workloads/run.js';
import { ScriptError } from '../workloads/script/parse.js';
import { MACHINE_VARIANTS } from '../workloads/script/fuzz/generate.js';
import type { AnyWorkload } from '../workloads/types.js';
import { cmdBench } from './commands/bench.js';
import { cmdCompare } from './commands/compare.js';
import { cmdDemo } from './commands/demo.js';
import { cmdFuzz } from './commands/fuzz.js';
import { cmdList } from './commands/list.js';
import { cmdReport } from './commands/report.js';
import { cmdReplay } from './commands/replay.js';
import { cmdTraceConvert } from './commands/trace.js';
import { DEFAULT_CPI } from '../workloads/replay/index.js';
import { cmdRun } from './commands/run.js';
import { cmdConform, cmdScript } from './commands/script.js';
import { cmdMerge, cmdSweep } from './commands/sweep.js';
import { cmdValidate } from './commands/validate.js';
import { cmdCalibrate } from './commands/calibrate.js';
import { cmdValidateHost } from './commands/validate-host.js';
import type { Ctx } from './context.js';
import { CheckFailed, EXIT_CHECK_FAILED, EXIT_USAGE, UsageError } from './errors.js';
import { colorLevel, makeChalk, processIo, type Io } from './io.js';
import { workloadYargsOptions } from './options.js';

export const EXIT_INTERNAL = 3;

type Action = (ctx: Ctx) => number | Promise<number>;

const COMMANDS = ['list', 'run', 'sweep', 'merge', 'compare', 'report', 'script', 'replay', 'trace', 'conform', 'fuzz', 'demo', 'validate', 'calibrate', 'bench'];

/** Options that take a value, so the scan for a workload name can skip their values. */
const VALUE_OPTIONS = new Set(['machine', 'cpus', 'seed', 'set', 'out', 'format', 'grid', 'shard', 'jobs', 'metric', 'point', 'filter', 'check', 'host-tolerance', 'fail-above']);

/** The first positional after `command` in raw argv (the workload of `run W` / `sweep W`), if any. */
export function positionalAfter(argv: readonly string[], command: string): string | undefined {
  const at = argv.indexOf(command);
  if (at < 0) return undefined;
  for (let i = at + 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return argv[i + 1];
    if (a.startsWith('-')) {
      const name = a.replace(/^-+/, '');
      if (!name.includes('=') && VALUE_OPTIONS.has(name)) i++;
      continue;
    }
    return a;
  }
  return undefined;
}

const EPILOG =
  'Exit status: 0 success; 1 a run\'s own checks failed (or conform found a difference, bench --check a moved cost, compare --fail-above a moved figure); 2 bad input (one line on stderr); 3 internal error.\n' +
  'Colour follows NO_COLOR, FORCE_COLOR and --no-color. Progress bars show on a terminal, never with --json or CI=true.';

function commonRunOptions(y: Argv): Argv {
  return y
    .option('machine', { type: 'string', describe: 'machine profile name (kernsim list) or a profile JSON file', requiresArg: true, group: 'Machine:' })
    .option('cpus', { describe: 'number of simulated CPUs (overrides the profile)', requiresArg: true, group: 'Machine:' })
    .option('seed', { describe: 'seed of the simulation\'s one random generator', requiresArg: true, group: 'Machine:' })
    .option('set', { type: 'string', array: true, describe: 'any machine field, PATH=VALUE (kernsim list --params), repeatable', requiresArg: true, group: 'Machine:' })
    .option('json', { type: 'boolean', describe: 'print the result as JSON on stdout (logs go to stderr)' })
    .option('out', { type: 'string', describe: 'also write the result JSON to this file', requiresArg: true });
}

function addWorkloadOptions(y: Argv, w: AnyWorkload | undefined): void {
  if (!w) return;
  for (const [flag, o] of Object.entries(workloadYargsOptions(w))) y.option(flag, o);
}

/** The workload's figures, one line each: name (unit): definition. */
function figuresHelp(w: AnyWorkload): string {
  if (!w.figureDefs) return '';
  const lines = Object.entries(w.figureDefs).map(([name, d]) => `- ${name} (${d.unit}${name === w.headline ? '; headline' : ''}): ${d.definition}`);
  return '\n\nFigures (per round and per call: CPU time of the work; waiting for a CPU is a figure of its own):\n' + lines.join('\n');
}

function workloadEpilog(): string {
  return 'Workloads:\n' + WORKLOADS.map((w) => `  ${w.name.padEnd(16)} ${w.summary}`).join('\n');
}

interface Parsed {
  action?: Action;
  help?: string;
  error?: string;
}

function parse(argv: string[], width: number): Promise<Parsed> {
  let action: Action | undefined;
  let unknownWorkload: { cmd: string; name: string } | undefined;
  const workloadFor = (cmd: string): AnyWorkload | undefined => {
    const name = positionalAfter(argv, cmd);
    if (name === undefined) return undefined;
    const w = findWorkload(name);
    if (!w) unknownWorkload = { cmd, name };
    return w;
  };

  const y = yargs()
    .scriptName('kernsim')
    .exitProcess(false)
    .strict()
    .wrap(width)
    .version(kernsimVersion())
    .help()
    .alias('help', 'h')
    .option('color', { type: 'boolean', global: true, describe: 'colour output (--no-color turns it off; NO_COLOR and FORCE_COLOR are honoured)' })
    .usage('$0 <command> [options]\n\nCycle-approximate simulator of a multi-CPU x86-64 machine running Linux memory management and the fd table.')
    .command(
      'list',
      'list workloads and machine profiles',
      (y) =>
        y
          .option('params', { type: 'boolean', describe: 'print every machine parameter with its default, unit and source' })
          .option('json', { type: 'boolean', describe: 'machine-readable output' })
          .example('$0 list', 'workloads and profiles, one line each')
          .example('$0 list --params', 'the machine parameter table'),
      (a) => {
        action = (ctx) => cmdList(ctx, { params: a.params, json: a.json });
      },
    )
    .command(
      'run <workload>',
      'run a workload and report where the cycles went',
      (y) => {
        const w = workloadFor('run');
        y.positional('workload', { type: 'string', describe: 'a workload name (kernsim list)' });
        commonRunOptions(y)
          .option('trace', { type: 'boolean', describe: 'record per-CPU activity and IPIs for --format perfetto' })
          .example('$0 run tlb-reach', 'defaults: 4 threads on the default 4-CPU machine')
          .example('$0 run tlb-reach --cpus 16 --threads 32 --pages 65536', 'parameters as flags')
          .example('$0 run tlb-reach --machine server-64 --json > r.json', 'machine-readable result')
          .example('$0 run tlb-reach --trace --out r.json', 'keep a trace for kernsim report --format perfetto')
          .epilog(workloadEpilog());
        if (w) y.usage(`$0 run ${w.name} [options]\n\n${w.description}${figuresHelp(w)}`);
        addWorkloadOptions(y, w);
        return y;
      },
      (a) => {
        const w = findWorkload(String(a.workload))!;
        action = (ctx) => cmdRun(ctx, w, a as never);
      },
    )
    .command(
      'sweep <workload>',
      'run a workload over a grid of parameters, in parallel',
      (y) => {
        const w = workloadFor('sweep');
        y.positional('workload', { type: 'string', describe: 'a workload name (kernsim list)' });
        commonRunOptions(y)
          .option('grid', { type: 'string', array: true, describe: 'an axis KEY=V1,V2,...: a workload parameter, cpus, seed, machine, or any machine field (cost.invlpg); repeatable', requiresArg: true })
          .option('shard', { type: 'string', describe: 'run share I of N of the grid (0 <= I < N), for batch array jobs; join with kernsim merge', requiresArg: true })
          .option('jobs', { describe: 'worker threads at most (default: the host\'s available parallelism)', requiresArg: true })
          .example('$0 sweep tlb-reach --grid pages=16,1024,65536 --grid cpus=1,4', 'six runs, in parallel')
          .example('$0 sweep tlb-reach --grid cpus=1,2,4,8 --shard $SLURM_ARRAY_TASK_ID/4 --out s$SLURM_ARRAY_TASK_ID.json', 'one share per array task')
          .example('$0 merge s0.json s1.json s2.json s3.json --out sweep.json', 'then join the shares')
          .epilog(workloadEpilog());
        if (w) y.usage(`$0 sweep ${w.name} --grid KEY=V1,V2 [options]\n\n${w.description}`);
        addWorkloadOptions(y, w);
        return y;
      },
      (a) => {
        const w = findWorkload(String(a.workload))!;
        action = (ctx) => cmdSweep(ctx, w, a as never);
      },
    )
    .command(
      'merge <files..>',
      'join the shard results of one sweep',
      (y) =>
        y
          .positional('files', { type: 'string', array: true, describe: 'sweep results written by sweep --shard ... --out' })
          .option('json', { type: 'boolean', describe: 'print the merged result as JSON' })
          .option('out', { type: 'string', describe: 'write the merged result to this file', requiresArg: true })
          .example('$0 merge s0.json s1.json --out sweep.json', ''),
      (a) => {
        action = (ctx) => cmdMerge(ctx, (a.files as string[]).map(String), { json: a.json, out: a.out });
      },
    )
    .command(
      'compare <a> <b>',
      'show two results (runs or sweeps) side by side with deltas and ratios',
      (y) =>
        y
          .positional('a', { type: 'string', describe: 'the baseline result JSON' })
          .positional('b', { type: 'string', describe: 'the result to compare with it' })
          .option('json', { type: 'boolean', describe: 'the comparison as JSON' })
          .option('format', { choices: ['terminal', 'markdown', 'html', 'json'], describe: 'output format (html: with a differential flame graph of two runs)', requiresArg: true })
          .option('fail-above', { describe: 'exit 1 when any compared figure moved by more than PCT percent (listed on stderr)', requiresArg: true })
          .example('$0 run tlb-reach --out a.json && $0 run tlb-reach --pages 65536 --out b.json && $0 compare a.json b.json', '')
          .example('$0 compare base.json new.json --fail-above 2', 'a gate for your own runs or sweeps'),
      (a) => {
        action = (ctx) => cmdCompare(ctx, String(a.a), String(a.b), { json: a.json, format: a.format as string | undefined, failAbove: a['fail-above'] });
      },
    )
    .command(
      'report <result>',
      'render a saved result',
      (y) =>
        y
          .positional('result', { type: 'string', describe: 'a result JSON from run --out or sweep --out' })
          .option('format', { choices: FORMATS, default: 'terminal', describe: 'output format', requiresArg: true })
          .option('out', { type: 'string', describe: 'write to this file instead of stdout', requiresArg: true })
          .option('metric', { type: 'string', describe: 'for a sweep in HTML: what to plot (figure:NAME, counter:NAME, simulated_cycles)', requiresArg: true })
          .option('point', { type: 'string', describe: 'one point of a sweep, reported as a run: its index, or its axes\' values (cpus=16,advice=MADV_FREE)', requiresArg: true })
          .example('$0 report r.json --format html --out r.html', 'a self-contained page with charts')
          .example('$0 report r.json --format perfetto --out trace.json', 'open in ui.perfetto.dev (run with --trace)')
          .example('$0 report r.json --format folded | flamegraph.pl > flame.svg', 'folded stacks')
          .example('$0 report s.json --point cpus=16,advice=MADV_FREE --format html --out p.html', 'one point of a sweep, in any format'),
      (a) => {
        action = (ctx) => cmdReport(ctx, String(a.result), { format: a.format as Format, out: a.out, metric: a.metric, point: a.point });
      },
    )
    .command(
      'script <file>',
      'run a syscall script on the simulated kernel and print its result lines',
      (y) =>
        y
          .positional('file', { type: 'string', describe: 'a syscall script (JSON; format: docs/scripts.md)' })
          .option('sim', { type: 'boolean', describe: 'add the simulated figures (cycles, cycles by kernel function, counters) to each line as "sim"' })
          .option('host', { type: 'boolean', describe: 'run it on this host\'s Linux kernel instead (needs cc)' })
          .option('machine', { type: 'string', describe: 'machine profile name or JSON file', requiresArg: true })
          .option('json', { type: 'boolean', describe: 'one JSON document {script, kernel: sim|host, results: [...]} instead of one JSON line per op' })
          .conflicts('host', ['sim', 'machine'])
          .example('$0 script test/conformance/madvise-dontneed-mincore.json', 'its result lines')
          .example('$0 script my.json --sim', 'with cycles per op')
          .example('$0 script my.json --host', 'the same script on the host kernel')
          .example('$0 script my.json --json', 'the result lines as one JSON document'),
      (a) => {
        action = (ctx) => cmdScript(ctx, String(a.file), { sim: a.sim, machine: a.machine, host: a.host, json: a.json });
      },
    )
    .command(
      'replay',
      'replay a program\'s strace log and/or memory trace on the simulated machine and report where the cycles went',
      (y) =>
        commonRunOptions(y)
          .option('strace', { type: 'string', describe: 'a log of strace -f -ttt -T -o FILE PROGRAM (-yy, -s, -X allowed)', requiresArg: true })
          .option('gaps', { type: 'boolean', default: true, describe: 'charge the time between a thread\'s calls as user time (--no-gaps drops it)' })
          .option('lackey', { type: 'string', describe: 'a memory trace of valgrind --tool=lackey --trace-mem=yes --log-file=FILE PROGRAM (with --strace: add --trace-syscalls=yes, docs/replay.md)', requiresArg: true })
          .option('cpi', { type: 'number', describe: `cycles per instruction record of the memory trace (default ${DEFAULT_CPI}: a 4-wide core's best case)`, requiresArg: true })
          .option('advice', { type: 'string', choices: ['as-logged', 'MADV_DONTNEED', 'MADV_FREE'], describe: 'replay the log\'s MADV_DONTNEED and MADV_FREE calls with this advice (default as-logged)', requiresArg: true })
          .example('$0 replay --strace app.strace', 'the calls of app on the default machine')
          .example('$0 replay --strace app.strace --machine server-64 --json > r.json', 'on another machine, as a result for report and compare')
          .example('$0 replay --lackey app.lackey', 'the memory traffic of app (one thread)')
          .example('$0 replay --strace app.strace --lackey app.lackey', 'both, interleaved by the program\'s mmap/brk calls')
          .example('$0 sweep replay --strace app.strace --grid machine=desktop-4,server-64 --grid advice=MADV_DONTNEED,MADV_FREE', 'one sweep over machines and advice'),
      (a) => {
        action = (ctx) => cmdReplay(ctx, a as never);
      },
    )
    .command(
      'trace <action> <input> <output>',
      'convert an strace log or a lackey trace into kernsim\'s compact trace format (docs/trace-format.md), which replay reads fastest',
      (y) =>
        y
          .positional('action', { type: 'string', choices: ['convert'], describe: 'convert' })
          .positional('input', { type: 'string', describe: 'an strace log or a lackey trace' })
          .positional('output', { type: 'string', describe: 'the converted file (e.g. app.kst)' })
          .example('$0 trace convert app.lackey app.kst', 'then: $0 replay --lackey app.kst')
          .example('$0 trace convert app.strace app-calls.kst', 'then: $0 replay --strace app-calls.kst'),
      (a) => {
        action = (ctx) => cmdTraceConvert(ctx, String(a.input), String(a.output));
      },
    )
    .command(
      'conform [paths..]',
      'run syscall scripts on the host kernel and on the simulator and compare them line by line',
      (y) =>
        y
          .positional('paths', { type: 'string', array: true, describe: 'script files or directories (default: test/conformance)' })
          .option('json', { type: 'boolean', describe: 'per-script results as JSON' })
          .option('machine', { type: 'string', describe: 'machine profile the simulator starts from (the host\'s kernel settings are merged over it)', requiresArg: true })
          .option('recorded', { type: 'boolean', describe: 'compare with each script\'s recorded host output (NAME.host.jsonl) instead of running it on this host' })
          .example('$0 conform', 'the whole suite')
          .example('$0 conform --recorded', 'against the outputs stored with the suite')
          .example('$0 conform test/conformance/fd-dup.json --json', 'one script, machine-readable'),
      (a) => {
        action = (ctx) => cmdConform(ctx, ((a.paths as string[] | undefined) ?? []).map(String), { json: a.json, machine: a.machine, recorded: a.recorded });
      },
    )
    .command(
      'validate',
      'rebuild published measurements on the simulator and compare (exit 1 when one is outside its tolerance)',
      (y) =>
        y
          .option('filter', { type: 'string', array: true, describe: 'only experiments whose id contains this text (repeatable)', requiresArg: true })
          .option('list', { type: 'boolean', describe: 'list the experiments instead of running them' })
          .option('json', { type: 'boolean', describe: 'the results as JSON' })
          .option('host', { type: 'string', describe: 'a profile from kernsim calibrate: run the held-out host experiments on this host and on the simulator with it, side by side', requiresArg: true })
          .conflicts('host', 'list')
          .example('$0 validate', 'every experiment, simulated beside published (docs/validation.md)')
          .example('$0 validate --filter rcu --json', 'one experiment, machine-readable')
          .example('$0 validate --host host.json', 'this host beside the simulator on its calibrated profile'),
      (a) => {
        const filter = a.filter as string[] | undefined;
        action = a.host !== undefined ? (ctx) => cmdValidateHost(ctx, String(a.host), { json: a.json, filter }) : (ctx) => cmdValidate(ctx, { json: a.json, list: a.list, filter });
      },
    )
    .command(
      'calibrate',
      'measure this host\'s primitive costs and write a machine profile for it (needs Linux, cc and two CPUs)',
      (y) =>
        y
          .option('out', { type: 'string', describe: 'where to write the profile (JSON)', requiresArg: true, demandOption: true })
          .option('json', { type: 'boolean', describe: 'the measurements as JSON' })
          .example('$0 calibrate --out host.json', 'then: kernsim validate --host host.json'),
      (a) => {
        action = (ctx) => cmdCalibrate(ctx, { out: String(a.out), json: a.json });
      },
    )
    .command(
      'bench',
      'run the simulated-cost suite (workloads and focused kernel paths); check it against a baseline for CI',
      (y) =>
        y
          .option('filter', { type: 'string', describe: 'only scenarios whose name matches this regular expression', requiresArg: true })
          .option('list', { type: 'boolean', describe: 'list the scenarios, one line each, and exit' })
          .option('check', { type: 'string', describe: 'compare with this baseline (bench/baseline.json); exit 1 and show what moved', requiresArg: true })
          .option('update', { type: 'boolean', describe: 'with --check: rewrite the baseline from this run, keeping its tolerances (bless a deliberate change)' })
          .option('host-tolerance', { describe: 'with --check: also fail when a scenario\'s host time grew by more than PCT percent', requiresArg: true })
          .option('format', { choices: ['terminal', 'json', 'github', 'bencher', 'markdown'], describe: 'output: a table, the bench JSON, github-action-benchmark (customSmallerIsBetter), Bencher Metric Format, or Markdown for a PR comment', requiresArg: true })
          .option('json', { type: 'boolean', describe: 'same as --format json' })
          .option('out', { type: 'string', describe: 'write the output to this file (default format json)', requiresArg: true })
          .option('machine', { type: 'string', describe: 'machine profile the scenarios start from (default: default)', requiresArg: true, group: 'Machine:' })
          .option('set', { type: 'string', array: true, describe: 'change a machine field for every scenario, PATH=VALUE (to see what a cost change moves)', requiresArg: true, group: 'Machine:' })
          .example('$0 bench', 'the whole suite as a table')
          .example('$0 bench --check bench/baseline.json', 'the CI gate: exit 1 when a simulated cost moved')
          .example('$0 bench --check bench/baseline.json --update', 'bless a deliberate change (say why in the commit)')
          .example('$0 bench --filter shootdown --set cost.ipi_latency=3000', 'what one cost change does to the shootdown scenarios')
          .example('$0 bench --format github --out bench.json', 'for github-action-benchmark (tool: customSmallerIsBetter)'),
      (a) => {
        action = (ctx) => cmdBench(ctx, { ...(a as Record<string, unknown>), hostTolerance: a['host-tolerance'] } as never);
      },
    )
    .command(
      'fuzz',
      'run random valid syscall scripts with invariant checks on (and on the host kernel with --host); shrink and write out any that fail',
      (y) =>
        y
          .option('seed', { describe: 'campaign seed: the same seed gives the same scripts [default: 1]', requiresArg: true })
          .option('scripts', { describe: 'scripts to run [default: 100]', requiresArg: true })
          .option('ops', { describe: 'stop once this many ops have run (fork children counted)', requiresArg: true })
          .option('max-ops', { describe: 'most top-level ops in one script [default: 40]', requiresArg: true })
          .option('variants', { type: 'string', describe: 'machine variants to draw from, comma-separated (default: all; none with --host)', requiresArg: true })
          .option('host', { type: 'boolean', describe: 'also run each script on the host kernel and compare line by line' })
          .option('machine', { type: 'string', describe: 'machine profile the scripts start from', requiresArg: true })
          .option('keep-going', { type: 'boolean', describe: 'go on after a failure (default: stop at the first, shrunk)' })
          .option('out', { type: 'string', describe: 'directory for the shrunk failing scripts [default: fuzz-failures]', requiresArg: true })
          .option('json', { type: 'boolean', describe: 'the campaign summary as JSON' })
          .example('$0 fuzz --seed 7 --scripts 1000', 'a thousand scripts on every machine variant')
          .example('$0 fuzz --host --scripts 200', 'compared with this host\'s kernel')
          .example('$0 script fuzz-failures/fuzz-7-42.json --sim', 'run a shrunk failure again')
          .epilog(`Machine variants: ${Object.keys(MACHINE_VARIANTS).join(', ')}.`),
      (a) => {
        action = (ctx) => cmdFuzz(ctx, { seed: a.seed, scripts: a.scripts, ops: a.ops, maxOps: a['max-ops'], host: a.host as boolean | undefined, variants: a.variants, out: a.out as string | undefined, json: a.json as boolean | undefined, keepGoing: a['keep-going'] as boolean | undefined, machine: a.machine as string | undefined });
      },
    )
    .command(
      'demo',
      'a short comparison that tells a story on one screen (what npm start runs)',
      (y) => y.option('json', { type: 'boolean', describe: 'the demo\'s sweep result as JSON' }).example('$0 demo', ''),
      (a) => {
        action = (ctx) => cmdDemo(ctx, { json: a.json });
      },
    )
    .demandCommand(1, 'give a command (kernsim --help lists them)')
    .recommendCommands()
    .epilog(EPILOG);

  return new Promise((resolve) => {
    y.parse(argv, {}, (err, _argv, output) => {
      if (unknownWorkload) {
        resolve({ error: `${unknownWorkload.cmd}: unknown workload "${unknownWorkload.name}" (known: ${WORKLOADS.map((w) => w.name).join(', ')}; see kernsim list)` });
      } else if (err) {
        const cmd = argv.find((a) => COMMANDS.includes(a));
        resolve({ error: `${oneLine(err.message)} (see kernsim ${cmd ? `${cmd} ` : ''}--help)` });
      } else if (!action) {
        resolve({ help: output ?? '' });
      } else {
        resolve({ action });
      }
    });
  });
}

/**
 * yargs' message on one line. Its invalid-choice message spreads over lines
 * ("Invalid values:\n  Argument: format, Given: \"x\", Choices: \"a\", \"b\""):
 * keep the argument, the value given and the allowed ones.
 */
export function oneLine(message: string): string {
  const lines = message.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const choices = lines.map((l) => /^Argument: (.+?), Given: (.+?), Choices: (.+)$/.exec(l)).filter((m) => m !== null);
  if (choices.length > 0) {
    return choices.map((m) => `--${m[1]}: invalid value ${m[2]} (allowed: ${m[3]!.split(', ').map((c) => c.replace(/^"(.*)"$/, '$1')).join(', ')})`).join('; ');
  }
  return lines.join(' ');
}

/** Runs `kernsim ARGV...`; returns the exit status. */
export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  const colorFlag = argv.includes('--no-color') ? false : argv.includes('--color') ? true : undefined;
  const ctx: Ctx = {
    io,
    c: makeChalk(colorLevel(io.env, colorFlag, io.stdout.isTTY)),
    ce: makeChalk(colorLevel(io.env, colorFlag, io.stderr.isTTY)),
  };
  try {
    // Help fits the terminal it is shown on; into a pipe or a file, the conventional 80 columns.
    const width = io.stdout.isTTY && io.stdout.columns ? io.stdout.columns : 80;
    const p = await parse(argv, width);
    if (p.error !== undefined) throw new UsageError(p.error);
    if (p.help !== undefined) {
      io.stdout.write(p.help.endsWith('\n') ? p.help : `${p.help}\n`);
      return 0;
    }
    return await p.action!(ctx);
  } catch (e) {
    const code = exitCodeFor(e);
    if (code === EXIT_INTERNAL) io.stderr.write(`kernsim: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    else io.stderr.write(`${ctx.ce.red('kernsim:')} ${(e as Error).message}\n`);
    return code;
  }
}

/** The exit status an error ends the command with: 2 bad input, 1 failed checks, 3 anything else (a bug). */
export function exitCodeFor(e: unknown): number {
  if (e instanceof UsageError || e instanceof ConfigError || e instanceof ScriptError || e instanceof ResultError) return EXIT_USAGE;
  if (e instanceof CheckFailed) return EXIT_CHECK_FAILED;
  return EXIT_INTERNAL;
}
