/*
 * The replay tests' smallest program: no C library (so its lackey trace is a
 * few thousand records, not the dynamic loader's million), raw system calls.
 * Maps 16 pages, writes each, gives back the upper 8 with MADV_DONTNEED,
 * reads all 16 again (8 refault as zero pages), grows the heap by 4 pages
 * with brk and writes them, then unmaps and exits.
 * Built with: cc -O1 -static -nostdlib -fno-stack-protector -fno-builtin -o touch touch.c
 */
static long sys(long n, long a, long b, long c, long d, long e, long f) {
  long r;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9) : "rcx", "r11", "memory");
  return r;
}

enum { PAGES = 16, PAGE = 4096 };

void _start(void) {
  volatile char *p = (volatile char *)sys(9 /* mmap */, 0, PAGES * PAGE, 3 /* RW */, 0x22 /* PRIVATE|ANON */, -1, 0);
  for (int i = 0; i < PAGES; i++) p[i * PAGE] = (char)i;
  sys(28 /* madvise */, (long)p + 8 * PAGE, 8 * PAGE, 4 /* DONTNEED */, 0, 0, 0);
  long sum = 0;
  for (int i = 0; i < PAGES; i++) sum += p[i * PAGE];
  long brk0 = sys(12 /* brk */, 0, 0, 0, 0, 0, 0);
  long brk1 = sys(12, brk0 + 4 * PAGE, 0, 0, 0, 0, 0);
  for (long a = brk0; a < brk1; a += PAGE) *(volatile char *)a = 1;
  sys(11 /* munmap */, (long)p, PAGES * PAGE, 0, 0, 0, 0);
  sys(231 /* exit_group */, sum == 28 ? 0 : 1, 0, 0, 0, 0, 0);
}
