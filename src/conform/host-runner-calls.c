/*
 * The ops added after syscall-script format v1 (docs/scripts.md, "More
 * system calls"), run on the host kernel. Each takes its arguments in the
 * order src/workloads/script/calls/fields.ts lists the op's fields and
 * writes one record: "R i ret errno" and then its extra fields, each as
 * key=<type><value> (n a decimal number, h a hex string, l hex strings
 * separated by commas, s a bare word), which src/conform/host.ts decodes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "host-runner.h"

#define IOBUF_BYTES (1UL << 20)
#define IOV_MAX_ARGS 2000

/* Page-aligned as the read/write buffers are: an O_DIRECT transfer's memory must meet the disk's DMA alignment, which
 * the simulator (scripts name no buffer address) takes as met. */
static unsigned char buf[IOBUF_BYTES] __attribute__((aligned(4096)));

void emit_hex(const char *s, size_t n)
{
	for (size_t k = 0; k < n; k++)
		emit("%02x", (unsigned char)s[k]);
}

/* A call whose result is its return value only. */
static void plain(int i, const struct op *o, long ret)
{
	int err = errno;
	bind(o, (uint64_t)ret);
	if (emit_head(i, ret, err))
		emit("\n");
}

static void sum_record(int i, long ret, int err, const unsigned char *b)
{
	if (emit_head(i, ret, err)) {
		uint64_t sum = 0;
		for (long k = 0; k < ret; k++)
			sum += b[k];
		emit(" sum=n%lu\n", (unsigned long)sum);
	}
}

/* ---- memory ---- */

/* brk: the break is bound and printed relative to the one the script process started with. */
static void c_brk(int i, struct op *o)
{
	static uint64_t start;
	if (!start)
		start = (uint64_t)syscall(SYS_brk, 0);
	uint64_t ret = (uint64_t)syscall(SYS_brk, o->a[0].kind == '-' ? 0 : val(&o->a[0]));
	bind(o, ret);
	emit("R %d 0 - offset=n%ld\n", i, (long)(ret - start));
}

static void c_mlock2(int i, struct op *o) { errno = 0; plain(i, o, syscall(SYS_mlock2, val(&o->a[0]), val(&o->a[1]), val(&o->a[2]))); }
static void c_mlockall(int i, struct op *o) { errno = 0; plain(i, o, syscall(SYS_mlockall, val(&o->a[0]))); }
static void c_munlockall(int i, struct op *o) { errno = 0; plain(i, o, syscall(SYS_munlockall)); }
static void c_memfd_create(int i, struct op *o) { errno = 0; plain(i, o, syscall(SYS_memfd_create, o->a[0].str, (unsigned)val(&o->a[1]))); }
static void c_msync(int i, struct op *o) { errno = 0; plain(i, o, syscall(SYS_msync, val(&o->a[0]), val(&o->a[1]), val(&o->a[2]))); }

static void c_mseal(int i, struct op *o) { errno = 0; plain(i, o, syscall(462 /* SYS_mseal */, val(&o->a[0]), val(&o->a[1]), val(&o->a[2]))); }

/* mremap: the new address is bound; `same` says whether it is the old one. */
static void c_mremap(int i, struct op *o)
{
	uint64_t addr = val(&o->a[0]);
	errno = 0;
	long ret = syscall(SYS_mremap, addr, val(&o->a[1]), val(&o->a[2]), val(&o->a[3]), o->a[4].kind == '-' ? 0 : val(&o->a[4]));
	int err = errno;
	bind(o, (uint64_t)ret);
	if (emit_head(i, ret < 0 ? -1 : 0, err))
		emit(" same=b%d\n", (uint64_t)ret == addr);
}

/* ---- /proc/self views of the address space ---- */

/* Reads a whole /proc/self file into buf (NUL-terminated); returns its length, or -1 with errno. */
static long slurp(const char *path, int i)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	long n = 0, r;
	while ((r = read(fd, buf + n, IOBUF_BYTES - 1 - n)) > 0)
		n += r;
	int err = errno;
	close(fd);
	if (r < 0) {
		errno = err;
		return -1;
	}
	if (n >= (long)IOBUF_BYTES - 1)
		child_fail("op %d: %s is larger than %lu bytes", i, path, IOBUF_BYTES);
	buf[n] = 0;
	return n;
}

