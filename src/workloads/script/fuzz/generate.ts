/**
 * A seeded generator of valid random syscall scripts (spec/syscall-script.md),
 * in the style of syzkaller: each op is drawn with arguments that are mostly
 * meaningful (an address inside or at the edge of a mapping the script made,
 * an fd it opened, a path in a small pool) and sometimes deliberately wrong
 * (unaligned, zero or wrapping lengths, unknown advice, bad fds), so both the
 * kernel's success paths and its errno paths are exercised.
 *
 * Every op and flag of the format is reachable. Two rules keep a script
 * runnable on the host kernel as well as on the simulator:
 * - no call blocks forever: inotify instances are always non-blocking, and
 *   F_SETFL always keeps O_NONBLOCK;
 * - no access can reach the runner's own memory: addresses are a mapping's
 *   name plus an offset within a few pages of it (the runner places each
 *   mapping 1 GiB past the previous one, so the neighbourhood is a hole on
 *   both sides), lengths stay far below the distance to the runner's
 *   mappings, and the only absolute addresses are 0 and 4096, below
 *   mmap_min_addr's reach.
 *
 * The output is the raw JSON form a file would hold, so a failing script is
 * written out as it was generated and shrunk by editing that form.
 */
import { Rng } from '../../../sim/random.js';
import { FCNTL_CMD_NAMES, INOTIFY_MASK_NAMES, MADV, MMAP_FLAG_NAMES, OPEN_FLAG_NAMES, WHENCE_NAMES } from '../constants.js';
import { PAGE_SIZE } from '../../../hw/types.js';
import { moreOp } from './more_ops.js';

/**
 * Ops of the format the generator does not draw yet (added to the format
 * after it was written). A test fails when an op is neither generated nor
 * listed here, so each new op is a decision.
 */
export const NOT_GENERATED: readonly string[] = [
  // Threads: their results depend on how the two kernels interleave them; membarrier's query depends on the kernel's build.
  'thread', 'join', 'spin', 'pin', 'repeat', 'membarrier',
  // mlockall counts the runner's own memory on the host (more_ops.ts); kill ends or stops the script process.
  'mlockall', 'kill',
  // Signals: a random timer or mask could end or stop the script process at the top level, and await_signal waits forever
  // for a signal nothing sends; the conformance scripts (lock-wait-*) cover them. (sigaction is drawn only to ignore
  // SIGPIPE in a script whose own process makes a pipe.)
  'sigprocmask', 'setitimer', 'nanosleep', 'await_signal', 'caught',
  // truncate by name: the lease-break scripts cover it (ftruncate is drawn).
  'truncate',
  // File owners: a drawn owner would take a lease break's SIGIO, whose default ends the script process; the
  // conformance script lock-lease-owner-pgrp covers them.
  'setown', 'getown',
];

export type RawOp = Record<string, unknown> & { op: string };

export interface RawScript {
  kernsim_script: 1;
  name: string;
  machine?: Record<string, unknown>;
  ops: RawOp[];
}

/**
 * Machine variants a sim-only campaign draws from (merged into the script's
 * machine block, so a written-out script reproduces with `kernsim script`).
 * Names are what the campaign reports.
 */
export const MACHINE_VARIANTS: Readonly<Record<string, Record<string, unknown>>> = {
  default: {},
  thp: { kernel: { thp: 'always' } },
  ksm: { kernel: { ksm_run: true, ksm_sleep_ms: 0, ksm_pages_to_scan: 4096 } },
  tiny_swap: { ram_mib: 16, kernel: { min_free_kbytes: 512, swapon: true }, swap: { size_mib: 64 } },
  tiny_noswap: { ram_mib: 16, kernel: { min_free_kbytes: 512, swapon: false } },
  many_cpus: { cpus: 64, cache: { llc_kib: 65536 } },
  quantum0: { sim: { quantum: 0 } },
  hugetlb: { kernel: { nr_hugepages: 4 } },
};

export interface GenOptions {
  /** Most ops in the top-level list (at least 1). */
  maxOps: number;
  /** Machine variant names to draw from; empty: no machine block beyond the checks. */
  variants: readonly string[];
  /** Add `sim.checks: true` to the machine block. */
  checks: boolean;
  /** Also generate ops whose only purpose is resource exhaustion (1 TiB populate): sim-only campaigns. */
  exhaust: boolean;
}

