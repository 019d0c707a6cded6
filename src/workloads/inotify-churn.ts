/**
 * inotify-churn: a file watcher (an editor's, a build tool's) watching one
 * directory while writer threads on other CPUs churn files in it: create,
 * write in several chunks, close, and every few rounds rename or unlink.
 * The watcher reads its queue with blocking reads and spends --event-cycles
 * of user work per event.
 *
 * What it shows: events per second of simulated time, how many repeated
 * IN_MODIFY events coalesced into the one queued last, and whether the
 * queue reached fs.inotify.max_queued_events (then exactly one
 * IN_Q_OVERFLOW is queued and further events are lost until the watcher
 * makes room). The check accounts for every event inotify was handed: each
 * one was read, merged, or lost to an overflow the watcher was told about.
 */
import { int } from '../params/schema.js';
import { sys_close, sys_open } from '../kernel/fs/fd_syscalls.js';
import { sys_mkdir, sys_rename, sys_unlink } from '../kernel/fs/namei_ops.js';
import {
  IN_CLOSE_WRITE,
  IN_CREATE,
  IN_DELETE,
  IN_MODIFY,
  IN_MOVED_FROM,
  IN_MOVED_TO,
  IN_Q_OVERFLOW,
  sys_inotify_add_watch,
  sys_inotify_init1,
  type InotifyEventRecord,
  type InotifyReadBuf,
} from '../kernel/fs/notify/inotify_user.js';
import { FIONREAD, sys_ioctl, sys_read, sys_write } from '../kernel/fs/read_write.js';
import { O_CREAT, O_TRUNC, O_WRONLY } from '../kernel/fs/uapi_fcntl.js';
import type { Kernel } from '../kernel/kernel.js';
import { intern } from '../sim/attribution.js';
import type { Task, TaskBody } from '../sim/task.js';
import { defineWorkload } from './types.js';

const CAT_WATCHER = intern('user:watcher');
const CAT_WRITER = intern('user:writer');
const DIR = 'watched';
const WATCH_MASK = IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO;

interface State {
  writersLeft: number;
  /** Events the watcher read, by mask bit, and in total (the overflow event not included). */
  read: number;
  overflows: number;
  byMask: Map<number, number>;
  reads: number;
  firstEventAt: number;
  lastEventAt: number;
  duplicatesAdjacent: number;
  watcherDone: boolean;
  watchReady: boolean;
  failures: string[];
}

function userWork(t: Task, cat: number, cycles: number): void {
  if (cycles <= 0) return;
  t.enter(cat);
  t.charge(cycles);
  t.leave();
}

