/**
 * /proc/PID/smaps and /proc/PID/pagemap, after fs/proc/task_mmu.c (6.18).
 *
 * smaps: per area, show_map_vma's line, then the sizes smap_gather_stats
 * adds up walking the area's page tables (smaps_pte_entry, smaps_pmd_entry,
 * smaps_account): Rss, Pss (each page's share, PAGE_SIZE / mapcount in
 * PSS_SHIFT fixed point), clean/dirty split by sharing, Referenced (young
 * PTE or PG_referenced), Anonymous, LazyFree, KSM, AnonHugePages, Swap and
 * SwapPss (swap entries by their swap count), Locked, THPeligible and the
 * VmFlags mnemonics. The kernel here is built as the development host's is:
 * without CONFIG_MEM_SOFT_DIRTY (no `sd` flag, no soft-dirty bit) and
 * without protection keys (no ProtectionKey line).
 *
 * pagemap: one 64-bit entry per virtual page (pagemap_read): bit 63
 * present, 62 swapped, 61 a file or shared-anonymous page, 58 a guard
 * region, 56 mapped exclusively (mapcount 1), bits 0-54 the PFN (or swap
 * type and offset), shown only to an opener with CAP_SYS_ADMIN
 * (pm->show_pfn): others read 0 there, as on the host.
 *
 * Costs: each upper table entry and each PTE is read through the caches
 * (pte_table, ptep_get), each area's fields through its kaddr; the seq_file
 * and the copy to the reader are charged as for every proc file.
 */
import { tableIndex } from '../../../hw/pagetable.js';
import type { Blocking, Task } from '../../../sim/task.js';
import { EINVAL, ESRCH } from '../../errno.js';
import type { Kernel } from '../../kernel.js';
import { is_guard_pte_marker, is_real_swap_pte } from '../../mm/guard.js';
import { HPAGE_NR, PG_anon, PG_dirty, PG_ksm, PG_referenced, PG_swapbacked } from '../../mm/page_flags.js';
import { huge_pmd_at, pmd_table, thp_vma_allowable, thp_vma_suitable } from '../../mm/huge_memory.js';
import { vm_normal_page } from '../../mm/memory.js';
import {
  PAGE_SIZE,
  PMD_SIZE,
  TASK_SIZE,
  VM_EXEC,
  VM_HUGETLB,
  VM_LOCKED,
  VM_MAYSHARE,
  VM_READ,
  VM_WRITE,
  type MmStruct,
  type VmAreaStruct,
} from '../../mm/mm_types.js';
import { mmap_read_lock, mmap_read_unlock } from '../../mm/mmap_lock.js';
import { pte_present_k, pte_table, ptep_get } from '../../mm/pgtable.js';
import { swapOffset, swapType } from '../../mm/swapops.js';
import { ptePfn, PTE_ACCESSED, PTE_DIRTY } from '../../../hw/pagetable.js';
import { current } from '../../sched/task_struct.js';
import type { File, FilePos, IoBuf } from '../file_table.js';
import type { SeqBuf } from '../seq_file.js';
import { d_path } from '../dcache.js';
import { VfsFile } from '../vfs_file.js';
import { proc_task } from './array.js';

const PSS_SHIFT = 12;

