import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/params/schema.js';
import { CheckFailed, UsageError } from '../../src/cli/errors.js';
import { exitCodeFor, positionalAfter } from '../../src/cli/main.js';
import { buildConfig, parseSets } from '../../src/cli/options.js';
import { ResultError } from '../../src/report/index.js';
import type { RunResult } from '../../src/workloads/result.js';
import { ScriptError } from '../../src/workloads/script/parse.js';
import { cli, expectUsageError } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'kernsim-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const f = (name: string): string => join(dir, name);

/** A small, fast run. */
const SMALL = ['--pages', '64', '--loads', '2000', '--threads', '2'];

function stripHost(r: { host?: unknown }): string {
  return JSON.stringify({ ...r, host: undefined });
}

describe('help and version', () => {
  it('kernsim --help lists every command and the exit statuses', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['list', 'run <workload>', 'sweep <workload>', 'merge <files..>', 'compare <a> <b>', 'report <result>', 'script <file>', 'conform [paths..]', 'demo']) {
      expect(r.stdout).toContain(`kernsim ${c}`);
    }
    expect(r.stdout).toContain('Exit status: 0 success; 1');
    expect(r.stderr).toBe('');
  });

  it.each([['list'], ['run'], ['run', 'tlb-reach'], ['sweep'], ['sweep', 'tlb-reach'], ['merge'], ['compare'], ['report'], ['script'], ['conform'], ['demo']])(
    '%s %s --help has examples',
    async (...cmd) => {
      const r = await cli([...cmd.filter((x) => x !== undefined), '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('Examples:');
    },
  );

  it.each([
    ['tlb-reach', ['--pages', '16', '--loads', '100', '--threads', '1']],
    ['alloc-churn', ['--rounds', '2', '--threads', '2']],
  ])('run %s --help defines every figure a run reports, with its unit', async (w, args) => {
    const help = (await cli(['run', w, '--help'])).stdout.replace(/\s+/g, ' ');
    const run = JSON.parse((await cli(['run', w, ...args, '--json'])).stdout) as { figures: Record<string, number> };
    const names = Object.keys(run.figures);
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(help, name).toMatch(new RegExp(`Figures \\(.*\\):.* - ${name} \\([^)]+\\): \\w`));
    expect(help).toMatch(/ - \w+ \([^)]*; headline\)/);
  });

  it('run W --help shows the workload description and its flags with defaults and ranges', async () => {
    const r = await cli(['run', 'tlb-reach', '--help']);
    expect(r.stdout).toContain('kernsim run tlb-reach [options]');
    expect(r.stdout).toContain('Each of --threads threads');
    expect(r.stdout).toMatch(/--pages\s+working set in 4 KiB pages \[integer 1\.\.4194304\] \[default: 4096\]/);
    expect(r.stdout).toContain('tlb-reach parameters:');
  });

  it('help is wrapped to the terminal\'s width, and to 80 columns when not a terminal', async () => {
    const widest = (text: string): number => Math.max(...text.split('\n').map((l) => l.length));
    for (const args of [['--help'], ['run', 'tlb-reach', '--help'], ['sweep', 'alloc-churn', '--help'], ['report', '--help']]) {
      const piped = await cli(args);
      expect(piped.code).toBe(0);
      expect(widest(piped.stdout), args.join(' ')).toBeLessThanOrEqual(80);
      const wide = await cli(args, { tty: true });
      expect(widest(wide.stdout), args.join(' ')).toBeLessThanOrEqual(120);
      expect(widest(wide.stdout), args.join(' ')).toBeGreaterThan(80);
    }
  });

  it('the MIT licence package.json names is in LICENSE', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { license: string };
    expect(pkg.license).toBe('MIT');
    const text = readFileSync(new URL('../../LICENSE', import.meta.url), 'utf8');
    expect(text.split('\n')[0]).toBe('MIT License');
    expect(text).toMatch(/^Copyright \(c\) \d{4} kernsim contributors$/m);
  });

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const r = await cli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it('no command, an unknown command or an unknown flag: exit 2, one line', async () => {
    expect(expectUsageError(await cli([]))).toContain('give a command');
    expect(expectUsageError(await cli(['frobnicate']))).toContain('frobnicate');
    expect(expectUsageError(await cli(['list', '--frob']))).toBe('kernsim: Unknown argument: frob (see kernsim list --help)');
  });
});

