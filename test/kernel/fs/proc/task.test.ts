/**
 * /proc/PID/task and its /proc/PID/task/TID directories (fs/proc/base.c
 * proc_task_lookup, proc_task_readdir, proc_task_getattr): what the
 * conformance script proc-task-tid cannot show because it would print pids,
 * which differ between kernels: readdir lists the live threads by tid; a tid names a directory under its own process's task/ only;
 * a thread's tid names a /proc/TID directory too (find_task_by_pid_ns),
 * though /proc's readdir would list only processes.
 */
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../../src/config/machine.js';
import { runScript } from '../../../../src/workloads/script/interp.js';
import { parseScript } from '../../../../src/workloads/script/parse.js';

function run(ops: unknown[]): Record<string, unknown>[] {
  const r = runScript(parseScript(JSON.stringify({ kernsim_script: 1, ops }), 'task.json'), defaultConfig());
  expect(r.finished).toBe(true);
  return r.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
}

const listTask = { op: 'open', path: '/proc/self/task', flags: ['rdonly', 'directory'], as: 'T' };
const spinner = (name: string): unknown => ({ op: 'thread', as: name, ops: [{ op: 'spin' }] });

describe('/proc/PID/task', () => {
  it('lists the live threads by tid and drops a joined one', () => {
    const out = run([
      spinner('A'),
      spinner('B'),
      listTask,
      { op: 'getdents64', fd: '$T', count: 4096 },
      { op: 'join', thread: '$A' },
      { op: 'lseek', fd: '$T', offset: 0, whence: 'SET' },
      { op: 'getdents64', fd: '$T', count: 4096 },
      { op: 'join', thread: '$B' },
    ]);
    const alone = run([listTask, { op: 'getdents64', fd: '$T', count: 4096 }]);
    const self = (alone[1]!['names'] as string[])[2]!;
    // A script prints names sorted; the thread started first has the lower tid.
    const first = out[3]!['names'] as string[];
    expect(first).toHaveLength(5);
    const others = first.slice(2).filter((n) => n !== self).map(Number).sort((x, y) => x - y);
    expect(others).toHaveLength(2);
    expect(others[0]).toBeGreaterThan(Number(self));
    expect(new Set(out[6]!['names'] as string[])).toEqual(new Set(['.', '..', self, String(others[1])]));
  });

  it('finds a thread under its own process only, and by its tid at /proc/TID', () => {
    const probe = run([spinner('A'), listTask, { op: 'getdents64', fd: '$T', count: 4096 }, { op: 'join', thread: '$A' }]);
    const alone = run([listTask, { op: 'getdents64', fd: '$T', count: 4096 }]);
    const self = (alone[1]!['names'] as string[])[2]!;
    const tid = (probe[2]!['names'] as string[]).slice(2).find((n) => n !== self)!;
    const out = run([
      spinner('A'),
      { op: 'newfstatat', path: `/proc/self/task/${tid}` },
      { op: 'newfstatat', path: `/proc/self/task/${self}/fd` },
      { op: 'newfstatat', path: `/proc/${tid}` },
      { op: 'newfstatat', path: `/proc/${tid}/task` },
      { op: 'newfstatat', path: `/proc/${tid}/task/${self}` },
      { op: 'newfstatat', path: `/proc/self/task/${tid}/task` },
      { op: 'fork', ops: [{ op: 'newfstatat', path: `/proc/self/task/${tid}` }, { op: 'newfstatat', path: `/proc/self/task/${self}` }] },
      { op: 'join', thread: '$A' },
      { op: 'newfstatat', path: `/proc/self/task/${tid}` },
      { op: 'newfstatat', path: `/proc/${tid}` },
    ]);
    const st = (i: number): unknown => [out[i]!['ret'], out[i]!['errno'], out[i]!['nlink']];
    expect(st(1)).toEqual([0, null, 7]);
    expect(st(2)).toEqual([0, null, 2]);
    expect(st(3)).toEqual([0, null, 9]);
    expect(st(4)).toEqual([0, null, 4]);
    expect(st(5)).toEqual([0, null, 7]);
    expect(st(6)).toEqual([-1, 'ENOENT', undefined]);
    const child = out[7]!['child'] as Record<string, unknown>[];
    expect(child.map((l) => l['errno'])).toEqual(['ENOENT', 'ENOENT']);
    expect(st(9)).toEqual([-1, 'ENOENT', undefined]);
    expect(st(10)).toEqual([-1, 'ENOENT', undefined]);
  });
});