/** struct mem_size_stats. */
class MemSizeStats {
  resident = 0;
  shared_clean = 0;
  shared_dirty = 0;
  private_clean = 0;
  private_dirty = 0;
  referenced = 0;
  anonymous = 0;
  lazyfree = 0;
  anonymous_thp = 0;
  shmem_thp = 0;
  file_thp = 0;
  swap = 0;
  ksm = 0;
  shared_hugetlb = 0;
  private_hugetlb = 0;
  /** In PAGE_SIZE << PSS_SHIFT units of bytes, as the kernel's u64 fixed point. */
  pss = 0;
  pss_anon = 0;
  pss_file = 0;
  pss_shmem = 0;
  pss_dirty = 0;
  pss_locked = 0;
  swap_pss = 0;
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/** show_map_vma(): an area's /proc/PID/maps line (also the header of its smaps entry). */
export function show_map_vma(m: SeqBuf, vma: VmAreaStruct): void {
  const f = vma.vmFlags;
  const perms = `${f & VM_READ ? 'r' : '-'}${f & VM_WRITE ? 'w' : '-'}${f & VM_EXEC ? 'x' : '-'}${f & VM_MAYSHARE ? 's' : 'p'}`;
  let pgoff = 0;
  let dev = '00:00';
  let ino = 0;
  let name = '';
  const file = vma.vmFile;
  if (file instanceof VfsFile) {
    pgoff = vma.vmPgoff * PAGE_SIZE;
    dev = file.inode.i_sb.s_type === 'proc' ? '00:02' : '00:01';
    ino = file.inode.i_ino;
    name = d_path(file.path);
  } else if (file) {
    name = '/dev/zero (deleted)';
  }
  let line = `${hex(vma.vmStart, 8)}-${hex(vma.vmEnd, 8)} ${perms} ${hex(pgoff, 8)} ${dev} ${ino} `;
  if (name) line = line.padEnd(73) + name;
  m.line(line);
}

/** smaps_page_accumulate(). */
function pageAccumulate(mss: MemSizeStats, f: number, size: number, pss: number, dirty: boolean, locked: boolean, priv: boolean): void {
  mss.pss += pss;
  if (f & PG_anon) mss.pss_anon += pss;
  else if (f & PG_swapbacked) mss.pss_shmem += pss;
  else mss.pss_file += pss;
  if (locked) mss.pss_locked += pss;
  if (dirty) {
    mss.pss_dirty += pss;
    if (priv) mss.private_dirty += size;
    else mss.shared_dirty += size;
  } else if (priv) mss.private_clean += size;
  else mss.shared_clean += size;
}

/** smaps_account() for one page (a PMD leaf passes each of its pages). */
function account(k: Kernel, mss: MemSizeStats, pfn: number, young: boolean, dirty: boolean, locked: boolean, present: boolean): void {
  const mm = k.mem_map;
  const f = mm.flags[pfn]!;
  const isDirty = dirty || (f & PG_dirty) !== 0;
  if (f & PG_anon) {
    mss.anonymous += PAGE_SIZE;
    if ((f & PG_swapbacked) === 0 && !isDirty) mss.lazyfree += PAGE_SIZE;
  }
  if (f & PG_ksm) mss.ksm += PAGE_SIZE;
  mss.resident += PAGE_SIZE;
  if (young || (f & PG_referenced) !== 0) mss.referenced += PAGE_SIZE;
  // A folio referenced only by this mapping, or a non-present entry: all of it, private when present.
  if (mm.refcount[pfn] === 1 || !present) {
    pageAccumulate(mss, f, PAGE_SIZE, PAGE_SIZE * 2 ** PSS_SHIFT, isDirty, locked, present);
    return;
  }
  const mapcount = mm.mapcount[pfn]!;
  let pss = PAGE_SIZE * 2 ** PSS_SHIFT;
  if (mapcount >= 2) pss = Math.floor(pss / mapcount);
  pageAccumulate(mss, f, PAGE_SIZE, pss, isDirty, locked, mapcount < 2);
}

/** smap_gather_stats(): walk the area's page tables. */
function gatherStats(t: Task, vma: VmAreaStruct, mss: MemSizeStats): void {
  const mm = vma.vmMm;
  const k = mm.k;
  const locked = (vma.vmFlags & VM_LOCKED) !== 0;
  for (let a = vma.vmStart; a < vma.vmEnd; ) {
    const next = Math.min(Math.floor(a / PMD_SIZE) * PMD_SIZE + PMD_SIZE, vma.vmEnd);
    if (huge_pmd_at(mm, a)) {
      // smaps_pmd_entry(): the whole leaf counts, page by page.
      const pd = pmd_table(t, mm, a);
      const e = k.machine.pt.readEntry(pd, tableIndex(a, 2));
      const head = ptePfn(e);
      const f = k.mem_map.flags[head]!;
      if (f & PG_anon) mss.anonymous_thp += PMD_SIZE;
      else if (f & PG_swapbacked) mss.shmem_thp += PMD_SIZE;
      else mss.file_thp += PMD_SIZE;
      for (let i = 0; i < HPAGE_NR; i++) account(k, mss, head + i, (e & PTE_ACCESSED) !== 0, (e & PTE_DIRTY) !== 0, locked, true);
      a = next;
      continue;
    }
    const table = pte_table(t, mm, a);
    if (table < 0) {
      a = next;
      continue;
    }
    for (; a < next; a += PAGE_SIZE) {
      const pte = ptep_get(t, mm, table, tableIndex(a, 1));
      if (pte === 0) continue;
      if (pte_present_k(pte)) {
        const pfn = vm_normal_page(k, pte);
        if (pfn >= 0) account(k, mss, pfn, (pte & PTE_ACCESSED) !== 0, (pte & PTE_DIRTY) !== 0, locked, true);
      } else if (is_real_swap_pte(pte)) {
        mss.swap += PAGE_SIZE;
        const count = k.swapInfo.mapCount(swapOffset(pte));
        mss.swap_pss += count >= 2 ? Math.floor((PAGE_SIZE * 2 ** PSS_SHIFT) / count) : PAGE_SIZE * 2 ** PSS_SHIFT;
      }
    }
  }
}

/** VmFlags mnemonics by bit (show_smap_vma_flags; bit 11 is VM_MAYBE_GUARD, 6.18). */
const MNEMONICS: readonly (string | null)[] = [
  'rd', 'wr', 'ex', 'sh', 'mr', 'mw', 'me', 'ms', 'gd', 'um', 'pf', 'gu', 'uw', 'lo', 'io', 'sr',
  'rr', 'dc', 'de', 'lf', 'ac', 'nr', 'ht', 'sf', 'ar', 'wf', 'dd', null /* sd: no CONFIG_MEM_SOFT_DIRTY */, 'mm', 'hg', 'nh', 'mg',
];

/** show_smap_vma_flags(): bits in order; VM_MAYBE_GUARD (bit 11), VM_DROPPABLE and VM_SEALED are fields of the model's area. */
function vmFlagsLine(vma: VmAreaStruct): string {
  let s = 'VmFlags: ';
  const f = vma.vmFlags >>> 0;
  for (let bit = 0; bit < 32; bit++) {
    const name = MNEMONICS[bit];
    const set = bit === 11 ? vma.maybeGuard : (f & (2 ** bit)) !== 0;
    if (name && set) s += name + ' ';
  }
  if (vma.droppable) s += 'dp ';
  if (vma.sealed) s += 'sl ';
  return s;
}

/** seq_put_decimal_ull_width(m, name, bytes >> 10, 8) and " kB". */
function kbLine(name: string, bytes: number): string {
  return `${(name + ':').padEnd(16)}${String(Math.floor(bytes / 1024)).padStart(8)} kB`;
}

/** THPeligible: thp_vma_allowable_orders(TVA_SMAPS): an order-9 extent fits somewhere in the area. */
function thpEligible(vma: VmAreaStruct): number {
  if (!thp_vma_allowable(vma)) return 0;
  const haddr = Math.floor((vma.vmEnd - PMD_SIZE) / PMD_SIZE) * PMD_SIZE;
  return thp_vma_suitable(vma, haddr) ? 1 : 0;
}

/** show_smap() for one area. */
function show_smap(t: Task, m: SeqBuf, vma: VmAreaStruct): void {
  const k = t.k;
  k.touch(t, vma.kaddr, false);
  const mss = new MemSizeStats();
  const huge = (vma.vmFlags & VM_HUGETLB) !== 0;
  if (!huge) gatherStats(t, vma, mss);
  else gatherHugetlb(t, vma, mss);
  show_map_vma(m, vma);
  const pageSize = huge ? PMD_SIZE : PAGE_SIZE;
  m.line(kbLine('Size', vma.vmEnd - vma.vmStart));
  m.line(kbLine('KernelPageSize', pageSize));
  m.line(kbLine('MMUPageSize', pageSize));
  show_mss(m, mss, false);
  m.line(`THPeligible:    ${String(thpEligible(vma)).padStart(8)}`);
  m.line(vmFlagsLine(vma));
}

/** __show_smap(): the sizes; the rollup adds Pss_Anon, Pss_File and Pss_Shmem. */
function show_mss(m: SeqBuf, mss: MemSizeStats, rollup: boolean): void {
  m.line(kbLine('Rss', mss.resident));
  m.line(kbLine('Pss', Math.floor(mss.pss / 2 ** PSS_SHIFT)));
  m.line(kbLine('Pss_Dirty', Math.floor(mss.pss_dirty / 2 ** PSS_SHIFT)));
  if (rollup) {
    m.line(kbLine('Pss_Anon', Math.floor(mss.pss_anon / 2 ** PSS_SHIFT)));
    m.line(kbLine('Pss_File', Math.floor(mss.pss_file / 2 ** PSS_SHIFT)));
    m.line(kbLine('Pss_Shmem', Math.floor(mss.pss_shmem / 2 ** PSS_SHIFT)));
  }
  m.line(kbLine('Shared_Clean', mss.shared_clean));
  m.line(kbLine('Shared_Dirty', mss.shared_dirty));
  m.line(kbLine('Private_Clean', mss.private_clean));
  m.line(kbLine('Private_Dirty', mss.private_dirty));
  m.line(kbLine('Referenced', mss.referenced));
  m.line(kbLine('Anonymous', mss.anonymous));
  m.line(kbLine('KSM', mss.ksm));
  m.line(kbLine('LazyFree', mss.lazyfree));
  m.line(kbLine('AnonHugePages', mss.anonymous_thp));
  m.line(kbLine('ShmemPmdMapped', mss.shmem_thp));
  m.line(kbLine('FilePmdMapped', mss.file_thp));
  // seq_put_decimal_ull_width(m, " kB\nShared_Hugetlb:  ", ..., 7): one more space, one less digit.
  m.line(`Shared_Hugetlb: ${String(Math.floor(mss.shared_hugetlb / 1024)).padStart(8)} kB`);
  m.line(`Private_Hugetlb: ${String(Math.floor(mss.private_hugetlb / 1024)).padStart(7)} kB`);
  m.line(kbLine('Swap', mss.swap));
  m.line(kbLine('SwapPss', Math.floor(mss.swap_pss / 2 ** PSS_SHIFT)));
  m.line(kbLine('Locked', Math.floor(mss.pss_locked / 2 ** PSS_SHIFT)));
}

/** smaps_hugetlb_range(): each present huge page, shared when mapped more than once. */
function gatherHugetlb(t: Task, vma: VmAreaStruct, mss: MemSizeStats): void {
  const mm = vma.vmMm;
  const k = mm.k;
  for (let a = vma.vmStart; a < vma.vmEnd; a += PMD_SIZE) {
    if (!huge_pmd_at(mm, a)) continue;
    const pd = pmd_table(t, mm, a);
    const head = ptePfn(k.machine.pt.readEntry(pd, tableIndex(a, 2)));
    if (k.mem_map.mapcount[head]! >= 2) mss.shared_hugetlb += PMD_SIZE;
    else mss.private_hugetlb += PMD_SIZE;
  }
}

/** show_smap() over every area of the task's mm (the seq_file's m_start/m_next walk). */
export function smaps_show(pid: number): (t: Task, m: SeqBuf) => number | undefined {
  return (t, m) => {
    // m_start(): the task first (ESRCH once it is gone), then its mm.
    const ts = proc_task(t.k, pid);
    if (!ts) return -ESRCH;
    const mm = ts.mm;
    if (!mm) return undefined;
    for (const vma of mm.vmas) show_smap(t, m, vma);
    return undefined;
  };
}

/**
 * show_smaps_rollup(): every area's sizes added up under one header line
 * from the first area's start to the last one's end (0-0 without areas),
 * named [rollup].
 */
export function smaps_rollup_show(pid: number): (t: Task, m: SeqBuf) => number | undefined {
  return (t, m) => {
    const ts = proc_task(t.k, pid);
    if (!ts) return -ESRCH;
    // The mm taken at open (proc_mem_open): none, or already released, is ESRCH.
    const mm = ts.mm;
    if (!mm) return -ESRCH;
    const mss = new MemSizeStats();
    for (const vma of mm.vmas) {
      t.k.touch(t, vma.kaddr, false);
      if (vma.vmFlags & VM_HUGETLB) gatherHugetlb(t, vma, mss);
      else gatherStats(t, vma, mss);
    }
    const start = mm.vmas.length > 0 ? mm.vmas[0]!.vmStart : 0;
    const end = mm.vmas.length > 0 ? mm.vmas[mm.vmas.length - 1]!.vmEnd : 0;
    m.line(`${hex(start, 8)}-${hex(end, 8)} ---p 00000000 00:00 0 `.padEnd(73) + '[rollup]');
    show_mss(m, mss, true);
    return undefined;
  };
}

// ---- pagemap ----

const PM_PRESENT = 1n << 63n;
const PM_SWAP = 1n << 62n;
const PM_FILE = 1n << 61n;
const PM_GUARD_REGION = 1n << 58n;
const PM_MMAP_EXCLUSIVE = 1n << 56n;
const PM_PFRAME_MASK = (1n << 55n) - 1n;

/** What a pagemap read hands the reader: the entries, when the caller keeps them. */
export interface PagemapBuf extends IoBuf {
  entries?: bigint[];
}

/** pte_to_pagemap_entry(). */
function pteEntry(k: Kernel, pte: number, showPfn: boolean): bigint {
  if (pte === 0) return 0n;
  let frame = 0n;
  let flags = 0n;
  let page = -1;
  if (pte_present_k(pte)) {
    if (showPfn) frame = BigInt(ptePfn(pte));
    flags |= PM_PRESENT;
    page = vm_normal_page(k, pte);
  } else {
    flags |= PM_SWAP;
    if (is_guard_pte_marker(pte)) flags |= PM_GUARD_REGION;
    else if (showPfn) frame = BigInt(swapType(pte)) | (BigInt(swapOffset(pte)) << 5n); // MAX_SWAPFILES_SHIFT
  }
  if (page >= 0) {
    if ((k.mem_map.flags[page]! & PG_anon) === 0) flags |= PM_FILE;
    if ((flags & PM_PRESENT) !== 0n && k.mem_map.mapcount[page] === 1) flags |= PM_MMAP_EXCLUSIVE;
  }
  return (frame & PM_PFRAME_MASK) | flags;
}

/** The entries of [start, end) within mm (pagemap_pmd_range / pagemap_pte_hole over walk_page_range). */
function walkPagemap(t: Task, mm: MmStruct, start: number, end: number, showPfn: boolean, out: bigint[]): void {
  const k = mm.k;
  let a = start;
  for (const vma of mm.vmas) {
    if (vma.vmEnd <= a) continue;
    if (a >= end) break;
    // A hole before the area: no VM_SOFTDIRTY here, so zeros.
    for (; a < Math.min(vma.vmStart, end); a += PAGE_SIZE) out.push(0n);
    const stop = Math.min(vma.vmEnd, end);
    k.touch(t, vma.kaddr, false);
    while (a < stop) {
      const next = Math.min(Math.floor(a / PMD_SIZE) * PMD_SIZE + PMD_SIZE, stop);
      if (huge_pmd_at(mm, a)) {
        const pd = pmd_table(t, mm, a);
        const e = k.machine.pt.readEntry(pd, tableIndex(a, 2));
        const head = ptePfn(e);
        for (; a < next; a += PAGE_SIZE) {
          const pfn = head + ((a % PMD_SIZE) / PAGE_SIZE);
          let v = PM_PRESENT | (showPfn ? BigInt(pfn) : 0n);
          if ((k.mem_map.flags[head]! & PG_anon) === 0) v |= PM_FILE;
          // A hugetlb folio's mapcount is its head's (pagemap_hugetlb_range); a THP's per page.
          if (k.mem_map.mapcount[vma.vmFlags & VM_HUGETLB ? head : pfn] === 1) v |= PM_MMAP_EXCLUSIVE;
          out.push(v);
        }
        continue;
      }
      const table = pte_table(t, mm, a);
      if (table < 0) {
        for (; a < next; a += PAGE_SIZE) out.push(0n);
        continue;
      }
      for (; a < next; a += PAGE_SIZE) out.push(pteEntry(k, ptep_get(t, mm, table, tableIndex(a, 1)), showPfn));
    }
  }
  for (; a < end; a += PAGE_SIZE) out.push(0n);
}

/**
 * pagemap_read(): `len` bytes of entries from the file position (both
 * multiples of 8, else EINVAL); a position past the task's address space
 * reads 0 bytes.
 */
export function* pagemap_read(t: Task, file: File, pid: number, len: number, buf: IoBuf | null, ppos: FilePos = file): Blocking<number> {
  const k = t.k;
  const ts = k.findTask(pid);
  const mm = ts?.mm;
  if (!mm) return -ESRCH;
  const at = ppos.f_pos;
  // A position past 2^53 (rw_verify_area refused a negative one) is past the address space's entries.
  if (typeof at === 'bigint') return at % 8n !== 0n || len % 8 !== 0 ? -EINVAL : 0;
  const pos = at;
  if (pos % 8 !== 0 || len % 8 !== 0) return -EINVAL;
  if (len === 0) return 0;
  // file_ns_capable(file, CAP_SYS_ADMIN): the opener's credentials (the reader here).
  const showPfn = current(t).cred.capSysAdmin;
  const startVaddr = (pos / 8) * PAGE_SIZE;
  if (startVaddr >= TASK_SIZE) return 0;
  const endVaddr = Math.min(startVaddr + (len / 8) * PAGE_SIZE, TASK_SIZE);
  yield* mmap_read_lock(t, mm);
  const entries: bigint[] = [];
  walkPagemap(t, mm, startVaddr, endVaddr, showPfn, entries);
  mmap_read_unlock(t, mm);
  const n = entries.length * 8;
  t.charge(Math.ceil((k.cfg.cost.copy_page * n) / PAGE_SIZE));
  const pb = buf as PagemapBuf | null;
  if (pb) {
    for (const e of entries) for (let b = 0n; b < 64n; b += 8n) pb.sum += Number((e >> b) & 0xffn);
    if (pb.bytes) for (const e of entries) for (let b = 0n; b < 64n; b += 8n) pb.bytes.push(Number((e >> b) & 0xffn));
    if (pb.entries) pb.entries.push(...entries);
  }
  ppos.f_pos = pos + n;
  return n;
}
