/**
 * Page flags, named after include/linux/page-flags.h: the state the kernel
 * keeps in each frame's struct page (MemMap.flags). The bit positions are
 * our own; only the names and meanings follow the kernel.
 */

/** Frames in a 2 MiB compound page (HPAGE_PMD_NR). */
export const HPAGE_NR = 512;

export const PG_locked = 1 << 0;
export const PG_referenced = 1 << 1;
export const PG_uptodate = 1 << 2;
export const PG_dirty = 1 << 3;
export const PG_lru = 1 << 4;
export const PG_active = 1 << 5;
export const PG_slab = 1 << 6;
export const PG_reserved = 1 << 7;
export const PG_private = 1 << 8;
export const PG_writeback = 1 << 9;
/** First frame of a 2 MiB compound page. */
export const PG_head = 1 << 10;
/** Frames 1..511 of a 2 MiB compound page. */
export const PG_tail = 1 << 11;
export const PG_swapcache = 1 << 12;
export const PG_swapbacked = 1 << 13;
export const PG_mlocked = 1 << 14;
export const PG_hwpoison = 1 << 15;
/** Anonymous page (Linux encodes this in page->mapping's low bit). */
export const PG_anon = 1 << 16;
/** KSM-merged page (Linux: PAGE_MAPPING_KSM). */
export const PG_ksm = 1 << 17;
/** Holds a page table (Linux: PageTable, a page type). */
export const PG_pagetable = 1 << 18;
/** The shared zero page. */
export const PG_zero = 1 << 19;
export const PG_workingset = 1 << 20;
