/*
 * How the host runner prints the values that name one kernel's objects, as
 * the simulator's script layer does (src/workloads/script/calls/fs.ts:
 * readlinkOutcome/ownPidName, maskFdinfoLine, lockPidName): readlink bodies
 * under the working directory or in the caller's own /proc directory, and
 * /proc/self/fdinfo's lines.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <unistd.h>

#include "host-runner.h"

/* The longest readlink body the runner reads (host-runner-calls.c's buffer). */
#define BODY_MAX (1UL << 20)

/*
 * A readlink body as the script prints it: one naming the script's working directory or a path under it (a
 * /proc/PID/fd link) as if that directory were the root (the simulated process works in its root directory). Read
 * through a path whose last name is `self`, a body that is the caller's own pid (/proc/self) prints as `self`;
 * through `thread-self`, its pid and tid (PID/task/TID) as `thread-self`; through any path, a path in the caller's
 * own /proc/PID with /proc/TGID as /proc/self, then /proc/self/task/TID as /proc/thread-self: pids differ between
 * kernels. Returns the bytes to print, their count in *np.
 */
const char *readlink_body(int i, const char *path, const char *b, size_t *np)
{
	static char cwd[4096];
	if (!cwd[0] && !getcwd(cwd, sizeof cwd))
		child_fail("op %d: getcwd: %s", i, strerror(errno));
	size_t n = *np, cl = strlen(cwd);
	if (cl > 1 && n >= cl && memcmp(b, cwd, cl) == 0 && (n == cl || b[cl] == '/')) {
		*np = n == cl ? 1 : n - cl;
		return n == cl ? "/" : b + cl;
	}
	const char *slash = strrchr(path, '/'), *last = slash ? slash + 1 : path;
	char self[32], thread[64];
	snprintf(self, sizeof self, "%d", (int)getpid());
	snprintf(thread, sizeof thread, "%d/task/%d", (int)getpid(), (int)syscall(SYS_gettid));
	if (strcmp(last, "self") == 0 && n == strlen(self) && memcmp(b, self, n) == 0) {
		*np = 4;
		return "self";
	}
	if (strcmp(last, "thread-self") == 0 && n == strlen(thread) && memcmp(b, thread, n) == 0) {
		*np = 11;
		return "thread-self";
	}
	static char own[BODY_MAX + 32];
	char pre[48], task[48];
	size_t pl = (size_t)snprintf(pre, sizeof pre, "/proc/%d", (int)getpid());
	size_t tl = (size_t)snprintf(task, sizeof task, "/task/%d", (int)syscall(SYS_gettid));
	if (n < pl || memcmp(b, pre, pl) != 0 || (n != pl && b[pl] != '/'))
		return b;
	const char *rest = b + pl;
	size_t rl = n - pl;
	if (rl >= tl && memcmp(rest, task, tl) == 0 && (rl == tl || rest[tl] == '/')) {
		memcpy(own, "/proc/thread-self", 17);
		memcpy(own + 17, rest + tl, rl - tl);
		*np = 17 + rl - tl;
	} else {
		memcpy(own, "/proc/self", 10);
		memcpy(own + 10, rest, rl);
		*np = 10 + rl;
	}
	return own;
}

/* A lock's l_pid by whose it is: the script's first process has the runner as parent, which holds no lock. */
const char *lock_pid_name(pid_t pid, char *num, size_t n)
{
	if (pid <= 0) {
		snprintf(num, n, "n%d", (int)pid);
		return num;
	}
	if (pid == getpid())
		return "sself";
	if (pid == getppid())
		return "sparent";
	return "sother";
}

/*
 * A lock line of show_fd_locks ("lock:\t1: POSIX  ADVISORY  WRITE PID MAJ:MIN:INO START END"): the pid as a record
 * lock's l_pid prints (self, parent, other, or the number when 0 or below) and MAJ:MIN:INO as `*`. Returns the
 * bytes written to out, or 0 when the line is not of that form.
 */
