/**
 * What a logged system call becomes: the syscall-script op the simulated
 * kernel runs (script/calls and script/ops handlers), with the log's
 * arguments read from strace's notation (numbers, `A|B` flag names, quoted
 * strings, `[{iov_base=..., iov_len=N}, ...]` iovecs, `~0U`).
 *
 * Addresses are the program's own; fds and inotify watch descriptors are
 * the log's numbers mapped to the simulated kernel's; a dirfd other than
 * AT_FDCWD is mapped like any fd. The heap is moved from the log's first
 * break to the simulated one (BRK_BASE).
 */
import { BRK_BASE } from '../../kernel/mm/mm_types.js';
import { F, FD_CLOEXEC, IN, MADV, MAP, O, PROT, SEEK } from '../script/constants.js';
import { AT_FDCWD, AT_NAMES, CLOSE_RANGE_NAMES, EFD_NAMES, FADV_NAMES, FALLOC_NAMES, FLOCK_NAMES, MCL_NAMES, MFD_NAMES, MLOCK2_NAMES, MREMAP_NAMES, MS_NAMES, RENAME_NAMES } from '../script/calls/uapi.js';
import type { Op, Ref } from '../script/types.js';
import { loffOf, type loff_t } from '../../kernel/fs/loff.js';
import type { StraceCall } from './strace-parse.js';
import { signal_name } from '../../kernel/signal.js';

/** `name` -> `PREFIX_NAME` for a table of lower-case names. */
/** fcntl's record-lock commands and F_RDLCK. */
const LOCK_CMDS: ReadonlySet<number> = new Set([F.F_GETLK, F.F_SETLK, F.F_SETLKW, F.F_OFD_GETLK, F.F_OFD_SETLK, F.F_OFD_SETLKW]);
const F_RDLCK = 0;

const prefixed = (prefix: string, t: Readonly<Record<string, number>>): Record<string, number> =>
  Object.fromEntries(Object.entries(t).map(([k, v]) => [`${prefix}${k.toUpperCase()}`, v]));

const SYMBOLS: Readonly<Record<string, number>> = {
  ...PROT, ...MAP, ...MADV, ...O, ...F, ...SEEK, ...IN, ...FADV_NAMES,
  NULL: 0, AT_FDCWD, FD_CLOEXEC, F_RDLCK: 0, F_WRLCK: 1, F_UNLCK: 2,
  ...prefixed('AT_', AT_NAMES), AT_REMOVEDIR: 0x200, AT_STATX_SYNC_AS_STAT: 0,
  ...prefixed('FALLOC_FL_', FALLOC_NAMES),
  ...prefixed('MREMAP_', MREMAP_NAMES),
  ...prefixed('MCL_', MCL_NAMES),
  ...prefixed('MS_', MS_NAMES),
  ...prefixed('MFD_', MFD_NAMES), MFD_NOEXEC_SEAL: MFD_NAMES['noexec_seal']!,
  ...prefixed('MLOCK_', MLOCK2_NAMES),
  ...prefixed('EFD_', EFD_NAMES),
  ...prefixed('CLOSE_RANGE_', CLOSE_RANGE_NAMES),
  ...prefixed('RENAME_', RENAME_NAMES),
  ...prefixed('LOCK_', FLOCK_NAMES),
  IN_NONBLOCK: O.O_NONBLOCK, IN_CLOEXEC: O.O_CLOEXEC,
  // mmap's huge page size field (MAP_HUGE_SHIFT 26): strace names the sizes.
  MAP_HUGE_2MB: 21 << 26, MAP_HUGE_1GB: 30 << 26,
  STATX_BASIC_STATS: 0x7ff, STATX_ALL: 0xfff,
};

/** Signal numbers by strace's names: SIGHUP..SIGSYS (SIGIO and SIGPOLL both 29, SIGIOT 6), SIGRTMIN 32, SIGRT_n 32+n. */
const SIGNALS: Readonly<Record<string, number>> = (() => {
  const t: Record<string, number> = { SIGIO: 29, SIGIOT: 6, SIGRTMIN: 32 };
  for (let s = 1; s <= 31; s++) t[signal_name(s)] = s;
  for (let n = 1; n <= 32; n++) t[`SIGRT_${n}`] = 32 + n;
  return t;
})();