/* smaps: the lines of /proc/self/smaps for the area holding addr (its header line left out: addresses differ). */
static void c_smaps(int i, struct op *o)
{
	uint64_t addr = val(&o->a[0]);
	errno = 0;
	long n = slurp("/proc/self/smaps", i);
	if (!emit_head(i, n < 0 ? -1 : 0, errno))
		return;
	emit(" lines=l");
	int in = 0, first = 1;
	for (char *line = (char *)buf, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			nl = line + strlen(line);
		unsigned long start, end;
		int header = sscanf(line, "%lx-%lx ", &start, &end) == 2 && strchr(line, '-') < strchr(line, ' ');
		if (header)
			in = addr >= start && addr < end;
		else if (in) {
			if (!first)
				emit(",");
			emit_hex(line, (size_t)(nl - line));
			first = 0;
		}
		if (!*nl)
			break;
	}
	emit("\n");
}

/* pagemap: the 64-bit entries of /proc/self/pagemap for `pages` pages from addr, as hex. */
static void c_pagemap(int i, struct op *o)
{
	uint64_t addr = val(&o->a[0]), pages = val(&o->a[1]);
	if (pages > IOBUF_BYTES / 8)
		child_fail("op %d: pagemap of more than %lu pages", i, IOBUF_BYTES / 8);
	long ret = -1;
	errno = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd >= 0) {
		ret = syscall(SYS_pread64, fd, buf, pages * 8, (addr / 4096) * 8);
		int err = errno;
		close(fd);
		errno = err;
	}
	if (!emit_head(i, ret, errno))
		return;
	emit(" entries=l");
	for (long k = 0; k < ret / 8; k++) {
		char h[17];
		snprintf(h, sizeof h, "%016llx", (unsigned long long)((uint64_t *)buf)[k]);
		if (k)
			emit(",");
		emit_hex(h, 16);
	}
	emit("\n");
}

/* ---- processes ---- */

static void c_exit(int i, struct op *o) { (void)i; _exit((int)val(&o->a[0])); }
static void c_kill(int i, struct op *o) { errno = 0; plain(i, o, syscall(SYS_kill, getpid(), ival(&o->a[0]))); }

/* ---- files ---- */

static void c_pread(int i, struct op *o)
{
	uint64_t len = val(&o->a[1]);
	if (len > IOBUF_BYTES)
		child_fail("op %d: pread of more than %lu bytes", i, IOBUF_BYTES);
	errno = 0;
	long ret = syscall(SYS_pread64, ival(&o->a[0]), buf, len, val(&o->a[2]));
	sum_record(i, ret, errno, buf);
}

static void c_pwrite(int i, struct op *o)
{
	uint64_t len = val(&o->a[1]);
	if (len > IOBUF_BYTES)
		child_fail("op %d: pwrite of more than %lu bytes", i, IOBUF_BYTES);
	memset(buf, (int)val(&o->a[2]), len);
	errno = 0;
	plain(i, o, syscall(SYS_pwrite64, ival(&o->a[0]), buf, len, val(&o->a[3])));
}

static void c_fsync(int i, struct op *o) { errno = 0; plain(i, o, syscall(SYS_fsync, ival(&o->a[0]))); }
static void c_fchmod(int i, struct op *o) { errno = 0; plain(i, o, syscall(SYS_fchmod, ival(&o->a[0]), (unsigned)val(&o->a[1]))); }
static void c_fdatasync(int i, struct op *o) { errno = 0; plain(i, o, syscall(SYS_fdatasync, ival(&o->a[0]))); }
/* pipe2: the read end binds to the op's slot, the write end to the slot in the second argument. */
static void c_pipe2(int i, struct op *o)
{
	int fds[2];
	errno = 0;
	long ret = syscall(SYS_pipe2, fds, (int)val(&o->a[0]));
	int err = errno;
	bind(o, ret < 0 ? (uint64_t)-1 : (uint64_t)fds[0]);
	if (o->a[1].kind != '-')
		slots[val(&o->a[1])] = ret < 0 ? (uint64_t)-1 : (uint64_t)fds[1];
	if (emit_head(i, ret, err))
		emit(" fds=i%d,%d\n", fds[0], fds[1]);
}

