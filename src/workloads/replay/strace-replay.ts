/**
 * Replays a parsed strace log (strace-parse.ts) on the simulated kernel: one
 * simulated process, one thread per pid of the log, each thread's calls in
 * its own time order. Every call the kernel has runs through the syscall
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
import { current, type TaskStruct } from '../../kernel/sched/task_struct.js';
import { intern } from '../../sim/attribution.js';
import { CAT_USER, type Blocking, type Task } from '../../sim/task.js';
import { F, FD_CLOEXEC, MADV, MAP, O, PROT, SEEK } from '../script/constants.js';
import { AT_FDCWD, AT_NAMES, FALLOC_NAMES } from '../script/calls/uapi.js';
import { CookieNames } from '../script/format.js';
import { handlers } from '../script/interp.js';
import type { OpEnv, OpOutcome } from '../script/ops/fd.js';
import { MAP_HINT_BASE, type MmOpEnv } from '../script/ops/mm.js';
import type { Op, Ref } from '../script/types.js';
import type { StraceCall } from './strace-parse.js';
import { PAGE_SIZE } from '../../hw/types.js';

export interface ReplayOptions {
  /** Charge the time between a thread's calls as user time. */
  gaps: boolean;
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
}

const SYMBOLS: Readonly<Record<string, number>> = {
  ...PROT, ...MAP, ...MADV, ...O, ...F, ...SEEK,
  NULL: 0, AT_FDCWD, FD_CLOEXEC,
  AT_EMPTY_PATH: AT_NAMES['empty_path'] ?? 0x1000, AT_REMOVEDIR: 0x200, AT_SYMLINK_NOFOLLOW: 0x100,
  ...Object.fromEntries(Object.entries(FALLOC_NAMES).map(([k, v]) => [`FALLOC_FL_${k.toUpperCase()}`, v])),
};

class Unreadable extends Error {}

