/**
 * inotify beyond the conformance scripts: today's coalescing rule (no
 * cookie comparison), exactly one IN_Q_OVERFLOW per overflow, the per-user
 * limits (EMFILE, ENOSPC, and the wd a refused watch still consumes), a
 * blocking read that sleeps in simulated time until an event arrives, the
 * slab memory an event holds until it is read, FIONREAD's walk of the
 * queue, IN_ONESHOT, and what closing an instance gives back.
 */
import { describe, expect, it } from 'vitest';
import { EMFILE, ENOSPC } from '../../../../src/kernel/errno.js';
import { sys_close, sys_open } from '../../../../src/kernel/fs/fd_syscalls.js';
import { sys_mkdir, sys_rename } from '../../../../src/kernel/fs/namei_ops.js';
import {
  IN_CREATE,
  IN_IGNORED,
  IN_MODIFY,
  IN_MOVED_FROM,
  IN_NONBLOCK,
  IN_ONESHOT,
  IN_Q_OVERFLOW,
  inotify_user_counts,
  sys_inotify_add_watch,
  sys_inotify_init1,
  sys_inotify_rm_watch,
  type InotifyEventRecord,
  type InotifyReadBuf,
} from '../../../../src/kernel/fs/notify/inotify_user.js';
import { FIONREAD, sys_ioctl, sys_read, sys_write } from '../../../../src/kernel/fs/read_write.js';
import { Slab } from '../../../../src/kernel/mm/slab.js';
import { bootKernel } from '../../../../src/kernel/boot.js';
import { current } from '../../../../src/kernel/sched/task_struct.js';
import type { Blocking, Task } from '../../../../src/sim/task.js';
import { O_CREAT, O_WRONLY, runProcess, testConfig } from '../helpers.js';

function* events(t: Task, fd: number, bufsize = 65536): Blocking<InotifyEventRecord[] | number> {
  const buf: InotifyReadBuf = { sum: 0, events: [] };
  const n = yield* sys_read(t, fd, bufsize, buf);
  return n < 0 ? n : buf.events!;
}

function* touch(t: Task, path: string): Blocking<void> {
  yield* sys_close(t, yield* sys_open(t, path, O_WRONLY | O_CREAT, 0o644));
}

describe('inotify queue', () => {
  it('merges an event into the last one queued when mask, wd and name match, whatever the cookie', () => {
    let got: unknown = null;
    const k = runProcess(function* (t) {
      const fd = yield* sys_inotify_init1(t, IN_NONBLOCK);
      yield* sys_mkdir(t, 'sub', 0o755);
      yield* sys_inotify_add_watch(t, fd, '.', IN_MOVED_FROM);
      yield* touch(t, 'a');
      yield* sys_rename(t, 'a', 'sub/x');
      yield* touch(t, 'a');
      yield* sys_rename(t, 'a', 'sub/y');
      got = yield* events(t, fd);
    });
    expect(got).toEqual([{ wd: 1, mask: IN_MOVED_FROM, cookie: 1, name: 'a' }]);
    expect(k.engine.counters.get('inotify_events_merged')).toBe(1);
  });

  it('queues exactly one IN_Q_OVERFLOW when full, and another only after a read has made room', () => {
    const batches: unknown[] = [];
    const k = runProcess(
      function* (t) {
        const fd = yield* sys_inotify_init1(t, IN_NONBLOCK);
        const f = yield* sys_open(t, 'f', O_WRONLY | O_CREAT, 0o644);
        const g = yield* sys_open(t, 'g', O_WRONLY | O_CREAT, 0o644);
        yield* sys_inotify_add_watch(t, fd, '.', IN_MODIFY);
        for (let round = 0; round < 2; round++) {
          // Alternating files: no two consecutive events are alike, so none merge.
          for (let i = 0; i < 10; i++) yield* sys_write(t, i % 2 ? g : f, 1, 1);
          const ev = (yield* events(t, fd)) as InotifyEventRecord[];
          batches.push(ev.map((e) => (e.mask === IN_Q_OVERFLOW ? `overflow/${e.wd}` : e.name)));
        }
      },
      testConfig((c) => {
        c.kernel.inotify_max_queued_events = 4;
      }),
    );
    expect(batches).toEqual([
      ['f', 'g', 'f', 'g', 'overflow/-1'],
      ['f', 'g', 'f', 'g', 'overflow/-1'],
    ]);
    expect(k.engine.counters.get('inotify_queue_overflow')).toBe(2);
    expect(k.engine.counters.get('inotify_events_dropped')).toBe(12);
  });

  it('reports the queued bytes with FIONREAD by walking the queue', () => {
    const seen: number[] = [];
    const walk: number[] = [];
    runProcess(function* (t) {
      const kk = t.k;
      const fd = yield* sys_inotify_init1(t, IN_NONBLOCK);
      yield* sys_inotify_add_watch(t, fd, '.', IN_CREATE);
      for (let n = 1; n <= 2; n++) {
        for (let i = 0; i < 50; i++) yield* touch(t, `n${n}-${i}`);
        const out = { value: 0 };
        const a = kk.engine.attribution;
        const node = a.pathNode(['syscall:ioctl', 'inotify_ioctl']);
        const before = a.exclusiveOf(node);
        yield* sys_ioctl(t, fd, FIONREAD, out);
        walk.push(a.exclusiveOf(node) - before);
        seen.push(out.value);
      }
    });
    // 16 bytes of struct inotify_event plus a 16-byte padded name each ("n1-0" .. "n2-49" all fit).
    expect(seen).toEqual([50 * 32, 100 * 32]);
    // Twice the events, more of the walk (every queued event's line is read).
    expect(walk[1]!).toBeGreaterThan(walk[0]!);
  });

  it('holds a slab object per queued event, given back when it is read', () => {
    const held: number[] = [];
    runProcess(function* (t) {
      const k = t.k;
      const fd = yield* sys_inotify_init1(t, IN_NONBLOCK);
      yield* sys_inotify_add_watch(t, fd, '.', IN_CREATE);
      const bf = yield* sys_open(t, 'abc', O_WRONLY | O_CREAT, 0o644);
      const afterCreate = k.slab.bytesInUse;
      yield* events(t, fd);
      const afterRead = k.slab.bytesInUse;
      yield* sys_close(t, bf);
      // The event object (32 bytes of inotify_event_info + "abc\0") against the file's other objects.
      held.push(afterCreate - afterRead);
    });
    expect(held).toEqual([Slab.sizeClass(32 + 4)]);
  });
});

