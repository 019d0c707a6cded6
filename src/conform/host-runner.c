/*
 * kernsim host runner: runs one syscall script (spec/syscall-script.md) on
 * the real Linux kernel, so the simulator can be compared with it.
 *
 * Usage: host-runner OPS_FILE WORKDIR TIMEOUT_SECONDS
 *
 * OPS_FILE is the script already parsed and encoded by src/conform/host.ts,
 * one op per line (no JSON here). Output on stdout is raw results, one
 * record per line, which host.ts turns into result lines with the shared
 * formatter:
 *
 *   R <i> <ret> <errno name or -> [extra...]   an op returned
 *   S <i> <signal name>                        a memory access faulted
 *   B <i>  ...child records...  E              a fork op's child, a join's
 *                                              thread, a repeat's last iteration
 *   T <ns>                                     the op just recorded took ns
 *                                              (with "timing 1", outside repeats)
 *   X <i>  ...the new image's records...       an execve op succeeded; the
 *                                              image's records run to the end
 *                                              of the enclosing list
 *
 * Process layout: this process reads the ops, maps a shared result area,
 * then forks the script process, which sets up the environment the spec
 * promises (fds 0-2 on one O_RDWR /dev/null and nothing else, RLIMIT_NOFILE
 * 1024/4096, umask 022, THP disabled, an empty working directory, no
 * privileges) and runs every op. Results travel through the shared mapping
 * (a file in /dev/shm, which an execve op's new image maps again), so the
 * script process owns no fd beyond 0-2. This process waits (with a
 * timeout) and prints the records.
 *
 * This file reads the encoded ops and sets up and supervises the script
 * process; host-runner-ops.c runs the ops inside it.
 *
 * Exit status: 0 when the script ran; 1 with one line on stderr otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host-runner.h"

#ifndef PR_SET_THP_DISABLE
#define PR_SET_THP_DISABLE 41
#endif

#define RESULT_BYTES (256UL << 20)

#define RUNNER_OP_NAME(name, code) #name,
const char *const op_names[OP_COUNT] = {
	RUNNER_SYSCALL_OPS(RUNNER_OP_NAME)
	RUNNER_CONTROL_OPS(RUNNER_OP_NAME)
};

struct shared *sh;
uint64_t data_cap;
__thread struct sink *out;
__thread uint64_t *slots;
int nslots;
int timing;
__thread int untimed;
static struct sink main_sink;

static volatile sig_atomic_t timed_out;

static void die(const char *fmt, ...)
{
	va_list ap;
	fputs("kernsim host runner: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* In the script process stderr is /dev/null: failures go back through the shared area. */
void child_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sh->msg, sizeof sh->msg, fmt, ap);
	va_end(ap);
	sh->failed = 1;
	_exit(1);
}

/* ---- reading the encoded ops ---- */

static char *next_token(char **p)
{
	char *s = *p;
	while (*s == ' ')
		s++;
	if (*s == '\0' || *s == '\n')
		return NULL;
	char *t = s;
	while (*s && *s != ' ' && *s != '\n')
		s++;
	if (*s == ' ')
		*s++ = '\0';
	*p = s;
	return t;
}

