/*
 * The host-side twin of bench/host.ts's random loop: uniformly random 8-byte
 * loads over 1 GiB, addresses drawn with the same xorshift32 (13, 17, 5) as
 * the simulator's random address stream. bench/host.ts runs it under
 * valgrind's cachegrind (a cache simulator) and natively, so the simulator's
 * rate is shown beside a cache model's on the same work in the same run.
 *
 *   random-loop LOADS   touches one byte per page of 1 GiB, then does LOADS loads
 * Prints the sum of the loaded bytes (so the loads are not optimised away).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#define GIB (1ul << 30)

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: random-loop LOADS\n");
    return 2;
  }
  unsigned long loads = strtoul(argv[1], NULL, 10);
  unsigned char *m = mmap(NULL, GIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) {
    perror("mmap");
    return 1;
  }
  for (unsigned long p = 0; p < GIB; p += 4096) m[p] = (unsigned char)((p >> 12) | 1);
  const uint64_t slots = GIB / 8;
  uint32_t x = 0x9e3779b9u;
  uint64_t sum = 0;
  for (unsigned long i = 0; i < loads; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    uint64_t slot = ((uint64_t)x * slots) >> 32;
    sum += *(volatile uint64_t *)(m + slot * 8);
  }
  printf("%llu\n", (unsigned long long)sum);
  return 0;
}