static size_t mask_lock_line(const char *line, size_t len, char *out)
{
	if (len < 6 || memcmp(line, "lock:\t", 6) != 0)
		return 0;
	/* The last four space-separated tokens are PID, MAJ:MIN:INO, START, END. */
	size_t end = len, tok[4];
	for (int k = 3; k >= 0; k--) {
		size_t b = end;
		while (b > 6 && line[b - 1] != ' ')
			b--;
		if (b <= 6)
			return 0;
		tok[k] = b;
		end = b - 1;
	}
	const char *dev = line + tok[1];
	int colons = 0;
	for (const char *c = dev; c < line + tok[2] - 1; c++)
		colons += *c == ':';
	if (colons != 2)
		return 0;
	char pid[32], num[32];
	size_t pl = tok[1] - 1 - tok[0];
	if (pl == 0 || pl >= sizeof pid)
		return 0;
	memcpy(pid, line + tok[0], pl);
	pid[pl] = 0;
	const char *name = lock_pid_name((pid_t)atoi(pid), num, sizeof num) + 1;
	size_t w = tok[0];
	memcpy(out, line, w);
	w += (size_t)sprintf(out + w, "%s * ", name);
	memcpy(out + w, line + tok[2], len - tok[2]);
	return w + len - tok[2];
}

/*
 * One line of /proc/self/fdinfo/FD with the values that name this host's objects (mnt_id, ino, eventfd-id; an
 * inotify line's ino, sdev and f_handle; a lock line's device and inode) printed as `*` and a lock line's pid by
 * whose it is. Writes to out (at least len + 32 bytes) and returns the bytes written.
 */
size_t mask_fdinfo_line(const char *line, size_t len, char *out)
{
	size_t w = 0;
	static const char *const whole[] = { "mnt_id:", "ino:", "eventfd-id:" };
	int done = 0;
	for (int k = 0; k < 3 && !done; k++) {
		size_t kl = strlen(whole[k]);
		if (len >= kl && !memcmp(line, whole[k], kl)) {
			size_t e = kl;
			while (e < len && (line[e] == ' ' || line[e] == '\t'))
				e++;
			memcpy(out, line, e);
			out[e] = '*';
			w = e + 1;
			done = 1;
		}
	}
	if (!done && (w = mask_lock_line(line, len, out)) > 0)
		done = 1;
	if (!done && len >= 8 && !memcmp(line, "inotify ", 8)) {
		for (size_t p = 0; p < len;) {
			size_t e = p;
			while (e < len && line[e] != ' ')
				e++;
			const char *colon = memchr(line + p, ':', e - p);
			size_t kl = colon ? (size_t)(colon - (line + p)) + 1 : 0;
			int mask = colon && ((kl == 4 && !memcmp(line + p, "ino:", 4)) || (kl == 5 && !memcmp(line + p, "sdev:", 5)) ||
					     (kl == 9 && !memcmp(line + p, "f_handle:", 9)));
			if (mask) {
				memcpy(out + w, line + p, kl);
				w += kl;
				out[w++] = '*';
			} else {
				memcpy(out + w, line + p, e - p);
				w += e - p;
			}
			if (e < len)
				out[w++] = ' ';
			p = e + 1;
		}
		done = 1;
	}
	if (!done) {
		memcpy(out, line, len);
		w = len;
	}
	return w;
}

/* A pid field of /proc/PID/stat by whose it is (src/workloads/script/calls/procfile.ts: pidName). */
static const char *own_pid_name(long v)
{
	if (v == (long)getpid())
		return "self";
	if (v == (long)syscall(SYS_gettid))
		return "thread";
	if (v == (long)getppid())
		return "parent";
	return "other";
}

/* stat's fields (from 1) printed as read; 1, 4 and 5 are named by own_pid_name; the others are `*`. */
static int stat_keep(int f)
{
	static const int keep[] = { 2, 3, 20, 21, 29, 30, 31, 32, 33, 35, 36, 37, 38, 40, 41, 43, 44, 52 };
	for (size_t k = 0; k < sizeof keep / sizeof keep[0]; k++)
		if (keep[k] == f)
			return 1;
	return 0;
}

