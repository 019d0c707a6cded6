/**
 * Replays a parsed strace log (strace-parse.ts) on the simulated kernel: the
 * log's processes and threads (made where the log's clone, fork and vfork
 * made them, replaced by its execve), each thread's calls in its own time
 * order; strace-translate.ts says what each call becomes. Every call the kernel has runs through the syscall
 * script's handlers (script/interp.ts `handlers`), so replay and scripts
 * share one path into the kernel.
 *
 * - Addresses are the program's own: an mmap the log shows succeeding at R
 *   is asked for at R with MAP_FIXED_NOREPLACE (MAP_FIXED when the program
 *   gave it), so later munmap/mprotect/madvise name the same ranges. The
 *   heap is the exception: brk addresses are moved from the log's first
 *   break to the simulated one (BRK_BASE) and compared as distances.
 * - fds are the log's numbers, mapped to the simulated kernel's.
 * - The time between the end of a thread's call and the start of its next
 *   is charged as user time (unless `gaps` is off).
 * - A call the kernel does not model is counted by name and charged
 *   cost.syscall (the null-syscall entry/exit of the machine config).
 * - A call whose outcome differs from the log's (success against failure, a
 *   different errno, a different byte count, offset or break) is counted and
 *   listed.
 */
import { BRK_BASE } from '../../kernel/mm/mm_types.js';
import type { Kernel } from '../../kernel/kernel.js';
import { fatal_signal_pending } from '../../kernel/mm/oom_kill.js';
import { current, type TaskStruct } from '../../kernel/sched/task_struct.js';
import { intern } from '../../sim/attribution.js';
import { CAT_USER, type Blocking, type Task } from '../../sim/task.js';
import { CookieNames } from '../script/format.js';
import { handlers } from '../script/interp.js';
import { MADV } from '../script/constants.js';

const MADV_DONTNEED: number = MADV.MADV_DONTNEED;
const MADV_FREE: number = MADV.MADV_FREE;
import type { OpEnv, OpOutcome } from '../script/ops/fd.js';
import { MAP_HINT_BASE, type MmOpEnv, type MmOpState } from '../script/ops/mm.js';
import type { Op } from '../script/types.js';
import type { StraceCall } from './strace-parse.js';
import type { LackeyMarker } from './lackey-parse.js';
import { MARKER_CALLS } from './lackey-parse.js';
import { MarkerAlign, type AlignCall, type MemFeed } from './lackey-replay.js';
import { intList, num, translate, Unreadable, type ProcState } from './strace-translate.js';
import { do_signal, signal_pending } from '../../kernel/signal.js';
import { ERESTART_RESTARTBLOCK, ERESTARTNOHAND, ERESTARTNOINTR, ERESTARTSYS } from '../../kernel/errno.js';

/** A call's -ERESTART* result by name: strace logs it as the call's result (`= ? ERESTARTSYS`) before the signal's delivery decides. */
const RESTART_CODES: Readonly<Record<string, number>> = {
  ERESTARTSYS: -ERESTARTSYS, ERESTARTNOINTR: -ERESTARTNOINTR, ERESTARTNOHAND: -ERESTARTNOHAND, ERESTART_RESTARTBLOCK: -ERESTART_RESTARTBLOCK,
};

export interface ReplayOptions {
  /** Charge the time between a thread's calls as user time. */
  gaps: boolean;
  /** A memory trace of the log's first thread, interleaved with its calls by its markers (lackey-replay.ts). */
  memory?: MemFeed;
  /** The advice the log's MADV_DONTNEED and MADV_FREE calls are replayed with (e.g. FREE for DONTNEED); as logged when undefined. */
  advice?: number;
}

/** One call whose simulated outcome differs from the log's. */
export interface ReplayMismatch {
  line: number;
  pid: number;
  name: string;
  /** What the log shows, e.g. `3` or `-1 ENOENT`. */
  log: string;
  /** What the simulated kernel returned. */
  sim: string;
}

export interface ReplayTally {
  /** Calls run on the simulated kernel, by name. */
  replayed: Record<string, number>;
  /** Calls the kernel does not model (charged cost.syscall each), by name. */
  unmodelled: Record<string, number>;
  mismatches: ReplayMismatch[];
  /** Cycles charged as user time for the gaps between calls. */
  gapCycles: number;
  /** Simulated processes the replay made (the first one and every fork child). */
  processes: number;
  /** Simulated threads beyond each process's first. */
  threads: number;
}

