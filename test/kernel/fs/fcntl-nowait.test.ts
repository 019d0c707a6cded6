/**
 * fcntl's no-wait path (sys_fcntl_nowait: F_GETFD and F_GETFL through
 * syscallNoWait when the fd table is not shared) answers and charges exactly
 * as sys_fcntl does, and declines (null) where sys_fcntl must run.
 */
import { describe, expect, it } from 'vitest';
import { sys_fcntl, sys_fcntl_nowait, sys_open } from '../../../src/kernel/fs/fd_syscalls.js';
import { F_GETFD, F_GETFL, F_SETFD, FD_CLOEXEC } from '../../../src/kernel/fs/uapi_fcntl.js';
import type { Blocking, Task } from '../../../src/sim/task.js';
import { O_RDONLY, O_RDWR, runProcess } from './helpers.js';

const O_CLOEXEC = 0o2000000;
const O_PATH = 0o10000000;

/** Each call's return value and the cycles it took on the task's CPU. */
function calls(fast: boolean) {
  const out: [number | null, number][] = [];
  runProcess(function* (t: Task): Blocking<void> {
    const a = yield* sys_open(t, '/dev/null', O_RDONLY, 0);
    const b = yield* sys_open(t, '/dev/null', O_RDWR | O_CLOEXEC, 0);
    const p = yield* sys_open(t, '/dev/null', O_PATH, 0);
    yield* sys_fcntl(t, a, F_SETFD, FD_CLOEXEC);
    for (const fd of [a, b, p, 99, -1]) {
      for (const cmd of [F_GETFL, F_GETFD]) {
        const start = t.now;
        const r = fast ? sys_fcntl_nowait(t, fd, cmd) : yield* sys_fcntl(t, fd, cmd, 0);
        out.push([r, t.now - start]);
      }
    }
  });
  return out;
}

describe('sys_fcntl_nowait', () => {
  it('gives sys_fcntl\'s answers and cycles for F_GETFL and F_GETFD, EBADF and O_PATH included', () => {
    const slow = calls(false);
    const fast = calls(true);
    expect(fast).toEqual(slow);
    expect(fast.some(([r]) => r === -9)).toBe(true);
  });

  it('declines other commands and a shared fd table', () => {
    const got: (number | null)[] = [];
    runProcess(function* (t: Task, ts): Blocking<void> {
      const a = yield* sys_open(t, '/dev/null', O_RDONLY, 0);
      got.push(sys_fcntl_nowait(t, a, F_SETFD));
      (ts.files as { count: number }).count++;
      got.push(sys_fcntl_nowait(t, a, F_GETFL));
      (ts.files as { count: number }).count--;
    });
    expect(got).toEqual([null, null]);
  });
});
