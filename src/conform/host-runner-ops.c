/*
 * The script process's half of the host runner: runs each op with the
 * system call it names and appends one raw record per op to the shared
 * result area (format: see host-runner.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "host-runner.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/*
 * Where mappings without MAP_FIXED go: from 16 TiB up, far from the heap,
 * the libraries and the stack, each one MAP_GAP past the end of the last,
 * so that a script's "$A+N" next to a mapping of its own lands in a hole,
 * never on this program's memory.
 */
#define MAP_HINT_BASE 0x100000000000ULL
#define MAP_GAP 0x40000000ULL

#define IOBUF_BYTES (1UL << 20)
/* The kernel moves at most MAX_RW_COUNT (INT_MAX & PAGE_MASK) bytes per read or write. */
#define MAX_RW 0x7ffff000UL

/* One hint position per process, shared by its threads (as the address space is). */
static uint64_t next_hint = MAP_HINT_BASE;
/*
 * Per thread: each thread does its own reads and writes and takes its own
 * faults. The buffers are mapped on first use, not thread-local arrays: a
 * thread's static TLS is zeroed when it starts, which would touch every page
 * of them in every script process.
 */
#define ALTSTACK_BYTES (64UL * 1024)
static __thread unsigned char *iobuf;

static unsigned char *map_buffer(uint64_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		child_fail("cannot map a %lu-byte buffer", (unsigned long)bytes);
	return p;
}

static __thread sigjmp_buf fault_jmp;
static __thread volatile sig_atomic_t fault_armed;

/* ---- results ---- */

void emit(const char *fmt, ...)
{
	if (sh->failed || out->discard)
		return;
	uint64_t room = out->cap - *out->used;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out->data + *out->used, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (uint64_t)n >= room)
		child_fail("results exceed %lu bytes", (unsigned long)out->cap);
	/* Published only when whole, so a process killed mid-record leaves no half line. */
	*out->used += (uint64_t)n;
}

void emit_bytes(const char *p, uint64_t n)
{
	if (sh->failed || out->discard)
		return;
	if (n >= out->cap - *out->used)
		child_fail("results exceed %lu bytes", (unsigned long)out->cap);
	memcpy(out->data + *out->used, p, n);
	*out->used += n;
}

const char *errname(int e)
{
	const char *s = strerrorname_np(e);
	static __thread char buf[32];
	if (s)
		return s;
	snprintf(buf, sizeof buf, "E%d", e);
	return buf;
}

const char *signame(int sig)
{
	static __thread char buf[32];
	const char *s = sigabbrev_np(sig);
	if (s)
		snprintf(buf, sizeof buf, "SIG%s", s);
	else
		snprintf(buf, sizeof buf, "SIG%d", sig);
	return buf;
}

/* The common head of a record: ret and errno; returns nonzero when the call succeeded. */
int emit_head(int i, long ret, int err)
{
	if (ret == -1) {
		emit("R %d -1 %s\n", i, errname(err));
		return 0;
	}
	emit("R %d %ld -", i, ret);
	return 1;
}

/* ---- faults ---- */

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	if (fault_armed) {
		fault_armed = 0;
		siglongjmp(fault_jmp, sig);
	}
	/* Not a script access: let the default action end the process. */
	signal(sig, SIG_DFL);
}

/* Pages are written in ascending order so a fault part-way leaves the lower pages written. */
static __attribute__((noinline)) void fill_pages(uint64_t addr, uint64_t len, int byte)
{
	/* Counting bytes left, not comparing addresses, keeps a range that wraps past 2^64 right. */
	uint64_t cur = addr;
	while (len) {
		uint64_t chunk = 4096 - (cur & 4095);
		if (chunk > len)
			chunk = len;
		memset((void *)cur, byte, chunk);
		cur += chunk;
		len -= chunk;
	}
}

static __attribute__((noinline)) int load_byte(uint64_t addr)
{
	return *(volatile unsigned char *)addr;
}

/* ---- running ops ---- */