static void c_fallocate(int i, struct op *o) { errno = 0; plain(i, o, syscall(SYS_fallocate, ival(&o->a[0]), ival(&o->a[1]), val(&o->a[2]), val(&o->a[3]))); }
static void c_posix_fadvise(int i, struct op *o) { errno = 0; plain(i, o, syscall(SYS_fadvise64, ival(&o->a[0]), val(&o->a[1]), val(&o->a[2]), ival(&o->a[3]))); }
static void c_eventfd(int i, struct op *o) { errno = 0; plain(i, o, syscall(SYS_eventfd2, (unsigned)val(&o->a[0]), (int)val(&o->a[1]))); }

static void c_close_range(int i, struct op *o) { errno = 0; plain(i, o, syscall(SYS_close_range, (unsigned)val(&o->a[0]), (unsigned)val(&o->a[1]), (unsigned)val(&o->a[2]))); }

static const char *stat_type(unsigned mode)
{
	switch (mode & S_IFMT) {
	case S_IFSOCK: return "sock";
	case S_IFLNK: return "lnk";
	case S_IFREG: return "reg";
	case S_IFBLK: return "blk";
	case S_IFDIR: return "dir";
	case S_IFCHR: return "chr";
	case S_IFIFO: return "fifo";
	}
	return "unknown";
}

static void stat_record(int i, long ret, int err, const struct stat *st)
{
	if (emit_head(i, ret, err))
		emit(" size=n%ld mode=s0%o type=s%s nlink=n%lu\n", (long)st->st_size, (unsigned)(st->st_mode & 07777), stat_type(st->st_mode), (unsigned long)st->st_nlink);
}

static void c_fstat(int i, struct op *o)
{
	struct stat st;
	errno = 0;
	long ret = syscall(SYS_fstat, ival(&o->a[0]), &st);
	stat_record(i, ret, errno, &st);
}

static void c_newfstatat(int i, struct op *o)
{
	struct stat st;
	errno = 0;
	long ret = syscall(SYS_newfstatat, ival(&o->a[0]), o->a[1].str, &st, ival(&o->a[2]));
	stat_record(i, ret, errno, &st);
}

static void c_openat(int i, struct op *o) { errno = 0; plain(i, o, syscall(SYS_openat, ival(&o->a[0]), o->a[1].str, (int)val(&o->a[2]), (unsigned)val(&o->a[3]))); }

static void c_statx(int i, struct op *o)
{
	struct statx sx;
	errno = 0;
	long ret = syscall(SYS_statx, ival(&o->a[0]), o->a[1].str, ival(&o->a[2]), (unsigned)val(&o->a[3]), &sx);
	int err = errno;
	if (emit_head(i, ret, err))
		emit(" size=n%ld mode=s0%o type=s%s nlink=n%lu\n", (long)sx.stx_size, (unsigned)(sx.stx_mode & 07777), stat_type(sx.stx_mode), (unsigned long)sx.stx_nlink);
}

/* An iovec from the comma-separated lengths in a string argument: the buffers lie back to back in buf. */
static int iov_of(int i, const struct arg *a, struct iovec *iov)
{
	int n = 0;
	uint64_t off = 0;
	for (const char *p = a->str; *p; n++) {
		char *end;
		uint64_t len = strtoull(p, &end, 10);
		if (n >= IOV_MAX_ARGS)
			child_fail("op %d: more than %d iovec lengths", i, IOV_MAX_ARGS);
		iov[n].iov_base = buf + (off < IOBUF_BYTES ? off : 0);
		iov[n].iov_len = len;
		/* A length the kernel refuses (negative as ssize_t) never reaches the buffer. */
		if ((int64_t)len > 0) {
			if (off + len > IOBUF_BYTES)
				child_fail("op %d: iovec past %lu bytes", i, IOBUF_BYTES);
			off += len;
		}
		p = *end == ',' ? end + 1 : end;
	}
	return n;
}