static char *next_line(char **p)
{
	char *s = *p;
	if (*s == '\0')
		return NULL;
	char *nl = strchr(s, '\n');
	if (nl) {
		*nl = '\0';
		*p = nl + 1;
	} else {
		*p = s + strlen(s);
	}
	return s;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static void parse_arg(struct arg *a, const char *t, int line)
{
	char *end;
	a->kind = t[0];
	switch (t[0]) {
	case 'v':
		a->v = strtoull(t + 1, &end, 10);
		if (*end)
			die("ops line %d: bad value %s", line, t);
		break;
	case 's':
		a->slot = (int)strtol(t + 1, &end, 10);
		if (*end != '+' || a->slot < 0 || a->slot >= nslots)
			die("ops line %d: bad slot %s", line, t);
		a->v = strtoull(end + 1, &end, 10);
		if (*end)
			die("ops line %d: bad slot offset %s", line, t);
		break;
	case 'h': {
		size_t n = strlen(t + 1);
		if (n % 2)
			die("ops line %d: bad string %s", line, t);
		a->str = malloc(n / 2 + 1);
		if (!a->str)
			die("out of memory");
		for (size_t k = 0; k < n / 2; k++) {
			int hi = hexval(t[1 + 2 * k]), lo = hexval(t[2 + 2 * k]);
			if (hi < 0 || lo < 0)
				die("ops line %d: bad string %s", line, t);
			a->str[k] = (char)(hi * 16 + lo);
		}
		a->str[n / 2] = '\0';
		break;
	}
	case 'n':
		a->v = strtoull(t + 1, &end, 10);
		if (*end || a->v > 0x7fffffff)
			die("ops line %d: bad count %s", line, t);
		break;
	case '-':
		break;
	default:
		die("ops line %d: bad argument %s", line, t);
	}
}

static int line_no;

static void parse_ops(char **p, struct op *ops, int n)
{
	for (int k = 0; k < n; k++) {
		struct op *o = &ops[k];
		char *line = next_line(p);
		line_no++;
		if (!line)
			die("ops file ends early (line %d)", line_no);
		char *t = next_token(&line);
		o->code = -1;
		for (int c = 0; t && c < OP_COUNT; c++)
			if (strcmp(t, op_names[c]) == 0)
				o->code = c;
		for (int c = 0; t && o->code < 0 && c < ncall_names; c++)
			if (strcmp(t, call_name(c)) == 0)
				o->code = OP_COUNT + c;
		if (o->code < 0)
			die("ops line %d: unknown op %s", line_no, t ? t : "");
		t = next_token(&line);
		if (!t)
			die("ops line %d: missing slot", line_no);
		o->as = atoi(t);
		if (o->as >= nslots)
			die("ops line %d: bad slot %d", line_no, o->as);
		while ((t = next_token(&line))) {
			if (o->nargs == MAX_ARGS)
				die("ops line %d: too many arguments", line_no);
			parse_arg(&o->a[o->nargs++], t, line_no);
		}
		/* A nested op list follows its op's line; its length is the op's last argument. */
		if (o->nargs > 0 && o->a[o->nargs - 1].kind == 'n') {
			o->nchild = (int)o->a[--o->nargs].v;
			o->child = calloc((size_t)o->nchild + 1, sizeof *o->child);
			if (!o->child)
				die("out of memory");
			parse_ops(p, o->child, o->nchild);
		}
	}
}

static char *read_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("cannot open %s: %s", path, strerror(errno));
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap + 1);
	for (;;) {
		if (!buf)
			die("out of memory");
		ssize_t r = read(fd, buf + len, cap - len);
		if (r < 0)
			die("cannot read %s: %s", path, strerror(errno));
		if (r == 0)
			break;
		len += (size_t)r;
		if (len == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
		}
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

struct op *top_ops;
int top_nops;

void parse_script_text(char *text, const char *what)
{
	char *p = text;
	char *line = next_line(&p);
	if (!line || strcmp(line, "kernsim-host-ops 1") != 0)
		die("%s: not an encoded script", what);
	line = next_line(&p);
	if (!line || sscanf(line, "slots %d", &nslots) != 1 || nslots < 0)
		die("%s: missing slot count", what);
	line = next_line(&p);
	if (!line || sscanf(line, "timing %d", &timing) != 1)
		die("%s: missing timing switch", what);
	line = next_line(&p);
	if (!line || sscanf(line, "ops %d", &top_nops) != 1 || top_nops < 0)
		die("%s: missing op count", what);
	line_no = 4;
	top_ops = calloc((size_t)top_nops + 1, sizeof *top_ops);
	slots = calloc((size_t)nslots + 1, sizeof *slots);
	if (!top_ops || !slots)
		die("out of memory");
	parse_ops(&p, top_ops, top_nops);
}

void use_main_sink(int discard)
{
	data_cap = sh->ops_off - sizeof *sh;
	main_sink = (struct sink){ .data = sh->data, .used = &sh->used, .cap = data_cap, .discard = discard };
	out = &main_sink;
}

static char result_path[256];

static void remove_result_file(void)
{
	if (result_path[0])
		unlink(result_path);
}

/* Ended from outside (a caller's timeout): the result file goes too. */
static void on_term(int sig)
{
	if (result_path[0])
		unlink(result_path);
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * The result area: a sparse file of RESULT_BYTES and the encoded ops after
 * it, in /dev/shm (memory, as an anonymous mapping is) or else the temporary
 * directory, owned by the script's uid so that an execve op's new image can
 * open it again. It is removed when this process exits.
 */
static void make_result_area(const char *text, size_t len, int drop, uid_t uid, gid_t gid)
{
	const char *dir = access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm" : P_tmpdir;
	snprintf(result_path, sizeof result_path, "%s/kernsim-results-XXXXXX", dir);
	int fd = mkostemp(result_path, O_CLOEXEC);
	if (fd < 0) {
		result_path[0] = '\0';
		die("cannot make the result file in %s: %s", dir, strerror(errno));
	}
	atexit(remove_result_file);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	signal(SIGHUP, on_term);
	uint64_t size = RESULT_BYTES + ((len + 1 + 4095) & ~4095UL);
	if (ftruncate(fd, (off_t)size) < 0)
		die("cannot size %s: %s", result_path, strerror(errno));
	if (drop && fchown(fd, uid, gid) < 0)
		die("cannot hand %s to uid %d: %s", result_path, (int)uid, strerror(errno));
	sh = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	if (sh == MAP_FAILED)
		die("cannot map the result area: %s", strerror(errno));
	close(fd);
	snprintf(sh->path, sizeof sh->path, "%s", result_path);
	sh->ops_off = RESULT_BYTES;
	sh->ops_len = len;
	memcpy((char *)sh + RESULT_BYTES, text, len);
	use_main_sink(0);
}

/* ---- the script process's environment ---- */

static void setup_script_process(const char *workdir, int drop, uid_t uid, gid_t gid)
{
	setpgid(0, 0);
	if (chdir(workdir) < 0)
		child_fail("cannot enter %s: %s", workdir, strerror(errno));
	if (syscall(SYS_close_range, 0U, ~0U, 0U) < 0)
		child_fail("close_range: %s", strerror(errno));
	int fd = open("/dev/null", O_RDWR);
	if (fd != 0 || dup2(0, 1) != 1 || dup2(0, 2) != 2)
		child_fail("cannot put /dev/null on fds 0, 1, 2");
	struct rlimit rl = { .rlim_cur = 1024, .rlim_max = 4096 };
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		child_fail("cannot set RLIMIT_NOFILE 1024/4096: %s", strerror(errno));
	umask(022);
	if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) < 0)
		child_fail("prctl(PR_SET_THP_DISABLE): %s", strerror(errno));
	/* The simulator's script process is named "script" (/proc/PID/comm, stat); an execve op's image is "exe". */
	if (prctl(PR_SET_NAME, "script", 0, 0, 0) < 0)
		child_fail("prctl(PR_SET_NAME): %s", strerror(errno));
	if (drop) {
		/* Leaving uid 0 clears every capability, so the script sees an ordinary user's kernel. */
		if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
			child_fail("cannot drop privileges to uid %d: %s", (int)uid, strerror(errno));
		if (setuid(0) == 0)
			child_fail("privileges were not dropped");
		/* A uid change clears the dumpable flag; a program an ordinary user starts has it (its /proc/self files are its own: pagemap). */
		if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
			child_fail("prctl(PR_SET_DUMPABLE): %s", strerror(errno));
	}
	install_fault_handlers();
	signal(SIGALRM, SIG_DFL);
	/* The supervisor's handlers that remove the result file are not the script's. */
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
}

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
}

