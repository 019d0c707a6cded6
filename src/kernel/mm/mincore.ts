/**
 * mincore(2), after mm/mincore.c: one byte per page, 1 when the page is
 * resident. A present PTE counts (the shared zero page and PROT_NONE
 * mappings included); a swap entry counts when its page is in the swap
 * cache; an empty PTE of a file area counts when the file's page is cached.
 * The range is walked area by area; a hole fails with ENOMEM, the pages
 * before it having been reported.
 */
import { tableIndex } from '../../hw/pagetable.js';
import { swapOffset, swapType } from './swapops.js';
import { is_real_swap_pte } from './guard.js';
import { PG_uptodate } from './page_flags.js';
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { EINVAL, ENOMEM } from '../errno.js';
import { current } from '../sched/task_struct.js';
import { syscall } from '../syscalls.js';
import { mmCore } from './core.js';
import { filemap_get_page } from './filemap.js';
import { PAGE_SIZE, TASK_SIZE, type MmStruct, type VmAreaStruct } from './mm_types.js';
import { mmap_read_lock, mmap_read_unlock } from './mmap_lock.js';
import { huge_pmd_at, pmd_table } from './huge_memory.js';
import { pte_present_k, pte_table, ptep_get } from './pgtable.js';
import { linear_page_index } from './rmap.js';
import { u64 } from './uapi.js';
import { vma_lookup } from './vma.js';

const CAT_DO_MINCORE = intern('do_mincore');

/** mincore_page(): is page `index` of the file cached and up to date? */
function mincorePage(t: Task, vma: VmAreaStruct, index: number): number {
  const mapping = vma.vmFile!.mapping;
  const pfn = filemap_get_page(t, mapping, index);
  return pfn >= 0 && (mapping.k.mem_map.flags[pfn]! & PG_uptodate) !== 0 ? 1 : 0;
}

/** mincore_unmapped_range(): pages with no PTE: 0 for anonymous memory, the page cache for files. */
function unmappedRange(t: Task, vma: VmAreaStruct, addr: number, end: number, vec: Uint8Array, at: number): void {
  for (let a = addr; a < end; a += PAGE_SIZE) vec[at++] = vma.vmFile ? mincorePage(t, vma, linear_page_index(vma, a)) : 0;
}

/** do_mincore(): up to `pages` pages from addr within one area into vec; returns pages done or -ENOMEM. */
function doMincore(t: Task, mm: MmStruct, addr: number, pages: number, vec: Uint8Array, at: number): number {
  const vma = vma_lookup(t, mm, addr);
  if (!vma) return -ENOMEM;
  const end = Math.min(vma.vmEnd, addr + pages * PAGE_SIZE);
  const n = (end - addr) / PAGE_SIZE;
  if (vma.vmFile && vma.vmFile.mincoreAllowed === false) {
    // can_do_mincore(): not the owner and no write access: report everything resident.
    vec.fill(1, at, at + n);
    return n;
  }
  const k = mm.k;
  const core = mmCore(k);
  for (let a = addr; a < end; ) {
    const next = Math.min(Math.floor(a / 2 ** 21) * 2 ** 21 + 2 ** 21, end);
    if (huge_pmd_at(mm, a)) {
      // mincore_pte_range on a PMD leaf: every page of it is resident.
      pmd_table(t, mm, a);
      vec.fill(1, at + (a - addr) / PAGE_SIZE, at + (next - addr) / PAGE_SIZE);
      a = next;
      continue;
    }
    const table = pte_table(t, mm, a);
    if (table < 0) {
      unmappedRange(t, vma, a, next, vec, at + (a - addr) / PAGE_SIZE);
      a = next;
      continue;
    }
    for (; a < next; a += PAGE_SIZE) {
      const i = at + (a - addr) / PAGE_SIZE;
      const pte = ptep_get(t, mm, table, tableIndex(a, 1));
      if (pte === 0) unmappedRange(t, vma, a, a + PAGE_SIZE, vec, i);
      else if (pte_present_k(pte)) vec[i] = 1;
      else if (is_real_swap_pte(pte)) vec[i] = core.hooks.swapCacheLookup && core.hooks.swapCacheLookup(k, swapType(pte), swapOffset(pte)) >= 0 ? 1 : 0;
      else vec[i] = 0;
    }
  }
  return n;
}

/**
 * mincore(2) with the raw 64-bit arguments. Returns 0 or -errno; on success
 * `vec` (one byte per page of the range) is filled.
 */
export function sys_mincore(t: Task, start: number | bigint, len: number | bigint, vec: { out: Uint8Array | null }): Blocking<number> {
  return syscall(t, 'mincore', mincore(t, u64(start), u64(len), vec));
}

function* mincore(t: Task, start: bigint, len: bigint, out: { out: Uint8Array | null }): Blocking<number> {
  const mm = current(t).mm;
  if (!mm) return -EINVAL;
  if (start & 4095n) return -EINVAL;
  // access_ok(start, len): the range ends at or below TASK_SIZE_MAX without wrapping.
  if (start + len > BigInt(TASK_SIZE)) return -ENOMEM;
  const pages = Number((len >> 12n) + (len & 4095n ? 1n : 0n));
  const vec = new Uint8Array(pages);
  out.out = vec;
  let addr = Number(start);
  let done = 0;
  t.enter(CAT_DO_MINCORE);
  let ret = 0;
  while (done < pages) {
    yield* mmap_read_lock(t, mm);
    // The kernel works in chunks of a page's worth of vector (PAGE_SIZE entries) per lock hold.
    const r = doMincore(t, mm, addr, Math.min(pages - done, PAGE_SIZE), vec, done);
    mmap_read_unlock(t, mm);
    if (r < 0) {
      ret = r;
      break;
    }
    done += r;
    addr += r * PAGE_SIZE;
    if (t.shouldYield()) yield;
  }
  t.leave();
  if (ret < 0) out.out = null;
  return ret;
}