/** sa_flags by name (asm/signal.h, x86-64). */
const SA_FLAGS: Readonly<Record<string, number>> = {
  SA_NOCLDSTOP: 1, SA_NOCLDWAIT: 2, SA_SIGINFO: 4, SA_UNSUPPORTED: 0x400, SA_EXPOSE_TAGBITS: 0x800, SA_RESTORER: 0x04000000,
  SA_ONSTACK: 0x08000000, SA_RESTART: 0x10000000, SA_NODEFER: 0x40000000, SA_RESETHAND: 0x80000000,
};

const SIG_HOWS: Readonly<Record<string, number>> = { SIG_BLOCK: 0, SIG_UNBLOCK: 1, SIG_SETMASK: 2 };

export class Unreadable extends Error {}

/** A signal argument: strace's name (SIGALRM, SIGRT_3) or a number. */
export function sig(arg: string | undefined): number {
  const s = arg?.trim();
  if (s !== undefined && s in SIGNALS) return SIGNALS[s]!;
  return num(s);
}

/** A sigset as strace prints it: `[INT USR2]` (names without SIG), `~[RTMIN RT_1]` (every signal but those), `[]`. */
export function sigset(arg: string | undefined): bigint {
  const s = arg?.trim();
  const m = s === undefined ? null : /^(~?)\[(.*)\]$/.exec(s);
  if (!m) throw new Unreadable(s ?? 'a missing sigset');
  let set = 0n;
  for (const name of m[2]!.split(/\s+/).filter((x) => x !== '')) {
    const n = /^\d+$/.test(name) ? Number(name) : SIGNALS[`SIG${name}`];
    if (n === undefined || n < 1 || n > 64) throw new Unreadable(name);
    set |= 1n << BigInt(n - 1);
  }
  return m[1] === '~' ? ~set & ((1n << 64n) - 1n) : set;
}

/** A field `key=VALUE` of a struct strace prints (`{tv_sec=1, tv_nsec=0}`), nested braces kept whole. */
function field(arg: string, key: string): string {
  const at = arg.search(new RegExp(`(^|[{,\\s])${key}=`));
  if (at < 0) throw new Unreadable(`${arg}: no ${key}`);
  let i = arg.indexOf('=', at) + 1;
  const from = i;
  let depth = 0;
  for (; i < arg.length; i++) {
    const c = arg[i]!;
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      if (depth === 0) break;
      depth--;
    } else if (c === ',' && depth === 0) break;
  }
  return arg.slice(from, i).trim();
}

/** A struct timespec's nanoseconds, or -1 when the kernel refuses it (a negative second, nanoseconds outside 0..999999999: EINVAL). */
function timespecNs(arg: string | undefined): number {
  if (arg === undefined || !arg.startsWith('{')) throw new Unreadable(arg ?? 'a missing timespec');
  const secs = num(field(arg, 'tv_sec'));
  const ns = num(field(arg, 'tv_nsec'));
  if (secs < 0 || ns < 0 || ns > 999_999_999) return -1;
  return secs * 1e9 + ns;
}

/** A struct timeval's microseconds, or -1 when setitimer refuses it (EINVAL). */
function timevalUs(arg: string): number {
  const secs = num(field(arg, 'tv_sec'));
  const us = num(field(arg, 'tv_usec'));
  if (secs < 0 || us < 0 || us > 999_999) return -1;
  return secs * 1e6 + us;
}

/** A sigaction's handler as the model keeps it: SIG_DFL 0, SIG_IGN 1, any address the counting handler (2). */
function sigHandler(arg: string): number {
  const h = field(arg, 'sa_handler');
  return h === 'SIG_DFL' ? 0 : h === 'SIG_IGN' ? 1 : 2;
}

