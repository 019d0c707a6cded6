/**
 * Linux uapi numbers used by syscall scripts, x86-64. The simulator takes its
 * numbers from here too, so a script means the same thing to both sides.
 *
 * Values follow the uapi headers: asm-generic/mman-common.h, asm-generic/mman.h,
 * linux/mman.h, asm-generic/fcntl.h, linux/fcntl.h, linux/inotify.h,
 * asm-generic/resource.h, linux/fs.h (SEEK_*), asm-generic/ioctls.h. Entries
 * newer than a distribution's installed headers (MADV_GUARD_*, MAP_DROPPABLE,
 * F_DUPFD_QUERY, F_CREATED_QUERY) are those of the current mainline headers.
 */

export { PAGE_SIZE } from '../../hw/types.js';

export const PROT = {
  PROT_NONE: 0x0,
  PROT_READ: 0x1,
  PROT_WRITE: 0x2,
  PROT_EXEC: 0x4,
  PROT_SEM: 0x8,
  PROT_GROWSDOWN: 0x01000000,
  PROT_GROWSUP: 0x02000000,
} as const;

export const MAP = {
  MAP_SHARED: 0x01,
  MAP_PRIVATE: 0x02,
  MAP_SHARED_VALIDATE: 0x03,
  MAP_DROPPABLE: 0x08,
  MAP_TYPE: 0x0f,
  MAP_FIXED: 0x10,
  MAP_ANONYMOUS: 0x20,
  MAP_32BIT: 0x40,
  MAP_GROWSDOWN: 0x0100,
  MAP_DENYWRITE: 0x0800,
  MAP_EXECUTABLE: 0x1000,
  MAP_LOCKED: 0x2000,
  MAP_NORESERVE: 0x4000,
  MAP_POPULATE: 0x008000,
  MAP_NONBLOCK: 0x010000,
  MAP_STACK: 0x020000,
  MAP_HUGETLB: 0x040000,
  MAP_SYNC: 0x080000,
  MAP_FIXED_NOREPLACE: 0x100000,
  MAP_UNINITIALIZED: 0x4000000,
} as const;

/** Every madvise advice of current Linux. */
export const MADV = {
  MADV_NORMAL: 0,
  MADV_RANDOM: 1,
  MADV_SEQUENTIAL: 2,
  MADV_WILLNEED: 3,
  MADV_DONTNEED: 4,
  MADV_FREE: 8,
  MADV_REMOVE: 9,
  MADV_DONTFORK: 10,
  MADV_DOFORK: 11,
  MADV_MERGEABLE: 12,
  MADV_UNMERGEABLE: 13,
  MADV_HUGEPAGE: 14,
  MADV_NOHUGEPAGE: 15,
  MADV_DONTDUMP: 16,
  MADV_DODUMP: 17,
  MADV_WIPEONFORK: 18,
  MADV_KEEPONFORK: 19,
  MADV_COLD: 20,
  MADV_PAGEOUT: 21,
  MADV_POPULATE_READ: 22,
  MADV_POPULATE_WRITE: 23,
  MADV_DONTNEED_LOCKED: 24,
  MADV_COLLAPSE: 25,
  MADV_HWPOISON: 100,
  MADV_SOFT_OFFLINE: 101,
  MADV_GUARD_INSTALL: 102,
  MADV_GUARD_REMOVE: 103,
} as const;

/** Open flags (octal in the headers), shared by open(2), F_GETFL and F_SETFL. */
export const O = {
  O_ACCMODE: 0o3,
  O_RDONLY: 0o0,
  O_WRONLY: 0o1,
  O_RDWR: 0o2,
  O_CREAT: 0o100,
  O_EXCL: 0o200,
  O_NOCTTY: 0o400,
  O_TRUNC: 0o1000,
  O_APPEND: 0o2000,
  O_NONBLOCK: 0o4000,
  O_DSYNC: 0o10000,
  FASYNC: 0o20000,
  O_DIRECT: 0o40000,
  O_LARGEFILE: 0o100000,
  O_DIRECTORY: 0o200000,
  O_NOFOLLOW: 0o400000,
  O_NOATIME: 0o1000000,
  O_CLOEXEC: 0o2000000,
  __O_SYNC: 0o4000000,
  O_SYNC: 0o4000000 | 0o10000,
  O_PATH: 0o10000000,
  __O_TMPFILE: 0o20000000,
} as const;