static void c_readv(int i, struct op *o)
{
	static struct iovec iov[IOV_MAX_ARGS];
	int n = iov_of(i, &o->a[1], iov);
	errno = 0;
	long ret = syscall(SYS_readv, ival(&o->a[0]), iov, n);
	sum_record(i, ret, errno, buf);
}

static void c_writev(int i, struct op *o)
{
	static struct iovec iov[IOV_MAX_ARGS];
	int n = iov_of(i, &o->a[1], iov);
	memset(buf, (int)val(&o->a[2]), IOBUF_BYTES);
	errno = 0;
	plain(i, o, syscall(SYS_writev, ival(&o->a[0]), iov, n));
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* getdents64: the names this call returned, sorted (file systems order entries differently). */
static void c_getdents64(int i, struct op *o)
{
	uint64_t count = val(&o->a[1]);
	if (count > IOBUF_BYTES)
		child_fail("op %d: getdents64 of more than %lu bytes", i, IOBUF_BYTES);
	errno = 0;
	long ret = syscall(SYS_getdents64, ival(&o->a[0]), buf, (unsigned)count);
	int err = errno;
	if (!emit_head(i, ret, err))
		return;
	static char *names[IOBUF_BYTES / 24];
	int n = 0;
	for (long p = 0; p < ret; n++) {
		struct { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type; char name[]; } *d = (void *)(buf + p);
		names[n] = d->name;
		p += d->reclen;
	}
	qsort(names, n, sizeof names[0], cmp_str);
	emit(" names=l");
	for (int k = 0; k < n; k++) {
		if (k)
			emit(",");
		emit_hex(names[k], strlen(names[k]));
	}
	emit("\n");
}

static void c_renameat2(int i, struct op *o) { errno = 0; plain(i, o, syscall(SYS_renameat2, ival(&o->a[0]), o->a[1].str, ival(&o->a[2]), o->a[3].str, (unsigned)val(&o->a[4]))); }

static void c_link(int i, struct op *o) { errno = 0; plain(i, o, syscall(SYS_link, o->a[0].str, o->a[1].str)); }
static void c_linkat(int i, struct op *o) { errno = 0; plain(i, o, syscall(SYS_linkat, ival(&o->a[0]), o->a[1].str, ival(&o->a[2]), o->a[3].str, ival(&o->a[4]))); }
static void c_symlink(int i, struct op *o) { errno = 0; plain(i, o, syscall(SYS_symlink, o->a[0].str, o->a[1].str)); }
static void c_symlinkat(int i, struct op *o) { errno = 0; plain(i, o, syscall(SYS_symlinkat, o->a[0].str, ival(&o->a[1]), o->a[2].str)); }
static void c_unlinkat(int i, struct op *o) { errno = 0; plain(i, o, syscall(SYS_unlinkat, ival(&o->a[0]), o->a[1].str, ival(&o->a[2]))); }

/*
 * readlink: the bytes returned, as `target`, with the script's working directory and the caller's own pids
 * rewritten as the simulator prints them (readlink_body, host-runner-mask.c); ret counts the printed bytes.
 */
static void target_record(int i, const char *path, long ret, int err)
{
	const char *b = (const char *)buf;
	size_t n = ret > 0 ? (size_t)ret : 0;
	if (ret >= 0) {
		b = readlink_body(i, path, b, &n);
		ret = (long)n;
	}
	if (emit_head(i, ret, err)) {
		emit(" target=h");
		emit_hex(b, n);
		emit("\n");
	}
}

static void c_readlink(int i, struct op *o)
{
	int64_t len = (int)val(&o->a[1]);
	if (len > (int64_t)IOBUF_BYTES)
		child_fail("op %d: readlink of more than %lu bytes", i, IOBUF_BYTES);
	errno = 0;
	long ret = syscall(SYS_readlink, o->a[0].str, buf, len);
	target_record(i, o->a[0].str, ret, errno);
}

static void c_readlinkat(int i, struct op *o)
{
	int64_t len = (int)val(&o->a[2]);
	if (len > (int64_t)IOBUF_BYTES)
		child_fail("op %d: readlinkat of more than %lu bytes", i, IOBUF_BYTES);
	errno = 0;
	long ret = syscall(SYS_readlinkat, ival(&o->a[0]), o->a[1].str, buf, len);
	target_record(i, o->a[1].str, ret, errno);
}

/*
 * fdinfo: the lines of /proc/self/fdinfo/FD, with the values that name this host's objects (mnt_id, ino,
 * eventfd-id; an inotify line's ino, sdev and f_handle; a lock line's device and inode) printed as `*` and a lock
 * line's pid by whose it is: src/workloads/script/calls/fs.ts masks alike.
 */
static void c_fdinfo(int i, struct op *o)
{
	char path[64], out[4096];
	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", ival(&o->a[0]));
	errno = 0;
	long n = slurp(path, i);
	if (!emit_head(i, n < 0 ? -1 : 0, errno))
		return;
	emit(" lines=l");
	int first = 1;
	for (char *line = (char *)buf, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			nl = line + strlen(line);
		size_t len = (size_t)(nl - line), w;
		if (len >= sizeof out - 32)
			child_fail("op %d: fdinfo line of %zu bytes", i, len);
		w = mask_fdinfo_line(line, len, out);
		if (!first)
			emit(",");
		emit_hex(out, w);
		first = 0;
		if (!*nl)
			break;
	}
	emit("\n");
}

/* procfile: the lines of a /proc file, masked by its name (mask_proc_line; procfile.ts masks alike). */
static void c_procfile(int i, struct op *o)
{
	static char out[8192];
	const char *path = o->a[0].str, *slash = strrchr(path, '/'), *name = slash ? slash + 1 : path;
	errno = 0;
	long n = slurp(path, i);
	if (!emit_head(i, n < 0 ? -1 : 0, errno))
		return;
	emit(" lines=l");
	int first = 1, index = 0;
	for (char *line = (char *)buf, *nl; *line; line = nl + 1, index++) {
		nl = strchr(line, '\n');
		if (!nl)
			nl = line + strlen(line);
		size_t len = (size_t)(nl - line);
		if (2 * len + 64 >= sizeof out)
			child_fail("op %d: %s line of %zu bytes", i, path, len);
		long w = mask_proc_line(name, index, line, len, out);
		if (w >= 0) {
			if (!first)
				emit(",");
			emit_hex(out, (size_t)w);
			first = 0;
		}
		if (!*nl)
			break;
	}
	emit("\n");
}

/* ---- record locks ---- */

/* setown: F_SETOWN with the id `who` names (a process group negated), or with a type, F_SETOWN_EX (fs.ts: setown). */
static void c_setown(int i, struct op *o)
{
	const char *who = o->a[1].str;
	pid_t id;
	if (!strcmp(who, "self"))
		id = getpid();
	else if (!strcmp(who, "thread"))
		id = (pid_t)syscall(SYS_gettid);
	else if (!strcmp(who, "pgrp"))
		id = getpgrp();
	else if (!strcmp(who, "parent"))
		id = getppid();
	else if (!strcmp(who, "none"))
		id = 0;
	else
		child_fail("op %d: setown who %s", i, who);
	int type = ival(&o->a[2]);
	errno = 0;
	if (type == -1) {
		plain(i, o, syscall(SYS_fcntl, ival(&o->a[0]), F_SETOWN, !strcmp(who, "pgrp") ? -id : id));
		return;
	}
	struct f_owner_ex ex = { .type = type, .pid = id };
	plain(i, o, syscall(SYS_fcntl, ival(&o->a[0]), F_SETOWN_EX, &ex));
}

/* getown: F_GETOWN_EX; the type as written, the id named as a lock's l_pid (or `thread`: the caller's tid). */
static void c_getown(int i, struct op *o)
{
	struct f_owner_ex ex = { .type = -1, .pid = -1 };
	errno = 0;
	long ret = syscall(SYS_fcntl, ival(&o->a[0]), F_GETOWN_EX, &ex);
	if (!emit_head(i, ret, errno))
		return;
	char num[32];
	pid_t tid = (pid_t)syscall(SYS_gettid);
	emit(" type=n%d owner=%s\n", ex.type, ex.pid == tid && tid != getpid() ? "sthread" : lock_pid_name(ex.pid, num, sizeof num));
}

/* flock: flock(fd, operation), the operation's bits as given. */
static void c_flock(int i, struct op *o) { errno = 0; plain(i, o, syscall(SYS_flock, ival(&o->a[0]), (unsigned)val(&o->a[1]))); }

/*
 * fcntl_lock: fcntl(fd, cmd, &flock). F_GETLK and F_OFD_GETLK print what the kernel wrote back; l_pid as `self`,
 * `parent` (the process a fork op made this one from), `other`, or 0 / -1 (src/workloads/script/calls/fs.ts: lockPidName).
 */
static void c_fcntl_lock(int i, struct op *o)
{
	int cmd = ival(&o->a[1]);
	struct flock fl = {
		.l_type = (short)val(&o->a[2]),
		.l_whence = (short)val(&o->a[3]),
		.l_start = (off_t)val(&o->a[4]),
		.l_len = (off_t)val(&o->a[5]),
		.l_pid = (pid_t)val(&o->a[6]),
	};
	errno = 0;
	long ret = syscall(SYS_fcntl, ival(&o->a[0]), cmd, &fl);
	int err = errno;
	if (!emit_head(i, ret, err))
		return;
	if (cmd != F_GETLK && cmd != F_OFD_GETLK) {
		emit("\n");
		return;
	}
	static const char *const types[] = { "F_RDLCK", "F_WRLCK", "F_UNLCK" };
	char num[24];
	if (fl.l_type >= 0 && fl.l_type <= 2)
		emit(" l_type=s%s", types[fl.l_type]);
	else
		emit(" l_type=n%d", fl.l_type);
	emit(" l_whence=n%d l_start=n%lld l_len=n%lld l_pid=%s\n", fl.l_whence, (long long)fl.l_start, (long long)fl.l_len,
	     fl.l_type == F_UNLCK ? (snprintf(num, sizeof num, "n%d", (int)fl.l_pid), num) : lock_pid_name(fl.l_pid, num, sizeof num));
}

/* ---- signals ---- */

/* The script's one user handler: it counts its runs per signal. Process memory: a fork child starts with a copy, threads
 * share it, a new image (execve) starts at zero. */
static volatile sig_atomic_t caught_counts[65];

static void count_handler(int sig)
{
	if (sig > 0 && sig < 65)
		caught_counts[sig]++;
}

/* sigaction(sig, {handler: SIG_DFL, SIG_IGN or count_handler, flags}, NULL) through glibc (which adds SA_RESTORER and
 * refuses its own signals 32 and 33). SIGSEGV and SIGBUS are the runner's fault handlers': a script may not change them. */
static void c_sigaction(int i, struct op *o)
{
	int sig = ival(&o->a[0]);
	if (sig == SIGSEGV || sig == SIGBUS)
		child_fail("sigaction: %s is the runner's own (fill and load faults)", signame(sig));
	long h = (long)val(&o->a[1]);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = h == 0 ? SIG_DFL : h == 1 ? SIG_IGN : count_handler;
	sa.sa_flags = (int)(unsigned)val(&o->a[2]);
	sigemptyset(&sa.sa_mask);
	errno = 0;
	plain(i, o, sigaction(sig, &sa, NULL));
}

/* rt_sigprocmask(how, &set, NULL, 8) with the set's 64 bits as given. */
static void c_sigprocmask(int i, struct op *o)
{
	uint64_t set = val(&o->a[1]);
	errno = 0;
	plain(i, o, syscall(SYS_rt_sigprocmask, ival(&o->a[0]), &set, NULL, 8));
}

/* setitimer(ITIMER_REAL, {0, usec}, NULL): SIGALRM once, usec microseconds on. */
static void c_setitimer(int i, struct op *o)
{
	long long us = (long long)val(&o->a[0]);
	struct itimerval it = { { 0, 0 }, { (time_t)(us / 1000000), (suseconds_t)(us % 1000000) } };
	errno = 0;
	plain(i, o, syscall(SYS_setitimer, ITIMER_REAL, &it, NULL));
}

static void c_nanosleep(int i, struct op *o)
{
	long long ns = (long long)val(&o->a[0]);
	struct timespec ts = { (time_t)(ns / 1000000000), (long)(ns % 1000000000) };
	errno = 0;
	plain(i, o, syscall(SYS_nanosleep, &ts, NULL));
}

/* await_signal: until count_handler has run `count` times for sig: sig blocked, then sigsuspend with the old mask less
 * sig (the handler runs as it returns), then the old mask back. A signal that came before is counted already. */
static void c_await_signal(int i, struct op *o)
{
	int sig = ival(&o->a[0]);
	long count = (long)val(&o->a[1]);
	if (sig < 1 || sig > 64) {
		errno = EINVAL;
		plain(i, o, -1);
		return;
	}
	uint64_t bit = 1ULL << (sig - 1), old, tmp;
	if (syscall(SYS_rt_sigprocmask, SIG_BLOCK, &bit, &old, 8) < 0)
		child_fail("await_signal: rt_sigprocmask: %s", strerror(errno));
	while (caught_counts[sig] < count) {
		tmp = old & ~bit;
		syscall(SYS_rt_sigsuspend, &tmp, 8);
	}
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, 8);
	errno = 0;
	plain(i, o, 0);
}

