import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultConfig, type MachineConfig } from '../../../src/config/machine.js';
import { bootKernel } from '../../../src/kernel/boot.js';
import { EBADF, EBUSY, EINVAL, EMFILE, ENOENT, EPERM } from '../../../src/kernel/errno.js';
import { sys_close, sys_dup, sys_dup2, sys_dup3, sys_fcntl, sys_getrlimit, sys_open, sys_setrlimit } from '../../../src/kernel/fs/fd_syscalls.js';
import { fdtableSize, filesState, get_unused_fd_flags, type FilesStruct } from '../../../src/kernel/fs/file.js';
import type { Kernel } from '../../../src/kernel/kernel.js';
import { rcuOf } from '../../../src/kernel/rcu/tree.js';
import { current } from '../../../src/kernel/sched/task_struct.js';
import type { Task, TaskBody } from '../../../src/sim/task.js';
import {
  F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_GETFL, F_SETFD, F_SETFL, O_APPEND, O_CLOEXEC, O_CREAT, O_LARGEFILE, O_NONBLOCK, O_RDWR, O_TRUNC, RLIMIT_NOFILE,
} from '../../../src/kernel/fs/uapi_fcntl.js';

function cfg(cpus = 2): MachineConfig {
  const c = defaultConfig();
  c.cpus = cpus;
  return c;
}

/** Run `body` as a new process's only thread on a booted kernel; returns the kernel after the run. */
function runProcess(body: (t: Task) => Generator<unknown, void, unknown>, c = cfg()): Kernel {
  const k = bootKernel(c);
  k.spawnProcess('p', (t: Task) => body(t) as TaskBody, { cpu: 0 });
  k.run();
  expect(k.engine.blockedTasks()).toEqual([]);
  return k;
}

describe('fd table sizes', () => {
  it('grows in the seed steps: 1 KiB of pointers, doubling, capped by nr_open', () => {
    expect(fdtableSize(64, 1 << 20)).toBe(128);
    expect(fdtableSize(127, 1 << 20)).toBe(128);
    expect(fdtableSize(128, 1 << 20)).toBe(256);
    expect(fdtableSize(256, 1 << 20)).toBe(512);
    expect(fdtableSize(1000, 1 << 20)).toBe(1024);
    expect(fdtableSize(5000, 1 << 20)).toBe(8192);
    expect(fdtableSize(5000, 4000)).toBe(4032);
  });
});

