/**
 * Focused scenarios outside the page tables: fd-table growth, an RCU grace
 * period, one inotify event, and procfs removal racing a read.
 */
import { loffAdd } from '../kernel/fs/loff.js';
import { EIO } from '../kernel/errno.js';
import { sys_close, sys_dup2, sys_open } from '../kernel/fs/fd_syscalls.js';
import { IN_MODIFY, IN_NONBLOCK, sys_inotify_add_watch, sys_inotify_init1, type InotifyReadBuf } from '../kernel/fs/notify/inotify_user.js';
import { proc_create, remove_proc_entry, type ProcOps } from '../kernel/fs/proc/generic.js';
import { sys_read, sys_write } from '../kernel/fs/read_write.js';
import { O_CREAT, O_RDONLY, O_RDWR } from '../kernel/fs/uapi_fcntl.js';
import { synchronize_rcu } from '../kernel/rcu/tree.js';
import type { Blocking, Task, TaskBody } from '../sim/task.js';
import { current, expectCount, waitUntil, type FocusedScenario } from './focused.js';

/** dup2(0, 1023) in a process whose table still has the embedded 64 slots: expand_fdtable to 1024 (alloc, copy, RCU-deferred free of nothing). */
const fdExpand: FocusedScenario = {
  name: 'fd/expand-64-to-1024',
  summary: 'dup2(0, 1023) growing the fd table from the embedded 64 slots to 1024: the call\'s cycles',
  body: (ctx) => (t) =>
    (function* (): TaskBody {
      const { w } = ctx;
      const before = (current(t).files?.fdt.max_fds ?? -1);
      if (before !== 64) ctx.fail(`the fd table starts with ${before} slots, expected 64`);
      w.start(t);
      const r = yield* sys_dup2(t, 0, 1023);
      w.stop(t);
      if (r !== 1023) ctx.fail(`dup2 returned ${r}`);
      const after = (current(t).files?.fdt.max_fds ?? -1);
      if (after !== 1024) ctx.fail(`the fd table has ${after} slots after dup2 to 1023, expected 1024`);
    })(),
  expect: (c) => expectCount(c, 'fdtable_expand', 1),
};

/** synchronize_rcu() from CPU 0 while CPUs 1-7 are idle: the grace period's latency as the caller waits it out. */
const syncRcu: FocusedScenario = {
  name: 'rcu/synchronize-8-idle-cpus',
  summary: 'one synchronize_rcu() on an 8-CPU machine whose other CPUs are idle: the caller\'s wait',
  cpus: 8,
  body: (ctx) => (t) =>
    (function* (): TaskBody {
      ctx.w.start(t);
      yield* synchronize_rcu(t);
      ctx.w.stop(t);
    })(),
  expect: (c) => expectCount(c, 'rcu_grace_periods', 1),
};

/** A 1-byte write to a watched file queues IN_MODIFY; a read returns it. */
const inotifyEvent: FocusedScenario = {
  name: 'inotify/queue-and-read',
  summary: 'a 1-byte write to a watched file (queues IN_MODIFY) and the read that returns the event: both calls\' cycles',
  body: (ctx) => (t) =>
    (function* (): TaskBody {
      const { w } = ctx;
      const fd = yield* sys_open(t, 'watched', O_CREAT | O_RDWR, 0o644);
      const ifd = yield* sys_inotify_init1(t, IN_NONBLOCK);
      const wd = yield* sys_inotify_add_watch(t, ifd, 'watched', IN_MODIFY);
      if (fd < 0 || ifd < 0 || wd < 0) {
        ctx.fail(`set-up failed: open ${fd}, inotify_init1 ${ifd}, add_watch ${wd}`);
        return;
      }
      const buf: InotifyReadBuf = { sum: 0, events: [] };
      w.start(t);
      const n = yield* sys_write(t, fd, 1, 0x61);
      const got = yield* sys_read(t, ifd, 4096, buf);
      w.stop(t);
      if (n !== 1) ctx.fail(`write returned ${n}`);
      const ev = buf.events ?? [];
      if (got !== 16 || ev.length !== 1 || ev[0]!.wd !== wd || ev[0]!.mask !== IN_MODIFY) {
        ctx.fail(`read returned ${got} with ${JSON.stringify(ev)}, expected one 16-byte IN_MODIFY event for wd ${wd}`);
      }
    })(),
  expect: (c) => expectCount(c, 'inotify_events_queued', 1),
};

const PROC_NAME = 'bench_mod';
const READ_CYCLES = 30_000;

/**
 * A reader on CPU 1 is inside the module's proc_read (formatting takes
 * READ_CYCLES) when CPU 0 calls remove_proc_entry: the removal waits for the
 * read to return, and the reader's next read gets EIO. The headline is the
 * remover's cycles in remove_proc_entry, the wait included.
 */
const procRace: FocusedScenario = {
  name: 'procfs/read-vs-remove',
  summary: `remove_proc_entry while a read (${READ_CYCLES} cycles of formatting) is in flight on another CPU: the remover's cycles, its wait included`,
  body: (ctx) => (t) =>
    (function* (): TaskBody {
      const { k, w } = ctx;
      const st = { inRead: false, readEnd: -1, secondRead: 0, done: false };
      const ops: ProcOps = {
        *proc_read(rt: Task, file, len): Blocking<number> {
          st.inRead = true;
          for (let done = 0; done < READ_CYCLES; done += 2000) {
            rt.charge(2000);
            if (rt.shouldYield()) yield;
          }
          st.readEnd = rt.now;
          const n = file.f_pos < 64 ? Math.min(len, 64 - Number(file.f_pos)) : 0;
          file.f_pos = loffAdd(file.f_pos, n);
          return n;
        },
      };
      if (!proc_create(k, t, PROC_NAME, 0o444, null, ops)) {
        ctx.fail('proc_create failed');
        return;
      }
      k.spawnProcess(
        'reader',
        (rt) =>
          (function* (): TaskBody {
            const fd = yield* sys_open(rt, `/proc/${PROC_NAME}`, O_RDONLY, 0);
            if (fd < 0) {
              ctx.fail(`reader: open failed (${fd})`);
              st.inRead = true;
              st.done = true;
              return;
            }
            const first = yield* sys_read(rt, fd, 4096, { sum: 0 });
            if (first !== 64) ctx.fail(`reader: the read in flight during removal returned ${first}, expected 64`);
            st.secondRead = yield* sys_read(rt, fd, 4096, { sum: 0 });
            yield* sys_close(rt, fd);
            st.done = true;
          })(),
        { cpu: 1, pinned: true },
      );
      yield* waitUntil(t, () => st.inRead, 500);
      w.start(t);
      const ok = yield* remove_proc_entry(t, PROC_NAME, null);
      w.stop(t);
      const removeEnd = t.now;
      if (!ok) ctx.fail('remove_proc_entry found no entry');
      yield* waitUntil(t, () => st.done);
      if (st.readEnd < 0 || st.readEnd > removeEnd) ctx.fail(`the read ended at ${st.readEnd}, after remove_proc_entry returned at ${removeEnd}`);
      if (st.secondRead !== -EIO) ctx.fail(`a read after removal returned ${st.secondRead}, expected -EIO`);
    })(),
};

export const FS_SCENARIOS: FocusedScenario[] = [fdExpand, syncRcu, inotifyEvent, procRace];