function saFlags(arg: string): number {
  let v = 0;
  for (const p of field(arg, 'sa_flags').split('|')) {
    const n = p.trim();
    v |= n in SA_FLAGS ? SA_FLAGS[n]! : num(n);
  }
  return v >>> 0;
}

/** An argument as a number: decimal, 0x hex, 0 octal, `~0U`, or `A|B|0x10` of known names (-X verbose comments dropped). */
export function num(arg: string | undefined): number {
  if (arg === undefined) throw new Unreadable('a missing argument');
  const s = arg.replace(/\/\*.*?\*\//g, '').trim();
  let v = 0;
  for (const part of s.split('|')) {
    const p = part.trim();
    let x: number;
    if (/^-?0x[0-9a-f]+$/i.test(p)) x = Number.parseInt(p, 16);
    else if (/^0[0-7]+$/.test(p)) x = Number.parseInt(p, 8);
    else if (/^-?\d+$/.test(p)) x = Number(p);
    else if (p === '~0U' || p === '~0') x = 0xffffffff;
    else if (p in SYMBOLS) x = SYMBOLS[p]!;
    else throw new Unreadable(p);
    // Flags combine with |; addresses and lengths stay exact past 2^31.
    v = s.includes('|') ? v | x : x;
  }
  return v;
}

/** A path argument: strace's C string, escapes decoded. */
export function str(arg: string | undefined): string {
  if (arg === undefined || !arg.startsWith('"')) throw new Unreadable(arg ?? 'a missing path');
  return JSON.parse(arg.replace(/\.\.\.$/, '').replace(/\\x([0-9a-f]{2})/gi, '\\u00$1')) as string;
}

/** An iovec argument's lengths: `[{iov_base=..., iov_len=N}, ...]` (the bases are the program's buffers). */
export function iovLens(arg: string | undefined): number[] {
  if (arg === undefined || !arg.startsWith('[')) throw new Unreadable(arg ?? 'a missing iovec');
  return [...arg.matchAll(/iov_len=(\d+)/g)].map((m) => Number(m[1]));
}

/** An int array argument (`[3, 4]`, pipe2's fds). */
export function intList(arg: string | undefined): number[] {
  if (arg === undefined || !arg.startsWith('[')) throw new Unreadable(arg ?? 'a missing array');
  return arg.slice(1, -1).split(',').filter((x) => x.trim() !== '').map((x) => num(x));
}

/**
 * struct flock as strace prints it, `{l_type=F_WRLCK, l_whence=SEEK_SET,
 * l_start=0, l_len=0}` (F_GETLK's with the answer and l_pid): positions
 * exact past 2^53.
 */
export function flockFields(arg: string | undefined): { type: number; whence: number; start: loff_t; len: loff_t } {
  if (arg === undefined || !arg.startsWith('{')) throw new Unreadable(arg ?? 'a missing struct flock');
  const field = (key: string): string => {
    const m = new RegExp(`${key}=([^,}]+)`).exec(arg);
    if (!m) throw new Unreadable(`${arg}: no ${key}`);
    return m[1]!.trim();
  };
  const pos = (key: string): loff_t => {
    const v = field(key);
    return /^-?\d+$/.test(v) ? loffOf(BigInt(v)) : num(v);
  };
  return { type: num(field('l_type')), whence: num(field('l_whence')), start: pos('l_start'), len: pos('l_len') };
}

const lit = (value: number): Ref => ({ value });
const PAGE = 4096;

/** What one process of the log needs to translate its calls. */
export interface ProcState {
  /** The log's fd -> the simulated one. */
  fds: Map<number, number>;
  /** The first break the log shows (brk(NULL)), or null before it. */
  logBrk: number | null;
}

/** The script op a logged call becomes, or null when the kernel does not model it (Unreadable: its arguments cannot be read). */
export function translate(c: StraceCall, st: ProcState): Op | null {
  const a = c.args;
  const fd = (s: string | undefined): Ref => {
    const n = num(s);
    return lit(st.fds.get(n) ?? n);
  };
  const dirfd = (s: string | undefined): Ref => (num(s) === AT_FDCWD ? lit(AT_FDCWD) : fd(s));
  const ok = c.errno === null && c.ret !== null;
  switch (c.name) {
    case 'mmap': {
      const flags = num(a[3]);
      const fixed = (flags & (MAP.MAP_FIXED | MAP.MAP_FIXED_NOREPLACE)) !== 0;
      // Placed where the program's mapping was, so later calls name the same range.
      const addr = ok ? c.ret! : num(a[0]);
      const f = ok && !fixed ? flags | MAP.MAP_FIXED_NOREPLACE : flags;
      const anon = (flags & MAP.MAP_ANONYMOUS) !== 0;
      return { op: 'mmap', as: '_', pages: Math.ceil(num(a[1]) / PAGE), prot: num(a[2]), flags: f, fd: anon ? undefined : fd(a[4]), offset: num(a[5]), addr: addr === 0 ? undefined : lit(addr) };
    }
    case 'munmap':
      return { op: 'munmap', addr: lit(num(a[0])), len: num(a[1]) };
    case 'mprotect':
      return { op: 'mprotect', addr: lit(num(a[0])), len: num(a[1]), prot: num(a[2]) };
    case 'madvise':
      return { op: 'madvise', addr: lit(num(a[0])), len: num(a[1]), advice: num(a[2]) };
    case 'mremap': {
      let flags = num(a[3]);
      // The area goes where the program's went: a move becomes a fixed one to the log's address.
      let newAddr = a[4] === undefined ? 0 : num(a[4]);
      if (ok && c.ret !== num(a[0]) && flags & MREMAP_NAMES['maymove']!) {
        flags |= MREMAP_NAMES['fixed']!;
        newAddr = c.ret!;
      }
      return { op: 'mremap', addr: lit(num(a[0])), old_len: num(a[1]), new_len: num(a[2]), flags, new_addr: lit(newAddr), as: '_' };
    }
    case 'mlock':
    case 'munlock':
    case 'mincore':
      return { op: c.name, addr: lit(num(a[0])), len: num(a[1]) };
    case 'mlock2':
      return { op: 'mlock2', addr: lit(num(a[0])), len: num(a[1]), flags: num(a[2]) };
    case 'mlockall':
      return { op: 'mlockall', flags: num(a[0]) };
    case 'munlockall':
      return { op: 'munlockall' };
    case 'msync':
      return { op: 'msync', addr: lit(num(a[0])), len: num(a[1]), flags: num(a[2]) };
    case 'brk': {
      const want = num(a[0]);
      if (st.logBrk === null) {
        if (want !== 0 || !ok) return null;
        st.logBrk = c.ret!;
      }
      return { op: 'brk', addr: lit(want === 0 ? 0 : BRK_BASE + (want - st.logBrk)) };
    }
    case 'memfd_create':
      return { op: 'memfd_create', name: str(a[0]), flags: num(a[1]), as: '_' };
    case 'open':
      return { op: 'open', path: str(a[0]), flags: num(a[1]), mode: a[2] === undefined ? 0 : num(a[2]), as: '_' };
    case 'openat':
      return { op: 'openat', dirfd: dirfd(a[0]), path: str(a[1]), flags: num(a[2]), mode: a[3] === undefined ? 0 : num(a[3]), as: '_' };
    case 'close':
      return { op: 'close', fd: fd(a[0]) };
    case 'close_range':
      return { op: 'close_range', fd: fd(a[0]), max: lit(num(a[1])), flags: num(a[2]) };
    case 'dup':
      return { op: 'dup', fd: fd(a[0]), as: '_' };
    case 'dup2':
      return { op: 'dup2', fd: fd(a[0]), newfd: fd(a[1]), as: '_' };
    case 'dup3':
      return { op: 'dup3', fd: fd(a[0]), newfd: fd(a[1]), flags: num(a[2]), as: '_' };
    case 'fcntl': {
      const cmd = num(a[1]);
      if (LOCK_CMDS.has(cmd) && a[2]?.startsWith('{')) {
        // F_GETLK prints what the kernel wrote back: the range it asked about when nothing conflicted (then a read
        // lock's query finds nothing either way), else the conflicting lock's; l_pid is the answer's, never 0 on entry.
        const l = flockFields(a[2]);
        const get = cmd === F.F_GETLK || cmd === F.F_OFD_GETLK;
        return { op: 'fcntl_lock', fd: fd(a[0]), cmd, type: get ? F_RDLCK : l.type, whence: l.whence, start: l.start, len: l.len, pid: 0 };
      }
      return { op: 'fcntl', fd: fd(a[0]), cmd, arg: a[2] === undefined ? 0 : num(a[2]), as: '_' };
    }
    case 'flock':
      return { op: 'flock', fd: fd(a[0]), operation: num(a[1]) };
    case 'pipe':
    case 'pipe2':
      return { op: 'pipe2', flags: c.name === 'pipe' ? 0 : num(a[1]), as: '_', wr: '_wr' };
    case 'eventfd':
    case 'eventfd2':
      return { op: 'eventfd', initval: num(a[0]), flags: a[1] === undefined ? 0 : num(a[1]), as: '_' };
    case 'read':
      return { op: 'read', fd: fd(a[0]), len: num(a[2]) };
    case 'write':
      return { op: 'write', fd: fd(a[0]), len: num(a[2]), byte: 0 };
    case 'readv':
      return { op: 'readv', fd: fd(a[0]), lens: iovLens(a[1]) };
    case 'writev':
      return { op: 'writev', fd: fd(a[0]), lens: iovLens(a[1]), byte: 0 };
    case 'pread64':
      return { op: 'pread', fd: fd(a[0]), len: num(a[2]), offset: num(a[3]) };
    case 'pwrite64':
      return { op: 'pwrite', fd: fd(a[0]), len: num(a[2]), byte: 0, offset: num(a[3]) };
    case 'lseek':
      return { op: 'lseek', fd: fd(a[0]), offset: num(a[1]), whence: num(a[2]) };
    case 'ftruncate':
      return { op: 'ftruncate', fd: fd(a[0]), len: num(a[1]) };
    case 'truncate':
      return { op: 'truncate', path: str(a[0]), len: num(a[1]) };
    case 'fallocate':
      return { op: 'fallocate', fd: fd(a[0]), mode: num(a[1]), offset: num(a[2]), len: num(a[3]) };
    case 'fadvise64':
      return { op: 'posix_fadvise', fd: fd(a[0]), offset: num(a[1]), len: num(a[2]), advice: num(a[3]) };
    case 'fsync':
    case 'fdatasync':
      return { op: c.name, fd: fd(a[0]) };
    case 'fchmod':
      return { op: 'fchmod', fd: fd(a[0]), mode: num(a[1]) };
    case 'fstat':
      return { op: 'fstat', fd: fd(a[0]) };
    case 'newfstatat':
      return { op: 'newfstatat', dirfd: dirfd(a[0]), path: str(a[1]), flags: num(a[3]) };
    case 'statx':
      return { op: 'statx', dirfd: dirfd(a[0]), path: str(a[1]), flags: num(a[2]), mask: num(a[3]) };
    case 'getdents64':
      return { op: 'getdents64', fd: fd(a[0]), count: num(a[2]) };
    case 'unlink':
      return { op: 'unlink', path: str(a[0]) };
    case 'rmdir':
      return { op: 'rmdir', path: str(a[0]) };
    case 'unlinkat':
      return { op: 'unlinkat', dirfd: dirfd(a[0]), path: str(a[1]), flags: num(a[2]) };
    case 'link':
      return { op: 'link', from: str(a[0]), to: str(a[1]) };
    case 'linkat':
      return { op: 'linkat', olddirfd: dirfd(a[0]), from: str(a[1]), newdirfd: dirfd(a[2]), to: str(a[3]), flags: num(a[4]) };
    case 'symlink':
      return { op: 'symlink', target: str(a[0]), path: str(a[1]) };
    case 'symlinkat':
      return { op: 'symlinkat', target: str(a[0]), dirfd: dirfd(a[1]), path: str(a[2]) };
    case 'readlink':
      return { op: 'readlink', path: str(a[0]), bufsiz: num(a[2]) };
    case 'readlinkat':
      return { op: 'readlinkat', dirfd: dirfd(a[0]), path: str(a[1]), bufsiz: num(a[3]) };
    case 'mkdir':
      return { op: 'mkdir', path: str(a[0]), mode: num(a[1]) };
    case 'mkdirat': {
      const path = str(a[1]);
      return num(a[0]) === AT_FDCWD || path.startsWith('/') ? { op: 'mkdir', path, mode: num(a[2]) } : null;
    }
    case 'rename':
      return { op: 'rename', from: str(a[0]), to: str(a[1]) };
    case 'renameat':
    case 'renameat2':
      return { op: 'renameat2', olddirfd: dirfd(a[0]), from: str(a[1]), newdirfd: dirfd(a[2]), to: str(a[3]), flags: c.name === 'renameat2' ? num(a[4]) : 0 };
    case 'inotify_init':
      return { op: 'inotify_init1', flags: 0, as: '_' };
    case 'inotify_init1':
      return { op: 'inotify_init1', flags: num(a[0]), as: '_' };
    case 'inotify_add_watch':
      return { op: 'inotify_add_watch', fd: fd(a[0]), path: str(a[1]), mask: num(a[2]), as: '_' };
    case 'inotify_rm_watch':
      return { op: 'inotify_rm_watch', fd: fd(a[0]), wd: lit(num(a[1])) };
    // ---- signals: the model's handlers are the script's counting one (any address in the log is it) ----
    case 'rt_sigaction': {
      // A sigsetsize other than 8 is EINVAL before anything else, which the script op cannot ask: left unmodelled.
      if (num(a[3]) !== 8) return null;
      const act = a[1]?.trim();
      const query = act === 'NULL';
      return { op: 'sigaction', sig: sig(a[0]), handler: query ? -1 : sigHandler(act!), flags: query ? 0 : saFlags(act!), raw: true } as unknown as Op;
    }
    case 'rt_sigprocmask': {
      if (num(a[3]) !== 8) return null;
      // A NULL set changes nothing whatever `how` is (the kernel checks how only with a set).
      if (a[1]?.trim() === 'NULL') return { op: 'sigprocmask', how: 0, set: 0n } as unknown as Op;
      const how = a[0]!.trim();
      return { op: 'sigprocmask', how: how in SIG_HOWS ? SIG_HOWS[how]! : num(how), set: sigset(a[1]) } as unknown as Op;
    }
    case 'setitimer': {
      // ITIMER_REAL's one-shot expiry only: a periodic timer and the CPU-time timers are not modelled.
      if (a[0]?.trim() !== 'ITIMER_REAL' || a[1] === undefined || !a[1].startsWith('{')) return null;
      const interval = field(a[1], 'it_interval');
      if (timevalUs(interval) !== 0) return null;
      return { op: 'setitimer', usec: timevalUs(field(a[1], 'it_value')) };
    }
    case 'nanosleep':
      return { op: 'nanosleep', ns: timespecNs(a[0]) };
    case 'clock_nanosleep': {
      // A relative sleep on a wall clock is nanosleep; TIMER_ABSTIME (the log's clock) and the CPU-time clocks are not modelled.
      const clock = a[0]?.trim();
      if (!(clock === 'CLOCK_REALTIME' || clock === 'CLOCK_MONOTONIC' || clock === 'CLOCK_BOOTTIME' || clock === 'CLOCK_TAI')) return null;
      if (num(a[1]) !== 0) return null;
      return { op: 'nanosleep', ns: timespecNs(a[2]) };
    }
    default:
      return null;
  }
}
