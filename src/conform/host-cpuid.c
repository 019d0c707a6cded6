/*
 * kernsim host cpuid: prints what the CPUID instruction says about the TLBs,
 * the caches and the hypervisor, one "key value" per line, for
 * `kernsim calibrate` (src/conform/hostinfo.ts), which reads sysfs first and
 * uses these where sysfs says nothing (a guest without cache topology).
 *
 *   vendor <GenuineIntel|AuthenticAMD|...>
 *   hypervisor <vendor string>             when CPUID.1:ECX[31] is set
 *   tlb <level> <data|unified> <4k|2m> <entries> <ways; 0 = fully associative>
 *   cache <level> <data|unified> <size bytes> <ways> <line bytes>
 *
 * With --time: "cpuid_ns <ns>" for each of 21 blocks of 2000 CPUID
 * instructions, the time of one. In a guest every CPUID exits to the
 * hypervisor, so this is the round trip of a VM exit.
 *
 * Sources: AMD APM vol. 3, CPUID Fn8000_0005/Fn8000_0006 (L1/L2 TLB and cache
 * identifiers, the 4-bit associativity code); Intel SDM vol. 2A, CPUID leaf
 * 04H (deterministic cache parameters) and leaf 18H (deterministic address
 * translation parameters).
 */
#include <cpuid.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int time_cpuid(void)
{
	for (int b = 0; b < 21; b++) {
		unsigned a, bx, c, d;
		uint64_t t0 = now_ns();
		for (int k = 0; k < 2000; k++)
			__cpuid(0, a, bx, c, d);
		uint64_t t1 = now_ns();
		__asm__ volatile("" : : "r"(a), "r"(bx), "r"(c), "r"(d));
		printf("cpuid_ns %.1f\n", (double)(t1 - t0) / 2000);
	}
	return 0;
}

/* Fn8000_0006's 4-bit associativity code; -1 for "see another leaf" or reserved, 0 for fully associative. */
static int amd_l2_ways(unsigned code)
{
	static const int ways[16] = { 0, 1, 2, 3, 4, -1, 8, -1, 16, -1, 32, 48, 64, 96, 128, 0 };
	if (code == 5)
		return 6;
	if (code == 0)
		return -1;
	return ways[code];
}

static void amd(unsigned maxext)
{
	unsigned a, b, c, d;
	if (maxext >= 0x80000005) {
		__cpuid(0x80000005, a, b, c, d);
		/* EBX: 4 KiB L1 DTLB ways [31:24] (0xff: fully), entries [23:16]; EAX: the same for 2 MiB. */
		unsigned w4 = b >> 24, n4 = (b >> 16) & 0xff, w2 = a >> 24, n2 = (a >> 16) & 0xff;
		printf("tlb 1 data 4k %u %u\n", n4, w4 == 0xff ? 0 : w4);
		printf("tlb 1 data 2m %u %u\n", n2, w2 == 0xff ? 0 : w2);
		/* ECX: L1D size KiB [31:24], ways [23:16] (0xff: fully), line [7:0]. */
		unsigned cw = (c >> 16) & 0xff;
		printf("cache 1 data %u %u %u\n", (c >> 24) * 1024, cw == 0xff ? 0 : cw, c & 0xff);
	}
	if (maxext >= 0x80000006) {
		__cpuid(0x80000006, a, b, c, d);
		/* EBX: 4 KiB L2 DTLB ways code [31:28], entries [27:16]; EAX: 2 MiB. */
		int w4 = amd_l2_ways(b >> 28), w2 = amd_l2_ways(a >> 28);
		if (w4 >= 0 && ((b >> 16) & 0xfff))
			printf("tlb 2 data 4k %u %d\n", (b >> 16) & 0xfff, w4);
		if (w2 >= 0 && ((a >> 16) & 0xfff))
			printf("tlb 2 data 2m %u %d\n", (a >> 16) & 0xfff, w2);
		/* ECX: L2 size KiB [31:16], ways code [15:12], line [7:0]; EDX: L3 size in 512 KiB [31:18], ways code [15:12], line [7:0]. */
		int l2w = amd_l2_ways((c >> 12) & 0xf), l3w = amd_l2_ways((d >> 12) & 0xf);
		if (c >> 16)
			printf("cache 2 unified %u %d %u\n", (c >> 16) * 1024, l2w, c & 0xff);
		if (d >> 18)
			printf("cache 3 unified %u %d %u\n", (d >> 18) * 512 * 1024, l3w, d & 0xff);
	}
}

static void intel(unsigned max)
{
	unsigned a, b, c, d;
	if (max >= 4) {
		for (unsigned s = 0; s < 16; s++) {
			__cpuid_count(4, s, a, b, c, d);
			unsigned type = a & 0x1f;
			if (type == 0)
				break;
			if (type == 2)
				continue; /* instruction cache */
			unsigned level = (a >> 5) & 7, ways = (b >> 22) + 1, parts = ((b >> 12) & 0x3ff) + 1, line = (b & 0xfff) + 1, sets = c + 1;
			printf("cache %u %s %u %u %u\n", level, type == 1 ? "data" : "unified", ways * parts * line * sets, (a >> 9) & 1 ? 0 : ways, line);
		}
	}
	if (max >= 0x18) {
		__cpuid_count(0x18, 0, a, b, c, d);
		unsigned subleaves = a;
		for (unsigned s = 0; s <= subleaves && s < 32; s++) {
			__cpuid_count(0x18, s, a, b, c, d);
			unsigned type = d & 0x1f;
			if (type != 1 && type != 3)
				continue; /* data and unified TLBs only */
			unsigned level = (d >> 5) & 7, ways = b >> 16, sets = c, full = (d >> 8) & 1;
			const char *kind = type == 1 ? "data" : "unified";
			if (b & 1)
				printf("tlb %u %s 4k %u %u\n", level, kind, ways * sets, full ? 0 : ways);
			if (b & 2)
				printf("tlb %u %s 2m %u %u\n", level, kind, ways * sets, full ? 0 : ways);
		}
	}
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--time") == 0)
		return time_cpuid();
	unsigned a, b, c, d;
	char vendor[13] = { 0 };
	__cpuid(0, a, b, c, d);
	unsigned max = a;
	memcpy(vendor, &b, 4);
	memcpy(vendor + 4, &d, 4);
	memcpy(vendor + 8, &c, 4);
	printf("vendor %s\n", vendor);
	__cpuid(1, a, b, c, d);
	if (c >> 31) {
		char hv[13] = { 0 };
		__cpuid(0x40000000, a, b, c, d);
		memcpy(hv, &b, 4);
		memcpy(hv + 4, &c, 4);
		memcpy(hv + 8, &d, 4);
		for (int k = 0; k < 12; k++)
			if (hv[k] == ' ' || hv[k] == '\0')
				hv[k] = '_';
		printf("hypervisor %s\n", hv);
	}
	__cpuid(0x80000000, a, b, c, d);
	unsigned maxext = a;
	if (strcmp(vendor, "AuthenticAMD") == 0 || strcmp(vendor, "HygonGenuine") == 0)
		amd(maxext);
	else
		intel(max);
	return 0;
}