uint64_t val(const struct arg *a)
{
	if (a->kind == 's')
		return slots[a->slot] + a->v;
	return a->v;
}

int ival(const struct arg *a)
{
	return (int)(int64_t)val(a);
}

/* A buffer of n bytes for read/write: the static one, or a lazily backed mapping. */
static void *iobuf_get(uint64_t n, uint64_t *mapped)
{
	*mapped = 0;
	if (n <= IOBUF_BYTES) {
		if (!iobuf)
			iobuf = map_buffer(IOBUF_BYTES);
		return iobuf;
	}
	uint64_t len = n < MAX_RW ? n : MAX_RW;
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		child_fail("cannot map a %lu-byte I/O buffer", (unsigned long)len);
	*mapped = len;
	return p;
}

static void iobuf_put(void *p, uint64_t mapped)
{
	if (mapped)
		munmap(p, mapped);
}

static void op_mincore(int i, uint64_t addr, uint64_t len)
{
	uint64_t pages = len / 4096 + (len % 4096 != 0);
	/* The vector goes straight into the result area, after room for the record's head. */
	const uint64_t head_room = 64;
	unsigned char *vec;
	uint64_t mapped = 0;
	int in_place = !out->discard && pages + head_room + 2 <= out->cap - *out->used;
	if (out->discard) {
		/* Nothing is printed: the call alone. */
		vec = iobuf_get(pages, &mapped);
		syscall(SYS_mincore, addr, len, vec);
		iobuf_put(vec, mapped);
		return;
	}
	if (in_place) {
		vec = (unsigned char *)out->data + *out->used + head_room;
	} else {
		vec = iobuf_get(pages, &mapped);
	}
	long ret = syscall(SYS_mincore, addr, len, vec);
	int err = errno;
	if (ret == -1) {
		iobuf_put(vec, mapped);
		emit_head(i, ret, err);
		return;
	}
	if (!in_place)
		child_fail("mincore vector of %lu pages does not fit the result area", (unsigned long)pages);
	char head[64];
	int h = snprintf(head, sizeof head, "R %d %ld - ", i, ret);
	char *dst = out->data + *out->used;
	memmove(dst + h, vec, pages);
	for (uint64_t k = 0; k < pages; k++)
		dst[h + k] = (dst[h + k] & 1) ? '1' : '0';
	memcpy(dst, head, (size_t)h);
	dst[h + pages] = '\n';
	*out->used += (uint64_t)h + pages + 1;
}

/*
 * The event header at `off` of the `ret` bytes read: bytes past `ret` read as
 * zero, so a read of a file that is not an inotify instance (whose bytes are
 * parsed as events all the same) prints the same on every run, whatever an
 * earlier op left in the shared buffer.
 */
static struct inotify_event event_at(const unsigned char *buf, long off, long ret)
{
	struct inotify_event ev;
	long have = ret - off < (long)sizeof ev ? ret - off : (long)sizeof ev;
	memset(&ev, 0, sizeof ev);
	memcpy(&ev, buf + off, (size_t)have);
	return ev;
}

static void op_inotify_read(int i, int fd, uint64_t bufsize)
{
	uint64_t mapped;
	unsigned char *buf = iobuf_get(bufsize, &mapped);
	long ret = syscall(SYS_read, fd, buf, bufsize);
	int err = errno;
	if (emit_head(i, ret, err)) {
		int count = 0;
		for (long off = 0; off < ret; count++)
			off += (long)sizeof(struct inotify_event) + event_at(buf, off, ret).len;
		emit(" %d", count);
		for (long off = 0; off < ret;) {
			struct inotify_event ev = event_at(buf, off, ret);
			long name = off + (long)sizeof ev;
			emit(" %d %u %u h", ev.wd, ev.mask, ev.cookie);
			for (long k = 0; k < (long)ev.len && name + k < ret && buf[name + k]; k++)
				emit("%02x", buf[name + k]);
			off = name + ev.len;
		}
		emit("\n");
	}
	iobuf_put(buf, mapped);
}