static size_t mask_stat_line(const char *line, size_t len, char *out)
{
	const char *open = memchr(line, '(', len), *close = NULL;
	for (const char *c = line + len; c > line; c--)
		if (c[-1] == ')') {
			close = c - 1;
			break;
		}
	if (!open || !close || open < line + 1 || close < open) {
		memcpy(out, line, len);
		return len;
	}
	size_t w = (size_t)sprintf(out, "%s ", own_pid_name(strtol(line, NULL, 10)));
	memcpy(out + w, open, (size_t)(close - open) + 1);
	w += (size_t)(close - open) + 1;
	int f = 3;
	for (const char *p = close + 2; p < line + len; f++) {
		const char *e = memchr(p, ' ', (size_t)(line + len - p));
		if (!e)
			e = line + len;
		out[w++] = ' ';
		if (f == 4 || f == 5)
			w += (size_t)sprintf(out + w, "%s", own_pid_name(strtol(p, NULL, 10)));
		else if (stat_keep(f)) {
			memcpy(out + w, p, (size_t)(e - p));
			w += (size_t)(e - p);
		} else
			out[w++] = '*';
		p = e + 1;
	}
	return w;
}

/* The working directory's files by the MAJ:MIN:INO /proc/locks prints (procfile.ts: workdirInodes), the smallest name of each. */
#define LOCK_NAMES 256
static struct lock_name {
	char key[64];
	char name[256];
} lock_names[LOCK_NAMES];
static int nlock_names;

static void read_lock_names(void)
{
	nlock_names = 0;
	DIR *d = opendir(".");
	if (!d)
		return;
	for (struct dirent *e; (e = readdir(d));) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		char key[64];
		snprintf(key, sizeof key, "%02x:%02x:%lu", major(st.st_dev), minor(st.st_dev), (unsigned long)st.st_ino);
		int k = 0;
		while (k < nlock_names && strcmp(lock_names[k].key, key))
			k++;
		if (k < nlock_names) {
			if (strcmp(e->d_name, lock_names[k].name) < 0)
				snprintf(lock_names[k].name, sizeof lock_names[k].name, "%s", e->d_name);
			continue;
		}
		if (nlock_names == LOCK_NAMES)
			break;
		snprintf(lock_names[k].key, sizeof lock_names[k].key, "%s", key);
		snprintf(lock_names[k].name, sizeof lock_names[k].name, "%s", e->d_name);
		nlock_names++;
	}
	closedir(d);
}

/*
 * One line of /proc/locks (procfile.ts: maskLocksLines): kept when it is a lock on a file of the working directory,
 * or a request listed under such a lock; its id renumbered by first appearance, its pid as a lock's l_pid prints,
 * MAJ:MIN:INO as the file's name (a breaker's `<none>:0` as read). Returns the bytes written, or -1 to drop it.
 */
