/**
 * mprotect(2), after mm/mprotect.c: the argument checks, the walk over the
 * areas of the range (a hole is ENOMEM, a protection the area may not have
 * is EACCES), mprotect_fixup (overcommit charge when private memory becomes
 * writable, split or merge through vma_modify_flags) and change_protection,
 * which rewrites the present PTEs and gathers the ones whose change needs a
 * TLB flush (x86's pte_needs_flush), flushed once at the end.
 */
import { hugetlb_change_protection, hugetlb_may_split, is_hugetlb_file } from './hugetlb.js';
import { makePte, PTE_DIRTY, PTE_RW, ptePfn, pteFlags, tableIndex } from '../../hw/pagetable.js';
import { PG_anon } from './page_flags.js';
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { EACCES, EINVAL, ENOMEM, EPERM } from '../errno.js';
import { current } from '../sched/task_struct.js';
import { syscall } from '../syscalls.js';
import { vm_normal_page } from './memory.js';
import { walk_pte_tables } from './memory_zap.js';
import { PAGE_SIZE, TASK_SIZE, VM_ACCESS_FLAGS, VM_ACCOUNT, VM_FLAGS_CLEAR, VM_GROWSDOWN, VM_HUGETLB, VM_LOCKED, VM_NORESERVE, VM_SHARED, VM_WRITE, type MmStruct, type VmAreaStruct } from './mm_types.js';
import { mmap_write_lock, mmap_write_unlock } from './mmap_lock.js';
import { tlb_finish_mmu, tlb_flush_pte_range, tlb_gather_mmu, type MmuGather } from './mmu_gather.js';
import { populate_range } from './gup.js';
import { ptl_wait, pte_lock, pte_modify, pte_needs_flush, pte_present_k, pte_protnone, pte_unlock, ptep_get, set_pte_at, vma_wants_writenotify } from './pgtable.js';
import { PG_anon_exclusive } from './rmap.js';
import { PROT_EXEC, PROT_GROWSDOWN, PROT_GROWSUP, PROT_READ, PROT_SEM, PROT_WRITE, page_align, u64 } from './uapi.js';
import { calc_vm_prot_bits } from './mmap.js';
import { vm_enough_memory, vm_stat_account, vm_unacct_memory } from './util.js';
import { find_vma_intersection, vma_start_write_range, vm_flags_reset, vma_index, vma_modify_flags } from './vma.js';

const CAT_MPROTECT_FIXUP = intern('mprotect_fixup');
const CAT_CHANGE_PROTECTION = intern('change_protection');

/** change_protection's "try to make writable" (MM_CP_TRY_CHANGE_WRITABLE). */
const MM_CP_TRY_CHANGE_WRITABLE = 1;

/** can_change_pte_writable(): may this PTE become writable now, without the write fault deciding? */
function canChangePteWritable(vma: VmAreaStruct, pte: number): boolean {
  if (pte_protnone(pte)) return false;
  const k = vma.vmMm.k;
  if (!(vma.vmFlags & VM_SHARED)) {
    const pfn = vm_normal_page(k, pte);
    const f = pfn >= 0 ? k.mem_map.flags[pfn]! : 0;
    return pfn >= 0 && (f & PG_anon) !== 0 && (f & PG_anon_exclusive) !== 0;
  }
  return (pteFlags(pte) & PTE_DIRTY) !== 0;
}

/** change_pte_range(): apply the area's vm_page_prot to the present PTEs of one table. */
function* changePteRange(t: Task, tlb: MmuGather, vma: VmAreaStruct, table: number, addr: number, end: number, cpFlags: number): Blocking<void> {
  const mm = vma.vmMm;
  yield* ptl_wait(t, mm, table);
  pte_lock(t, mm, table);
  for (; addr < end; addr += PAGE_SIZE) {
    const idx = tableIndex(addr, 1);
    const old = ptep_get(t, mm, table, idx);
    if (!pte_present_k(old)) continue;
    let pte = pte_modify(old, vma.vmPageProt);
    if (cpFlags & MM_CP_TRY_CHANGE_WRITABLE && (pte & PTE_RW) === 0 && canChangePteWritable(vma, pte)) {
      pte = makePte(ptePfn(pte), pteFlags(pte) | PTE_RW);
    }
    if (pte === old) continue;
    set_pte_at(t, mm, table, idx, pte);
    if (pte_needs_flush(old, pte)) tlb_flush_pte_range(tlb, addr, PAGE_SIZE);
  }
  pte_unlock(t, mm, table);
}

