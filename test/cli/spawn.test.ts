/**
 * The real `kernsim` binary: build with tsc, then spawn `node bin/kernsim.js`.
 * Covers what in-process tests cannot: the bin entry and its exit status,
 * sweeps in worker threads, and `kernsim demo` (npm start) running to its end.
 * How long the demo takes is bench's to show (npm run bench:host), not a test's.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SweepResult } from '../../src/workloads/result.js';
import { cli } from './helpers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'kernsim-spawn-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function kernsim(args: string[], env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(root, 'bin', 'kernsim.js'), ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '', ...env },
    timeout: 120_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  // Another contributor's half-written file may fail the type check; tsc still emits, and the CLI's own files are what matter here.
  spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', root], { cwd: root, encoding: 'utf8', timeout: 300_000 });
  if (!existsSync(join(root, 'dist', 'src', 'cli', 'main.js'))) throw new Error('tsc did not produce dist/src/cli/main.js');
}, 300_000);

describe('node bin/kernsim.js', () => {
  it('--help exits 0', () => {
    const r = kernsim(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('kernsim run <workload>');
  });

  it('run --json prints a result; bad input exits 2 with one line and no stack', () => {
    const r = kernsim(['run', 'tlb-reach', '--pages', '64', '--loads', '1000', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).workload).toBe('tlb-reach');
    const bad = kernsim(['run', 'tlb-reach', '--threads', '-1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('kernsim: command line: --threads: expected an integer from 1 to 1024, got -1\n');
    expect(bad.stdout).toBe('');
    const unknown = kernsim(['run', 'nosuch']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.split('\n').length).toBe(2);
  });

  it('a sweep in worker threads gives the in-process result, byte for byte', async () => {
    const args = ['sweep', 'tlb-reach', '--grid', 'pages=16,256,1024', '--grid', 'cpus=1,2', '--loads', '2000', '--json'];
    const r = kernsim([...args, '--jobs', '2']);
    expect(r.code, r.stderr).toBe(0);
    const pooled = JSON.parse(r.stdout) as SweepResult;
    // Two workers, each started once, ran the six points, whatever the host's parallelism beyond 2.
    if (availableParallelism() >= 2) expect(pooled.host.threads).toBe(2);
    const single = kernsim([...args, '--jobs', '1']);
    expect(single.code, single.stderr).toBe(0);
    const one = JSON.parse(single.stdout) as SweepResult;
    expect(one.host.threads).toBe(1);
    // Where the host reports each thread's times (Linux), the CPU of the threads that ran no points, and the main thread's when workers ran them.
    if (existsSync('/proc/thread-self')) {
      expect(one.host.helper_cpu_ms).toBeGreaterThanOrEqual(0);
      expect(one.host.main_cpu_ms).toBeUndefined();
      expect(pooled.host.helper_cpu_ms).toBeGreaterThanOrEqual(0);
      expect(pooled.host.main_cpu_ms).toBeGreaterThanOrEqual(0);
    }
    const inProcess = JSON.parse((await cli([...args, '--jobs', '1'])).stdout) as SweepResult;
    const strip = (s: unknown): string => JSON.stringify(s, (k, v: unknown) => (k === 'host' ? undefined : v));
    expect(pooled.points.length).toBe(6);
    expect(strip(pooled)).toBe(strip(one));
    expect(strip(pooled)).toBe(strip(inProcess));
  }, 120_000);

  it('every point runs exactly once whichever thread takes it, in grid order in the result', () => {
    const r = kernsim(['sweep', 'tlb-reach', '--grid', 'pages=16,32,64,128,256', '--loads', '100', '--jobs', '2', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as SweepResult;
    expect(s.points.map((p) => [p.index, p.point['pages'], p.result.params['pages']])).toEqual([0, 1, 2, 3, 4].map((i) => [i, 16 << i, 16 << i]));
    // Each thread says which points it ran: together every slot once, the largest (pages=256) taken first.
    const ran = s.host.per_thread!.flatMap((t) => t.points);
    expect([...ran].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4]);
    expect(s.host.per_thread!.map((t) => t.points[0])).toContain(4);
  }, 120_000);

  it('workers started ahead for --jobs 2 neither hold up a command line that fails nor a sweep of one point', () => {
    const bad = kernsim(['sweep', 'tlb-reach', '--grid', 'pages=x', '--jobs', '2']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.split('\n').length).toBe(2);
    const one = kernsim(['sweep', 'tlb-reach', '--grid', 'pages=16', '--loads', '100', '--jobs', '2', '--json']);
    expect(one.code, one.stderr).toBe(0);
    const s = JSON.parse(one.stdout) as SweepResult;
    expect(s.host.threads).toBe(1);
    expect(s.points.length).toBe(1);
  }, 120_000);

  it('a point whose input is bad ends the sweep with one line and exit 2, in this thread and in a worker', () => {
    const bad = join(dir, 'bad.strace');
    writeFileSync(bad, 'not a line of strace\n');
    for (const jobs of ['1', '2']) {
      for (const [file, says] of [
        [bad, `${bad}:1: expected "[PID] SECONDS.MICROS CALL(...) = RET <DURATION>"`],
        [join(dir, 'missing.strace'), `${join(dir, 'missing.strace')}: cannot read: no such file or directory (ENOENT)`],
      ] as const) {
        const r = kernsim(['sweep', 'replay', '--strace', file, '--grid', 'cpus=1,2', '--jobs', jobs, '--json']);
        expect(r.code, `--jobs ${jobs}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toMatch(/^kernsim: sweep point [01] \(\{"cpus":[12]\}\): /);
        expect(r.stderr).toContain(says);
        expect(r.stderr.split('\n').length, r.stderr).toBe(2);
        expect(r.stdout).toBe('');
      }
    }
  }, 120_000);

  // Host time is a benchmark's business, never a test's: this checks only that the demo runs and tells its story.
  it('kernsim demo (npm start) runs and prints its comparison', () => {
    const r = kernsim(['demo'], { CI: 'true' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('kernsim demo:');
    expect(r.stdout).toMatch(/MADV_DONTNEED/);
    expect(r.stdout).toMatch(/MADV_FREE/);
  }, 120_000);
});
