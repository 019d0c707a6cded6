/**
 * The generator's draws for the calls added to the format after v1 (the
 * break, mlock2, msync, munlockall, the fd-level file calls, pipes,
 * eventfds, close_range, exit in a child), kept apart from generate.ts's
 * v1 ops.
 *
 * Each keeps a script runnable on the host as well as on the simulator:
 * - pipes and eventfds are always non-blocking (a read of an empty pipe or
 *   a zero eventfd, a write to a full pipe, would otherwise wait forever),
 *   and F_SETFL keeps O_NONBLOCK (generate.ts); a script whose own
 *   process makes a pipe ignores SIGPIPE first (generate.ts), so that a
 *   write after the read end is closed is EPIPE there;
 * - the break moves only from the break the process started with upwards,
 *   by at most 16 MiB, and nothing is loaded or stored there: below the
 *   heap, on the host, lies the runner's own data;
 * - no mlockall: its MCL_CURRENT counts the runner's own memory on the host
 *   (docs/script-calls.md), and MCL_FUTURE would lock what the runner maps
 *   later.
 */
import { PAGE_SIZE } from '../../../hw/types.js';
import { FADV_NAMES } from '../calls/uapi.js';
import type { RawOp, Scope } from './generate.js';

/** What the draws need of the generator. */
export interface Draw {
  int(n: number): number;
  chance(p: number): boolean;
  pick<T>(xs: readonly T[]): T;
  some<T>(xs: readonly T[], min?: number, max?: number): T[];
  fresh(prefix: string): string;
  addr(s: Scope): { addr: string | number; pages: number };
  length(pages: number): number | string;
  fd(s: Scope): string | number;
  path(): string;
}

const FADVICE = Object.keys(FADV_NAMES);

/**
 * One of the later calls. `exit` only in a fork child (or a new image of
 * one): the runner takes the script process's own exit status as its
 * verdict on the run.
 */
export function moreOp(g: Draw, s: Scope): RawOp {
  const roll = g.int(100);
  if (roll < 14) return brk(g, s);
  if (roll < 24) {
    const a = g.addr(s);
    return { op: 'mlock2', addr: a.addr, len: g.length(a.pages), flags: g.chance(0.05) ? [2] : g.some(['onfault'], 0, 1) };
  }
  if (roll < 27) return { op: 'munlockall' };
  if (roll < 39) {
    const a = g.addr(s);
    // MS_ASYNC with MS_SYNC, and an unknown bit, are EINVAL.
    const flags = g.pick<unknown[]>([[], ['async'], ['sync'], ['sync'], ['invalidate'], ['async', 'invalidate'], ['sync', 'invalidate'], ['async', 'sync'], [8]]);
    return { op: 'msync', addr: a.addr, len: g.length(a.pages), flags };
  }
  if (roll < 45) return { op: g.chance(0.5) ? 'fsync' : 'fdatasync', fd: g.fd(s) };
  if (roll < 50) return { op: 'fchmod', fd: g.fd(s), mode: g.pick([0o600, 0o644, 0o000, 0o755, '0444', '04755']) };
  if (roll < 60) {
    const op: RawOp = { op: 'newfstatat', path: g.pick([g.path(), g.path(), 'l', '/dev/null', '/proc/self/fd/3', '']), flags: g.some(['symlink_nofollow', 'empty_path', 'no_automount'], 0, 2) };
    if (g.chance(0.4)) op['dirfd'] = g.fd(s);
    return op;
  }
  if (roll < 68) {
    const advice = g.chance(0.05) ? g.pick([6, 7, 99, -1]) : g.pick(FADVICE);
    return { op: 'posix_fadvise', fd: g.fd(s), offset: g.pick([0, 0, 1, PAGE_SIZE, 10 * PAGE_SIZE, -1]), len: g.pick([0, 1, PAGE_SIZE, 16 * PAGE_SIZE, -1]), advice };
  }
  if (roll < 78) {
    const as = g.fresh('F');
    const wr = g.fresh('F');
    s.fds.push(as, wr);
    // Unknown bits (O_RDWR, 0x10) are EINVAL; the flags always keep O_NONBLOCK.
    const flags: unknown[] = ['nonblock', ...g.some(['cloexec', 'direct'], 0, 2)];
    if (g.chance(0.05)) flags.push(g.pick(['rdwr', 0x10]));
    return { op: 'pipe2', flags, as, wr };
  }
  if (roll < 86) {
    const as = g.fresh('F');
    s.fds.push(as);
    const flags: unknown[] = ['nonblock', ...g.some(['semaphore', 'cloexec'], 0, 2)];
    return { op: 'eventfd', initval: g.pick([0, 0, 1, 5, 0xfffffffe, 0xffffffff]), flags, as };
  }
  if (roll < 96) {
    // Any range, the standard fds included: the runner keeps none of its own in it.
    const fd = g.chance(0.7) ? g.fd(s) : g.pick([0, 3, 4, 10]);
    const max = g.chance(0.5) ? g.fd(s) : g.pick([-1, 2, 3, 5, 100]);
    return { op: 'close_range', fd, max, flags: g.chance(0.05) ? [1] : g.some(['unshare', 'cloexec'], 0, 2) };
  }
  if (!s.top) return { op: 'exit', status: g.pick([0, 1, 7, 255]) };
  return { op: 'munlockall' };
}

/**
 * brk: the first in a process image queries the break and names it; later
 * ones move it from there (up to 16 MiB, sometimes unaligned, below the
 * start where the kernel refuses, or 0: a query).
 */
function brk(g: Draw, s: Scope): RawOp {
  if (s.brk === undefined) {
    s.brk = g.fresh('B');
    return { op: 'brk', as: s.brk };
  }
  if (g.chance(0.1)) return { op: 'brk' };
  const pages = g.pick([0, 1, 2, 3, 16, 33, 256, 4096]);
  const off = pages * PAGE_SIZE + (g.chance(0.1) ? g.pick([1, 100, 4095]) : 0);
  if (g.chance(0.05)) return { op: 'brk', addr: `$${s.brk}-${PAGE_SIZE}` };
  return { op: 'brk', addr: off === 0 ? `$${s.brk}` : `$${s.brk}+${off}` };
}