/** change_protection(): [start, end) of the area gets its (new) vm_page_prot. */
export function* change_protection(t: Task, tlb: MmuGather, vma: VmAreaStruct, start: number, end: number, cpFlags: number): Blocking<void> {
  t.enter(CAT_CHANGE_PROTECTION);
  if (is_hugetlb_file(vma.vmFile)) {
    hugetlb_change_protection(t, tlb, vma, start, end);
    t.leave();
    return;
  }
  yield* walk_pte_tables(t, vma.vmMm, start, end, (table, a, n) => changePteRange(t, tlb, vma, table, a, n, cpFlags));
  t.leave();
}

/** vma_wants_manual_pte_write_upgrade(). */
function wantsManualWriteUpgrade(vma: VmAreaStruct): boolean {
  if (vma.vmFlags & VM_SHARED) return vma_wants_writenotify(vma);
  return (vma.vmFlags & VM_WRITE) !== 0;
}

/**
 * mprotect_fixup(): give [start, end) of `vma` the flags `newflags`.
 * Returns the area now holding the range (the next `prev`) or -errno.
 */
export function* mprotect_fixup(t: Task, tlb: MmuGather, vma: VmAreaStruct, prev: VmAreaStruct | null, start: number, end: number, newflags: number): Blocking<VmAreaStruct | number> {
  const mm = vma.vmMm;
  const oldflags = vma.vmFlags;
  // can_modify_vma(): a sealed area keeps its protection.
  if (vma.sealed) return -EPERM;
  if (newflags === oldflags) return vma;
  // hugetlb_vm_op_split(): a hugetlb area splits only at huge page boundaries.
  if ((start > vma.vmStart && hugetlb_may_split(vma, start)) || (end < vma.vmEnd && hugetlb_may_split(vma, end))) return -EINVAL;
  t.enter(CAT_MPROTECT_FIXUP);
  const nrpages = (end - start) / PAGE_SIZE;
  let charged = 0;
  if (newflags & VM_WRITE) {
    if (!(oldflags & (VM_ACCOUNT | VM_WRITE | VM_HUGETLB | VM_SHARED | VM_NORESERVE))) {
      charged = nrpages;
      if (vm_enough_memory(current(t), mm, charged)) {
        t.leave();
        return -ENOMEM;
      }
      newflags |= VM_ACCOUNT;
    }
  } else if (oldflags & VM_ACCOUNT && vma.isAnonymous && !vma.anonVma) {
    newflags &= ~VM_ACCOUNT;
  }
  const v = vma_modify_flags(t, prev, vma, start, end, newflags);
  if (!v) {
    if (charged) vm_unacct_memory(mm, charged);
    t.leave();
    return -ENOMEM;
  }
  vm_flags_reset(t, v, newflags);
  yield* change_protection(t, tlb, v, start, end, wantsManualWriteUpgrade(v) ? MM_CP_TRY_CHANGE_WRITABLE : 0);
  if (oldflags & VM_ACCOUNT && !(newflags & VM_ACCOUNT)) vm_unacct_memory(mm, nrpages);
  // A private locked area becoming writable breaks COW now rather than at the next access.
  if ((oldflags & (VM_WRITE | VM_SHARED | VM_LOCKED)) === VM_LOCKED && newflags & VM_WRITE) yield* populate_range(t, v, start, end);
  vm_stat_account(mm, oldflags, -nrpages);
  vm_stat_account(mm, newflags, nrpages);
  t.leave();
  return v;
}

