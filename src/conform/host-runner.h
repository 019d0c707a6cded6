/*
 * Shared between the two halves of the host runner: host-runner.c reads the
 * encoded script and supervises the script process; host-runner-ops.c runs
 * the ops inside it and writes the result records.
 */
#ifndef KERNSIM_HOST_RUNNER_H
#define KERNSIM_HOST_RUNNER_H

#include <stdint.h>

enum opcode {
	OP_MMAP, OP_MUNMAP, OP_MPROTECT, OP_MADVISE, OP_MLOCK, OP_MUNLOCK, OP_FILL, OP_LOAD,
	OP_MINCORE, OP_OPEN, OP_CLOSE, OP_DUP, OP_DUP2, OP_DUP3, OP_FCNTL, OP_WRITE, OP_READ,
	OP_LSEEK, OP_FTRUNCATE, OP_UNLINK, OP_MKDIR, OP_RMDIR, OP_RENAME, OP_CHMOD,
	OP_SETRLIMIT, OP_GETRLIMIT, OP_INOTIFY_INIT1, OP_INOTIFY_ADD_WATCH, OP_INOTIFY_RM_WATCH,
	OP_INOTIFY_READ, OP_FIONREAD, OP_FORK, OP_COUNT
};

#define MAX_ARGS 8

struct arg {
	char kind;    /* 'v' value, 's' slot plus offset, 'h' string, '-' absent */
	int slot;
	uint64_t v;   /* the value, or the offset added to the slot */
	char *str;
};

struct op {
	int code;
	int as;       /* slot bound to the result, -1 for none */
	int nargs;
	struct arg a[MAX_ARGS];
	int nchild;
	struct op *child;
};

struct shared {
	volatile uint64_t used;
	volatile int failed;
	char msg[1024];
	char data[];
};

/* The result area, shared with the supervising process. */
extern struct shared *sh;
extern uint64_t data_cap;
/* What each name bound with "as" holds; a fork child works on its own copy. */
extern uint64_t *slots;
extern int nslots;
extern const char *const op_names[OP_COUNT];

/* Reports a failure of the runner itself (not of an op) and ends the process. */
void child_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
const char *signame(int sig);
/* SIGSEGV and SIGBUS handlers on an alternate stack, for fill and load. */
void install_fault_handlers(void);
void run_ops(struct op *ops, int n);

#endif