describe('fd syscalls', () => {
  it('a new process has 0-2 on one /dev/null; open takes the lowest free fd', () => {
    const r: number[] = [];
    runProcess(function* (t) {
      r.push(yield* sys_open(t, '/dev/null', O_RDWR, 0));
      r.push(yield* sys_close(t, 1));
      r.push(yield* sys_open(t, '/dev/null', O_RDWR, 0));
      r.push(yield* sys_open(t, '/nonexistent', 0, 0));
      r.push(yield* sys_fcntl(t, 0, F_GETFL, 0));
      const files = current(t).files as FilesStruct;
      r.push(files.fdt.fd[0]!.f_count);
    });
    // fd 0 and 2 still name the initial /dev/null: two references.
    expect(r).toEqual([3, 0, 1, -ENOENT, O_RDWR | O_LARGEFILE, 2]);
  });

  it('matches the host kernel on dup, dup2, dup3 and fcntl edge cases', () => {
    const r: [string, number][] = [];
    runProcess(function* (t) {
      const fd = yield* sys_open(t, '/dev/null', O_RDWR | O_CLOEXEC | O_NONBLOCK | O_APPEND | O_TRUNC | O_CREAT, 0o644);
      const p = (name: string, v: number): void => void r.push([name, v]);
      p('open', fd);
      p('getfl', yield* sys_fcntl(t, fd, F_GETFL, 0));
      p('getfd', yield* sys_fcntl(t, fd, F_GETFD, 0));
      p('setfl', yield* sys_fcntl(t, fd, F_SETFL, 0));
      p('getfl2', yield* sys_fcntl(t, fd, F_GETFL, 0));
      p('setfd3', yield* sys_fcntl(t, fd, F_SETFD, 3));
      p('getfd2', yield* sys_fcntl(t, fd, F_GETFD, 0));
      p('dupfd-1', yield* sys_fcntl(t, fd, F_DUPFD, -1));
      p('dupfd1024', yield* sys_fcntl(t, fd, F_DUPFD, 1024));
      p('dupfd1023', yield* sys_fcntl(t, fd, F_DUPFD, 1023));
      p('dupfdcloexec5', yield* sys_fcntl(t, fd, F_DUPFD_CLOEXEC, 5));
      p('getfd5', yield* sys_fcntl(t, 5, F_GETFD, 0));
      p('badcmd', yield* sys_fcntl(t, fd, 9999, 0));
      p('badfd', yield* sys_fcntl(t, -1, 9999, 0));
      p('dup2 closed self', yield* sys_dup2(t, 77, 77));
      p('dup2 self', yield* sys_dup2(t, fd, fd));
      p('dup3 self', yield* sys_dup3(t, fd, fd, 0));
      p('dup3 closed self', yield* sys_dup3(t, 77, 77, 0));
      p('dup3 bad flags', yield* sys_dup3(t, fd, 9, 1));
      p('dup3 closed', yield* sys_dup3(t, 77, 9, 0));
      p('dup3 cloexec', yield* sys_dup3(t, fd, 9, O_CLOEXEC));
      p('getfd9', yield* sys_fcntl(t, 9, F_GETFD, 0));
      p('dup2 1024', yield* sys_dup2(t, fd, 1024));
      p('dup2 -1', yield* sys_dup2(t, fd, -1));
      p('dup2 from -1', yield* sys_dup2(t, -1, 5));
      p('close -1', yield* sys_close(t, -1));
      p('close 1023', yield* sys_close(t, 1023));
      p('close 5000', yield* sys_close(t, 5000));
    });
    expect(r).toEqual([
      ['open', 3], ['getfl', O_RDWR | O_LARGEFILE | O_NONBLOCK | O_APPEND], ['getfd', 1], ['setfl', 0], ['getfl2', O_RDWR | O_LARGEFILE],
      ['setfd3', 0], ['getfd2', 1], ['dupfd-1', -EINVAL], ['dupfd1024', -EINVAL], ['dupfd1023', 1023], ['dupfdcloexec5', 5], ['getfd5', 1],
      ['badcmd', -EINVAL], ['badfd', -EBADF], ['dup2 closed self', -EBADF], ['dup2 self', 3], ['dup3 self', -EINVAL], ['dup3 closed self', -EINVAL],
      ['dup3 bad flags', -EINVAL], ['dup3 closed', -EBADF], ['dup3 cloexec', 9], ['getfd9', 1], ['dup2 1024', -EBADF], ['dup2 -1', -EBADF],
      ['dup2 from -1', -EBADF], ['close -1', -EBADF], ['close 1023', 0], ['close 5000', -EBADF],
    ]);
  });

  it('RLIMIT_NOFILE: EMFILE, EBADF and EINVAL at the limit; setrlimit checks', () => {
    const r: number[] = [];
    const lim = { cur: 0, max: 0 };
    runProcess(function* (t) {
      r.push(yield* sys_setrlimit(t, RLIMIT_NOFILE, 10, 5));
      r.push(yield* sys_setrlimit(t, RLIMIT_NOFILE, 10, Infinity));
      r.push(yield* sys_setrlimit(t, RLIMIT_NOFILE, 10, 5000));
      r.push(yield* sys_setrlimit(t, RLIMIT_NOFILE, 6, 20));
      for (let i = 0; i < 4; i++) r.push(yield* sys_dup(t, 0));
      r.push(yield* sys_fcntl(t, 0, F_DUPFD, 6));
      r.push(yield* sys_fcntl(t, 0, F_DUPFD, 5));
      r.push(yield* sys_dup2(t, 0, 6));
      r.push(yield* sys_dup2(t, 0, 5));
      r.push(yield* sys_open(t, '/nonexistent', 0, 0));
      r.push(yield* sys_setrlimit(t, RLIMIT_NOFILE, 8, 30));
      r.push(yield* sys_getrlimit(t, RLIMIT_NOFILE, lim));
    });
    expect(r).toEqual([-EINVAL, -EPERM, -EPERM, 0, 3, 4, 5, -EMFILE, -EINVAL, -EMFILE, -EBADF, 5, -EMFILE, -EPERM, 0]);
    expect(lim).toEqual({ cur: 6, max: 20 });
  });

  it('dup2 over an fd allocated but not yet installed is EBUSY', () => {
    let r = 0;
    runProcess(function* (t) {
      const fd = yield* get_unused_fd_flags(t, 0);
      r = yield* sys_dup2(t, 0, fd);
    });
    expect(r).toBe(-EBUSY);
  });
});