/** /proc files the procfile op reads in campaigns (their masked lines agree between a host and the model). */
const PROC_FILES = ['/proc/self/stat', '/proc/self/statm', '/proc/self/comm', '/proc/self/limits', '/proc/self/smaps_rollup', '/proc/self/cmdline', '/proc/thread-self/stat', '/proc/self/environ'];

const PATHS = ['a', 'b', 'c', 'd', 'd/x', 'd/y', 'e', 'd/e', 'd/e/z', 'missing/x', '.', 'a/x'];
const DIRS = ['d', 'e', 'd/e'];
const ADVICE = Object.keys(MADV);
const MMAP_FLAGS = Object.keys(MMAP_FLAG_NAMES);
const OPEN_FLAGS = Object.keys(OPEN_FLAG_NAMES);
const MASKS = Object.keys(INOTIFY_MASK_NAMES);
const FCNTL_CMDS = Object.keys(FCNTL_CMD_NAMES);
const WHENCES = Object.keys(WHENCE_NAMES);

/** What one process of the script knows while it is being generated: the names it may use. */
export interface Scope {
  maps: { name: string; pages: number }[];
  fds: string[];
  inotify: string[];
  watches: string[];
  /** The break the process image started with, once a brk has named it. */
  brk?: string | undefined;
  /** The script's own process (or a new image of it), not a fork child. */
  top: boolean;
}

const copyScope = (s: Scope): Scope => ({ maps: [...s.maps], fds: [...s.fds], inotify: [...s.inotify], watches: [...s.watches], brk: s.brk, top: s.top });

class Gen {
  private next = 0;
  /** The script's machine has little RAM (a tiny_* variant): bigger fills, and the terabyte populate. */
  private tiny = false;
  /** The script's machine has a hugetlb pool (the hugetlb variant): MAP_HUGETLB mappings, often 2 MiB multiples. */
  private hugePool = false;
  /**
   * The script's own process makes a pipe: it ignores SIGPIPE, since a write
   * after the read end is closed would end it (a fork child may die of it,
   * and its parent report the signal).
   */
  private pipeAtTop = false;

  constructor(
    private readonly r: Rng,
    private readonly o: GenOptions,
  ) {}

