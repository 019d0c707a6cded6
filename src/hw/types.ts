/**
 * Units at the hardware's API boundary, and the one page size.
 *
 * Vaddr, Paddr, Pfn and Cycles are numbers with a brand: a plain number
 * (a literal, an address computed by the caller) is accepted where one is
 * expected, but one kind is not accepted for another, so passing a frame
 * number where a physical address is due, or cycles where an address is,
 * fails to type-check. Arithmetic yields plain numbers; a function that
 * returns a unit casts once, where the value is made.
 *
 * The brand is an optional property of a unique symbol: it costs nothing at
 * run time (the values are plain doubles) and never appears in output.
 */
declare const unit: unique symbol;

/** A virtual address (48 bits used; see pagetable.ts). */
export type Vaddr = number & { readonly [unit]?: 'Vaddr' };
/** A physical address: pfn * PAGE_SIZE + offset. */
export type Paddr = number & { readonly [unit]?: 'Paddr' };
/** A physical frame number. */
export type Pfn = number & { readonly [unit]?: 'Pfn' };
/** Simulated CPU cycles. */
export type Cycles = number & { readonly [unit]?: 'Cycles' };

/** log2 of the page size. */
export const PAGE_SHIFT = 12;
/** The one page size: frames, page-table pages and 4 KiB translations (a 2 MiB translation is HPAGE_SIZE in pagetable.ts). */
export const PAGE_SIZE = 4096;