describe('fget_light', () => {
  it('takes no reference while the table is not shared, and a reference once a thread shares it', () => {
    const k = bootKernel(cfg());
    const fast: number[] = [];
    const leader = k.spawnProcess('p', function* (t: Task): TaskBody {
      yield* sys_fcntl(t, 0, F_GETFL, 0);
      fast.push(k.engine.counters.get('fget_light_fast'));
      k.spawnThread(current(t), 'sibling', function* (): TaskBody {}, { cpu: 1 });
      yield* sys_fcntl(t, 0, F_GETFL, 0);
      fast.push(k.engine.counters.get('fget_light_fast'));
      // fcntl's reference was dropped again: fds 0-2 hold the only three.
      fast.push((current(t).files as FilesStruct).fdt.fd[0]!.f_count);
    }, { cpu: 0 });
    k.run();
    expect(leader.files).not.toBe(null);
    expect(fast).toEqual([1, 1, 3]);
  });
});

describe('fd table growth and RCU', () => {
  it('expansion publishes a new table and frees the old one only after a grace period', () => {
    const sizes: number[] = [];
    const k = runProcess(function* (t) {
      const files = current(t).files as FilesStruct;
      for (let i = 3; i < 600; i++) {
        yield* sys_open(t, '/dev/null', O_RDWR, 0);
        if (sizes[sizes.length - 1] !== files.fdt.max_fds) sizes.push(files.fdt.max_fds);
      }
    });
    expect(sizes).toEqual([64, 128, 256, 512, 1024]);
    const c = k.engine.counters;
    expect(c.get('fdtable_expand')).toBe(4);
    // The embedded table is not freed; 128, 256 and 512 go through RCU.
    expect(c.get('fdtable_freed')).toBe(3);
    expect(filesState(k).violations).toEqual([]);
    expect(rcuOf(k).violations).toEqual([]);
    expect(c.get('rcu_peak_bytes_pending')).toBeGreaterThan(0);
  });

  it('a vmalloc\'ed table goes through the per-CPU deferral list and a worker', () => {
    const c = cfg();
    const k = bootKernel(c);
    k.spawnProcess('p', function* (t: Task): TaskBody {
      current(t).rlimitNofile.cur = 100_000;
      current(t).rlimitNofile.max = 100_000;
      expect(yield* sys_dup2(t, 0, 5000)).toBe(5000);
      expect(yield* sys_dup2(t, 0, 20000)).toBe(20000);
    }, { cpu: 0 });
    k.run();
    expect(k.engine.counters.get('fdtable_free_deferred')).toBe(1);
    expect(k.engine.counters.get('fdtable_freed')).toBe(1);
    expect(filesState(k).violations).toEqual([]);
    expect(k.engine.blockedTasks()).toEqual([]);
  });
});

describe('fork and exec', () => {
  it('fork copies open fds (a reference each); exec closes close-on-exec fds', () => {
    const seen: number[] = [];
    const k = bootKernel(cfg());
    k.spawnProcess('parent', function* (t: Task): TaskBody {
      const a = yield* sys_open(t, '/dev/null', O_RDWR, 0);
      const b = yield* sys_open(t, '/dev/null', O_RDWR | O_CLOEXEC, 0);
      const parent = current(t);
      const child = yield* k.fork(t, parent, function* (ct: Task): TaskBody {
        const files = current(ct).files as FilesStruct;
        seen.push(files.fdt.open_fds[a]!, files.fdt.open_fds[b]!, files.fdt.fd[b]!.f_count);
        yield* k.exec(ct, current(ct));
        seen.push(files.fdt.open_fds[a]!, files.fdt.open_fds[b]!);
        yield* k.exit(ct, current(ct));
      });
      expect(typeof child).not.toBe('number');
    }, { cpu: 0 });
    k.run();
    expect(seen).toEqual([1, 1, 2, 1, 0]);
  });
});

