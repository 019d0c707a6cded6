/**
 * proc-unload: a module exports a /proc file, readers on several CPUs use
 * it, and the module is unloaded (remove_proc_entry) while reads are in
 * flight. remove_proc_entry must wait for every call into the module's
 * operations to return, run ->release itself for files still open, and
 * return only when no call can run any more; the module's code may then go.
 *
 * What it shows: how long removal waits (remove_proc_entry_wait), how many
 * calls it waited for, and what readers see afterwards: EIO from reads on
 * files opened before, ENOENT from new opens. The check verifies from the
 * module's own log that no call into its operations ran after removal
 * returned and that each open file was released exactly once.
 */
import { loffAdd, type loff_t } from '../kernel/fs/loff.js';
import { int } from '../params/schema.js';
import { EINVAL, EIO, ENOENT } from '../kernel/errno.js';
import { sys_close, sys_open } from '../kernel/fs/fd_syscalls.js';
import type { File } from '../kernel/fs/file_table.js';
import { proc_create, proc_find, remove_proc_entry, type ProcDirEntry, type ProcOps } from '../kernel/fs/proc/generic.js';
import { sys_lseek, sys_read } from '../kernel/fs/read_write.js';
import { O_RDONLY } from '../kernel/fs/uapi_fcntl.js';
import type { Kernel } from '../kernel/kernel.js';
import { intern } from '../sim/attribution.js';
import type { Blocking, Task, TaskBody } from '../sim/task.js';
import { defineWorkload } from './types.js';

const CAT_MODULE_READ = intern('kernsim_mod_read');
const CAT_USER = intern('user:reader');
const NAME = 'kernsim_mod';
/** Bytes one read of the module's file returns before EOF. */
const RECORD = 64;

interface Call {
  kind: string;
  start: number;
  end: number;
}

interface State {
  pde: ProcDirEntry | null;
  calls: Call[];
  inFlight: number;
  inFlightAtRemoval: number;
  removeStart: number;
  removeEnd: number;
  released: Map<File, number>;
  opened: Set<File>;
  readsOk: number;
  readsEio: number;
  opensEnoent: number;
  readersDone: number;
  failures: string[];
}

/** The module's proc_ops: each call is logged with its start and end; a read does `readCycles` of work. */
function moduleOps(k: Kernel, st: State, readCycles: number): ProcOps {
  function begin(t: Task, kind: string): Call {
    const c = { kind, start: t.now, end: -1 };
    st.calls.push(c);
    st.inFlight++;
    return c;
  }
  function end(t: Task, c: Call): void {
    c.end = t.now;
    st.inFlight--;
  }
  return {
    *proc_open(t: Task, _inode, file: File): Blocking<number> {
      const c = begin(t, 'open');
      st.opened.add(file);
      t.charge(k.cfg.kernel.cost.kmalloc);
      end(t, c);
      return 0;
    },
    *proc_read(t: Task, file: File, len: number, buf): Blocking<number> {
      const c = begin(t, 'read');
      t.enter(CAT_MODULE_READ);
      // Format the record: work in slices, so other CPUs (and the remover) run meanwhile.
      for (let done = 0; done < readCycles; ) {
        const step = Math.min(2000, readCycles - done);
        t.charge(step);
        done += step;
        if (t.shouldYield()) yield;
      }
      t.leave();
      const n = file.f_pos < RECORD ? Math.min(len, RECORD - Number(file.f_pos)) : 0;
      if (buf) buf.sum += n * 0x2e;
      file.f_pos = loffAdd(file.f_pos, n);
      end(t, c);
      return n;
    },
    *proc_lseek(t: Task, file: File, offset: loff_t, whence: number): Blocking<loff_t> {
      const c = begin(t, 'llseek');
      let r: loff_t = -EINVAL;
      if (whence === 0 && offset >= 0) r = file.f_pos = offset;
      end(t, c);
      return r;
    },
    *proc_release(t: Task, _inode, file: File): Blocking<number> {
      const c = begin(t, 'release');
      st.released.set(file, (st.released.get(file) ?? 0) + 1);
      end(t, c);
      return 0;
    },
  };
}