/** Calls whose return value is a count, an offset or an address and must equal the log's, not only succeed as it did. */
const EXACT_RET = new Set(['read', 'write', 'pread64', 'pwrite64', 'lseek', 'readv', 'writev', 'getdents64']);

/** The calls that make a task: the new pid is their return value. */
const CLONES = new Set(['clone', 'clone3', 'fork', 'vfork']);

/** How a pid of the log came to be: made by `parent`'s call at line `line`, as a thread of its process or as a new process. */
interface Birth {
  parent: number;
  line: number;
  thread: boolean;
}

/** A clone's flags as strace prints them (`flags=CLONE_VM|...` in clone, `{flags=...}` in clone3): does it make a thread? */
function cloneMakesThread(c: StraceCall): boolean {
  if (c.name !== 'clone' && c.name !== 'clone3') return false;
  const m = /flags=([A-Z0-9_|]+)/.exec(c.args.join(', '));
  return m !== null && /\bCLONE_(THREAD|VM)\b/.test(m[1]!);
}

const FD_RETURNING = new Set(['open', 'openat', 'dup', 'dup2', 'dup3', 'memfd_create', 'eventfd', 'eventfd2', 'inotify_init', 'inotify_init1']);

/** Calls that return an address: shown in hex. */
const ADDRESS_RET = new Set(['mmap', 'brk', 'mremap']);

function logOutcome(c: StraceCall): string {
  if (c.errno !== null) return `-1 ${c.errno}`;
  return ADDRESS_RET.has(c.name) && c.ret !== null ? `0x${c.ret.toString(16)}` : String(c.ret);
}

function simOutcome(name: string, out: OpOutcome, value: number | undefined): string {
  if (out.signal !== undefined) return `signal ${String(out.signal)}`;
  if (out.errno !== null) return `-1 ${out.errno}`;
  const v = value ?? Number(out.ret);
  return ADDRESS_RET.has(name) ? `0x${v.toString(16)}` : String(v);
}

/** One simulated process of the log: its translation state and its mmap hint (copied at fork, fresh at execve). */
interface Proc {
  st: ProcState;
  hint: MmOpState;
}

/**
 * Starts the replay on `k`: the log's first pid is a process; a pid a clone
 * of the log made becomes, when that clone is replayed, a thread of its
 * parent's process (CLONE_THREAD or CLONE_VM) or a forked process (fork,
 * vfork, clone without them); a pid the log shows no birth of (strace -p of
 * a running program) is a thread of the first process from the start.
 * execve replaces the process's mm (close-on-exec fds closed); wait4 waits
 * for the child the log says it reaped. Fills `tally` as the tasks run.
 */
