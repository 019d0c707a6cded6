/**
 * The fd scripts of the conformance suite that need nothing but the fd ops,
 * run on the simulated kernel and compared line by line with the host
 * kernel's recorded output. Regular files come from a stand-in open handler
 * (create on O_CREAT, EEXIST with O_EXCL, ENOENT otherwise; `.` exists) until the VFS
 * lands; scripts using any other op are left to the full interpreter.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../src/config/machine.js';
import { bootKernel } from '../../../src/kernel/boot.js';
import { EEXIST, ENOENT } from '../../../src/kernel/errno.js';
import { null_fops, open_f_flags, open_f_mode, register_open_handler } from '../../../src/kernel/fs/fd_syscalls.js';
import { alloc_file } from '../../../src/kernel/fs/file.js';
import { O_CREAT, O_EXCL } from '../../../src/kernel/fs/uapi_fcntl.js';
import type { Kernel } from '../../../src/kernel/kernel.js';
import { current } from '../../../src/kernel/sched/task_struct.js';
import type { Task, TaskBody } from '../../../src/sim/task.js';
import { compareRuns, formatLine, parseScript, type ParsedScript } from '../../../src/workloads/script/index.js';
import { CookieNames } from '../../../src/workloads/script/format.js';
import { fdOps, type OpEnv } from '../../../src/workloads/script/ops/fd.js';

const DIR = new URL('../../conformance/', import.meta.url);

function standInFiles(k: Kernel): void {
  // path -> owner uid; the working directory exists.
  const files = new Map<string, number>([['.', 1000]]);
  register_open_handler(k, function* (t, path, flags) {
    const k = t.k;
    if (path.startsWith('/dev/')) return null;
    let owner = files.get(path);
    if (owner !== undefined && (flags & (O_CREAT | O_EXCL)) === (O_CREAT | O_EXCL)) return -EEXIST;
    if (owner === undefined) {
      if (!(flags & O_CREAT)) return -ENOENT;
      owner = current(t).cred.uid;
      files.set(path, owner);
    }
    const f = alloc_file(k, t, path, open_f_flags(flags), open_f_mode(flags), null_fops);
    f.ownerUid = owner;
    return f;
  });
}

function runScript(s: ParsedScript): string[] {
  const k = bootKernel(defaultConfig());
  standInFiles(k);
  const lines: string[] = [];
  const names = new Map<string, number>();
  k.spawnProcess('script', function* (t: Task): TaskBody {
    const env: OpEnv = {
      k,
      t,
      ref: (r) => ('name' in r ? names.get(r.name)! + r.offset : r.value),
      bind: (name, v) => {
        if (name !== undefined) names.set(name, v);
      },
      cookies: new CookieNames(),
    };
    for (const [i, op] of s.ops.entries()) {
      const out = yield* fdOps[op.op]!(env, op);
      lines.push(formatLine({ i, op: op.op, ...out }));
    }
  }, { cpu: 0 });
  k.run();
  return lines;
}

const scripts = readdirSync(DIR)
  .filter((f) => /^fd-.*\.json$/.test(f))
  .sort()
  .map((f) => ({ f, s: parseScript(readFileSync(new URL(f, DIR), 'utf8'), f) }))
  .filter(({ s }) => s.ops.every((o) => o.op in fdOps));

describe('fd conformance scripts on the simulated kernel', () => {
  it('finds scripts to run', () => {
    expect(scripts.length).toBeGreaterThan(15);
  });
  for (const { f, s } of scripts) {
    it(f, () => {
      const host = readFileSync(new URL(f.replace(/\.json$/, '.host.jsonl'), DIR), 'utf8').split('\n');
      expect(compareRuns(host, runScript(s))).toEqual({ agree: true });
    });
  }
});