  int(n: number): number {
    return this.r.int(n);
  }
  chance(p: number): boolean {
    return this.r.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  /** Some distinct items of xs (at least `min`). */
  some<T>(xs: readonly T[], min = 0, max = 3): T[] {
    const n = min + this.int(max - min + 1);
    const out: T[] = [];
    for (let i = 0; i < n; i++) {
      const x = this.pick(xs);
      if (!out.includes(x)) out.push(x);
    }
    return out;
  }
  fresh(prefix: string): string {
    return `${prefix}${this.next++}`;
  }

  pages(): number {
    const tiny = this.tiny;
    const choices = [1, 1, 2, 3, 4, 4, 8, 16, 16, 64, 512, 513, 1024];
    if (tiny && this.chance(0.15)) return this.pick([2048, 4096, 6144]);
    return this.pick(choices);
  }

  /** A byte offset near a mapping of `pages` pages: mostly page-aligned inside it, sometimes past either end or unaligned. */
  offsetIn(pages: number): number {
    const k = this.chance(0.85) ? this.int(pages) : this.pick([-1, pages, pages + 1]);
    const unaligned = this.chance(0.08) ? this.pick([1, 17, 2048, 4095]) : 0;
    return k * PAGE_SIZE + unaligned;
  }

  /** A length for a range call: mostly whole pages, sometimes odd, zero, huge or wrapping. */
  length(pages: number): number | string {
    if (pages === 0) return this.pick([0, PAGE_SIZE, -1]);
    const roll = this.int(100);
    if (roll < 70) return (1 + this.int(Math.max(1, pages))) * PAGE_SIZE;
    if (roll < 80) return 1 + this.int(pages * PAGE_SIZE + PAGE_SIZE);
    if (roll < 88) return 0;
    if (roll < 92) return (pages + 2) * PAGE_SIZE;
    if (roll < 96) return '0x40000000';
    return -1;
  }

  /** A file position: small, at a page boundary, past ext4's limit, past 2^53, near LLONG_MAX, or negative. */
  filePos(): number | string {
    return this.pick([0, 1, 4096, 5000, 65536, -1, '0xfffffff0000', '0x100000000000', '0x20000000000001', '0x4000000000000001', '0x7ffffffffffffffe', '0x7fffffffffffffff']);
  }

  ref(name: string, off: number): string {
    return off === 0 ? `$${name}` : off > 0 ? `$${name}+${off}` : `$${name}-${-off}`;
  }

  /** An address: a mapping's name plus an offset, or (rarely, or when there is none) 0 or 4096. */
  addr(s: Scope): { addr: string | number; pages: number } {
    // pages 0: an absolute address gets only lengths that cannot reach the runner's own mappings (see length()).
    if (s.maps.length === 0 || this.chance(0.03)) return { addr: this.pick([0, PAGE_SIZE]), pages: 0 };
    const m = this.pick(s.maps);
    return { addr: this.ref(m.name, this.offsetIn(m.pages)), pages: m.pages };
  }

  fd(s: Scope): string | number {
    const all = [...s.fds, ...s.inotify];
    if (all.length === 0 || this.chance(0.08)) return this.pick([0, 1, 2, 3, 99, -1, 1024]);
    return `$${this.pick(all)}`;
  }

  path(): string {
    return this.pick(PATHS);
  }

  prot(): string {
    return this.pick(['r', 'rw', 'rw', 'rw', 'rwx', 'rx', 'w', 'x', 'none']);
  }

  /**
   * mremap: resize in place or move. Only a move onto another mapping's
   * neighbourhood (MREMAP_FIXED) binds a new name: an address the kernel
   * chose may lie next to the runner's own memory.
   */
  mremap(s: Scope): RawOp {
    const a = this.addr(s);
    const oldPages = this.chance(0.9) ? 1 + this.int(Math.max(1, a.pages)) : this.pick([0, a.pages + 1]);
    const newPages = this.chance(0.9) ? 1 + this.int(Math.max(2, a.pages * 2)) : this.pick([0, -1]);
    const op: RawOp = { op: 'mremap', addr: a.addr, old_len: oldPages * PAGE_SIZE - (this.chance(0.05) ? 100 : 0), new_len: newPages * PAGE_SIZE, flags: [] as unknown[] };
    const flags = op['flags'] as unknown[];
    if (this.chance(0.6)) flags.push('maymove');
    if (s.maps.length > 0 && this.chance(0.3)) {
      flags.push('fixed');
      const m = this.pick(s.maps);
      op['new_addr'] = this.ref(m.name, (this.int(m.pages + 2) - 1) * PAGE_SIZE);
      const as = this.fresh('M');
      op['as'] = as;
      if (newPages > 0) s.maps.push({ name: as, pages: Math.min(newPages, 2048) });
    } else if (this.chance(0.1)) flags.push('dontunmap');
    if (this.chance(0.04)) flags.push(this.pick([8, 16]));
    return op;
  }

  mmap(s: Scope): RawOp {
    const as = this.fresh('M');
    let pages = this.pages();
    const flags: string[] = [];
    const fileBacked = s.fds.length > 0 && this.chance(0.3);
    flags.push(this.chance(0.75) ? 'private' : this.chance(0.7) ? 'shared' : 'shared_validate');
    if (!fileBacked) flags.push('anonymous');
    for (const f of ['populate', 'locked', 'noreserve'] as const) if (this.chance(0.12)) flags.push(f);
    const op: RawOp = { op: 'mmap', as, pages, prot: this.prot(), flags };
    if (s.maps.length > 0 && this.chance(0.15)) {
      flags.push(this.chance(0.7) ? 'fixed' : 'fixed_noreplace');
      const m = this.pick(s.maps);
      op['addr'] = this.ref(m.name, (this.int(m.pages + 2) - 1) * PAGE_SIZE);
    }
    if (this.chance(0.1)) flags.push(this.pick(MMAP_FLAGS));
    if (this.hugePool && !fileBacked && this.chance(0.35)) {
      flags.push('hugetlb');
      if (this.chance(0.7)) op['pages'] = pages = this.pick([512, 1024, 1536]);
    }
    if (fileBacked) {
      op['fd'] = `$${this.pick(s.fds)}`;
      if (this.chance(0.3)) op['offset'] = this.pick([PAGE_SIZE, 2 * PAGE_SIZE, 16 * PAGE_SIZE, 1, 0x100000]);
    }
    if (this.chance(0.02)) op['pages'] = pages = this.pick([0, -1]);
    if (this.o.exhaust && this.tiny && this.chance(0.02)) {
      // The defect this found: a terabyte populated with MAP_NORESERVE must reach the OOM outcome quickly.
      op['pages'] = pages = 1 << 28;
      op['prot'] = 'rw';
      op['flags'] = ['private', 'anonymous', 'populate', 'noreserve'];
    }
    if (pages > 0) s.maps.push({ name: as, pages: Math.min(pages, 2048) });
    return op;
  }

  rangeOp(s: Scope, op: 'munmap' | 'mprotect' | 'madvise' | 'mlock' | 'munlock' | 'mincore' | 'fill'): RawOp {
    const a = this.addr(s);
    const out: RawOp = { op, addr: a.addr, len: this.length(a.pages) };
    if (op === 'mprotect') out['prot'] = this.chance(0.05) ? this.pick([8, 16, 0x1000000]) : this.prot();
    if (op === 'madvise') out['advice'] = this.chance(0.04) ? this.pick([5, 7, 26, 99, 104, -1]) : this.pick(ADVICE);
    if (op === 'fill') {
      // fill has no errno path: keep it to the mapping so it writes what the script means.
      out['len'] = this.chance(0.9) ? (1 + this.int(Math.max(1, Math.min(a.pages, this.tiny ? 8192 : 64)))) * PAGE_SIZE - this.int(2) * 100 : this.length(a.pages);
      out['byte'] = this.int(256);
    }
    return out;
  }

  openFlags(): (string | number)[] {
    const acc = this.pick(['rdonly', 'wronly', 'rdwr', 'rdwr']);
    const rest = this.some(OPEN_FLAGS.filter((f) => !['rdonly', 'wronly', 'rdwr'].includes(f)), 0, 3);
    if (this.chance(0.6) && !rest.includes('creat')) rest.push('creat');
    return [acc, ...rest];
  }

  inotifyMask(): string[] {
    const m = this.some(MASKS, 1, 4);
    return m;
  }

  op(s: Scope, depth: number): RawOp {
    if (this.chance(0.06)) {
      const op = moreOp(this, s);
      this.pipeAtTop ||= op.op === 'pipe2' && s.top;
      return op;
    }
    const roll = this.int(1000);
    if (roll < 110) return this.mmap(s);
    if (roll < 150) return this.rangeOp(s, 'munmap');
    if (roll < 190) return this.rangeOp(s, 'mprotect');
    if (roll < 315) return this.rangeOp(s, 'madvise');
    if (roll < 330) return this.mremap(s);
    if (roll < 345) return this.rangeOp(s, this.chance(0.5) ? 'mlock' : 'munlock');
    if (roll < 350) {
      const a = this.addr(s);
      const op: RawOp = { op: 'mseal', addr: a.addr, len: this.length(a.pages) };
      if (this.chance(0.05)) op['flags'] = 1;
      return op;
    }
    if (roll < 372) return this.rangeOp(s, 'mincore');
    if (roll < 376) return { op: 'smaps', addr: this.addr(s).addr };
    if (roll < 380) return { op: 'pagemap', addr: this.addr(s).addr, pages: this.pick([0, 1, 4, 16, 513]) };
    if (roll < 460) return this.rangeOp(s, 'fill');
    if (roll < 510) return { op: 'load', addr: this.addr(s).addr };
    if (roll < 548) {
      const dirfd = this.chance(0.2) ? -100 : this.fd(s);
      const as = this.fresh('F');
      s.fds.push(as);
      return { op: 'openat', dirfd, path: this.chance(0.1) ? this.pick(DIRS) : this.pick([...PATHS, 'x', '']), flags: this.openFlags(), as };
    }
    if (roll < 560) {
      const as = this.fresh('F');
      s.fds.push(as);
      const op: RawOp = { op: 'open', path: this.chance(0.1) ? this.pick(DIRS) : this.path(), flags: this.openFlags(), as };
      if (this.chance(0.3)) op['mode'] = this.pick([0o600, 0o644, 0o400, 0o222, '0755', '0o000']);
      return op;
    }
    if (roll < 580) return { op: 'close', fd: this.fd(s) };
    if (roll < 600) return this.bindFd(s, { op: 'dup', fd: this.fd(s) });
    if (roll < 615) return this.bindFd(s, { op: 'dup2', fd: this.fd(s), newfd: this.pick([0, 3, 5, 10, 63, 64, 1023, 4096, -1]) });
    if (roll < 630) return this.bindFd(s, { op: 'dup3', fd: this.fd(s), newfd: this.pick([3, 5, 10, 64]), flags: this.chance(0.1) ? [1] : this.some(['cloexec'], 0, 1) });
    if (roll < 660) return roll < 648 ? this.fcntl(s) : roll < 656 ? this.fcntlLock(s) : this.flock(s);
    if (roll < 700) return { op: 'write', fd: this.fd(s), len: this.pick([0, 1, 100, 4096, 5000, 12288, 65536]), byte: this.int(256) };
    if (roll < 710) return { op: 'writev', fd: this.fd(s), lens: this.iovec(), byte: this.int(256) };
    if (roll < 740) return { op: 'read', fd: this.fd(s), len: this.pick([0, 1, 100, 4096, 8192, -1]) };
    if (roll < 750) return { op: 'readv', fd: this.fd(s), lens: this.iovec() };
    if (roll < 780) return { op: 'lseek', fd: this.fd(s), offset: this.pick([0, 1, 4096, 5000, -1, -4096, '0x7ffffffffffff000', '0xfffffff0000', 1 << 30, '0x7ffffffffffffffe', '0x20000000000001', '-0x8000000000000000']), whence: this.chance(0.03) ? 7 : this.pick(WHENCES) };
    if (roll < 800) {
      // ftruncate and the positioned calls, with 64-bit positions and sizes past 2^53 (exact on both sides).
      const which = this.int(6);
      if (which === 0) return { op: 'ftruncate', fd: this.fd(s), len: this.pick([0, 1, 4096, 10000, 65536, -1, '0x20000000000003', '0x7fffffffffffffff']) };
      if (which === 1) return { op: 'pread', fd: this.fd(s), len: this.pick([0, 1, 100, 4096, 8192]), offset: this.filePos() };
      if (which === 2) return { op: 'pwrite', fd: this.fd(s), len: this.pick([0, 1, 100, 4096, 5000]), byte: this.int(256), offset: this.filePos() };
      if (which === 3) {
        const mode = this.chance(0.5) ? [] : this.pick([['keep_size'], ['keep_size', 'punch_hole'], ['zero_range'], ['punch_hole']]);
        return { op: 'fallocate', fd: this.fd(s), mode, offset: this.filePos(), len: this.pick([1, 4096, 10000, 0, -1, '0x20000000000001', '0x7fffffffffffffff']) };
      }
      if (which === 4) return { op: 'fstat', fd: this.fd(s) };
      const as = this.fresh('F');
      s.fds.push(as);
      return { op: 'memfd_create', name: 'm', flags: this.some(['cloexec', 'allow_sealing'], 0, 2), as };
    }
    if (roll < 806) return { op: 'unlink', path: this.path() };
    if (roll < 815) return this.linkOp(s, roll);
    if (roll < 835) {
      const op: RawOp = { op: 'mkdir', path: this.chance(0.7) ? this.pick(DIRS) : this.path() };
      if (this.chance(0.2)) op['mode'] = this.pick([0o700, 0o500, '0755']);
      return op;
    }
    if (roll < 845) return { op: 'rmdir', path: this.chance(0.7) ? this.pick(DIRS) : this.path() };
    if (roll < 850) return { op: 'rename', from: this.path(), to: this.path() };
    if (roll < 855) {
      const flags: unknown[] = this.some(['noreplace', 'exchange'], 0, 2);
      // RENAME_WHITEOUT is not modelled (docs/script-calls.md): only an unknown bit.
      if (this.chance(0.05)) flags.push(8);
      const op: RawOp = { op: 'renameat2', from: this.path(), to: this.path(), flags };
      if (this.chance(0.3)) op['olddirfd'] = this.fd(s);
      if (this.chance(0.3)) op['newdirfd'] = this.fd(s);
      return op;
    }
    // Buffers big enough for any directory the script makes: a listing split over calls depends on the file system's order.
    if (roll < 860) return { op: 'getdents64', fd: this.fd(s), count: this.pick([0, 10, 4096, 65536]) };
    if (roll < 865) return { op: 'chmod', path: this.path(), mode: this.pick([0o600, 0o644, 0o000, 0o755, '0444']) };
    if (roll < 870) {
      const op: RawOp = { op: 'statx', path: this.pick([...PATHS, '']), flags: this.some(['symlink_nofollow', 'empty_path', 'statx_dont_sync', 'statx_force_sync'], 0, 2) };
      if (this.chance(0.5)) op['dirfd'] = this.fd(s);
      if (this.chance(0.1)) op['mask'] = this.pick([0, 0x80000000, 0xfff]);
      return op;
    }
    if (roll < 880) {
      if (this.chance(0.5)) return { op: 'getrlimit', resource: 'NOFILE' };
      return { op: 'setrlimit', resource: 'NOFILE', cur: this.pick([3, 5, 16, 1024, 4096, 'infinity']), max: this.pick([16, 1024, 4096, 4096, 'infinity']) };
    }
    if (roll < 895) {
      const as = this.fresh('I');
      s.inotify.push(as);
      // Always non-blocking: a blocking read with nothing queued would wait forever.
      return { op: 'inotify_init1', flags: this.chance(0.3) ? ['nonblock', 'cloexec'] : ['nonblock'], as };
    }
    if (roll < 925) {
      const as = this.fresh('W');
      s.watches.push(as);
      const fd = s.inotify.length > 0 && this.chance(0.95) ? `$${this.pick(s.inotify)}` : this.fd(s);
      return { op: 'inotify_add_watch', fd, path: this.chance(0.4) ? this.pick(['.', ...DIRS]) : this.path(), mask: this.inotifyMask(), as };
    }
    if (roll < 935) {
      const fd = s.inotify.length > 0 ? `$${this.pick(s.inotify)}` : this.fd(s);
      const wd = s.watches.length > 0 && this.chance(0.9) ? `$${this.pick(s.watches)}` : this.pick([1, 2, 99, -1]);
      return { op: 'inotify_rm_watch', fd, wd };
    }
    if (roll < 965) {
      const fd = s.inotify.length > 0 && this.chance(0.9) ? `$${this.pick(s.inotify)}` : this.fd(s);
      return { op: 'inotify_read', fd, bufsize: this.pick([0, 15, 16, 32, 64, 256, 4096, 4096]) };
    }
    if (roll < 975) {
      const fd = s.inotify.length > 0 && this.chance(0.8) ? `$${this.pick(s.inotify)}` : this.fd(s);
      return { op: 'fionread', fd };
    }
    if (depth < 2) return this.fork(s, depth);
    return { op: 'getrlimit', resource: 'NOFILE' };
  }

  /** link, symlink, readlink (and fdinfo, procfile) and unlinkat, and their *at forms (rolls 806..814). */
  linkOp(s: Scope, roll: number): RawOp {
    const at = this.chance(0.5);
    const dirfd = (): unknown => (this.chance(0.7) ? -100 : this.fd(s));
    if (roll < 809) {
      if (!at) return { op: 'link', from: this.path(), to: this.path() };
      const op: RawOp = { op: 'linkat', olddirfd: dirfd(), from: this.pick([...PATHS, '']), newdirfd: dirfd(), to: this.path() };
      op['flags'] = this.chance(0.05) ? [0x8000] : this.some(['symlink_follow', 'empty_path'], 0, 2);
      return op;
    }
    if (roll < 812) {
      // Bodies: names of the script's (some dangling, one a loop back to itself), absolute ones, an empty one.
      const target = this.pick([...PATHS, '/dev/null', '/proc/self', 'l', '../a', '']);
      const path = this.pick([...PATHS, 'l']);
      return at ? { op: 'symlinkat', target, dirfd: dirfd(), path } : { op: 'symlink', target, path };
    }
    if (roll < 814) {
      if (this.chance(0.2)) return { op: 'fdinfo', fd: this.fd(s) };
      if (this.chance(0.3)) return { op: 'procfile', path: this.pick(PROC_FILES) };
      // Not /proc/self itself: its body is the process's pid, which differs between kernels.
      const path = this.pick([...PATHS, 'l', '/proc/self/fd/3', '']);
      const bufsiz = this.pick([0, 1, 4, 4096, -1]);
      return at ? { op: 'readlinkat', dirfd: dirfd(), path, bufsiz } : { op: 'readlink', path, bufsiz };
    }
    return { op: 'unlinkat', dirfd: dirfd(), path: this.pick([...PATHS, 'l']), flags: this.chance(0.05) ? [0x100] : this.some(['removedir'], 0, 1) };
  }

  /** An iovec's lengths: a few small ones, sometimes none, a negative one, or more than UIO_MAXIOV. */
  iovec(): number[] {
    if (this.chance(0.03)) return new Array<number>(1025).fill(1);
    const n = this.int(4);
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(this.pick([0, 1, 100, 4096, 5000]));
    if (this.chance(0.05)) out.push(-1);
    return out;
  }

  bindFd(s: Scope, op: RawOp): RawOp {
    if (this.chance(0.7)) {
      const as = this.fresh('F');
      s.fds.push(as);
      op['as'] = as;
    }
    return op;
  }

  fcntl(s: Scope): RawOp {
    const cmd = this.chance(0.04) ? this.pick([3 + 1030, 1024, 99]) : this.pick(FCNTL_CMDS);
    const op: RawOp = { op: 'fcntl', fd: this.fd(s), cmd };
    if (cmd === 'F_DUPFD' || cmd === 'F_DUPFD_CLOEXEC') {
      op['arg'] = this.pick([0, 3, 10, 100, 1023, 1024, 5000, -1]);
      return this.bindFd(s, op);
    }
    if (cmd === 'F_SETFD') op['arg'] = this.chance(0.7) ? this.some(['cloexec'], 0, 1) : this.pick([0, 1, 3]);
    if (cmd === 'F_SETFL') {
      // O_NONBLOCK stays set: clearing it on an inotify fd would let a later read block forever.
      const rest = this.some(['append', 'nonblock', 'creat', 'directory', 'cloexec'], 0, 2);
      op['arg'] = ['nonblock', ...rest.filter((f) => f !== 'nonblock')];
    }
    return op;
  }

  /**
   * fcntl_lock (rolls 648..655): record locks on any fd, mostly small ranges
   * of a few bytes so that a fork child meets its parent's; never the
   * waiting commands (F_SETLKW, F_OFD_SETLKW), which would wait forever for
   * a parent that waits for its child, or for another description of the
   * same process.
   */
  fcntlLock(s: Scope): RawOp {
    const cmd = this.pick(['F_SETLK', 'F_SETLK', 'F_GETLK', 'F_OFD_SETLK', 'F_OFD_GETLK']);
    const type = this.chance(0.03) ? this.pick([3, -1]) : this.pick(['F_RDLCK', 'F_WRLCK', 'F_UNLCK']);
    const op: RawOp = { op: 'fcntl_lock', fd: this.fd(s), cmd, type };
    if (this.chance(0.2)) op['whence'] = this.chance(0.1) ? this.pick([3, 4]) : this.pick(WHENCES.slice(0, 3));
    op['start'] = this.pick([0, 0, 1, 4, 10, 100, -1, 4096, '0x7fffffffffffffff']);
    op['len'] = this.pick([0, 0, 1, 4, 10, -1, -4, '0x7fffffffffffffff']);
    if (this.chance(0.05)) op['pid'] = this.pick([1, -1]);
    return op;
  }

  /**
   * flock (rolls 656..659): whole-file locks on any fd, shared, exclusive
   * and unlocks, with bad operations now and then; a lock request always
   * with LOCK_NB, since a waiting one could wait forever (a parent holding
   * the lock waits for its child).
   */
  flock(s: Scope): RawOp {
    const operation = this.chance(0.05) ? this.pick([[0], [3], ['nb'], ['mand', 'sh'], ['sh', 'ex', 'nb'], [64]]) : this.pick([['sh', 'nb'], ['ex', 'nb'], ['un'], ['un', 'nb']]);
    return { op: 'flock', fd: this.fd(s), operation };
  }

  fork(s: Scope, depth: number): RawOp {
    const child = copyScope(s);
    child.top = false;
    const n = this.int(6);
    const ops: RawOp[] = [];
    for (let i = 0; i < n; i++) ops.push(this.op(child, depth + 1));
    // execve in the child: one that fails somewhere in its list, and one that ends it with a new image.
    if (this.chance(0.2)) ops.splice(this.int(ops.length + 1), 0, this.execvePath());
    if (this.chance(0.3)) ops.push(this.execveImage(child, depth + 1));
    return { op: 'fork', ops };
  }

  /**
   * execve of a path that is not a program (the script's own files,
   * directories, links, a device, a /proc file, the empty name): it fails.
   * The script's files hold runs of single bytes, never an ELF header or a
   * "#!" line naming a real program, which the host would run.
   */
  execvePath(): RawOp {
    return { op: 'execve', path: this.pick([...PATHS, 'l', '/dev/null', '/proc/self/status', '/proc/self', '']) };
  }

  /** execve of the running program: a new image running a few ops with the old names (their mappings gone). */
  execveImage(s: Scope, depth: number): RawOp {
    const image = copyScope(s);
    // A new image has a new heap: its break is named anew.
    image.brk = undefined;
    const n = this.int(5);
    const ops: RawOp[] = [];
    for (let i = 0; i < n; i++) ops.push(this.op(image, depth));
    return { op: 'execve', ops };
  }

  script(name: string): RawScript {
    const machine = this.machine();
    this.tiny = (machine?.['ram_mib'] as number | undefined) !== undefined && (machine!['ram_mib'] as number) <= 64;
    this.hugePool = ((machine?.['kernel'] as Record<string, unknown> | undefined)?.['nr_hugepages'] as number | undefined ?? 0) > 0;
    const s: Scope = { maps: [], fds: [], inotify: [], watches: [], top: true };
    const n = 1 + this.int(this.o.maxOps);
    const ops: RawOp[] = [];
    for (let i = 0; i < n; i++) ops.push(this.op(s, 0));
    // Drawn after the list, so the ops before them are those the seed always gave.
    if (this.chance(0.05)) ops.splice(this.int(ops.length + 1), 0, this.execvePath());
    if (this.chance(0.08)) ops.push(this.execveImage(s, 1));
    if (this.pipeAtTop) ops.unshift({ op: 'sigaction', sig: 'SIGPIPE', handler: 'ignore' });
    const out: RawScript = { kernsim_script: 1, name, ops };
    if (machine) out.machine = machine;
    return out;
  }

  machine(): Record<string, unknown> | undefined {
    let m: Record<string, unknown> = {};
    if (this.o.variants.length > 0) {
      const first = this.pick(this.o.variants);
      m = merge(m, MACHINE_VARIANTS[first]!);
      if (this.chance(0.3)) m = merge(m, MACHINE_VARIANTS[this.pick(this.o.variants)]!);
    }
    if (this.o.checks) m = merge(m, { sim: { checks: true } });
    return Object.keys(m).length > 0 ? m : undefined;
  }
}

/** Deep merge of plain JSON objects (b wins). */
function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    if (typeof v === 'object' && v !== null && !Array.isArray(v) && typeof cur === 'object' && cur !== null) out[k] = merge(cur as Record<string, unknown>, v as Record<string, unknown>);
    else out[k] = v;
  }
  return out;
}

/** The seed of script `index` of a campaign with seed `seed` (so any one script can be made again alone). */
export function scriptSeed(seed: number, index: number): number {
  return (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca77)) >>> 0;
}

/** Script `index` of the campaign `seed`: the same script on every host. */
export function generateScript(seed: number, index: number, opts: GenOptions): RawScript {
  return new Gen(new Rng(scriptSeed(seed, index)), opts).script(`fuzz-${seed}-${index}`);
}

/** Ops a script runs, its fork children's and new images' included. */
export function countOps(ops: readonly RawOp[]): number {
  let n = 0;
  for (const o of ops) n += 1 + (Array.isArray(o['ops']) ? countOps(o['ops'] as RawOp[]) : 0);
  return n;
}