export function startReplay(k: Kernel, calls: readonly StraceCall[], opts: ReplayOptions, tally: ReplayTally): void {
  const byPid = new Map<number, StraceCall[]>();
  for (const c of [...calls].sort((x, y) => x.start - y.start || x.line - y.line)) {
    let list = byPid.get(c.pid);
    if (!list) byPid.set(c.pid, (list = []));
    list.push(c);
  }
  const pids = [...byPid.keys()];
  if (pids.length === 0) return;
  const births = new Map<number, Birth>();
  for (const c of calls) {
    if (CLONES.has(c.name) && c.errno === null && c.ret !== null && c.ret > 0 && byPid.has(c.ret) && !births.has(c.ret)) {
      births.set(c.ret, { parent: c.pid, line: c.line, thread: cloneMakesThread(c) });
    }
  }
  const t0 = calls.reduce((m, c) => Math.min(m, c.start), Infinity);
  const cyclesPerSecond = k.cfg.clock_ghz * 1e9;
  const cookies = new CookieNames();
  /** The simulated task of each log pid, once made. */
  const tasks = new Map<number, TaskStruct>();

  function* replayThread(t: Task, pid: number, proc: Proc, from: number): Blocking<void> {
    const list = byPid.get(pid) ?? [];
    tasks.set(pid, current(t));
    let bound = new Map<string, number>();
    const env: MmOpEnv & OpEnv = {
      k, t, ref: (r) => ('value' in r ? r.value : 0), bind: (n, v) => void (n !== undefined && bound.set(n, v)), mm: proc.hint, cookies,
    };
    let lastEnd = from;
    const feed = pid === root ? opts.memory : undefined;
    const align = feed ? new MarkerAlign(alignCalls(list), feed) : undefined;
    // The trace is of the program valgrind ran: its traffic starts after the thread's last successful execve.
    let memFrom = 0;
    list.forEach((c, i) => {
      if ((c.name === 'execve' || c.name === 'execveat') && c.errno === null) memFrom = i + 1;
    });
    for (let ci = 0; ci < list.length; ci++) {
      const c = list[ci]!;
      // The memory traffic before this call: up to the marker that goes with it, or with a later call.
      let marker: LackeyMarker | null = null;
      if (feed && align && ci >= memFrom) {
        while (!feed.done) {
          const m = feed.pending;
          if (m === null) {
            yield* feed.run(t, false);
            continue;
          }
          const j = align.target(m, ci);
          if (j < 0) {
            feed.pending = null;
            continue;
          }
          if (j === ci) marker = m;
          break;
        }
      }
      if (opts.gaps && c.start > lastEnd) {
        const gap = Math.round((c.start - lastEnd) * cyclesPerSecond);
        t.chargeAs(CAT_USER, gap);
        tally.gapCycles += gap;
        yield;
      }
      lastEnd = Math.max(lastEnd, c.start + c.duration);
      // A signal that came while the thread ran in user mode (a timer's) is delivered before its next call.
      if (signal_pending(current(t))) yield* do_signal(t, 0);
      // Another thread's execve killed this one (de_thread), or a signal ended the process, before this call: the log has nothing more of it to replay.
      if (fatal_signal_pending(current(t)) || current(t).exitSignal !== null) break;
      if (c.name === 'exit' || c.name === 'exit_group') {
        if (feed) yield* feed.run(t, true);
        current(t).exitCode = (c.args[0] === undefined ? 0 : Number(c.args[0])) & 0xff;
        tally.replayed[c.name] = (tally.replayed[c.name] ?? 0) + 1;
        break;
      }
      if (yield* processCall(t, c, proc)) {
        tally.replayed[c.name] = (tally.replayed[c.name] ?? 0) + 1;
        if (t.shouldYield()) yield;
        continue;
      }
      let op: Op | null;
      try {
        op = translate(c, proc.st);
      } catch (e) {
        if (!(e instanceof Unreadable)) throw e;
        op = null;
      }
      if (opts.advice !== undefined && op && op.op === 'madvise' && (op.advice === MADV_DONTNEED || op.advice === MADV_FREE)) op = { ...op, advice: opts.advice };
      const h = op ? handlers[op.op] : undefined;
      if (!op || !h) {
        tally.unmodelled[c.name] = (tally.unmodelled[c.name] ?? 0) + 1;
        t.chargeAs(intern(`not modelled:${c.name}`), k.cfg.cost.syscall);
        if (t.shouldYield()) yield;
        continue;
      }
      bound = new Map();
      const out = yield* h(env, op);
      tally.replayed[c.name] = (tally.replayed[c.name] ?? 0) + 1;
      // The return to user mode: pending signals are delivered (the counting handler runs and returns through
      // rt_sigreturn) and an interrupted call's -ERESTART* code decided. The call is compared as strace logged it, before
      // that decision; a restart is the log's own next line (the call again, or restart_syscall).
      const code = RESTART_CODES[out.errno ?? ''] ?? 0;
      if (code !== 0 || signal_pending(current(t))) yield* do_signal(t, code);
      const logFailed = c.errno !== null;
      const simFailed = out.errno !== null || out.signal !== undefined;
      let differs = logFailed !== simFailed || (logFailed && out.errno !== c.errno);
      let simValue: number | undefined;
      const st = proc.st;
      if (!differs && !logFailed && c.ret !== null) {
        const fdBound = bound.get('_');
        if (FD_RETURNING.has(c.name) || (c.name === 'fcntl' && fdBound !== undefined)) {
          if (fdBound !== undefined) st.fds.set(c.ret, fdBound);
          simValue = c.ret;
        } else if (c.name === 'pipe' || c.name === 'pipe2') {
          // The two fds the log shows in its array argument map to the two the simulated kernel gave.
          const logFds = intList(c.args[0]);
          const simFds = out['fds'] as number[] | undefined;
          if (logFds.length === 2 && simFds) for (let i = 0; i < 2; i++) st.fds.set(logFds[i]!, simFds[i]!);
        } else if (c.name === 'brk') {
          const off = Number(out['offset']);
          simValue = BRK_BASE + off;
          differs = st.logBrk === null || off !== c.ret - st.logBrk;
          if (differs) simValue = st.logBrk === null ? simValue : st.logBrk + off;
          else simValue = c.ret;
        } else if (c.name === 'mmap' || c.name === 'mremap') {
          simValue = bound.get('_') ?? c.ret;
          differs = simValue !== c.ret;
        } else if (EXACT_RET.has(c.name)) differs = out.ret !== c.ret;
      }
      if (differs) tally.mismatches.push({ line: c.line, pid: c.pid, name: c.name, log: logOutcome(c), sim: simOutcome(c.name, out, simValue) });
      if (marker && align && feed) {
        align.matched(marker, ci, simFailed ? -1 : (bound.get('_') ?? Number(out.ret)));
        feed.pending = null;
      }
      if (t.shouldYield()) yield;
    }
  }

  /**
   * The process calls: a clone that made a pid of the log makes its task
   * here; execve replaces the mm; wait4/waitid wait for the reaped child.
   * Returns whether `c` was one of them (and handled).
   */
  /** The memory calls of a thread's list, for the aligner. */
  function alignCalls(list: readonly StraceCall[]): AlignCall[] {
    const out: AlignCall[] = [];
    list.forEach((c, index) => {
      if (!MARKER_CALLS.has(c.name)) return;
      const args: number[] = [];
      for (const a of c.args) {
        try {
          args.push(num(a));
        } catch {
          args.push(Number.NaN);
        }
      }
      out.push({ index, name: c.name, args });
    });
    return out;
  }

  function* processCall(t: Task, c: StraceCall, proc: Proc): Blocking<boolean> {
    const ok = c.errno === null && c.ret !== null;
    if (CLONES.has(c.name)) {
      const birth = ok ? births.get(c.ret!) : undefined;
      if (!birth || birth.line !== c.line) return false;
      const child = c.ret!;
      const from = c.start + c.duration;
      const ts = current(t);
      if (birth.thread) {
        k.spawnThread(ts.group[0] ?? ts, `replay/${child}`, function* (ct: Task) {
          yield* replayThread(ct, child, proc, from);
          yield* k.exit(ct, current(ct));
        }, { at: t.now });
        tally.threads++;
        return true;
      }
      const childProc: Proc = { st: { fds: new Map(proc.st.fds), logBrk: proc.st.logBrk }, hint: { nextHint: proc.hint.nextHint } };
      const r = yield* k.fork(t, ts, function* (ct: Task) {
        yield* replayThread(ct, child, childProc, from);
        yield* k.exit(ct, current(ct));
      });
      if (typeof r === 'number') tally.mismatches.push({ line: c.line, pid: c.pid, name: c.name, log: String(c.ret), sim: `-1 errno ${-r}` });
      else tally.processes++;
      return true;
    }
    if (c.name === 'execve' || c.name === 'execveat') {
      if (!ok) return false;
      // A new program: a fresh mm (its heap and mappings the log will show anew), close-on-exec fds closed.
      // The program's name (comm) is its path's last component; execveat's path is its second argument.
      const path = /^"([^"]*)"/.exec(c.args[c.name === 'execve' ? 0 : 1] ?? '')?.[1];
      yield* k.exec(t, current(t), path || undefined);
      proc.st.logBrk = null;
      proc.hint.nextHint = MAP_HINT_BASE;
      return true;
    }
    // The handler's return: charged by the delivery that ran it (do_signal), which the log shows as a `--- SIG ---` line.
    if (c.name === 'rt_sigreturn') return true;
    if ((c.name === 'wait4' || c.name === 'waitid') && ok && c.ret! > 0) {
      const child = tasks.get(c.ret!);
      if (!child) return false;
      yield t.sleepOn(child.task.exited);
      return true;
    }
    return false;
  }

  const root = pids[0]!;
  k.spawnProcess(
    'replay',
    function* (t) {
      const leader: TaskStruct = current(t);
      tally.processes++;
      const proc: Proc = { st: { fds: new Map(), logBrk: null }, hint: { nextHint: MAP_HINT_BASE } };
      // Pids the log shows no birth of: threads of the first process from the start.
      for (const pid of pids.slice(1)) {
        if (births.has(pid)) continue;
        k.spawnThread(leader, `replay/${pid}`, function* (ct: Task) {
          yield* replayThread(ct, pid, proc, t0);
          yield* k.exit(ct, current(ct));
        }, { at: t.now });
        tally.threads++;
      }
      yield* replayThread(t, root, proc, t0);
      // A log that ends without the thread's exit: the rest of the trace still runs.
      if (opts.memory) yield* opts.memory.run(t, true);
      yield* k.exit(t, leader);
    },
    { cpu: 0 },
  );
}
