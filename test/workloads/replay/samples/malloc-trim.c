/* Allocates and frees with glibc malloc, then returns the free heap with malloc_trim (the replay tests' sample program). */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
  enum { N = 64, SIZE = 4096 };
  char *blocks[N];
  for (int i = 0; i < N; i++) {
    blocks[i] = malloc(SIZE);
    memset(blocks[i], i, SIZE);
  }
  char *big = malloc(1 << 20); /* above the mmap threshold: its own mapping */
  memset(big, 1, 1 << 20);
  free(big);
  for (int i = 0; i < N; i++) free(blocks[i]);
  malloc_trim(0);
  return 0;
}