describe('inotify limits', () => {
  it('max_user_instances: EMFILE for the user over it, not for another user', () => {
    const seen: number[] = [];
    const cfg = testConfig((c) => {
      c.kernel.inotify_max_user_instances = 2;
    });
    const k = bootKernel(cfg);
    for (const uid of [1000, 1001]) {
      k.spawnProcess(
        `u${uid}`,
        function* (t) {
          for (let i = 0; i < 3; i++) seen.push(yield* sys_inotify_init1(t, 0));
        },
        { cpu: 0, cred: { uid } },
      );
    }
    k.run();
    expect(seen).toEqual([3, 4, -EMFILE, 3, 4, -EMFILE]);
  });

  it('max_user_watches: ENOSPC, and the refused watch still used up a watch descriptor', () => {
    const seen: number[] = [];
    runProcess(
      function* (t) {
        const k = t.k;
        const fd = yield* sys_inotify_init1(t, 0);
        yield* touch(t, 'f');
        yield* touch(t, 'g');
        seen.push(yield* sys_inotify_add_watch(t, fd, 'f', IN_MODIFY));
        seen.push(yield* sys_inotify_add_watch(t, fd, 'g', IN_MODIFY));
        seen.push(yield* sys_inotify_rm_watch(t, fd, 1));
        seen.push(yield* sys_inotify_add_watch(t, fd, 'g', IN_MODIFY));
        seen.push(inotify_user_counts(k, current(t).cred.uid).watches);
      },
      testConfig((c) => {
        c.kernel.inotify_max_user_watches = 1;
      }),
    );
    expect(seen).toEqual([1, -ENOSPC, 0, 3, 1]);
  });
});

describe('inotify reads and watches', () => {
  it('a blocking read sleeps until an event is queued, its CPU idle meanwhile', () => {
    const DELAY = 3_000_000;
    let readAt = -1;
    let createdAt = -1;
    let got: unknown = null;
    const k = bootKernel(testConfig());
    let ready = false;
    k.spawnProcess(
      'reader',
      function* (t) {
        const fd = yield* sys_inotify_init1(t, 0);
        yield* sys_inotify_add_watch(t, fd, '/tmp', IN_CREATE);
        ready = true;
        got = yield* events(t, fd);
        readAt = t.now;
      },
      { cpu: 0, pinned: true },
    );
    k.spawnProcess(
      'writer',
      function* (t) {
        while (!ready) yield t.sleepFor(1000);
        yield t.sleepFor(DELAY);
        createdAt = t.now;
        yield* touch(t, '/tmp/new');
      },
      { cpu: 1, pinned: true },
    );
    k.run();
    expect(got).toEqual([{ wd: 1, mask: IN_CREATE, cookie: 0, name: 'new' }]);
    expect(readAt).toBeGreaterThan(createdAt);
    expect(k.engine.idle[0]).toBeGreaterThan(DELAY);
  });

  it('IN_ONESHOT: the first event, then IN_IGNORED, and the watch is gone', () => {
    let got: unknown = null;
    let counts: unknown = null;
    runProcess(function* (t) {
      const k = t.k;
      const fd = yield* sys_inotify_init1(t, IN_NONBLOCK);
      const f = yield* sys_open(t, 'f', O_WRONLY | O_CREAT, 0o644);
      yield* sys_inotify_add_watch(t, fd, 'f', (IN_MODIFY | IN_ONESHOT) >>> 0);
      yield* sys_write(t, f, 1, 1);
      yield* sys_write(t, f, 1, 1);
      got = yield* events(t, fd);
      counts = inotify_user_counts(k, current(t).cred.uid);
    });
    expect(got).toEqual([
      { wd: 1, mask: IN_MODIFY, cookie: 0, name: '' },
      { wd: 1, mask: IN_IGNORED, cookie: 0, name: '' },
    ]);
    expect(counts).toEqual({ instances: 1, watches: 0 });
  });

  it('closing an instance drops its watches, its queue and its instance count, and lets go of the inodes', () => {
    let after: unknown = null;
    let marks: unknown = null;
    runProcess(function* (t) {
      const k = t.k;
      const fd = yield* sys_inotify_init1(t, IN_NONBLOCK);
      yield* touch(t, 'f');
      yield* sys_inotify_add_watch(t, fd, 'f', IN_MODIFY);
      yield* sys_inotify_add_watch(t, fd, '.', IN_CREATE);
      yield* touch(t, 'g');
      const slab = k.slab.bytesInUse;
      yield* sys_close(t, fd);
      after = inotify_user_counts(k, current(t).cred.uid);
      marks = k.slab.bytesInUse < slab;
    });
    expect(after).toEqual({ instances: 0, watches: 0 });
    expect(marks).toBe(true);
  });
});
