/**
 * kernsim as npm installs it: the files `npm pack` would ship, copied to a
 * directory of their own and run from elsewhere. `conform` must find its
 * scripts and the C runner's sources in the package, build the runner under
 * the user's cache directory (XDG_CACHE_HOME, else ~/.cache), and say in one
 * line, not a stack trace, when that directory cannot be made. Source maps
 * carry their sources, which the package does not ship as files.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheDir, hostRunnerAvailable } from '../../src/conform/host.js';
import { CONFORMANCE_DIR, defaultSuiteDir } from '../../src/cli/commands/script.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'kernsim-installed-'));
const pkg = join(dir, 'node_modules', 'kernsim');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let packed: string[] = [];

beforeAll(() => {
  spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', root], { cwd: root, encoding: 'utf8', timeout: 300_000 });
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`npm pack --dry-run failed: ${r.stderr}`);
  packed = (JSON.parse(r.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
  for (const f of packed) {
    mkdirSync(dirname(join(pkg, f)), { recursive: true });
    cpSync(join(root, f), join(pkg, f));
  }
  // Its dependencies beside it, as npm installs them (this checkout's node_modules, a superset).
  for (const d of readdirSync(join(root, 'node_modules'))) {
    if (d !== 'kernsim' && d !== '.cache' && !existsSync(join(dir, 'node_modules', d))) symlinkSync(join(root, 'node_modules', d), join(dir, 'node_modules', d));
  }
}, 300_000);

function installed(args: string[], env: Record<string, string>): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(pkg, 'bin', 'kernsim.js'), ...args], { cwd: dir, encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', ...env }, timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('an installed package', () => {
  it('ships the conformance scripts with their recorded host outputs, every runner source, and LICENSE', () => {
    const conform = readdirSync(join(root, 'src', 'conform')).filter((f) => f.endsWith('.c') || f.endsWith('.h'));
    for (const f of conform) expect(packed, f).toContain(`src/conform/${f}`);
    const scripts = readdirSync(join(root, CONFORMANCE_DIR)).filter((f) => f.endsWith('.json') || f.endsWith('.jsonl'));
    expect(scripts.length).toBeGreaterThan(100);
    for (const f of scripts) expect(packed, f).toContain(`${CONFORMANCE_DIR}/${f}`);
    expect(packed).toContain('LICENSE');
    expect(packed).toContain('bin/kernsim.js');
    expect(packed.some((f) => f.startsWith('test/') && f.endsWith('.ts'))).toBe(false);
  });

  it('source maps carry their sources (the .ts files are not shipped)', () => {
    const map = JSON.parse(readFileSync(join(pkg, 'dist', 'src', 'cli', 'main.js.map'), 'utf8')) as { sources: string[]; sourcesContent?: string[] };
    expect(map.sourcesContent?.length).toBe(map.sources.length);
    expect(map.sourcesContent![0]).toContain('export');
  });

  it('conform finds its shipped suite when run outside a checkout', () => {
    expect(defaultSuiteDir(root)).toBe(CONFORMANCE_DIR);
    // From a directory that is not a checkout, the package's own suite.
    expect(defaultSuiteDir(dir)).toBe(join(root, CONFORMANCE_DIR));
  });

  it('the helper cache is the user\'s: XDG_CACHE_HOME, else ~/.cache, never the package', () => {
    expect(cacheDir({ XDG_CACHE_HOME: '/x/cache', HOME: '/home/u' })).toBe('/x/cache/kernsim');
    expect(cacheDir({ HOME: '/home/u' })).toBe('/home/u/.cache/kernsim');
    // The specification ignores a relative XDG_CACHE_HOME.
    expect(cacheDir({ XDG_CACHE_HOME: 'rel', HOME: '/home/u' })).toBe('/home/u/.cache/kernsim');
  });

  it.skipIf(!hostRunnerAvailable())('conform runs a script on the host from the installed package, building its runner under XDG_CACHE_HOME', () => {
    const cache = join(dir, 'xdg');
    const script = join(pkg, CONFORMANCE_DIR, 'fd-dup.json');
    expect(existsSync(script)).toBe(true);
    const r = installed(['conform', script], { XDG_CACHE_HOME: cache, HOME: join(dir, 'home') });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain('1 agree, 0 differ');
    expect(readdirSync(join(cache, 'kernsim')).some((f) => f.startsWith('host-runner-'))).toBe(true);
    expect(existsSync(join(pkg, 'node_modules'))).toBe(false);
    // A cache directory that cannot be made: one line naming it and what to do, no stack trace.
    const bad = installed(['conform', script], { XDG_CACHE_HOME: '/dev/null/cache', HOME: join(dir, 'home') });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('cannot create the cache directory /dev/null/cache/kernsim (ENOTDIR); set XDG_CACHE_HOME to a writable directory');
    expect(bad.stdout + bad.stderr).not.toMatch(/\n\s+at /);
  }, 120_000);
});