describe('list', () => {
  it('workloads and profiles, one line each', async () => {
    const r = await cli(['list']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\s+tlb-reach\s+threads doing uniform random loads/m);
    expect(r.stdout).toMatch(/^\s+server-64\s+64 CPUs\s+64-CPU/m);
    expect(r.stdout).toMatch(/^\s+default\s+4 CPUs/m);
  });
  it('--json', async () => {
    const r = await cli(['list', '--json']);
    const j = JSON.parse(r.stdout) as { workloads: { name: string; params: { flag: string; default: unknown }[] }[]; profiles: { name: string }[] };
    expect(j.workloads.find((w) => w.name === 'tlb-reach')!.params.find((p) => p.flag === '--pages')!.default).toBe(4096);
    expect(j.profiles.map((p) => p.name)).toEqual(['default', 'desktop-4', 'haswell-desktop', 'icelake-x', 'ivybridge-laptop', 'kvm-guest-12', 'milan', 'server-64', 'skylake-sp']);
  });
  it('--params prints the machine schema; with --json as rows', async () => {
    const r = await cli(['list', '--params']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('cost.invlpg');
    expect(r.stdout).toContain('Ingo Molnar');
    const j = JSON.parse((await cli(['list', '--params', '--json'])).stdout) as { path: string; default: unknown; section: string }[];
    expect(j.find((x) => x.path === 'tlb.stlb_entries')!.default).toBe(1536);
    // Hardware and kernel in their own sections: a software cost is the kernel's.
    expect(r.stdout).toContain('Kernel: settings and software costs (src/kernel/config.ts)');
    expect(j.find((x) => x.path === 'cost.invlpg')!.section).toBe('Hardware');
    expect(j.find((x) => x.path === 'kernel.cost.fault_handler')!.section).toBe('Kernel: settings and software costs');
    expect(j.find((x) => x.path === 'cost.fault_handler')).toBeUndefined();
  });
  it('--set takes a software cost by its place in the kernel section, or by its old path under cost.', () => {
    expect(parseSets(['kernel.cost.kmalloc=70', 'cost.fault_handler=1000'])).toEqual({ 'kernel.cost.kmalloc': 70, 'kernel.cost.fault_handler': 1000 });
    const c = buildConfig({ fields: parseSets(['cost.fault_handler=1000', 'cost.dram=200']) });
    expect([c.kernel.cost.fault_handler, c.cost.dram]).toEqual([1000, 200]);
  });
});

describe('run', () => {
  it('--json prints one deterministic result object; --out writes the same', async () => {
    const a = await cli(['run', 'tlb-reach', ...SMALL, '--json', '--out', f('a.json')]);
    expect(a.code).toBe(0);
    const ja = JSON.parse(a.stdout) as RunResult;
    expect(ja.workload).toBe('tlb-reach');
    expect(ja.params).toEqual({ threads: 2, pages: 64, loads: 2000, write: false });
    expect(ja.checks.passed).toBe(true);
    expect(JSON.parse(readFileSync(f('a.json'), 'utf8'))).toEqual(ja);
    expect(a.stderr).toContain(`wrote ${f('a.json')}`);
    const b = await cli(['run', 'tlb-reach', ...SMALL, '--json']);
    expect(stripHost(JSON.parse(b.stdout))).toBe(stripHost(ja));
  });

  it('prints the terminal report by default', async () => {
    const r = await cli(['run', 'tlb-reach', ...SMALL]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('kernsim run tlb-reach');
    expect(r.stdout).toContain('Where the cycles went');
    expect(r.stdout).toContain('user:random_loads');
    expect(r.stdout).toContain('passed');
  });

  it('--machine, --cpus, --seed and --set shape the machine', async () => {
    const r = JSON.parse((await cli(['run', 'tlb-reach', ...SMALL, '--machine', 'desktop-4', '--cpus', '2', '--seed', '7', '--set', 'kernel.pti=true', '--set', 'cost.stlb_hit=20', '--json'])).stdout) as RunResult;
    expect(r.machine).toBe('desktop-4');
    expect(r.cpus.length).toBe(2);
    expect(r.seed).toBe(7);
    expect(r.config.kernel.pti).toBe(true);
    expect(r.config.cost.stlb_hit).toBe(20);
    expect(r.config.cache.l2_kib).toBe(256);
  });

  it('--machine takes a profile file', async () => {
    writeFileSync(f('m.json'), JSON.stringify({ name: 'tiny', cpus: 2, cost: { dram: 300 } }));
    const r = JSON.parse((await cli(['run', 'tlb-reach', ...SMALL, '--machine', f('m.json'), '--json'])).stdout) as RunResult;
    expect(r.machine).toBe('tiny');
    expect(r.config.cost.dram).toBe(300);
    expect(r.cpus.length).toBe(2);
  });

  it('--trace keeps per-CPU slices in the result', async () => {
    const r = JSON.parse((await cli(['run', 'tlb-reach', ...SMALL, '--trace', '--json'])).stdout) as RunResult;
    expect(r.trace!.slices.filter((s) => s.cat === undefined).map((s) => s.name).sort()).toEqual(['tlb-reach', 'tlb-reach/1']);
    // Kernel work beside them: each page touched faults once.
    expect(r.trace!.slices.filter((s) => s.cat === 'fault').length).toBe(r.counters['pgfault']);
  });

  it('bad input exits 2 with one line naming the flag, file or field', async () => {
    expect(expectUsageError(await cli(['run', 'nosuch']))).toMatch(/^kernsim: run: unknown workload "nosuch" \(known: tlb-reach, [a-z, -]+; see kernsim list\)$/);
    expect(expectUsageError(await cli(['run', 'nosuch', '--whatever', '3']))).toContain('unknown workload "nosuch"');
    expect(expectUsageError(await cli(['run', 'tlb-reach', '--threads', '0']))).toBe('kernsim: command line: --threads: expected an integer from 1 to 1024, got 0');
    expect(expectUsageError(await cli(['run', 'tlb-reach', '--threads', 'many']))).toBe('kernsim: command line: --threads: expected an integer from 1 to 1024, got "many"');
    expect(expectUsageError(await cli(['run', 'tlb-reach', '--pages', '1.5']))).toContain('--pages: expected an integer');
    expect(expectUsageError(await cli(['run', 'tlb-reach', '--threads', '2', '--threads', '3']))).toContain('--threads: expected one value');
    expect(expectUsageError(await cli(['run', 'tlb-reach', '--bogus', '1']))).toBe('kernsim: Unknown argument: bogus (see kernsim run --help)');
    expect(expectUsageError(await cli(['run', 'tlb-reach', '--machine', 'nosuch']))).toContain('--machine: machine: expected a profile name (default, desktop-4, haswell-desktop, icelake-x, ivybridge-laptop, kvm-guest-12, milan, server-64, skylake-sp) or a JSON file, got "nosuch"');
    expect(expectUsageError(await cli(['run', 'tlb-reach', '--cpus', '0']))).toBe('kernsim: command line: --cpus: expected an integer from 1 to 256, got 0');
    expect(expectUsageError(await cli(['run', 'tlb-reach', '--set', 'cost.nope=1']))).toBe('kernsim: command line: --set cost.nope: expected a machine field (kernsim list --params shows them all)');
    expect(expectUsageError(await cli(['run', 'tlb-reach', '--set', 'kernel.thp=sometimes']))).toBe('kernsim: command line: --set kernel.thp: expected one of always, madvise, never, got "sometimes"');
    expect(expectUsageError(await cli(['run', 'tlb-reach', '--set', 'nonsense']))).toContain('--set: expected PATH=VALUE');
    expect(expectUsageError(await cli(['run', 'tlb-reach', '--cpus', '4', '--set', 'cpus=8']))).toBe('kernsim: command line: --cpus: expected one value: --cpus 4 and --set cpus=8 disagree (give one of them)');
    expect(expectUsageError(await cli(['sweep', 'tlb-reach', '--grid', 'pages=16,32', '--seed', '1', '--set', 'sim.seed=2']))).toContain('--seed 1 and --set sim.seed=2 disagree');
    expect(expectUsageError(await cli(['run', 'tlb-reach', '--set', 'cache.l1d_kib=48']))).toContain('cache.l1d_kib: expected a size giving a power-of-two number of sets');
    writeFileSync(f('bad.json'), '{"cpus": "many"}');
    expect(expectUsageError(await cli(['run', 'tlb-reach', '--machine', f('bad.json')]))).toBe(`kernsim: ${f('bad.json')}: cpus: expected an integer from 1 to 256, got "many"`);
    expect(expectUsageError(await cli(['run', 'db-discard', '--advice', 'hole']))).toBe('kernsim: command line: --advice: expected one of MADV_REMOVE, MADV_DONTNEED, got "hole"');
    expect(expectUsageError(await cli(['run', 'tlb-reach', '--pages', '4194304']))).toBe(
      `kernsim: command line: --pages: expected at most ${4096 * 256} (the machine's 4096 MiB of memory; raise it with --set ram_mib=), got 4194304`,
    );
    expect(expectUsageError(await cli(['sweep', 'tlb-reach', '--grid', 'pages=16,2097152']))).toContain('--pages: expected at most 1048576');
    // One wording for a missing file, whichever command reads it.
    const missing = f('missing.json');
    const wording = `kernsim: ${missing}: cannot read: no such file or directory (ENOENT)`;
    expect(expectUsageError(await cli(['run', 'tlb-reach', '--machine', missing]))).toBe(wording);
    expect(expectUsageError(await cli(['report', missing]))).toBe(wording);
    expect(expectUsageError(await cli(['script', missing]))).toBe(wording);
    expect(expectUsageError(await cli(['conform', missing]))).toBe(wording);
    writeFileSync(f('broken.json'), '{');
    expect(expectUsageError(await cli(['run', 'tlb-reach', '--machine', f('broken.json')]))).toContain('(file): expected valid JSON');
    expect(expectUsageError(await cli(['run', 'tlb-reach', ...SMALL, '--out', join(dir, 'no', 'such', 'dir.json')]))).toContain('cannot write (ENOENT)');
  });
});

describe('exit statuses', () => {
  it('maps typed errors once: bad input 2, failed checks 1, anything else 3', () => {
    expect(exitCodeFor(new UsageError('x'))).toBe(2);
    expect(exitCodeFor(new ConfigError('f', 'x', 'y'))).toBe(2);
    expect(exitCodeFor(new ScriptError('f', 'ops[0].op', 'x'))).toBe(2);
    expect(exitCodeFor(new ResultError('f', 'x', 'y'))).toBe(2);
    expect(exitCodeFor(new CheckFailed('x'))).toBe(1);
    expect(exitCodeFor(new TypeError('x'))).toBe(3);
  });

  it('finds the workload after value-taking flags', () => {
    expect(positionalAfter(['run', '--machine', 'server-64', 'tlb-reach', '--pages', '4'], 'run')).toBe('tlb-reach');
    expect(positionalAfter(['--no-color', 'run', '--json', 'tlb-reach'], 'run')).toBe('tlb-reach');
    expect(positionalAfter(['run', '--cpus=4', 'w'], 'run')).toBe('w');
    expect(positionalAfter(['run'], 'run')).toBeUndefined();
    expect(positionalAfter(['list'], 'run')).toBeUndefined();
  });
});