int main(int argc, char **argv)
{
	/* Every allocation from mmap, none from the heap: the script process starts with its break at start_brk, as a new program does (brk ops). */
	mallopt(M_MMAP_THRESHOLD, 0);
	if (argc > 1 && strcmp(argv[1], EXEC_IMAGE_ARG) == 0)
		exec_image_main(argc, argv);
	if (argc != 4)
		die("usage: host-runner OPS_FILE WORKDIR TIMEOUT_SECONDS");
	const char *workdir = argv[2];
	int timeout = atoi(argv[3]);

	char *text = read_file(argv[1]);
	size_t text_len = strlen(text);
	char *copy = strdup(text);
	if (!copy)
		die("out of memory");
	parse_script_text(copy, argv[1]);

	int drop = geteuid() == 0;
	uid_t uid = 65534;
	gid_t gid = 65534;
	if (drop) {
		struct passwd *pw = getpwnam("nobody");
		if (pw) {
			uid = pw->pw_uid;
			gid = pw->pw_gid;
		}
		if (chown(workdir, uid, gid) < 0)
			die("cannot hand %s to uid %d: %s", workdir, (int)uid, strerror(errno));
	}
	make_result_area(text, text_len, drop, uid, gid);
	free(text);

	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		setup_script_process(workdir, drop, uid, gid);
		run_ops(top_ops, top_nops);
		_exit(0);
	}
	setpgid(pid, pid);

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	alarm((unsigned)timeout);
	int st;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
		if (timed_out) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			die("script did not finish within %d s and was killed (a call blocked? use nonblock)", timeout);
		}
	}
	alarm(0);
	if (sh->failed)
		die("%s", sh->msg);
	if (WIFSIGNALED(st))
		die("script process was ended by %s", signame(WTERMSIG(st)));
	if (WEXITSTATUS(st) != 0)
		die("script process exited with status %d", WEXITSTATUS(st));
	if (fwrite(sh->data, 1, sh->used, stdout) != sh->used || fflush(stdout) != 0)
		die("cannot write results: %s", strerror(errno));
	return 0;
}