export const procUnload = defineWorkload({
  name: 'proc-unload',
  summary: 'a module removes its /proc file while readers on several CPUs are in it: how long remove_proc_entry waits',
  description:
    'A module (a kernel thread) creates /proc/kernsim_mod, whose read spends --read-cycles formatting a record. --readers reader ' +
    'processes, one per CPU after the first, open it, read it, seek back and read again, and close it, with --think cycles of user ' +
    'work between calls; the first --holders of them keep one file open throughout, with --holder-think cycles between calls. After --unload-after cycles the module calls ' +
    'remove_proc_entry: it stops new calls (proc_fops = NULL under pde_unload_lock), sleeps until the calls in flight have ' +
    'returned (pde_users reaching zero completes its wait), runs ->release for the files still open, and returns. Readers then ' +
    'get EIO from reads on open files, close them and get ENOENT from their next open. Read remove_wait_cycles, calls_in_flight_at_removal, ' +
    'pde_openers_released_by_remove and proc_inodes_freed (proc inodes are freed through call_rcu). The check verifies from the ' +
    "module's call log that no call into its operations was running or started after removal returned, and that every open " +
    'file was released exactly once.',
  params: {
    readers: int(3, 'reader processes', { min: 1, max: 256 }),
    holders: int(1, 'readers that keep one file open across the removal', { min: 0, max: 256 }),
    read_cycles: int(40000, "the module's work per read", { unit: 'cycles', min: 0, max: 1e12 }),
    think: int(5000, 'reader user work between calls', { unit: 'cycles', min: 0, max: 1e12 }),
    holder_think: int(200000, 'user work of a holder between calls, long enough that removal usually finds its file open and idle', { unit: 'cycles', min: 0, max: 1e12 }),
    unload_after: int(2000000, 'when the module removes its file', { unit: 'cycles', min: 0, max: 1e12 }),
  },

  setup(k, p) {
    const st: State = {
      pde: null,
      calls: [],
      inFlight: 0,
      inFlightAtRemoval: 0,
      removeStart: -1,
      removeEnd: -1,
      released: new Map(),
      opened: new Set(),
      readsOk: 0,
      readsEio: 0,
      opensEnoent: 0,
      readersDone: 0,
      failures: [],
    };
    st.pde = proc_create(k, null, NAME, 0o444, null, moduleOps(k, st, p.read_cycles));
    if (!st.pde) st.failures.push(`proc_create ${NAME} failed`);
    k.spawnKernelThread(
      'kernsim_mod',
      function* (t: Task): TaskBody {
        yield t.sleepFor(p.unload_after);
        st.removeStart = t.now;
        st.inFlightAtRemoval = st.inFlight;
        const ok = yield* remove_proc_entry(t, NAME, null);
        st.removeEnd = t.now;
        if (!ok) st.failures.push('remove_proc_entry found no entry');
        if (st.inFlight !== 0) st.failures.push(`remove_proc_entry returned with ${st.inFlight} calls in flight`);
      },
      { cpu: 0, pinned: true },
    );
    const ncpu = k.cfg.cpus;
    for (let i = 0; i < p.readers; i++) {
      const cpu = ncpu > 1 ? 1 + (i % (ncpu - 1)) : 0;
      k.spawnProcess(`reader/${i}`, readerBody(k, st, i, i < p.holders, i < p.holders ? p.holder_think : p.think), { cpu, pinned: true });
    }
    return st;
  },

  check(k, p, st) {
    const out = [...st.failures];
    if (st.removeEnd < 0) out.push('the module never finished removing its file');
    if (st.readersDone !== p.readers) out.push(`${st.readersDone} of ${p.readers} readers finished`);
    for (const c of st.calls) {
      if (c.end < 0) out.push(`a ${c.kind} call started at ${c.start} never returned`);
      else if (st.removeEnd >= 0 && c.end > st.removeEnd) out.push(`a ${c.kind} call ran ${c.start}-${c.end}, after removal returned at ${st.removeEnd}`);
    }
    for (const f of st.opened) {
      const n = st.released.get(f) ?? 0;
      if (n !== 1) out.push(`an open file was released ${n} times`);
    }
    const pde = st.pde;
    if (pde && !pde.freed) out.push(`the proc entry still has ${pde.count} references after every file was closed`);
    if (proc_find(k, NAME)) out.push('the entry is still registered');
    const c = k.engine.counters;
    if (c.get('proc_inodes_destroyed') !== c.get('proc_inodes_freed')) {
      out.push(`${c.get('proc_inodes_destroyed')} proc inodes destroyed but ${c.get('proc_inodes_freed')} freed after their grace period`);
    }
    return out;
  },

  figureDefs: {
    remove_wait_cycles: { unit: 'cycles', definition: 'elapsed cycles of remove_proc_entry: waiting for the calls in flight and releasing the open files' },
    calls_in_flight_at_removal: { unit: 'calls', definition: 'calls into the module\'s operations running when removal began' },
    reads_ok: { unit: 'calls', definition: 'reads that returned data' },
    reads_eio: { unit: 'calls', definition: 'reads of an open file that returned EIO after removal' },
    opens_enoent: { unit: 'calls', definition: 'opens that returned ENOENT after removal' },
    pde_openers_released_by_remove: { unit: 'files', definition: 'open files whose ->release remove_proc_entry ran' },
    proc_inodes_freed: { unit: 'inodes', definition: 'proc inodes freed (through call_rcu)' },
  },
  headline: 'remove_wait_cycles',

  figures(k, p, st) {
    const c = k.engine.counters;
    return {
      remove_wait_cycles: st.removeEnd - st.removeStart,
      calls_in_flight_at_removal: st.inFlightAtRemoval,
      reads_ok: st.readsOk,
      reads_eio: st.readsEio,
      opens_enoent: st.opensEnoent,
      pde_openers_released_by_remove: c.get('pde_openers_released_by_remove'),
      proc_inodes_freed: c.get('proc_inodes_freed'),
    };
  },

  progress(k, p, st) {
    return st.readersDone / p.readers;
  },
});

