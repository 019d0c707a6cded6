/*
 * Allocates and frees with jemalloc (linked with -ljemalloc), which returns
 * freed pages to the kernel with madvise: run with
 * MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0 so that it purges at once on
 * each free instead of after a delay (the replay tests' jemalloc program).
 */
#include <stdlib.h>
#include <string.h>

int main(void) {
  enum { N = 4, SIZE = 64 * 1024 };
  char *blocks[N];
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < N; i++) {
      blocks[i] = malloc(SIZE);
      memset(blocks[i], i, SIZE);
    }
    for (int i = 0; i < N; i++) free(blocks[i]);
  }
  return 0;
}
