/* Two threads that each allocate, touch and free 64 KiB twice with glibc malloc (its per-thread arenas), joined by main (the replay tests' multithreaded program). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static void *work(void *arg) {
  for (int round = 0; round < 2; round++) {
    char *p = malloc(64 * 1024);
    memset(p, (int)(long)arg, 64 * 1024);
    free(p);
  }
  return NULL;
}

int main(void) {
  pthread_t t[2];
  for (long i = 0; i < 2; i++) pthread_create(&t[i], NULL, work, (void *)i);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  return 0;
}
