/*
 * Shared between the two halves of the host runner: host-runner.c reads the
 * encoded script and supervises the script process; host-runner-ops.c runs
 * the ops inside it and writes the result records.
 */
#ifndef KERNSIM_HOST_RUNNER_H
#define KERNSIM_HOST_RUNNER_H

#include <stddef.h>
#include <stdint.h>

/*
 * Every op the runner knows, one per line: X(name as scripts spell it, CODE).
 * The enum and the name table both come from these lists, so adding an op is
 * one line in one list plus its case in a run function.
 */
/* System calls and memory accesses (format v1): run by run_op in host-runner-ops.c. */
#define RUNNER_SYSCALL_OPS(X) \
	X(mmap, MMAP) \
	X(munmap, MUNMAP) \
	X(mprotect, MPROTECT) \
	X(madvise, MADVISE) \
	X(mlock, MLOCK) \
	X(munlock, MUNLOCK) \
	X(fill, FILL) \
	X(load, LOAD) \
	X(mincore, MINCORE) \
	X(open, OPEN) \
	X(close, CLOSE) \
	X(dup, DUP) \
	X(dup2, DUP2) \
	X(dup3, DUP3) \
	X(fcntl, FCNTL) \
	X(write, WRITE) \
	X(read, READ) \
	X(lseek, LSEEK) \
	X(ftruncate, FTRUNCATE) \
	X(unlink, UNLINK) \
	X(mkdir, MKDIR) \
	X(rmdir, RMDIR) \
	X(rename, RENAME) \
	X(chmod, CHMOD) \
	X(setrlimit, SETRLIMIT) \
	X(getrlimit, GETRLIMIT) \
	X(inotify_init1, INOTIFY_INIT1) \
	X(inotify_add_watch, INOTIFY_ADD_WATCH) \
	X(inotify_rm_watch, INOTIFY_RM_WATCH) \
	X(inotify_read, INOTIFY_READ) \
	X(fionread, FIONREAD) \
	X(fork, FORK) \
	X(membarrier, MEMBARRIER)

/* Experiment ops (docs/scripts.md, Part 2): run by run_control_op in host-runner-control.c. */
#define RUNNER_CONTROL_OPS(X) \
	X(repeat, REPEAT) \
	X(thread, THREAD) \
	X(join, JOIN) \
	X(spin, SPIN) \
	X(pin, PIN) \
	X(execve, EXECVE)

#define RUNNER_OP_ENUM(name, code) OP_##code,
enum opcode {
	RUNNER_SYSCALL_OPS(RUNNER_OP_ENUM)
	RUNNER_CONTROL_OPS(RUNNER_OP_ENUM)
	OP_COUNT
};

#define MAX_ARGS 8

struct arg {
	char kind;    /* 'v' value, 's' slot plus offset, 'h' string, 'n' count of nested ops (last), '-' absent */
	int slot;
	uint64_t v;   /* the value, or the offset added to the slot */
	char *str;
};

struct op {
	int code;
	int as;       /* slot bound to the result, -1 for none */
	int nargs;
	struct arg a[MAX_ARGS];
	int nchild;   /* a nested op list (fork, repeat, thread) */
	struct op *child;
};

/* Where an op's records go: the shared result area (main thread), a thread's own buffer, or nowhere (a repeat's earlier iterations). */
struct sink {
	char *data;
	volatile uint64_t *used;
	uint64_t cap;
	int discard;
};

/*
 * The result area: a file (in /dev/shm), mapped shared by every process of
 * the run, so that an execve op's new image can map it again by its path.
 * The encoded ops follow the data, at ops_off.
 */
struct shared {
	volatile uint64_t used;
	volatile int failed;
	char msg[1024];
	char path[256];
	uint64_t ops_off;
	uint64_t ops_len;
	char data[];
};

/* The result area, shared with the supervising process. */
extern struct shared *sh;
extern uint64_t data_cap;
/* The calling thread's sink. */
extern __thread struct sink *out;
/* What each name bound with "as" holds; a fork child and each thread work on their own copy. */
extern __thread uint64_t *slots;
extern int nslots;
/* Every line has time_ns ("timing 1" in the ops file); inside a repeat (untimed > 0) no op is timed. */
extern int timing;
extern __thread int untimed;
extern const char *const op_names[OP_COUNT];

/* Reports a failure of the runner itself (not of an op) and ends the process. */
void child_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
const char *signame(int sig);
/* SIGSEGV and SIGBUS handlers on an alternate stack, for fill and load. */
void install_fault_handlers(void);
void run_ops(struct op *ops, int n);
void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void emit_bytes(const char *p, uint64_t n);
const char *errname(int e);
uint64_t val(const struct arg *a);
void bind(const struct op *o, uint64_t v);
/* The experiment ops; returns 0 for an op that is not one of them. */
int run_control_op(int i, struct op *o);

/* The parsed script (top level), for an execve op to name its place in it. */
extern struct op *top_ops;
extern int top_nops;
/* Parses the encoded script text (modified in place) into top_ops/top_nops, slots, nslots and timing. */
void parse_script_text(char *text, const char *what);
/* execve (host-runner-exec.c): the call of a path, or the runner's re-execution of itself into an op list. */
void op_execve(int i, struct op *o);
/* The new image's start (argv[1] is EXEC_IMAGE_ARG): maps the result area again and runs the op list. */
#define EXEC_IMAGE_ARG "--kernsim-exec-image"
void exec_image_main(int argc, char **argv) __attribute__((noreturn));
/* Sets up `out` on the shared area's records (after sh is mapped). */
void use_main_sink(int discard);

/* Shared by the op files: records, argument values, binding. */
void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int emit_head(int i, long ret, int err);
uint64_t val(const struct arg *a);
int ival(const struct arg *a);
void bind(const struct op *o, uint64_t v);
/* A string as the hex the result decoder reads. */
void emit_hex(const char *s, size_t n);

/*
 * The ops added after format v1 (host-runner-calls.c): their names, in
 * code order from OP_COUNT up, and the function that runs one. Their
 * arguments arrive in the order of src/workloads/script/calls/fields.ts.
 */
const char *call_name(int c);
/* host-runner-mask.c: readlink bodies and fdinfo lines as the script prints them; a lock's pid by whose it is. */
const char *readlink_body(int i, const char *path, const char *b, size_t *np);
size_t mask_fdinfo_line(const char *line, size_t len, char *out);
const char *lock_pid_name(pid_t pid, char *num, size_t n);
long mask_proc_line(const char *name, int index, const char *line, size_t len, char *out);
extern const int ncall_names;
void run_call(int i, struct op *o);

#endif