export const F = {
  F_DUPFD: 0,
  F_GETFD: 1,
  F_SETFD: 2,
  F_GETFL: 3,
  F_SETFL: 4,
  F_GETLK: 5,
  F_SETLK: 6,
  F_SETLKW: 7,
  F_SETOWN: 8,
  F_GETOWN: 9,
  F_SETSIG: 10,
  F_GETSIG: 11,
  F_SETOWN_EX: 15,
  F_GETOWN_EX: 16,
  F_GETOWNER_UIDS: 17,
  F_OFD_GETLK: 36,
  F_OFD_SETLK: 37,
  F_OFD_SETLKW: 38,
  F_SETLEASE: 1024,
  F_GETLEASE: 1025,
  F_NOTIFY: 1026,
  F_DUPFD_QUERY: 1027,
  F_CREATED_QUERY: 1028,
  F_CANCELLK: 1029,
  F_DUPFD_CLOEXEC: 1030,
  F_SETPIPE_SZ: 1031,
  F_GETPIPE_SZ: 1032,
  F_ADD_SEALS: 1033,
  F_GET_SEALS: 1034,
} as const;

export const FD_CLOEXEC = 1;

export const IN = {
  IN_ACCESS: 0x00000001,
  IN_MODIFY: 0x00000002,
  IN_ATTRIB: 0x00000004,
  IN_CLOSE_WRITE: 0x00000008,
  IN_CLOSE_NOWRITE: 0x00000010,
  IN_OPEN: 0x00000020,
  IN_MOVED_FROM: 0x00000040,
  IN_MOVED_TO: 0x00000080,
  IN_CREATE: 0x00000100,
  IN_DELETE: 0x00000200,
  IN_DELETE_SELF: 0x00000400,
  IN_MOVE_SELF: 0x00000800,
  IN_UNMOUNT: 0x00002000,
  IN_Q_OVERFLOW: 0x00004000,
  IN_IGNORED: 0x00008000,
  IN_CLOSE: 0x00000018,
  IN_MOVE: 0x000000c0,
  IN_ONLYDIR: 0x01000000,
  IN_DONT_FOLLOW: 0x02000000,
  IN_EXCL_UNLINK: 0x04000000,
  IN_MASK_CREATE: 0x10000000,
  IN_MASK_ADD: 0x20000000,
  IN_ISDIR: 0x40000000,
  // 1 << 31 does not fit a signed 32-bit int; keep it positive.
  IN_ONESHOT: 0x80000000,
  IN_ALL_EVENTS: 0x00000fff,
  IN_CLOEXEC: 0o2000000,
  IN_NONBLOCK: 0o4000,
} as const;

export const SEEK = { SEEK_SET: 0, SEEK_CUR: 1, SEEK_END: 2, SEEK_DATA: 3, SEEK_HOLE: 4 } as const;

/** asm-generic/resource.h (x86-64 uses the generic numbers). */
export const RLIMIT = {
  RLIMIT_CPU: 0,
  RLIMIT_FSIZE: 1,
  RLIMIT_DATA: 2,
  RLIMIT_STACK: 3,
  RLIMIT_CORE: 4,
  RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8,
  RLIMIT_AS: 9,
  RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11,
  RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13,
  RLIMIT_RTPRIO: 14,
  RLIMIT_RTTIME: 15,
} as const;

export const FIONREAD = 0x541b;

/** The script's lower-case flag names (without prefix), as the spec lists them. */
export const OPEN_FLAG_NAMES: Readonly<Record<string, number>> = {
  rdonly: O.O_RDONLY,
  wronly: O.O_WRONLY,
  rdwr: O.O_RDWR,
  creat: O.O_CREAT,
  excl: O.O_EXCL,
  trunc: O.O_TRUNC,
  append: O.O_APPEND,
  cloexec: O.O_CLOEXEC,
  nonblock: O.O_NONBLOCK,
  directory: O.O_DIRECTORY,
  // Every other open flag, so a script can pass any of them where the kernel answers (dup3 with nonblock is its EINVAL).
  noctty: O.O_NOCTTY,
  dsync: O.O_DSYNC,
  async: O.FASYNC,
  direct: O.O_DIRECT,
  largefile: O.O_LARGEFILE,
  nofollow: O.O_NOFOLLOW,
  noatime: O.O_NOATIME,
  sync: O.O_SYNC,
  path: O.O_PATH,
  tmpfile: O.__O_TMPFILE | O.O_DIRECTORY,
};