static void c_caught(int i, struct op *o)
{
	int sig = ival(&o->a[0]);
	if (sig < 1 || sig > 64) {
		errno = EINVAL;
		plain(i, o, -1);
		return;
	}
	if (emit_head(i, 0, 0))
		emit(" value=n%d\n", (int)caught_counts[sig]);
}

/* truncate(path, len). */
static void c_truncate(int i, struct op *o) { errno = 0; plain(i, o, syscall(SYS_truncate, o->a[0].str, (long)val(&o->a[1]))); }

/* ---- the table: same names and order as CALL_FIELDS ---- */

struct call {
	const char *name;
	void (*run)(int i, struct op *o);
};

static const struct call calls[] = {
	{ "brk", c_brk },
	{ "mlock2", c_mlock2 },
	{ "mlockall", c_mlockall },
	{ "munlockall", c_munlockall },
	{ "memfd_create", c_memfd_create },
	{ "msync", c_msync },
	{ "mseal", c_mseal },
	{ "mremap", c_mremap },
	{ "smaps", c_smaps },
	{ "pagemap", c_pagemap },
	{ "exit", c_exit },
	{ "kill", c_kill },
	{ "pread", c_pread },
	{ "pwrite", c_pwrite },
	{ "fsync", c_fsync },
	{ "fchmod", c_fchmod },
	{ "fstat", c_fstat },
	{ "newfstatat", c_newfstatat },
	{ "fdatasync", c_fdatasync },
	{ "fallocate", c_fallocate },
	{ "posix_fadvise", c_posix_fadvise },
	{ "pipe2", c_pipe2 },
	{ "eventfd", c_eventfd },
	{ "close_range", c_close_range },
	{ "openat", c_openat },
	{ "statx", c_statx },
	{ "readv", c_readv },
	{ "writev", c_writev },
	{ "getdents64", c_getdents64 },
	{ "renameat2", c_renameat2 },
	{ "link", c_link },
	{ "linkat", c_linkat },
	{ "symlink", c_symlink },
	{ "symlinkat", c_symlinkat },
	{ "readlink", c_readlink },
	{ "readlinkat", c_readlinkat },
	{ "unlinkat", c_unlinkat },
	{ "fdinfo", c_fdinfo },
	{ "fcntl_lock", c_fcntl_lock },
	{ "flock", c_flock },
	{ "setown", c_setown },
	{ "getown", c_getown },
	{ "sigaction", c_sigaction },
	{ "sigprocmask", c_sigprocmask },
	{ "setitimer", c_setitimer },
	{ "nanosleep", c_nanosleep },
	{ "await_signal", c_await_signal },
	{ "caught", c_caught },
	{ "truncate", c_truncate },
	{ "procfile", c_procfile },
};

const int ncall_names = (int)(sizeof calls / sizeof calls[0]);

const char *call_name(int c)
{
	return calls[c].name;
}

void run_call(int i, struct op *o)
{
	calls[o->code - OP_COUNT].run(i, o);
}
