/**
 * Differential test of the VFS and inotify against the host kernel: random
 * scripts of file, directory and inotify operations (a few dozen ops over a
 * small set of names, with trailing slashes, "." and "..", fds that may or
 * may not be open, and every access-mode and whence combination) run on the
 * host through the conformance runner and on the simulator, and must print
 * the same lines. The scripts come from a seeded generator, so a failure
 * names a reproducible script (VFS_RANDOM_SCRIPTS=N runs more of them).
 * Skipped without a C compiler.
 */
import { describe, expect, it } from 'vitest';
import { hostRunnerAvailable, runOnHost } from '../../../src/conform/host.js';
import { defaultConfig } from '../../../src/config/machine.js';
import { Rng } from '../../../src/sim/random.js';
import { compareRuns } from '../../../src/workloads/script/compare.js';
import { runScript } from '../../../src/workloads/script/interp.js';
import { parseScript } from '../../../src/workloads/script/parse.js';

const NAMES = ['a', 'b', 'c', 'd', 'd/a', 'd/b', 'e', 'e/a', 'd/e', 'd/e/a', 'd/', 'e/', './a', 'd/../b', 'd/.', 'e/../d/a', 'a/'];
const DIRS = ['d', 'e', 'd/e', 'e/d'];
const OPEN_FLAGS = [['rdonly'], ['wronly', 'creat'], ['rdwr', 'creat'], ['rdwr', 'creat', 'excl'], ['wronly', 'trunc'], ['rdwr', 'append', 'creat'], ['rdonly', 'directory'], ['wronly', 'creat', 'trunc']];
const MASKS = ['all_events', 'create', 'modify', 'delete', 'close_write', 'attrib', 'moved_from', 'moved_to', 'open', 'access', 'delete_self', 'move_self', 'close_nowrite'];
const WHENCE = ['SET', 'CUR', 'END', 'DATA', 'HOLE'];

function pick<T>(r: Rng, xs: readonly T[]): T {
  return xs[r.nextU32() % xs.length]!;
}

/** A random script: ops drawn with fixed weights, then a final read of the inotify queue. */
function randomScript(seed: number): string {
  const r = new Rng(seed);
  const ops: unknown[] = [{ op: 'inotify_init1', flags: ['nonblock'], as: 'I' }];
  const n = 20 + (r.nextU32() % 60);
  const fd = (): number => 4 + (r.nextU32() % 6);
  for (let i = 0; i < n; i++) {
    const x = r.nextU32() % 100;
    const name = pick(r, NAMES);
    if (x < 15) ops.push({ op: 'open', path: name, flags: pick(r, OPEN_FLAGS) });
    else if (x < 22) ops.push({ op: 'close', fd: fd() });
    else if (x < 32) ops.push({ op: 'write', fd: fd(), len: pick(r, [0, 1, 100, 4096, 5000, 9000]), byte: r.nextU32() % 256 });
    else if (x < 40) ops.push({ op: 'read', fd: fd(), len: pick(r, [0, 1, 100, 5000, 20000]) });
    else if (x < 46) ops.push({ op: 'lseek', fd: fd(), offset: pick(r, [0, 1, 4096, -1, 100000, 8192]), whence: pick(r, WHENCE) });
    else if (x < 50) ops.push({ op: 'ftruncate', fd: fd(), len: pick(r, [0, 10, 4096, 20000]) });
    else if (x < 56) ops.push({ op: 'unlink', path: name });
    else if (x < 64) ops.push({ op: 'mkdir', path: pick(r, DIRS) });
    else if (x < 68) ops.push({ op: 'rmdir', path: pick(r, DIRS) });
    else if (x < 78) ops.push({ op: 'rename', from: name, to: pick(r, NAMES) });
    else if (x < 82) ops.push({ op: 'chmod', path: name, mode: pick(r, ['0644', '0600', '0755', '0700', '0444']) });
    else if (x < 90) {
      const mask = [pick(r, MASKS), pick(r, MASKS)];
      ops.push({ op: 'inotify_add_watch', fd: '$I', path: pick(r, [...NAMES, '.']), mask: [...new Set(mask)] });
    } else if (x < 93) ops.push({ op: 'inotify_rm_watch', fd: '$I', wd: 1 + (r.nextU32() % 5) });
    else if (x < 97) ops.push({ op: 'inotify_read', fd: '$I', bufsize: pick(r, [16, 32, 100, 4096]) });
    else ops.push({ op: 'fionread', fd: pick(r, ['$I', 4, 5]) });
  }
  ops.push({ op: 'inotify_read', fd: '$I', bufsize: 65536 });
  return JSON.stringify({ kernsim_script: 1, name: `vfs-random-${seed}`, ops });
}

const SCRIPTS = Number(process.env.VFS_RANDOM_SCRIPTS ?? 60);

describe.skipIf(!hostRunnerAvailable())('VFS and inotify against the host kernel on random scripts', () => {
  it(`${SCRIPTS} seeded scripts print the same lines on both`, async () => {
    const failures: string[] = [];
    for (let seed = 1; seed <= SCRIPTS; seed++) {
      const script = parseScript(randomScript(seed), `vfs-random-${seed}.json`);
      const host = await runOnHost(script);
      const sim = runScript(script, defaultConfig()).lines;
      const r = compareRuns(host, sim);
      if (!r.agree) failures.push(`seed ${seed}, line ${r.index}: host ${r.host} sim ${r.sim}`);
    }
    expect(failures).toEqual([]);
  }, 120_000);
});