export const MMAP_FLAG_NAMES: Readonly<Record<string, number>> = {
  private: MAP.MAP_PRIVATE,
  shared: MAP.MAP_SHARED,
  shared_validate: MAP.MAP_SHARED_VALIDATE,
  anonymous: MAP.MAP_ANONYMOUS,
  fixed: MAP.MAP_FIXED,
  fixed_noreplace: MAP.MAP_FIXED_NOREPLACE,
  populate: MAP.MAP_POPULATE,
  locked: MAP.MAP_LOCKED,
  noreserve: MAP.MAP_NORESERVE,
  droppable: MAP.MAP_DROPPABLE,
  '32bit': MAP.MAP_32BIT,
  growsdown: MAP.MAP_GROWSDOWN,
  denywrite: MAP.MAP_DENYWRITE,
  executable: MAP.MAP_EXECUTABLE,
  nonblock: MAP.MAP_NONBLOCK,
  stack: MAP.MAP_STACK,
  hugetlb: MAP.MAP_HUGETLB,
  sync: MAP.MAP_SYNC,
  uninitialized: MAP.MAP_UNINITIALIZED,
};

/** dup3 takes any open flag name: the kernel answers EINVAL for all but cloexec. */
export const DUP3_FLAG_NAMES: Readonly<Record<string, number>> = OPEN_FLAG_NAMES;

/** inotify_init1's IN_NONBLOCK and IN_CLOEXEC are the open flags; any other open flag is the kernel's EINVAL. */
export const INOTIFY_INIT_FLAG_NAMES: Readonly<Record<string, number>> = OPEN_FLAG_NAMES;

export const FD_FLAG_NAMES: Readonly<Record<string, number>> = { cloexec: FD_CLOEXEC };

/** inotify mask names: every IN_* event and flag, lower case, without the prefix. */
export const INOTIFY_MASK_NAMES: Readonly<Record<string, number>> = {
  access: IN.IN_ACCESS,
  modify: IN.IN_MODIFY,
  attrib: IN.IN_ATTRIB,
  close_write: IN.IN_CLOSE_WRITE,
  close_nowrite: IN.IN_CLOSE_NOWRITE,
  open: IN.IN_OPEN,
  moved_from: IN.IN_MOVED_FROM,
  moved_to: IN.IN_MOVED_TO,
  create: IN.IN_CREATE,
  delete: IN.IN_DELETE,
  delete_self: IN.IN_DELETE_SELF,
  move_self: IN.IN_MOVE_SELF,
  unmount: IN.IN_UNMOUNT,
  q_overflow: IN.IN_Q_OVERFLOW,
  ignored: IN.IN_IGNORED,
  close: IN.IN_CLOSE,
  move: IN.IN_MOVE,
  all_events: IN.IN_ALL_EVENTS,
  onlydir: IN.IN_ONLYDIR,
  dont_follow: IN.IN_DONT_FOLLOW,
  excl_unlink: IN.IN_EXCL_UNLINK,
  mask_create: IN.IN_MASK_CREATE,
  mask_add: IN.IN_MASK_ADD,
  isdir: IN.IN_ISDIR,
  oneshot: IN.IN_ONESHOT,
};

/** The fcntl commands a script may name; others are given as numbers. */
export const FCNTL_CMD_NAMES: Readonly<Record<string, number>> = F;

export const WHENCE_NAMES: Readonly<Record<string, number>> = {
  SET: SEEK.SEEK_SET,
  CUR: SEEK.SEEK_CUR,
  END: SEEK.SEEK_END,
  DATA: SEEK.SEEK_DATA,
  HOLE: SEEK.SEEK_HOLE,
};

export const RLIMIT_NAMES: Readonly<Record<string, number>> = Object.fromEntries(Object.entries(RLIMIT).map(([k, v]) => [k.slice('RLIMIT_'.length), v]));

/** Default modes when a script gives none. */
export const DEFAULT_OPEN_MODE = 0o644;
export const DEFAULT_MKDIR_MODE = 0o755;