static void op_fork(int i, struct op *o)
{
	emit("B %d\n", i);
	pid_t pid = fork();
	if (pid == 0) {
		run_ops(o->child, o->nchild);
		_exit(0);
	}
	int err = errno;
	if (pid < 0) {
		emit("E\n");
		emit_head(i, -1, err);
		return;
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			child_fail("waitpid: %s", strerror(errno));
	emit("E\n");
	emit("R %d 0 - ", i);
	if (WIFSIGNALED(st))
		emit("%s\n", signame(WTERMSIG(st)));
	else
		emit("%d\n", WEXITSTATUS(st));
}

void bind(const struct op *o, uint64_t v)
{
	if (o->as >= 0)
		slots[o->as] = v;
}

static void run_op(int i, struct op *o)
{
	const struct arg *a = o->a;
	long ret;
	int err;
	errno = 0;
	switch (o->code) {
	case OP_MMAP: {
		uint64_t len = val(&a[0]), flags = val(&a[2]);
		uint64_t addr;
		int fixed = (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) != 0;
		if (a[5].kind != '-')
			addr = val(&a[5]);
		else if (fixed)
			addr = 0;
		else {
			addr = next_hint;
			next_hint = ((next_hint + len + MAP_GAP - 1) & ~(MAP_GAP - 1)) + MAP_GAP;
		}
		ret = syscall(SYS_mmap, addr, len, val(&a[1]), flags, ival(&a[3]), val(&a[4]));
		err = errno;
		bind(o, (uint64_t)ret);
		if (emit_head(i, ret == -1 ? -1 : 0, err))
			emit("\n");
		return;
	}
	case OP_MUNMAP: ret = syscall(SYS_munmap, val(&a[0]), val(&a[1])); break;
	case OP_MPROTECT: ret = syscall(SYS_mprotect, val(&a[0]), val(&a[1]), val(&a[2])); break;
	case OP_MADVISE: ret = syscall(SYS_madvise, val(&a[0]), val(&a[1]), val(&a[2])); break;
	case OP_MLOCK: ret = syscall(SYS_mlock, val(&a[0]), val(&a[1])); break;
	case OP_MUNLOCK: ret = syscall(SYS_munlock, val(&a[0]), val(&a[1])); break;
	case OP_FILL:
	case OP_LOAD: {
		int sig = sigsetjmp(fault_jmp, 1);
		if (sig) {
			emit("S %d %s\n", i, signame(sig));
			return;
		}
		fault_armed = 1;
		if (o->code == OP_FILL) {
			fill_pages(val(&a[0]), val(&a[1]), (int)val(&a[2]));
			fault_armed = 0;
			emit("R %d 0 -\n", i);
		} else {
			int v = load_byte(val(&a[0]));
			fault_armed = 0;
			emit("R %d 0 - %d\n", i, v);
		}
		return;
	}
	case OP_MINCORE:
		op_mincore(i, val(&a[0]), val(&a[1]));
		return;
	case OP_OPEN: ret = syscall(SYS_open, a[0].str, val(&a[1]), val(&a[2])); break;
	case OP_CLOSE: ret = syscall(SYS_close, ival(&a[0])); break;
	case OP_DUP: ret = syscall(SYS_dup, ival(&a[0])); break;
	case OP_DUP2: ret = syscall(SYS_dup2, ival(&a[0]), ival(&a[1])); break;
	case OP_DUP3: ret = syscall(SYS_dup3, ival(&a[0]), ival(&a[1]), val(&a[2])); break;
	case OP_FCNTL: ret = syscall(SYS_fcntl, ival(&a[0]), ival(&a[1]), val(&a[2])); break;
	case OP_WRITE: {
		uint64_t len = val(&a[1]), mapped;
		unsigned char *buf = iobuf_get(len, &mapped);
		/* A length past MAX_RW_COUNT only reaches the kernel's own checks; skip the fill. */
		if (len <= MAX_RW)
			memset(buf, (int)val(&a[2]), len);
		ret = syscall(SYS_write, ival(&a[0]), buf, len);
		err = errno;
		iobuf_put(buf, mapped);
		if (emit_head(i, ret, err))
			emit("\n");
		return;
	}
	case OP_READ: {
		uint64_t len = val(&a[1]), mapped;
		unsigned char *buf = iobuf_get(len, &mapped);
		ret = syscall(SYS_read, ival(&a[0]), buf, len);
		err = errno;
		if (emit_head(i, ret, err)) {
			uint64_t sum = 0;
			for (long k = 0; k < ret; k++)
				sum += buf[k];
			emit(" %lu\n", (unsigned long)sum);
		}
		iobuf_put(buf, mapped);
		return;
	}
	case OP_LSEEK: ret = syscall(SYS_lseek, ival(&a[0]), val(&a[1]), val(&a[2])); break;
	case OP_FTRUNCATE: ret = syscall(SYS_ftruncate, ival(&a[0]), val(&a[1])); break;
	case OP_UNLINK: ret = syscall(SYS_unlink, a[0].str); break;
	case OP_MKDIR: ret = syscall(SYS_mkdir, a[0].str, val(&a[1])); break;
	case OP_RMDIR: ret = syscall(SYS_rmdir, a[0].str); break;
	case OP_RENAME: ret = syscall(SYS_rename, a[0].str, a[1].str); break;
	case OP_CHMOD: ret = syscall(SYS_chmod, a[0].str, val(&a[1])); break;
	case OP_SETRLIMIT: {
		struct rlimit rl = { .rlim_cur = val(&a[1]), .rlim_max = val(&a[2]) };
		ret = syscall(SYS_setrlimit, ival(&a[0]), &rl);
		break;
	}
	case OP_GETRLIMIT: {
		struct rlimit rl;
		ret = syscall(SYS_getrlimit, ival(&a[0]), &rl);
		err = errno;
		if (emit_head(i, ret, err))
			emit(" %lu %lu\n", (unsigned long)rl.rlim_cur, (unsigned long)rl.rlim_max);
		return;
	}
	case OP_INOTIFY_INIT1: ret = syscall(SYS_inotify_init1, val(&a[0])); break;
	case OP_INOTIFY_ADD_WATCH: ret = syscall(SYS_inotify_add_watch, ival(&a[0]), a[1].str, (uint32_t)val(&a[2])); break;
	case OP_INOTIFY_RM_WATCH: ret = syscall(SYS_inotify_rm_watch, ival(&a[0]), ival(&a[1])); break;
	case OP_INOTIFY_READ:
		op_inotify_read(i, ival(&a[0]), val(&a[1]));
		return;
	case OP_FIONREAD: {
		int v = 0;
		ret = syscall(SYS_ioctl, ival(&a[0]), FIONREAD, &v);
		err = errno;
		if (emit_head(i, ret, err))
			emit(" %d\n", v);
		return;
	}
	case OP_FORK:
		op_fork(i, o);
		return;
	case OP_MEMBARRIER: ret = syscall(SYS_membarrier, ival(&a[0]), (unsigned)val(&a[1]), 0); break;
	default:
		if (run_control_op(i, o))
			return;
		if (o->code >= OP_COUNT) {
			run_call(i, o);
			return;
		}
		child_fail("op %d: unknown code %d", i, o->code);
		return;
	}
	err = errno;
	bind(o, (uint64_t)ret);
	if (emit_head(i, ret, err))
		emit("\n");
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void run_ops(struct op *ops, int n)
{
	for (int i = 0; i < n; i++) {
		if (!timing || untimed) {
			run_op(i, &ops[i]);
			continue;
		}
		uint64_t t0 = now_ns();
		run_op(i, &ops[i]);
		uint64_t t1 = now_ns();
		emit("T %lu\n", (unsigned long)(t1 - t0));
	}
}

void install_fault_handlers(void)
{
	stack_t ss = { .ss_sp = map_buffer(ALTSTACK_BYTES), .ss_size = ALTSTACK_BYTES, .ss_flags = 0 };
	if (sigaltstack(&ss, NULL) < 0)
		child_fail("sigaltstack: %s", strerror(errno));
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
}
