/** The gigabyte of user memory the random-loop benches map: where, how many pages, and the mapping itself. */
import type { Machine } from '../src/hw/machine.js';
import { makePte, PTE_ACCESSED, PTE_DIRTY, PTE_PRESENT, PTE_RW, PTE_USER } from '../src/hw/pagetable.js';
import type { MemMap } from '../src/kernel/mm/page_alloc.js';

export const GIB = 2 ** 30;
export const PAGES = GIB / 4096;
/** 64 GiB: a 1 GiB-aligned user address. */
export const BASE = 0x10_0000_0000;

/** Maps 1 GiB at BASE, page by page, each to a fresh frame filled with one byte (A and D preset: steady state); returns the root. */
export function mapGib(m: Machine, memmap: MemMap): number {
  m.pt.frames = memmap;
  const cr3 = m.pt.allocTable();
  const flags = PTE_PRESENT | PTE_RW | PTE_USER | PTE_ACCESSED | PTE_DIRTY;
  for (let p = 0; p < PAGES; p++) {
    const pfn = memmap.alloc();
    m.mem.fill(pfn, 0, 4096, (p & 0xff) | 1);
    memmap.refcount[pfn] = 1;
    memmap.mapcount[pfn] = 1;
    if (!m.pt.installFunctional(cr3, BASE + p * 4096, makePte(pfn, flags))) throw new Error('out of simulated memory');
  }
  return cr3;
}
