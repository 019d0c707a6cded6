/*
 * The execve op of the host runner (docs/script-calls.md, "Processes").
 *
 * With a path: execve(path, {path}, {}) of a file that is not a program,
 * and its error.
 *
 * With an op list: the runner executes itself again (/proc/self/exe: a
 * magic link, so no directory on the way to the build needs to be
 * searchable by the script's uid) with arguments naming where to go on:
 * the result file, the op's place in the script (indices from the top
 * level down), the names table, the timing state and whether records are
 * discarded (a fork child inside a repeat's earlier iterations), and the
 * script's soft RLIMIT_NOFILE, which is raised to the hard limit across the
 * exec (the dynamic loader opens libraries) and restored before any op. The
 * new image opens the result file (the lowest free fd, closed at once: no
 * op ever sees it), maps it, parses the script kept there, writes "X <i>"
 * and runs the op list, then exits as a fork child does.
 *
 * What carries over is what the kernel keeps: the pid, the fds not marked
 * close-on-exec, resource limits, umask, the working directory, the
 * credentials and PR_SET_THP_DISABLE. What the runner set in its own
 * memory the image sets again: malloc from mmap, the fault handlers on
 * their alternate stack, and the dumpable flag (the kernel sets it itself
 * for an ordinary user running a program it can read).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "host-runner.h"

/* Op lists nest at most 64 deep (the parser's MAX_NESTING), plus the op itself. */
#define MAX_PLACE 66

/* The indices leading from the top level to `target`; returns their count, or -1. */
static int find_op(struct op *list, int n, const struct op *target, int *place, int depth)
{
	if (depth >= MAX_PLACE)
		return -1;
	for (int k = 0; k < n; k++) {
		place[depth] = k;
		if (&list[k] == target)
			return depth + 1;
		if (list[k].nchild) {
			int d = find_op(list[k].child, list[k].nchild, target, place, depth + 1);
			if (d > 0)
				return d;
		}
	}
	return -1;
}

void op_execve(int i, struct op *o)
{
	char *envp[] = { NULL };
	if (o->a[0].kind != '-') {
		char *argv[] = { o->a[0].str, NULL };
		syscall(SYS_execve, o->a[0].str, argv, envp);
		emit("R %d -1 %s\n", i, errname(errno));
		return;
	}
	int place[MAX_PLACE];
	int d = find_op(top_ops, top_nops, o, place, 0);
	if (d < 0)
		child_fail("execve op %d: not found in the script", i);
	char where[MAX_PLACE * 12];
	size_t w = 0;
	for (int k = 0; k < d; k++)
		w += (size_t)snprintf(where + w, sizeof where - w, k ? ".%d" : "%d", place[k]);
	char *names = malloc((size_t)nslots * 17 + 1);
	if (!names)
		child_fail("out of memory");
	size_t m = 0;
	names[0] = '\0';
	for (int k = 0; k < nslots; k++)
		m += (size_t)sprintf(names + m, k ? ",%lx" : "%lx", (unsigned long)slots[k]);
	char untimed_s[16], discard_s[4], soft_s[24];
	snprintf(untimed_s, sizeof untimed_s, "%d", untimed);
	snprintf(discard_s, sizeof discard_s, "%d", out->discard ? 1 : 0);
	/*
	 * The new image's dynamic loader opens its libraries and this program
	 * then the result file, each for a moment: with the script's fd table
	 * full at its soft RLIMIT_NOFILE they would fail, so the soft limit is
	 * raised to the hard one across the exec and restored before any op.
	 */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		child_fail("getrlimit: %s", strerror(errno));
	snprintf(soft_s, sizeof soft_s, "%lu", (unsigned long)rl.rlim_cur);
	struct rlimit raised = { .rlim_cur = rl.rlim_max, .rlim_max = rl.rlim_max };
	if (rl.rlim_cur < rl.rlim_max && setrlimit(RLIMIT_NOFILE, &raised) < 0)
		child_fail("setrlimit: %s", strerror(errno));
	int probe = open("/", O_PATH | O_CLOEXEC);
	if (probe < 0 && errno == EMFILE)
		child_fail("execve: the script's fd table is full at its hard RLIMIT_NOFILE (%lu): the runner's new image could not load", (unsigned long)rl.rlim_max);
	if (probe >= 0)
		close(probe);
	char *argv[] = { "kernsim-host-runner", EXEC_IMAGE_ARG, sh->path, where, names, untimed_s, discard_s, soft_s, NULL };
	syscall(SYS_execve, "/proc/self/exe", argv, envp);
	child_fail("cannot execute the runner again: %s", strerror(errno));
}

void exec_image_main(int argc, char **argv)
{
	/* Without the result area nothing can be reported: the exit status tells the waiting process. */
	if (argc != 8)
		_exit(125);
	int fd = open(argv[2], O_RDWR | O_CLOEXEC);
	if (fd < 0)
		_exit(126);
	struct stat st;
	if (fstat(fd, &st) < 0)
		_exit(126);
	sh = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	close(fd);
	if (sh == MAP_FAILED)
		_exit(126);

	char *text = malloc(sh->ops_len + 1);
	if (!text)
		child_fail("out of memory");
	memcpy(text, (char *)sh + sh->ops_off, sh->ops_len);
	text[sh->ops_len] = '\0';
	parse_script_text(text, "the script");

	struct op *list = top_ops, *o = NULL;
	int n = top_nops, i = -1;
	for (char *s = argv[3]; *s;) {
		char *end;
		long k = strtol(s, &end, 10);
		if (end == s || k < 0 || k >= n)
			child_fail("execve: bad place %s in the script", argv[3]);
		o = &list[k];
		i = (int)k;
		list = o->child;
		n = o->nchild;
		s = *end == '.' ? end + 1 : end;
	}
	if (!o || o->code != OP_EXECVE)
		child_fail("execve: %s is not an execve op", argv[3]);
	char *s = argv[4];
	for (int k = 0; k < nslots && *s; k++) {
		char *end;
		slots[k] = strtoull(s, &end, 16);
		s = *end == ',' ? end + 1 : end;
	}
	untimed = atoi(argv[5]);
	use_main_sink(atoi(argv[6]));
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		child_fail("getrlimit: %s", strerror(errno));
	rl.rlim_cur = strtoull(argv[7], NULL, 10);
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		child_fail("cannot restore RLIMIT_NOFILE: %s", strerror(errno));
	install_fault_handlers();
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		child_fail("prctl(PR_SET_DUMPABLE): %s", strerror(errno));
	emit("X %d\n", i);
	run_ops(o->child, o->nchild);
	_exit(0);
}
