/**
 * loff_t: a file position, size or offset, exact in 64 bits. A double holds
 * every integer up to 2^53 but not LLONG_MAX (2^63 - 1), where ext4's
 * directories end and up to which a memfd may seek, write and grow, so a
 * value is a number while it is a safe integer and a bigint beyond: one
 * form per value (loffOf), so `===` and `<` between two of them are exact
 * (JavaScript compares a bigint with a number by value). Arithmetic goes
 * through loffAdd/loffBig, never `+` on a value that may be a bigint.
 */
import { PAGE_SIZE } from '../../hw/types.js';

export type loff_t = number | bigint;

/** LLONG_MAX, MAX_LFS_FILESIZE on 64-bit. */
export const LLONG_MAX: loff_t = (1n << 63n) - 1n;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** The one form of a 64-bit value: a number if it is a safe integer. */
export function loffOf(b: bigint): loff_t {
  return b <= MAX_SAFE && b >= -MAX_SAFE ? Number(b) : b;
}

/** The value as a bigint. */
export function loffBig(x: loff_t): bigint {
  return typeof x === 'bigint' ? x : BigInt(x);
}

/** a + b as the kernel's loff_t sum (signed 64-bit, wrapping as C's does on the kernel's -fwrapv). */
export function loffAdd(a: loff_t, b: loff_t): loff_t {
  if (typeof a === 'number' && typeof b === 'number') {
    const s = a + b;
    if (Number.isSafeInteger(s)) return s;
  }
  return loffOf(BigInt.asIntN(64, loffBig(a) + loffBig(b)));
}

/** a - b, as loffAdd. */
export function loffSub(a: loff_t, b: loff_t): loff_t {
  if (typeof a === 'number' && typeof b === 'number') {
    const s = a - b;
    if (Number.isSafeInteger(s)) return s;
  }
  return loffOf(BigInt.asIntN(64, loffBig(a) - loffBig(b)));
}

/** The page index of a non-negative position (below 2^51, so always a number). */
export function loffIndex(pos: loff_t): number {
  return typeof pos === 'number' ? Math.floor(pos / PAGE_SIZE) : Number(pos / BigInt(PAGE_SIZE));
}

/** The offset of a non-negative position within its page. */
export function loffInPage(pos: loff_t): number {
  return typeof pos === 'number' ? pos % PAGE_SIZE : Number(pos % BigInt(PAGE_SIZE));
}

/** The smaller of a and b. */
export function loffMin(a: loff_t, b: loff_t): loff_t {
  return a < b ? a : b;
}

/** The larger of a and b. */
export function loffMax(a: loff_t, b: loff_t): loff_t {
  return a > b ? a : b;
}

/** b - a as a number when it is below `cap` (a byte count bounded by a transfer's length), else cap. */
export function loffGap(a: loff_t, b: loff_t, cap: number): number {
  const d = loffSub(b, a);
  return d < cap ? Number(d) : cap;
}

/** Pages needed to hold `size` bytes (a size's page count is below 2^51, a number). */
export function loffPages(size: loff_t): number {
  return typeof size === 'number' ? Math.ceil(size / PAGE_SIZE) : Number((size + BigInt(PAGE_SIZE - 1)) / BigInt(PAGE_SIZE));
}

/** The position where page `index` starts. */
export function loffOfPage(index: number): loff_t {
  const b = index * PAGE_SIZE;
  return Number.isSafeInteger(b) ? b : loffOf(BigInt(index) * BigInt(PAGE_SIZE));
}