export const inotifyChurn = defineWorkload({
  name: 'inotify-churn',
  summary: 'a watcher reading inotify events while writers churn files: events per second, coalescing and queue overflow',
  description:
    'One watcher process puts an inotify watch (create, modify, close_write, delete, moves) on a directory and reads events with ' +
    'blocking reads of --buffer bytes, spending --event-cycles of user work on each. --writers writer threads of another process, ' +
    'each on its own CPU where possible, run --rounds rounds over --files files of their own: open with O_CREAT|O_TRUNC, write ' +
    '--chunks chunks of --chunk bytes, close; every fourth round renames the file and every eighth unlinks it. Consecutive writes ' +
    'of one file repeat the same IN_MODIFY, which inotify merges into the event queued last; a slow watcher lets the queue reach ' +
    'fs.inotify.max_queued_events, after which one IN_Q_OVERFLOW is queued and events are lost until it reads. Read ' +
    'events_per_sec, inotify_events_merged, inotify_events_dropped and inotify_queue_overflow. The check verifies that every event ' +
    'was read, merged or dropped after an overflow the watcher saw, that no read returned two identical events in a row, and that ' +
    'the overflow event never appeared twice in a row.',
  params: {
    writers: int(3, 'writer threads', { min: 1, max: 256 }),
    files: int(8, 'files each writer cycles through', { min: 1, max: 100_000 }),
    rounds: int(1200, 'rounds (open, write chunks, close) per writer', { min: 1, max: 10_000_000 }),
    chunks: int(4, 'writes per round (each an IN_MODIFY; consecutive ones merge)', { min: 1, max: 1_000_000 }),
    chunk: int(512, 'bytes per write', { unit: 'B', min: 1, max: 0x7ffff000 }),
    buffer: int(4096, 'watcher read buffer', { unit: 'B', min: 32, max: 1 << 24 }),
    event_cycles: int(20000, 'watcher user work per event read', { unit: 'cycles', min: 0, max: 1e12 }),
    think: int(1000, 'writer user work between rounds', { unit: 'cycles', min: 0, max: 1e12 }),
  },

  setup(k, p) {
    const st: State = {
      writersLeft: p.writers,
      read: 0,
      overflows: 0,
      byMask: new Map(),
      reads: 0,
      firstEventAt: -1,
      lastEventAt: 0,
      duplicatesAdjacent: 0,
      watcherDone: false,
      watchReady: false,
      failures: [],
    };
    const ncpu = k.cfg.cpus;
    // The directory lives in the watcher's working directory; writers reach it by absolute path.
    const watcher = k.spawnProcess('watcher', watcherBody(k, st, p.buffer, p.event_cycles), { cpu: 0 });
    const dir = `/tmp/kernsim.${watcher.pid}/${DIR}`;
    const first = writerBody(k, st, 0, dir, p);
    const leader = k.spawnProcess('writer/0', first, { cpu: 1 % ncpu });
    for (let i = 1; i < p.writers; i++) k.spawnThread(leader, `writer/${i}`, writerBody(k, st, i, dir, p), { cpu: (1 + i) % ncpu });
    return st;
  },

  check(k, p, st) {
    const out = [...st.failures];
    const c = k.engine.counters;
    if (!st.watcherDone) out.push('the watcher did not finish');
    const queued = c.get('inotify_events_queued');
    if (st.read !== queued) out.push(`the watcher read ${st.read} events but ${queued} were queued`);
    const handed = queued + c.get('inotify_events_merged') + c.get('inotify_events_dropped');
    const expectedMin = p.writers * p.rounds * 3;
    if (handed < expectedMin) out.push(`inotify was handed ${handed} events; the writers caused at least ${expectedMin}`);
    if (c.get('inotify_events_dropped') > 0 && st.overflows === 0) out.push('events were dropped but the watcher never saw IN_Q_OVERFLOW');
    if (st.overflows !== c.get('inotify_queue_overflow')) out.push(`${c.get('inotify_queue_overflow')} overflow events were queued, the watcher read ${st.overflows}`);
    if (st.duplicatesAdjacent > 0) out.push(`${st.duplicatesAdjacent} reads returned the same event twice in a row`);
    return out;
  },

  figureDefs: {
    events_read: { unit: 'events', definition: 'events the watcher read, IN_Q_OVERFLOW not counted' },
    events_per_sec: { unit: 'events/s', definition: 'events read per simulated second, from the read that returned the first event to the one that returned the last' },
    events_merged: { unit: 'events', definition: 'events merged into the one queued last (inotify_events_merged)' },
    events_dropped: { unit: 'events', definition: 'events lost to a full queue (inotify_events_dropped)' },
    overflow_events: { unit: 'events', definition: 'IN_Q_OVERFLOW events read' },
    reads: { unit: 'calls', definition: 'successful read(2) calls on the inotify fd' },
    events_per_read: { unit: 'events', definition: 'events returned per read call' },
    modify_events: { unit: 'events', definition: 'IN_MODIFY events read' },
  },
  headline: 'events_per_sec',

  figures(k, p, st) {
    const c = k.engine.counters;
    const span = st.lastEventAt - Math.max(0, st.firstEventAt);
    const seconds = span / (k.cfg.clock_ghz * 1e9);
    return {
      events_read: st.read,
      events_per_sec: seconds > 0 ? Math.round(st.read / seconds) : 0,
      events_merged: c.get('inotify_events_merged'),
      events_dropped: c.get('inotify_events_dropped'),
      overflow_events: st.overflows,
      reads: st.reads,
      events_per_read: st.reads > 0 ? Math.round((st.read / st.reads) * 10) / 10 : 0,
      modify_events: st.byMask.get(IN_MODIFY) ?? 0,
    };
  },

  progress(k, p, st) {
    return Math.min(1, st.read / Math.max(1, p.writers * p.rounds * (3 + p.chunks)));
  },
});

