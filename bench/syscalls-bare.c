/*
 * The six cases of bench/syscalls.ts as bare C loops: the host kernel's rate
 * with nothing of the conformance runner around the calls, to show what the
 * runner's repeat adds (npm run bench:syscalls prints both).
 *
 *   syscalls-bare CASE COUNT DIR   runs COUNT iterations of CASE, prints
 *                                  "<ns elapsed> <ns of CPU time>" on stdout
 *
 * Every call goes through syscall(2), as the runner's do; the setup (an open
 * /dev/null, a file DIR/f, one anonymous page) is outside the timed loop.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static double cpu_ns(void)
{
	struct rusage r;
	getrusage(RUSAGE_SELF, &r);
	return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1e9 + (r.ru_utime.tv_usec + r.ru_stime.tv_usec) * 1e3;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: syscalls-bare CASE COUNT DIR\n");
		return 2;
	}
	const char *c = argv[1];
	long n = atol(argv[2]);
	char path[4096];
	snprintf(path, sizeof path, "%s/f", argv[3]);
	int fd = open("/dev/null", O_RDONLY);
	int w = open(path, O_WRONLY | O_CREAT, 0644);
	close(w);
	char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fd < 0 || w < 0 || page == MAP_FAILED) {
		perror("syscalls-bare: setup");
		return 1;
	}
	double w0 = wall_ns(), c0 = cpu_ns();
	if (!strcmp(c, "fcntl_getfl")) {
		for (long i = 0; i < n; i++)
			syscall(SYS_fcntl, fd, F_GETFL);
	} else if (!strcmp(c, "dup_close")) {
		for (long i = 0; i < n; i++)
			syscall(SYS_close, syscall(SYS_dup, fd));
	} else if (!strcmp(c, "open_close")) {
		for (long i = 0; i < n; i++)
			syscall(SYS_close, syscall(SYS_open, path, O_RDONLY));
	} else if (!strcmp(c, "mmap_munmap")) {
		for (long i = 0; i < n; i++)
			syscall(SYS_munmap, syscall(SYS_mmap, NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), 4096);
	} else if (!strcmp(c, "madvise_dontneed")) {
		for (long i = 0; i < n; i++)
			syscall(SYS_madvise, page, 4096, MADV_DONTNEED);
	} else if (!strcmp(c, "fault_dontneed")) {
		for (long i = 0; i < n; i++) {
			*(volatile char *)page = 1;
			syscall(SYS_madvise, page, 4096, MADV_DONTNEED);
		}
	} else {
		fprintf(stderr, "syscalls-bare: unknown case %s\n", c);
		return 2;
	}
	printf("%.0f %.0f\n", wall_ns() - w0, cpu_ns() - c0);
	return 0;
}
