/*
 * The experiment ops of the host runner (docs/scripts.md, Part 2): repeat,
 * thread, join, spin and pin. They run op lists rather than one system
 * call, so they live apart from host-runner-ops.c.
 *
 * A thread writes its records to a buffer of its own (shared memory, so a
 * fork child it starts can write there too); its join copies them into the
 * joining thread's records between "B <i>" and "E". A repeat runs its
 * earlier iterations with records discarded and its last one framed the
 * same way.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "host-runner.h"

/* Room for one thread's records (reserved, touched only as written). */
#define THREAD_RESULT_BYTES (64UL << 20)

struct script_thread {
	pthread_t tid;
	struct op *ops;
	int n;
	uint64_t *slots;
	int untimed;
	/* The thread's records: `used` at the start of a shared mapping, the data after it. */
	char *area;
	struct sink sink;
	volatile int stop;
	int joined;
	/* The thread's kernel task id, for the join to wait until the task is gone. */
	volatile pid_t ktid;
};

/* Threads of this process by the number their name is bound to (a fork child inherits a copy it never joins). */
static struct script_thread **threads;
static uint64_t nthreads, threads_cap;
static pthread_mutex_t threads_lock = PTHREAD_MUTEX_INITIALIZER;

/* The thread running the calling code, for spin. */
static __thread struct script_thread *self;

static void *thread_main(void *arg)
{
	struct script_thread *th = arg;
	th->ktid = (pid_t)syscall(SYS_gettid);
	self = th;
	slots = th->slots;
	out = &th->sink;
	untimed = th->untimed;
	install_fault_handlers();
	run_ops(th->ops, th->n);
	return NULL;
}

static void free_thread(struct script_thread *th)
{
	munmap(th->area, THREAD_RESULT_BYTES);
	free(th->slots);
	free(th);
}

static void op_thread(int i, struct op *o)
{
	struct script_thread *th = calloc(1, sizeof *th);
	if (!th)
		child_fail("out of memory");
	th->ops = o->child;
	th->n = o->nchild;
	th->untimed = untimed;
	th->slots = malloc(((size_t)nslots + 1) * sizeof *th->slots);
	if (!th->slots)
		child_fail("out of memory");
	memcpy(th->slots, slots, ((size_t)nslots + 1) * sizeof *th->slots);
	th->area = mmap(NULL, THREAD_RESULT_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (th->area == MAP_FAILED)
		child_fail("cannot map a thread's result area: %s", strerror(errno));
	th->sink = (struct sink){ .data = th->area + 64, .used = (volatile uint64_t *)th->area, .cap = THREAD_RESULT_BYTES - 64 };

	pthread_attr_t attr;
	pthread_attr_init(&attr);
	int err = 0;
	if (o->a[0].kind != '-') {
		uint64_t cpu = val(&o->a[0]);
		cpu_set_t set;
		CPU_ZERO(&set);
		if (cpu >= CPU_SETSIZE)
			err = EINVAL;
		else {
			CPU_SET(cpu, &set);
			err = pthread_attr_setaffinity_np(&attr, sizeof set, &set);
		}
	}
	if (!err)
		err = pthread_create(&th->tid, &attr, thread_main, th);
	pthread_attr_destroy(&attr);
	if (err) {
		free_thread(th);
		bind(o, (uint64_t)-1);
		emit("R %d -1 %s\n", i, errname(err));
		return;
	}
	pthread_mutex_lock(&threads_lock);
	if (nthreads == threads_cap) {
		threads_cap = threads_cap ? 2 * threads_cap : 16;
		threads = realloc(threads, threads_cap * sizeof *threads);
		if (!threads)
			child_fail("out of memory");
	}
	uint64_t id = nthreads++;
	threads[id] = th;
	pthread_mutex_unlock(&threads_lock);
	bind(o, id);
	emit("R %d 0 -\n", i);
}

static void op_join(int i, struct op *o)
{
	uint64_t id = val(&o->a[0]);
	pthread_mutex_lock(&threads_lock);
	struct script_thread *th = id < nthreads ? threads[id] : NULL;
	pthread_mutex_unlock(&threads_lock);
	if (!th || th->joined) {
		emit("R %d -1 ESRCH\n", i);
		return;
	}
	__atomic_store_n(&th->stop, 1, __ATOMIC_RELEASE);
	int err = pthread_join(th->tid, NULL);
	if (err)
		child_fail("pthread_join: %s", strerror(err));
	/*
	 * pthread_join returns at the futex wake of the thread's exit_mm, before release_task takes the task off the
	 * process (its /proc/PID/task entry, num_threads, its /proc files' ESRCH): wait for that too, as the simulator's
	 * join does, so that what a script reads after a join does not race the exit.
	 */
	while (th->ktid > 0 && syscall(SYS_tgkill, getpid(), th->ktid, 0) == 0)
		sched_yield();
	th->joined = 1;
	emit("B %d\n", i);
	emit_bytes(th->sink.data, *th->sink.used);
	emit("E\n");
	emit("R %d 0 -\n", i);
	munmap(th->area, THREAD_RESULT_BYTES);
	th->area = NULL;
	free(th->slots);
	th->slots = NULL;
}

/* User-mode work until the join starts: a load of the flag and an increment, no calls, no faults. */
static void op_spin(int i)
{
	volatile uint64_t spins = 0;
	while (!__atomic_load_n(&self->stop, __ATOMIC_ACQUIRE))
		spins++;
	emit("R %d 0 -\n", i);
}

static void op_pin(int i, struct op *o)
{
	uint64_t cpu = val(&o->a[0]);
	cpu_set_t set;
	CPU_ZERO(&set);
	if (cpu >= CPU_SETSIZE) {
		emit("R %d -1 EINVAL\n", i);
		return;
	}
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof set, &set) < 0)
		emit("R %d -1 %s\n", i, errname(errno));
	else
		emit("R %d 0 -\n", i);
}

static void op_repeat(int i, struct op *o)
{
	uint64_t count = val(&o->a[0]);
	struct sink *printed = out;
	struct sink discard = { .discard = 1 };
	untimed++;
	for (uint64_t it = 0; it + 1 < count; it++) {
		out = &discard;
		run_ops(o->child, o->nchild);
	}
	out = printed;
	emit("B %d\n", i);
	if (count > 0)
		run_ops(o->child, o->nchild);
	emit("E\n");
	untimed--;
	emit("R %d 0 -\n", i);
}

int run_control_op(int i, struct op *o)
{
	switch (o->code) {
	case OP_REPEAT:
		op_repeat(i, o);
		return 1;
	case OP_THREAD:
		op_thread(i, o);
		return 1;
	case OP_JOIN:
		op_join(i, o);
		return 1;
	case OP_SPIN:
		op_spin(i);
		return 1;
	case OP_PIN:
		op_pin(i, o);
		return 1;
	case OP_EXECVE:
		op_execve(i, o);
		return 1;
	default:
		return 0;
	}
}