/** do_mprotect_pkey() with the mm locked for writing; start/end validated numbers. */
function* mprotectLocked(t: Task, mm: MmStruct, start: number, end: number, prot: number, grows: number): Blocking<number> {
  yield* vma_start_write_range(t, mm, start, end);
  let vma = find_vma_intersection(t, mm, start, end);
  if (!vma) return -ENOMEM;
  if (grows & PROT_GROWSDOWN) {
    if (vma.vmStart >= end) return -ENOMEM;
    start = vma.vmStart;
    if (!(vma.vmFlags & VM_GROWSDOWN)) return -EINVAL;
  } else {
    if (vma.vmStart > start) return -ENOMEM;
    // VM_GROWSUP does not exist on x86 (it is VM_NONE), so PROT_GROWSUP always fails.
    if (grows & PROT_GROWSUP) return -EINVAL;
  }
  let i = vma_index(mm, vma.vmStart);
  let prev: VmAreaStruct | null = i > 0 ? mm.vmas[i - 1]! : null;
  if (start > vma.vmStart) prev = vma;
  const tlb = tlb_gather_mmu(t, mm);
  let nstart = start;
  let tmp = vma.vmStart;
  let error = 0;
  const newProt = calc_vm_prot_bits(prot);
  for (;;) {
    i = vma_index(mm, nstart);
    vma = mm.vmas[i] ?? null;
    if (!vma || vma.vmStart >= end) break;
    if (vma.vmStart !== tmp) {
      error = -ENOMEM;
      break;
    }
    const newflags = newProt | (vma.vmFlags & ~(VM_ACCESS_FLAGS | VM_FLAGS_CLEAR));
    // VM_MAY* sit four bits above their VM_* counterparts.
    if ((newflags & ~(newflags >> 4)) & VM_ACCESS_FLAGS) {
      error = -EACCES;
      break;
    }
    tmp = Math.min(vma.vmEnd, end);
    const r = yield* mprotect_fixup(t, tlb, vma, prev, nstart, tmp, newflags);
    if (typeof r === 'number') {
      error = r;
      break;
    }
    prev = r;
    tmp = r.vmEnd;
    nstart = tmp;
    if (nstart >= end) break;
  }
  yield* tlb_finish_mmu(t, tlb);
  if (!error && tmp < end) error = -ENOMEM;
  return error;
}

/** mprotect(2) with the raw 64-bit arguments. Returns 0 or -errno. */
export function sys_mprotect(t: Task, start: number | bigint, len: number | bigint, prot: number | bigint): Blocking<number> {
  return syscall(t, 'mprotect', doMprotect(t, u64(start), u64(len), u64(prot)));
}

function* doMprotect(t: Task, start: bigint, lenIn: bigint, protIn: bigint): Blocking<number> {
  const mm = current(t).mm;
  if (!mm) return -EINVAL;
  const grows = Number(protIn & BigInt(PROT_GROWSDOWN | PROT_GROWSUP));
  const prot = protIn & ~BigInt(PROT_GROWSDOWN | PROT_GROWSUP);
  if (grows === (PROT_GROWSDOWN | PROT_GROWSUP)) return -EINVAL;
  if (start & 4095n) return -EINVAL;
  if (lenIn === 0n) return 0;
  const len = page_align(lenIn);
  const end = start + len;
  if (end > (1n << 64n) - 1n || end <= start) return -ENOMEM;
  // arch_validate_prot(): only the four PROT bits.
  if (prot & ~BigInt(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM)) return -EINVAL;
  const top = BigInt(TASK_SIZE) + BigInt(PAGE_SIZE);
  yield* mmap_write_lock(t, mm);
  const r = start >= BigInt(TASK_SIZE) ? -ENOMEM : yield* mprotectLocked(t, mm, Number(start), Number(end < top ? end : top), Number(prot), grows);
  mmap_write_unlock(t, mm);
  return r;
}
