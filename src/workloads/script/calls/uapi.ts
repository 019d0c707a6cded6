/**
 * uapi numbers of the system calls in this folder (x86-64), after the
 * headers named beside each table. The simulated kernel takes its numbers
 * from its own copies; these are what a script's names stand for.
 */

/** linux/mman.h */
export const MCL_NAMES: Readonly<Record<string, number>> = { current: 1, future: 2, onfault: 4 };
export const MLOCK2_NAMES: Readonly<Record<string, number>> = { onfault: 1 };
/** asm-generic/mman-common.h */
export const MS_NAMES: Readonly<Record<string, number>> = { async: 1, invalidate: 2, sync: 4 };
/** linux/mman.h */
export const MREMAP_NAMES: Readonly<Record<string, number>> = { maymove: 1, fixed: 2, dontunmap: 4 };
/** linux/memfd.h */
export const MFD_NAMES: Readonly<Record<string, number>> = {
  cloexec: 0x1,
  allow_sealing: 0x2,
  hugetlb: 0x4,
  noexec_seal: 0x8,
  exec: 0x10,
};
/** linux/fcntl.h: F_SEAL_* */
export const SEAL_NAMES: Readonly<Record<string, number>> = {
  seal: 0x1,
  shrink: 0x2,
  grow: 0x4,
  write: 0x8,
  future_write: 0x10,
  exec: 0x20,
};
/** linux/fcntl.h: AT_* */
export const AT_FDCWD = -100;
export const AT_NAMES: Readonly<Record<string, number>> = {
  symlink_nofollow: 0x100,
  removedir: 0x200,
  symlink_follow: 0x400,
  no_automount: 0x800,
  empty_path: 0x1000,
  eaccess: 0x200,
  statx_force_sync: 0x2000,
  statx_dont_sync: 0x4000,
};
/** linux/fs.h: RENAME_* */
export const RENAME_NAMES: Readonly<Record<string, number>> = { noreplace: 1, exchange: 2, whiteout: 4 };
/** linux/falloc.h */
export const FALLOC_NAMES: Readonly<Record<string, number>> = {
  keep_size: 0x01,
  punch_hole: 0x02,
  no_hide_stale: 0x04,
  collapse_range: 0x08,
  zero_range: 0x10,
  insert_range: 0x20,
  unshare_range: 0x40,
  write_zeroes: 0x80,
};
/** linux/fadvise.h (x86-64 values). */
export const FADV_NAMES: Readonly<Record<string, number>> = {
  POSIX_FADV_NORMAL: 0,
  POSIX_FADV_RANDOM: 1,
  POSIX_FADV_SEQUENTIAL: 2,
  POSIX_FADV_WILLNEED: 3,
  POSIX_FADV_DONTNEED: 4,
  POSIX_FADV_NOREUSE: 5,
};
/** linux/close_range.h */
export const CLOSE_RANGE_NAMES: Readonly<Record<string, number>> = { unshare: 0x2, cloexec: 0x4 };
/** linux/eventfd.h: EFD_SEMAPHORE; EFD_CLOEXEC/EFD_NONBLOCK are the open flags. */
export const EFD_NAMES: Readonly<Record<string, number>> = { semaphore: 1, nonblock: 0o4000, cloexec: 0o2000000 };
/** asm-generic/signal.h (x86-64) */
export const SIGNAL_NAMES: Readonly<Record<string, number>> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9,
  SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15, SIGSTKFLT: 16, SIGCHLD: 17,
  SIGCONT: 18, SIGSTOP: 19, SIGTSTP: 20, SIGTTIN: 21, SIGTTOU: 22, SIGURG: 23, SIGXCPU: 24, SIGXFSZ: 25,
  SIGVTALRM: 26, SIGPROF: 27, SIGWINCH: 28, SIGIO: 29, SIGPOLL: 29, SIGPWR: 30, SIGSYS: 31,
};

/** A signal set (sigset_t's first word: bit sig - 1), for sigprocmask. */
export const SIGSET_NAMES: Readonly<Record<string, number>> = Object.fromEntries(Object.entries(SIGNAL_NAMES).map(([n, v]) => [n, 2 ** (v - 1)]));
/** sigaction's handler: the default action, SIG_IGN, or the runner's handler that counts its runs per signal. */
export const SIG_HANDLER_NAMES: Readonly<Record<string, number>> = { default: 0, ignore: 1, count: 2 };
/** sa_flags (asm/signal.h, x86-64). */
export const SA_NAMES: Readonly<Record<string, number>> = { siginfo: 0x4, restart: 0x10000000, nodefer: 0x40000000, resethand: 0x80000000 };
/** rt_sigprocmask's how. */
export const SIG_HOW_NAMES: Readonly<Record<string, number>> = { SIG_BLOCK: 0, SIG_UNBLOCK: 1, SIG_SETMASK: 2 };

/** fcntl's record-lock commands (fcntl_lock's cmd). */
export const LOCK_CMD_NAMES: Readonly<Record<string, number>> = {
  F_GETLK: 5, F_SETLK: 6, F_SETLKW: 7, F_OFD_GETLK: 36, F_OFD_SETLK: 37, F_OFD_SETLKW: 38,
};

/** flock(2)'s operation bits (sys/file.h LOCK_*; LOCK_MAND is ignored by the kernel). */
export const FLOCK_NAMES: Readonly<Record<string, number>> = { sh: 1, ex: 2, nb: 4, un: 8, mand: 32 };
/** struct f_owner_ex's type (F_OWNER_TID, F_OWNER_PID, F_OWNER_PGRP). */
export const F_OWNER_NAMES: Readonly<Record<string, number>> = { tid: 0, pid: 1, pgrp: 2 };

/** struct flock's l_type. */
export const LOCK_TYPE_NAMES: Readonly<Record<string, number>> = { F_RDLCK: 0, F_WRLCK: 1, F_UNLCK: 2 };
