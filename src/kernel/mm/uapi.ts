import { PAGE_SIZE } from '../../hw/types.js';
/**
 * The memory syscalls' ABI: the uapi numbers of mman-common.h / mman.h and
 * how a raw 64-bit argument is read (unsigned, with C's wrap-around in
 * PAGE_ALIGN), so argument checks give the kernel's errno at the edges.
 */

// mmap prot and flags (uapi asm-generic/mman*.h).
export const PROT_READ = 0x1;
export const PROT_WRITE = 0x2;
export const PROT_EXEC = 0x4;
export const PROT_SEM = 0x8;
export const PROT_GROWSDOWN = 0x01000000;
export const PROT_GROWSUP = 0x02000000;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_SHARED_VALIDATE = 0x03;
export const MAP_DROPPABLE = 0x08;
export const MAP_TYPE = 0x0f;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_32BIT = 0x40;
export const MAP_GROWSDOWN = 0x0100;
export const MAP_DENYWRITE = 0x0800;
export const MAP_EXECUTABLE = 0x1000;
export const MAP_LOCKED = 0x2000;
export const MAP_NORESERVE = 0x4000;
export const MAP_POPULATE = 0x8000;
export const MAP_NONBLOCK = 0x10000;
export const MAP_STACK = 0x20000;
export const MAP_HUGETLB = 0x40000;
export const MAP_SYNC = 0x80000;
export const MAP_FIXED_NOREPLACE = 0x100000;
export const MAP_UNINITIALIZED = 0x4000000;

const BPAGE = BigInt(PAGE_SIZE);
const BPAGE_MASK = ~(BPAGE - 1n) & ((1n << 64n) - 1n);

/** A syscall argument as the kernel sees it: unsigned 64-bit. */
export function u64(x: number | bigint): bigint {
  if (typeof x === 'bigint') return BigInt.asUintN(64, x);
  if (!Number.isInteger(x)) throw new RangeError(`syscall argument ${x} is not an integer`);
  return BigInt.asUintN(64, BigInt(x));
}

/** PAGE_ALIGN() in 64-bit arithmetic (wraps to 0 near the top, as in C). */
export function page_align(x: bigint): bigint {
  return (x + BPAGE - 1n) & BPAGE_MASK;
}
