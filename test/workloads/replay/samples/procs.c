/*
 * A program with a fork child and a thread, for kernsim replay's tests:
 * the child grows a mapping with mremap, writes a file and exits 3; the
 * parent reaps it, then a thread maps, touches, advises and unmaps memory.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static void *worker(void *arg)
{
	(void)arg;
	char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(p, 1, 1 << 20);
	madvise(p, 1 << 20, MADV_DONTNEED);
	munmap(p, 1 << 20);
	return NULL;
}

int main(void)
{
	char *a = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(a, 7, 65536);
	pid_t pid = fork();
	if (pid == 0) {
		char *b = mremap(a, 65536, 1 << 20, MREMAP_MAYMOVE);
		memset(b, 2, 1 << 20);
		munmap(b, 1 << 20);
		int fd = open("replay-procs.out", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		write(fd, a == b ? "same" : "moved", 5);
		close(fd);
		unlink("replay-procs.out");
		_exit(3);
	}
	int status;
	waitpid(pid, &status, 0);
	pthread_t t;
	pthread_create(&t, NULL, worker, NULL);
	pthread_join(t, NULL);
	munmap(a, 65536);
	return WEXITSTATUS(status) == 3 ? 0 : 1;
}