describe('property: fd numbers follow the lowest-free reference model', () => {
  type Op = { kind: 'open' } | { kind: 'close'; fd: number } | { kind: 'dup'; fd: number } | { kind: 'dup2'; fd: number; nfd: number } | { kind: 'dupfd'; fd: number; min: number };
  const fdArb = fc.integer({ min: -1, max: 140 });
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.constant<Op>({ kind: 'open' }),
    fdArb.map<Op>((fd) => ({ kind: 'close', fd })),
    fdArb.map<Op>((fd) => ({ kind: 'dup', fd })),
    fc.tuple(fdArb, fdArb).map<Op>(([fd, nfd]) => ({ kind: 'dup2', fd, nfd })),
    fc.tuple(fdArb, fdArb).map<Op>(([fd, min]) => ({ kind: 'dupfd', fd, min })),
  );

  it('open, close, dup, dup2 and F_DUPFD agree with a set of open fds', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 300 }), fc.integer({ min: 3, max: 130 }), (ops, limit) => {
        const model = new Set([0, 1, 2]);
        const lowest = (from: number): number => {
          let f = Math.max(from, 0);
          while (model.has(f)) f++;
          return f;
        };
        const got: number[] = [];
        const want: number[] = [];
        const k = bootKernel(cfg(1));
        k.spawnProcess('p', function* (t: Task): TaskBody {
          current(t).rlimitNofile.cur = limit;
          for (const op of ops) {
            let w: number;
            if (op.kind === 'open') {
              const f = lowest(0);
              w = f < limit ? f : -EMFILE;
              got.push(yield* sys_open(t, '/dev/null', O_RDWR, 0));
            } else if (op.kind === 'close') {
              w = model.has(op.fd) ? 0 : -EBADF;
              if (w === 0) model.delete(op.fd);
              got.push(yield* sys_close(t, op.fd));
            } else if (op.kind === 'dup') {
              const f = lowest(0);
              w = !model.has(op.fd) ? -EBADF : f < limit ? f : -EMFILE;
              got.push(yield* sys_dup(t, op.fd));
            } else if (op.kind === 'dup2') {
              if (op.fd === op.nfd) w = model.has(op.fd) ? op.fd : -EBADF;
              else if (op.nfd < 0 || op.nfd >= limit) w = -EBADF;
              else w = model.has(op.fd) ? op.nfd : -EBADF;
              got.push(yield* sys_dup2(t, op.fd, op.nfd));
            } else {
              if (!model.has(op.fd)) w = -EBADF;
              else if (op.min < 0 || op.min >= limit) w = -EINVAL;
              else {
                const f = lowest(op.min);
                w = f < limit ? f : -EMFILE;
              }
              got.push(yield* sys_fcntl(t, op.fd, F_DUPFD, op.min));
            }
            if (w >= 0 && op.kind !== 'close') model.add(w);
            want.push(w);
          }
        }, { cpu: 0 });
        k.run();
        expect(got).toEqual(want);
        expect(filesState(k).violations).toEqual([]);
        expect(rcuOf(k).violations).toEqual([]);
      }),
      { numRuns: 150 },
    );
  });
});

describe('property: threads sharing one fd table', () => {
  type TOp = { kind: 'open' | 'close' | 'dup2' | 'lookup'; fd: number; think: number };
  const top: fc.Arbitrary<TOp> = fc.record({
    kind: fc.constantFrom<'open' | 'close' | 'dup2' | 'lookup'>('open', 'close', 'dup2', 'lookup'),
    fd: fc.integer({ min: 0, max: 700 }),
    think: fc.integer({ min: 0, max: 30_000 }),
  });

  it('no table or file is freed before its grace period, lookups never see freed memory, and references add up', () => {
    fc.assert(
      fc.property(fc.array(fc.array(top, { maxLength: 60 }), { minLength: 2, maxLength: 4 }), fc.constantFrom(2, 4), fc.constantFrom(0, 1000), (threads, cpus, quantum) => {
        const c = cfg(cpus);
        c.sim = { ...c.sim, quantum };
        const k = bootKernel(c);
        const body = (ops: TOp[]) =>
          function* (t: Task): TaskBody {
            for (const op of ops) {
              t.charge(op.think);
              if (op.kind === 'open') yield* sys_open(t, '/dev/null', O_RDWR, 0);
              else if (op.kind === 'close') yield* sys_close(t, op.fd);
              else if (op.kind === 'dup2') yield* sys_dup2(t, 0, op.fd);
              else yield* sys_fcntl(t, op.fd, F_GETFL, 0);
              if (t.shouldYield()) yield;
            }
          };
        const leader = k.spawnProcess('p', body(threads[0]!), { cpu: 0 });
        threads.slice(1).forEach((ops, i) => k.spawnThread(leader, `t${i}`, body(ops), { cpu: (i + 1) % cpus }));
        k.run();
        expect(k.engine.blockedTasks()).toEqual([]);
        expect(filesState(k).violations).toEqual([]);
        expect(rcuOf(k).violations).toEqual([]);
        const fdt = (leader.files as FilesStruct).fdt;
        const refs = new Map<unknown, number>();
        for (let fd = 0; fd < fdt.max_fds; fd++) {
          expect(fdt.open_fds[fd] === 1).toBe(fdt.fd[fd] !== null);
          const f = fdt.fd[fd];
          if (f) refs.set(f, (refs.get(f) ?? 0) + 1);
        }
        for (const [f, n] of refs) expect((f as { f_count: number }).f_count).toBe(n);
      }),
      { numRuns: 100 },
    );
  });
});
