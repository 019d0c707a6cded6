/**
 * How the kernel encodes what a non-present page-table entry stands for,
 * after include/linux/swapops.h and arch/x86/include/asm/pgtable_64.h. The
 * walker ignores every bit of an entry whose present bit is clear; these
 * encodings are the kernel's own.
 *
 * A non-present entry other than zero (pte_none) is a swap entry, unless it
 * carries PTE_PROTNONE (the PROT_NONE encoding, which keeps the pfn):
 *
 *    52 51                                  12 11  9 8 7 6 5    1 0
 *   +--+--------------------------------------+-----+-+-+-+------+-+
 *   |0 |         swap offset (40 bits)        | SW  |0|0|1| type |0|
 *   +--+--------------------------------------+-----+-+-+-+------+-+
 *
 * Bit 6 is always set so that no swap entry is zero; the software bits 9-11
 * are left to the kernel (soft-dirty, exclusive) and ignored by the decoders.
 */
import { PTE_GLOBAL, PTE_PRESENT } from '../../hw/pagetable.js';
import { PAGE_SIZE } from '../../hw/physmem.js';

/** On a non-present entry: a PROT_NONE mapping (x86 Linux reuses the G bit as _PAGE_PROTNONE). */
export const PTE_PROTNONE = PTE_GLOBAL;

/** Marker bit that keeps every swap entry non-zero. */
export const SWP_MARK = 1 << 6;
export const MAX_SWAPFILES = 32;

const TWO40 = 2 ** 40;

export function makeSwapPte(type: number, offset: number): number {
  if (!(Number.isInteger(type) && type >= 0 && type < MAX_SWAPFILES)) throw new RangeError(`makeSwapPte: type ${type} not in 0..31`);
  if (!(Number.isInteger(offset) && offset >= 0 && offset < TWO40)) throw new RangeError(`makeSwapPte: offset ${offset} not below 2^40`);
  return offset * PAGE_SIZE + SWP_MARK + (type << 1);
}

export function isSwapPte(pte: number): boolean {
  return pte !== 0 && (pte & (PTE_PRESENT | PTE_PROTNONE)) === 0;
}

export function swapType(pte: number): number {
  return (pte >>> 1) & 31;
}

export function swapOffset(pte: number): number {
  return Math.floor(pte / PAGE_SIZE) % TWO40;
}