/** An argument as a number: decimal, 0x hex, 0 octal, or `A|B|0x10` of known names (-X verbose comments dropped). */
function num(arg: string | undefined): number {
  if (arg === undefined) throw new Unreadable('a missing argument');
  const s = arg.replace(/\/\*.*?\*\//g, '').trim();
  let v = 0;
  for (const part of s.split('|')) {
    const p = part.trim();
    let x: number;
    if (/^-?0x[0-9a-f]+$/i.test(p)) x = Number.parseInt(p, 16);
    else if (/^0[0-7]+$/.test(p)) x = Number.parseInt(p, 8);
    else if (/^-?\d+$/.test(p)) x = Number(p);
    else if (p in SYMBOLS) x = SYMBOLS[p]!;
    else throw new Unreadable(p);
    // Flags combine with |; addresses and lengths stay exact past 2^31.
    v = s.includes('|') ? v | x : x;
  }
  return v;
}

/** A path argument: strace's C string, escapes decoded. */
function str(arg: string | undefined): string {
  if (arg === undefined || !arg.startsWith('"')) throw new Unreadable(arg ?? 'a missing path');
  return JSON.parse(arg.replace(/\.\.\.$/, '').replace(/\\x([0-9a-f]{2})/gi, '\\u00$1')) as string;
}

const lit = (value: number): Ref => ({ value });

/** Calls whose return value is a count, an offset or an address and must equal the log's, not only succeed as it did. */
const EXACT_RET = new Set(['read', 'write', 'pread64', 'pwrite64', 'lseek']);

interface ProcState {
  /** The log's fd -> the simulated one. */
  fds: Map<number, number>;
  /** The first break the log shows (brk(NULL)), or null before it. */
  logBrk: number | null;
}

/** The script op a logged call becomes, or null when the kernel does not model it (or its arguments cannot be read). */
function translate(c: StraceCall, st: ProcState): Op | null {
  const a = c.args;
  const fd = (s: string | undefined): Ref => {
    const n = num(s);
    return lit(st.fds.get(n) ?? n);
  };
  const ok = c.errno === null && c.ret !== null;
  const atCwd = (dirfd: string | undefined, path: string) => num(dirfd) === AT_FDCWD || path.startsWith('/');
  switch (c.name) {
    case 'mmap': {
      const flags = num(a[3]);
      const fixed = (flags & (MAP.MAP_FIXED | MAP.MAP_FIXED_NOREPLACE)) !== 0;
      // Placed where the program's mapping was, so later calls name the same range.
      const addr = ok ? c.ret! : num(a[0]);
      const f = ok && !fixed ? flags | MAP.MAP_FIXED_NOREPLACE : flags;
      const anon = (flags & MAP.MAP_ANONYMOUS) !== 0;
      return { op: 'mmap', as: '_', pages: Math.ceil(num(a[1]) / PAGE_SIZE), prot: num(a[2]), flags: f, fd: anon ? undefined : fd(a[4]), offset: num(a[5]), addr: addr === 0 ? undefined : lit(addr) };
    }
    case 'munmap':
      return { op: 'munmap', addr: lit(num(a[0])), len: num(a[1]) };
    case 'mprotect':
      return { op: 'mprotect', addr: lit(num(a[0])), len: num(a[1]), prot: num(a[2]) };
    case 'madvise':
      return { op: 'madvise', addr: lit(num(a[0])), len: num(a[1]), advice: num(a[2]) };
    case 'brk': {
      const want = num(a[0]);
      if (st.logBrk === null) {
        if (want !== 0 || !ok) return null;
        st.logBrk = c.ret!;
      }
      return { op: 'brk', addr: lit(want === 0 ? 0 : BRK_BASE + (want - st.logBrk)) };
    }
    case 'open':
      return { op: 'open', path: str(a[0]), flags: num(a[1]), mode: a[2] === undefined ? 0 : num(a[2]), as: '_' };
    case 'openat': {
      const path = str(a[1]);
      if (!atCwd(a[0], path)) return null;
      return { op: 'open', path, flags: num(a[2]), mode: a[3] === undefined ? 0 : num(a[3]), as: '_' };
    }
    case 'close':
      return { op: 'close', fd: fd(a[0]) };
    case 'dup':
      return { op: 'dup', fd: fd(a[0]), as: '_' };
    case 'dup2':
      return { op: 'dup2', fd: fd(a[0]), newfd: fd(a[1]), as: '_' };
    case 'dup3':
      return { op: 'dup3', fd: fd(a[0]), newfd: fd(a[1]), flags: num(a[2]), as: '_' };
    case 'fcntl': {
      const cmd = num(a[1]);
      return { op: 'fcntl', fd: fd(a[0]), cmd, arg: a[2] === undefined ? 0 : num(a[2]), as: '_' };
    }
    case 'read':
      return { op: 'read', fd: fd(a[0]), len: num(a[2]) };
    case 'write':
      return { op: 'write', fd: fd(a[0]), len: num(a[2]), byte: 0 };
    case 'pread64':
      return { op: 'pread', fd: fd(a[0]), len: num(a[2]), offset: num(a[3]) };
    case 'pwrite64':
      return { op: 'pwrite', fd: fd(a[0]), len: num(a[2]), byte: 0, offset: num(a[3]) };
    case 'lseek':
      return { op: 'lseek', fd: fd(a[0]), offset: num(a[1]), whence: num(a[2]) };
    case 'ftruncate':
      return { op: 'ftruncate', fd: fd(a[0]), len: num(a[1]) };
    case 'fallocate':
      return { op: 'fallocate', fd: fd(a[0]), mode: num(a[1]), offset: num(a[2]), len: num(a[3]) };
    case 'unlink':
      return { op: 'unlink', path: str(a[0]) };
    case 'rmdir':
      return { op: 'rmdir', path: str(a[0]) };
    case 'unlinkat': {
      const path = str(a[1]);
      if (!atCwd(a[0], path)) return null;
      return { op: num(a[2]) & 0x200 ? 'rmdir' : 'unlink', path };
    }
    case 'mkdir':
      return { op: 'mkdir', path: str(a[0]), mode: num(a[1]) };
    case 'mkdirat': {
      const path = str(a[1]);
      return atCwd(a[0], path) ? { op: 'mkdir', path, mode: num(a[2]) } : null;
    }
    case 'rename':
      return { op: 'rename', from: str(a[0]), to: str(a[1]) };
    case 'renameat':
    case 'renameat2': {
      const from = str(a[1]);
      const to = str(a[3]);
      if (!atCwd(a[0], from) || !atCwd(a[2], to) || (c.name === 'renameat2' && num(a[4]) !== 0)) return null;
      return { op: 'rename', from, to };
    }
    default:
      return null;
  }
}

const FD_RETURNING = new Set(['open', 'openat', 'dup', 'dup2', 'dup3']);

/** Calls that return an address: shown in hex. */
const ADDRESS_RET = new Set(['mmap', 'brk']);

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

/**
 * Starts the replay on `k`: a process whose threads (one per pid of the log,
 * the first pid its leader) replay their calls; fills `tally` as they run.
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
  const t0 = calls.reduce((m, c) => Math.min(m, c.start), Infinity);
  const st: ProcState = { fds: new Map(), logBrk: null };
  const cyclesPerSecond = k.cfg.clock_ghz * 1e9;
  const hint = { nextHint: MAP_HINT_BASE };
  const cookies = new CookieNames();

  function* replayThread(t: Task, list: readonly StraceCall[]): Blocking<void> {
    let bound: number | undefined;
    const env: MmOpEnv & OpEnv = { k, t, ref: (r) => ('value' in r ? r.value : 0), bind: (_n, v) => void (bound = v), mm: hint, cookies };
    let lastEnd = t0;
    for (const c of list) {
      if (opts.gaps && c.start > lastEnd) {
        const gap = Math.round((c.start - lastEnd) * cyclesPerSecond);
        t.chargeAs(CAT_USER, gap);
        tally.gapCycles += gap;
        yield;
      }
      lastEnd = Math.max(lastEnd, c.start + c.duration);
      if (c.name === 'exit' || c.name === 'exit_group') break;
      let op: Op | null;
      try {
        op = translate(c, st);
      } catch (e) {
        if (!(e instanceof Unreadable)) throw e;
        op = null;
      }
      const h = op ? handlers[op.op] : undefined;
      if (!op || !h) {
        tally.unmodelled[c.name] = (tally.unmodelled[c.name] ?? 0) + 1;
        t.chargeAs(intern(`not modelled:${c.name}`), k.cfg.cost.syscall);
        if (t.shouldYield()) yield;
        continue;
      }
      bound = undefined;
      const out = yield* h(env, op);
      tally.replayed[c.name] = (tally.replayed[c.name] ?? 0) + 1;
      const logFailed = c.errno !== null;
      const simFailed = out.errno !== null || out.signal !== undefined;
      let differs = logFailed !== simFailed || (logFailed && out.errno !== c.errno);
      let simValue: number | undefined;
      if (!differs && !logFailed && c.ret !== null) {
        if (FD_RETURNING.has(c.name) || (c.name === 'fcntl' && bound !== undefined)) {
          if (bound !== undefined) st.fds.set(c.ret, bound);
          simValue = c.ret;
        } else if (c.name === 'brk') {
          const off = Number(out['offset']);
          simValue = BRK_BASE + off;
          differs = st.logBrk === null || off !== c.ret - st.logBrk;
          if (differs) simValue = st.logBrk === null ? simValue : st.logBrk + off;
          else simValue = c.ret;
        } else if (c.name === 'mmap') simValue = c.ret;
        else if (EXACT_RET.has(c.name)) differs = out.ret !== c.ret;
      }
      if (differs) tally.mismatches.push({ line: c.line, pid: c.pid, name: c.name, log: logOutcome(c), sim: simOutcome(c.name, out, simValue) });
      if (t.shouldYield()) yield;
    }
  }

  const leaderCalls = byPid.get(pids[0]!)!;
  k.spawnProcess(
    'replay',
    function* (t) {
      const leader: TaskStruct = current(t);
      for (const pid of pids.slice(1)) {
        const list = byPid.get(pid)!;
        k.spawnThread(leader, `replay/${pid}`, function* (ct: Task) {
          yield* replayThread(ct, list);
          yield* k.exit(ct, current(ct));
        }, { at: t.now });
      }
      yield* replayThread(t, leaderCalls);
      yield* k.exit(t, leader);
    },
    { cpu: 0 },
  );
}