function sameEvent(a: InotifyEventRecord, b: InotifyEventRecord): boolean {
  return a.wd === b.wd && a.mask === b.mask && a.cookie === b.cookie && a.name === b.name;
}

function watcherBody(k: Kernel, st: State, bufsize: number, eventCycles: number) {
  return function* (t: Task): TaskBody {
    const mk = yield* sys_mkdir(t, DIR, 0o755);
    if (mk < 0) st.failures.push(`watcher: mkdir failed with ${-mk}`);
    const fd = yield* sys_inotify_init1(t, 0);
    if (fd < 0) {
      st.failures.push(`watcher: inotify_init1 failed with ${-fd}`);
      return;
    }
    const wd = yield* sys_inotify_add_watch(t, fd, DIR, WATCH_MASK);
    if (wd < 0) st.failures.push(`watcher: inotify_add_watch failed with ${-wd}`);
    st.watchReady = true;
    for (;;) {
      // The writers are done and nothing is queued: stop (the last writer's final event woke this read otherwise).
      if (st.writersLeft === 0) {
        const q = { value: 0 };
        yield* sys_ioctl(t, fd, FIONREAD, q);
        if (q.value === 0) break;
      }
      const buf: InotifyReadBuf = { sum: 0, events: [] };
      const n = yield* sys_read(t, fd, bufsize, buf);
      if (n < 0) {
        st.failures.push(`watcher: read failed with ${-n}`);
        break;
      }
      st.reads++;
      const evs = buf.events!;
      for (let i = 0; i < evs.length; i++) {
        const e = evs[i]!;
        if (i > 0 && sameEvent(evs[i - 1]!, e)) st.duplicatesAdjacent++;
        if (e.mask & IN_Q_OVERFLOW) st.overflows++;
        else {
          st.read++;
          for (let bit = 1; bit <= IN_MOVED_TO * 4; bit <<= 1) if (e.mask & bit) st.byMask.set(bit, (st.byMask.get(bit) ?? 0) + 1);
        }
        if (st.firstEventAt < 0) st.firstEventAt = t.now;
        st.lastEventAt = t.now;
        userWork(t, CAT_WATCHER, eventCycles);
        if (t.shouldYield()) yield;
      }
    }
    yield* sys_close(t, fd);
    st.watcherDone = true;
  };
}

interface WriterParams {
  writers: number;
  files: number;
  rounds: number;
  chunks: number;
  chunk: number;
  think: number;
}

function writerBody(k: Kernel, st: State, idx: number, dir: string, p: WriterParams) {
  return function* (t: Task): TaskBody {
    // Start once the watcher has made the directory and put its watch on it.
    while (!st.watchReady) yield t.sleepFor(10000);
    for (let r = 0; r < p.rounds; r++) {
      userWork(t, CAT_WRITER, p.think);
      const name = `${dir}/w${idx}-${r % p.files}`;
      const fd = yield* sys_open(t, name, O_WRONLY | O_CREAT | O_TRUNC, 0o644);
      if (fd < 0) {
        st.failures.push(`writer ${idx}: open ${name} failed with ${-fd}`);
        break;
      }
      for (let c = 0; c < p.chunks; c++) {
        const w = yield* sys_write(t, fd, p.chunk, (r + c) & 0xff);
        if (w !== p.chunk) st.failures.push(`writer ${idx}: write returned ${w}`);
      }
      yield* sys_close(t, fd);
      if (r % 8 === 7) {
        const u = yield* sys_unlink(t, name);
        if (u < 0) st.failures.push(`writer ${idx}: unlink failed with ${-u}`);
      } else if (r % 4 === 3) {
        const m = yield* sys_rename(t, name, `${name}.old`);
        if (m < 0) st.failures.push(`writer ${idx}: rename failed with ${-m}`);
      }
      if (t.shouldYield()) yield;
    }
    st.writersLeft--;
    if (st.writersLeft === 0) {
      // A last event, so that a watcher blocked on an empty queue wakes and sees the writers are done.
      const fd = yield* sys_open(t, `${dir}/done`, O_WRONLY | O_CREAT, 0o644);
      if (fd >= 0) yield* sys_close(t, fd);
    }
  };
}