/** User-mode work between calls; the task then lets the engine run the other CPUs up to its clock. */
function* userWork(t: Task, cycles: number): Blocking<void> {
  if (cycles <= 0) return;
  t.enter(CAT_USER);
  t.charge(cycles);
  t.leave();
  if (t.shouldYield()) yield;
}

function readerBody(k: Kernel, st: State, idx: number, holder: boolean, think: number) {
  const path = `/proc/${NAME}`;
  return function* (t: Task): TaskBody {
    let held = -1;
    if (holder) {
      held = yield* sys_open(t, path, O_RDONLY, 0);
      if (held < 0) st.failures.push(`reader ${idx}: first open failed with ${-held}`);
    }
    for (;;) {
      yield* userWork(t, think);
      const fd = held >= 0 ? held : yield* sys_open(t, path, O_RDONLY, 0);
      if (fd === -ENOENT) {
        st.opensEnoent++;
        break;
      }
      if (fd < 0) {
        st.failures.push(`reader ${idx}: open failed with ${-fd}`);
        break;
      }
      let gone = false;
      for (let pass = 0; pass < 2 && !gone; pass++) {
        const buf = { sum: 0 };
        const n = yield* sys_read(t, fd, 4096, buf);
        if (n === -EIO) {
          st.readsEio++;
          gone = true;
        } else if (n < 0) st.failures.push(`reader ${idx}: read failed with ${-n}`);
        else st.readsOk++;
        if (!gone) yield* sys_lseek(t, fd, 0, 0);
        yield* userWork(t, think);
      }
      if (held < 0 || gone) {
        const r = yield* sys_close(t, fd);
        if (r < 0) st.failures.push(`reader ${idx}: close failed with ${-r}`);
      }
      // A file the module went away under: try to open it again, which finds the name gone (ENOENT).
      if (gone) held = -1;
      if (t.shouldYield()) yield;
    }
    st.readersDone++;
  };
}
