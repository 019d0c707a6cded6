/**
 * What a swap slot holds: a page's contents in the form the SwapDevice
 * stores opaquely. A uniform page (zero or one repeated byte) is kept as
 * that byte, a page of real bytes as a copy of them, so contents survive
 * swap-out and swap-in exactly (and a poisoned page stays recognisable).
 *
 * swap_writepage (reclaim) stores with swap_writepage_contents; do_swap_page
 * and swap-in readahead restore with swap_readpage_contents.
 */
import { PAGE_SIZE } from '../../hw/physmem.js';
import type { Kernel } from '../kernel.js';

/** A slot's contents: a byte every byte of the page equals, or the page's bytes. */
export type SwapContents = { uniform: number } | { bytes: Uint8Array };

/** The contents of frame `pfn`, to store in a swap slot. */
export function swap_writepage_contents(k: Kernel, pfn: number): SwapContents {
  const mem = k.machine.mem;
  const tag = mem.contentTag(pfn);
  if (tag !== 'bytes') return { uniform: mem.readByte(pfn, 0) };
  const bytes = new Uint8Array(PAGE_SIZE);
  mem.readInto(pfn, 0, bytes, 0, PAGE_SIZE);
  return { bytes };
}

/** Fills frame `pfn` with what a slot held (a device read: the caller has invalidated the frame's cache lines). */
export function swap_readpage_contents(k: Kernel, pfn: number, data: unknown): void {
  const mem = k.machine.mem;
  const c = data as SwapContents | undefined;
  if (!c) throw new Error(`swap read into pfn ${pfn}: the slot holds nothing`);
  if ('uniform' in c) mem.fill(pfn, 0, PAGE_SIZE, c.uniform);
  else mem.writeFrom(pfn, 0, c.bytes, 0, PAGE_SIZE);
}
