/**
 * The fcntl/open uapi numbers the kernel side needs (asm-generic/fcntl.h,
 * asm-generic/resource.h, x86-64). Kept in the kernel so that kernel code
 * never imports from workloads; the script layer has its own copy of the
 * same numbers for parsing.
 */
export const O_ACCMODE = 0o3;
export const O_RDONLY = 0o0;
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_NOCTTY = 0o400;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_NONBLOCK = 0o4000;
export const O_DSYNC = 0o10000;
export const FASYNC = 0o20000;
export const O_DIRECT = 0o40000;
export const O_LARGEFILE = 0o100000;
export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;
export const O_NOATIME = 0o1000000;
export const O_CLOEXEC = 0o2000000;
export const __O_SYNC = 0o4000000;
export const O_PATH = 0o10000000;
export const __O_TMPFILE = 0o20000000;

export const F_DUPFD = 0;
export const F_GETFD = 1;
export const F_SETFD = 2;
export const F_GETFL = 3;
export const F_SETFL = 4;
export const F_DUPFD_CLOEXEC = 1030;
export const FD_CLOEXEC = 1;

/** fs/fcntl.c: the f_flags bits F_SETFL may change (FASYNC goes through ->fasync). */
export const SETFL_MASK = O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME;

export const RLIMIT_NOFILE = 7;
/** RLIM_INFINITY: the kernel's ~0UL, represented as Infinity. */
export const RLIM_INFINITY = Infinity;

/** include/linux/fs.h f_mode bits. */
export const FMODE_READ = 0x1;
export const FMODE_WRITE = 0x2;
export const FMODE_LSEEK = 0x4;
export const FMODE_PREAD = 0x8;
export const FMODE_PWRITE = 0x10;
export const FMODE_PATH = 0x4000;
/** The file holds write access to its inode (get_write_access at open; put_write_access at __fput): not a pseudo file such as a memfd. */
export const FMODE_WRITER = 0x10000;
export const FMODE_CREATED = 0x100000;