static long mask_locks_line(int index, const char *line, size_t len, char *out)
{
	static long old_ids[4096];
	static int nids, kept;
	if (index == 0) {
		read_lock_names();
		nids = 0;
		kept = 0;
	}
	char *e;
	long id = strtol(line, &e, 10);
	if (e == line || e + 2 > line + len || e[0] != ':' || e[1] != ' ')
		return -1;
	const char *status = e + 2;
	const char *p = status;
	while (p < line + len && *p == ' ')
		p++;
	int arrow = p + 3 <= line + len && !memcmp(p, "-> ", 3);
	/* The last four space-separated tokens: PID, MAJ:MIN:INO, START, END. */
	size_t end = len, tok[4];
	for (int k = 3; k >= 0; k--) {
		size_t b = end;
		while (b > 0 && line[b - 1] != ' ')
			b--;
		if (b == 0)
			return -1;
		tok[k] = b;
		end = b - 1;
	}
	char dev[64];
	size_t dl = tok[2] - 1 - tok[1];
	if (dl >= sizeof dev)
		return -1;
	memcpy(dev, line + tok[1], dl);
	dev[dl] = 0;
	const char *name = NULL;
	for (int k = 0; k < nlock_names && !name; k++)
		if (!strcmp(lock_names[k].key, dev))
			name = lock_names[k].name;
	if (!arrow)
		kept = name != NULL;
	if (!kept)
		return -1;
	int n = 0;
	while (n < nids && old_ids[n] != id)
		n++;
	if (n == nids && nids < (int)(sizeof old_ids / sizeof old_ids[0]))
		old_ids[nids++] = id;
	char pid[32], num[32];
	size_t pl = tok[1] - 1 - tok[0];
	if (pl == 0 || pl >= sizeof pid)
		return -1;
	memcpy(pid, line + tok[0], pl);
	pid[pl] = 0;
	size_t w = (size_t)sprintf(out, "%d: ", n + 1);
	memcpy(out + w, status, tok[0] - (size_t)(status - line));
	w += tok[0] - (size_t)(status - line);
	w += (size_t)sprintf(out + w, "%s %s ", lock_pid_name((pid_t)atoi(pid), num, sizeof num) + 1,
			     !strcmp(dev, "<none>:0") ? dev : name ? name : "*");
	memcpy(out + w, line + tok[2], len - tok[2]);
	return (long)(w + len - tok[2]);
}

/*
 * One line of a /proc file as the procfile op prints it, by the file's name (procfile.ts: maskProcLines): stat's
 * and statm's run-dependent fields, limits' values but Max open files', smaps_rollup's sizes and header addresses.
 * Writes to out (at least 2 * len + 64 bytes) and returns the bytes written, or -1 when the file prints no lines
 * (cmdline, environ).
 */
long mask_proc_line(const char *name, int index, const char *line, size_t len, char *out)
{
	if (!strcmp(name, "cmdline") || !strcmp(name, "environ"))
		return -1;
	if (!strcmp(name, "locks"))
		return mask_locks_line(index, line, len, out);
	if (!strcmp(name, "stat"))
		return (long)mask_stat_line(line, len, out);
	size_t w = 0;
	if (!strcmp(name, "statm")) {
		int f = 0;
		for (const char *p = line; p <= line + len; f++) {
			const char *e = memchr(p, ' ', (size_t)(line + len - p));
			if (!e)
				e = line + len;
			if (f)
				out[w++] = ' ';
			if (f == 4 || f == 6) {
				memcpy(out + w, p, (size_t)(e - p));
				w += (size_t)(e - p);
			} else
				out[w++] = '*';
			p = e + 1;
		}
		return (long)w;
	}
	if (!strcmp(name, "limits") && index > 0 && len >= 68 && strncmp(line, "Max open files", 14) != 0) {
		memcpy(out, line, 26);
		w = 26 + (size_t)sprintf(out + 26, "%-20s %-20s", "*", "*");
		memcpy(out + w, line + 67, len - 67);
		return (long)(w + len - 67);
	}
	if (!strcmp(name, "smaps_rollup")) {
		if (len >= 8 && !memcmp(line + len - 8, "[rollup]", 8)) {
			const char *sp = memchr(line, ' ', len);
			if (!sp)
				sp = line + len;
			w = (size_t)sprintf(out, "*-*");
			for (const char *c = sp; c < line + len; c++)
				if (*c != ' ' || out[w - 1] != ' ')
					out[w++] = *c;
			return (long)w;
		}
		for (size_t p = 0; p < len;) {
			size_t s = p;
			while (s < len && line[s] == ' ')
				s++;
			size_t d = s;
			while (d < len && line[d] >= '0' && line[d] <= '9')
				d++;
			if (d > s) {
				memset(out + w, ' ', d - p - 1);
				w += d - p - 1;
				out[w++] = '*';
				p = d;
			} else {
				size_t e = s < len ? s + 1 : s;
				memcpy(out + w, line + p, e - p);
				w += e - p;
				p = e;
			}
		}
		return (long)w;
	}
	memcpy(out, line, len);
	return (long)len;
}
