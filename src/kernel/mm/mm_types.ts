/**
 * mm_struct, vm_area_struct and anon_vma, after include/linux/mm_types.h and
 * include/linux/mm.h: an address space, its areas and their flags.
 *
 * The VMAs of an mm live in `vmas`, sorted by start address and never
 * overlapping; this stands in for the maple tree (vma.ts charges its walks
 * as the tree's node visits through the cache model).
 */
import type { Task } from '../../sim/task.js';
import type { Completion, WaitQueue } from '../../sim/wait.js';
import type { Kernel } from '../kernel.js';
import type { RwSemaphore } from '../locking/rwsem.js';
import type { AddressSpace } from './filemap.js';
import { PAGE_SHIFT, PAGE_SIZE } from '../../hw/types.js';

// ---- vm_flags (include/linux/mm.h) ----
export const VM_NONE = 0;
export const VM_READ = 0x1;
export const VM_WRITE = 0x2;
export const VM_EXEC = 0x4;
export const VM_SHARED = 0x8;
export const VM_MAYREAD = 0x10;
export const VM_MAYWRITE = 0x20;
export const VM_MAYEXEC = 0x40;
export const VM_MAYSHARE = 0x80;
export const VM_GROWSDOWN = 0x100;
export const VM_UFFD_MISSING = 0x200;
export const VM_PFNMAP = 0x400;
export const VM_UFFD_WP = 0x1000;
export const VM_LOCKED = 0x2000;
export const VM_IO = 0x4000;
export const VM_SEQ_READ = 0x8000;
export const VM_RAND_READ = 0x10000;
export const VM_DONTCOPY = 0x20000;
export const VM_DONTEXPAND = 0x40000;
export const VM_LOCKONFAULT = 0x80000;
export const VM_ACCOUNT = 0x100000;
export const VM_NORESERVE = 0x200000;
export const VM_HUGETLB = 0x400000;
export const VM_SYNC = 0x800000;
export const VM_ARCH_1 = 0x1000000;
export const VM_WIPEONFORK = 0x2000000;
export const VM_DONTDUMP = 0x4000000;
export const VM_SOFTDIRTY = 0x8000000;
export const VM_MIXEDMAP = 0x10000000;
export const VM_HUGEPAGE = 0x20000000;
export const VM_NOHUGEPAGE = 0x40000000;
/** Bit 31: as a JS int32 this is negative; flags are compared with `&` and `===`, never `<`. */
export const VM_MERGEABLE = 0x80000000 | 0;

export const VM_ACCESS_FLAGS = VM_READ | VM_WRITE | VM_EXEC;
export const VM_LOCKED_MASK = VM_LOCKED | VM_LOCKONFAULT;
/** Areas that never merge, are never mlocked and are not normal memory (include/linux/mm.h VM_SPECIAL). */
export const VM_SPECIAL = VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP;
/** Flags that do not stop two areas merging (VM_IGNORE_MERGE). */
export const VM_IGNORE_MERGE = VM_SOFTDIRTY;
/** Flags mprotect may change besides the access bits (VM_FLAGS_CLEAR: the arch pkey bits, here none). */
export const VM_FLAGS_CLEAR = 0;

// ---- address-space layout (arch/x86/include/asm/page_64_types.h, processor.h) ----
/** The hardware's page size (hw/types.ts): the kernel's PAGE_SIZE is the MMU's. */
export { PAGE_SHIFT, PAGE_SIZE };
/** TASK_SIZE_MAX with 4-level paging: 2^47 minus the guard page. */
export const TASK_SIZE = 2 ** 47 - PAGE_SIZE;
export const PMD_SIZE = 2 ** 21;
export const PUD_SIZE = 2 ** 30;
export const PGDIR_SIZE = 2 ** 39;
/** mm/util.c mmap_base(): the gap below the stack is at least 128 MiB. */
export const MMAP_GAP_MIN = 128 * 2 ** 20;
/**
 * Where a new program's heap starts: past its image, as load_elf_binary
 * puts it (arch_randomize_brk offsets it by up to 32 MiB; with no ASLR
 * modelled it is this fixed, page-aligned address of a PIE's usual range).
 */
export const BRK_BASE = 0x555555560000;
/** vm.max_map_count default (DEFAULT_MAX_MAP_COUNT). */
export const DEFAULT_MAX_MAP_COUNT = 65530;

// ---- rss counters (include/linux/mm_types_task.h) ----
export const MM_FILEPAGES = 0;
export const MM_ANONPAGES = 1;
export const MM_SWAPENTS = 2;
export const MM_SHMEMPAGES = 3;
export const NR_MM_COUNTERS = 4;

/**
 * What the mm needs of a struct file that is mapped: the page cache it maps
 * and the open mode. The VFS's file object implements this; get/put keep it
 * alive while areas map it (get_file / fput).
 */
export interface VmFile {
  readonly mapping: AddressSpace;
  readonly readable: boolean;
  readonly writable: boolean;
  /** Opened O_APPEND on an append-only inode (mmap refuses shared writable maps of it). */
  readonly appendOnly?: boolean;
  /** can_do_mincore(): the opener owns the file or may write it (false: mincore reports all resident). */
  readonly mincoreAllowed?: boolean;
  /** path_noexec(): the file's mount is noexec (anon_inodefs, which holds inotify's files): PROT_EXEC is EPERM. */
  readonly noexec?: boolean;
  get?(): void;
  put?(t: Task): void;
  /** A memfd sealed against writing (F_SEAL_WRITE or F_SEAL_FUTURE_WRITE): no shared writable mapping (memfd_check_seals_mmap). */
  readonly writeSealed?: boolean;
  /** The file's ->mmap makes the area anonymous memory (/dev/zero's mmap_zero): nothing of the file is mapped. */
  readonly mmapAnonymous?: boolean;
}

/**
 * struct anon_vma: the reverse map of anonymous pages. Every page an area
 * faults in is owned by the area's anon_vma; after fork a child's area is
 * linked into each anon_vma of its parent's area (anon_vma_clone) plus a new
 * one of its own, so an rmap walk from a page finds every area that may map
 * it. `vmas` is the anon_vma's interval tree of anon_vma_chain entries.
 */
export class AnonVma {
  /** Root of the fork hierarchy; its id is what pages record as their owner. */
  root: AnonVma;
  /** Areas linked to this anon_vma (the anon_vma_chain entries in its tree). */
  readonly vmas: VmAreaStruct[] = [];
  /** Areas and child anon_vmas holding this anon_vma (the kernel's refcount plus degree). */
  refcount = 0;
  /** Pages whose owner is this anon_vma (kept so that it outlives its areas while pages remain). */
  pages = 0;

  constructor(
    readonly id: number,
    readonly parent: AnonVma | null,
    /** Kernel address of the object, for cache-modelled accesses. */
    readonly kaddr: number,
  ) {
    this.root = parent ? parent.root : this;
  }
}

/** struct vm_area_struct. */
export class VmAreaStruct {
  vmStart: number;
  vmEnd: number;
  vmFlags: number;
  /** Offset in pages into the file; for a private anonymous area, vmStart >> PAGE_SHIFT at creation. */
  vmPgoff: number;
  vmFile: VmFile | null;
  /** PTE flags a new mapping in this area gets (vm_page_prot). */
  vmPageProt = 0;
  /** The anon_vma new anonymous pages get; null until the first one (anon_vma_prepare). */
  anonVma: AnonVma | null = null;
  /** Every anon_vma this area is linked into, own one included (anon_vma_chain). */
  anonVmaChain: AnonVma[] = [];
  /** Per-VMA lock sequence: equal to mm.mmLockSeq while a writer holding mmap_lock has write-locked this area. */
  vmLockSeq = -1;
  /** Faults holding the per-VMA read lock (vma_start_read); a writer waits for them to leave. */
  vmReaders = 0;
  /** Detached from its mm (unmapped), kept only until freed. */
  detached = false;
  /** VM_DROPPABLE (a high vm_flags bit in Linux; the model's flags are 32-bit): MAP_DROPPABLE memory, never mlocked. */
  droppable = false;
  /** VM_MAYBE_GUARD: guard markers may be installed here, so fork copies the page tables even of a shared area. */
  maybeGuard = false;
  /** VM_SEALED (mseal; a high vm_flags bit in Linux): the area cannot be unmapped, moved, reprotected or discarded. */
  sealed = false;
  /** A private hugetlb area's reservations (vm_private_data's resv_map, HPAGE_RESV_OWNER): shared by its split pieces, none in a fork child. */
  hugetlbResv: { readonly pending: Set<number> } | null = null;
  /**
   * HPAGE_RESV_UNMAPPED: the owner of this private hugetlb area's pages
   * unmapped one of them from it to copy it without a free page
   * (unmap_ref_private): any later no-page fault in the area is SIGBUS.
   */
  hugetlbUnmapped = false;

  constructor(
    readonly vmMm: MmStruct,
    start: number,
    end: number,
    flags: number,
    pgoff: number,
    file: VmFile | null,
    /** Kernel address of the object (kmalloc'd), for cache-modelled accesses. */
    readonly kaddr: number,
  ) {
    this.vmStart = start;
    this.vmEnd = end;
    this.vmFlags = flags;
    this.vmPgoff = pgoff;
    this.vmFile = file;
  }

  /** Pages spanned (vma_pages). */
  get pages(): number {
    return (this.vmEnd - this.vmStart) / PAGE_SIZE;
  }

  /** vma_is_anonymous: no file (shared anonymous areas carry a shmem file). */
  get isAnonymous(): boolean {
    return this.vmFile === null;
  }

  /** is_cow_mapping: private and may become writable. */
  get isCow(): boolean {
    return (this.vmFlags & (VM_SHARED | VM_MAYWRITE)) === VM_MAYWRITE;
  }

  toString(): string {
    return `vma[0x${this.vmStart.toString(16)}-0x${this.vmEnd.toString(16)} flags 0x${(this.vmFlags >>> 0).toString(16)}]`;
  }
}

/** struct mm_struct, with x86's mm_context_t folded in (ctx_id, tlb_gen). */
export class MmStruct {
  /** Areas sorted by vmStart (the maple tree). */
  readonly vmas: VmAreaStruct[] = [];
  /** PML4 frame (mm->pgd). */
  pgd: number;
  mmapBase: number;
  readonly taskSize = TASK_SIZE;
  mapCount = 0;
  /** Pages mapped, locked, and by type (vm_stat_account). */
  totalVm = 0;
  lockedVm = 0;
  /**
   * Pages locked_vm still counts for areas mremap(MREMAP_DONTUNMAP) unlocked:
   * dontunmap_complete clears VM_LOCKED on the source without taking its
   * pages off locked_vm ("we won't unmap"), and nothing takes them off
   * later (on the 6.18 host VmLck stays 4 kB after both areas are unmapped).
   * The invariant checks count them (locked_vm = VM_LOCKED pages + these).
   */
  lockedVmUnlocked = 0;
  dataVm = 0;
  execVm = 0;
  stackVm = 0;
  /** Flags every new area gets (mlockall MCL_FUTURE sets VM_LOCKED here). */
  defFlags = 0;
  /** rss counters by MM_* type. */
  readonly rss = new Float64Array(NR_MM_COUNTERS);
  pgtablesBytes = 0;
  /** mm_users: threads (and temporary users) of the address space. */
  users = 1;
  /** mm_count: references that keep the struct alive (users as one, plus lazy-TLB borrowers). */
  count = 1;
  /** CPUs that may hold TLB entries of this mm (mm_cpumask). */
  readonly cpumask: Uint8Array;
  /** context.tlb_gen: bumped by every flush request. */
  tlbGen = 1;
  /** context.next_trim_cpumask, in jiffies. */
  nextTrimCpumask = 0;
  /** mm->tlb_flush_pending: mmu_gathers in progress (page-table entries changed, TLB flush not yet done). */
  tlbFlushPending = 0;
  /** Bumped when a writer drops mmap_lock: per-VMA write locks taken under it end there. */
  mmLockSeq = 0;
  /** Writers waiting for per-VMA readers to leave (vma_start_write's wait), created on first use. */
  vmaWaitq: WaitQueue | null = null;
  /**
   * PTE tables whose split lock a path holds across a wait (ptep_clear_flush
   * spins for flush acknowledgements with the lock held): others spin on the
   * completion before touching the table.
   */
  readonly ptlHeld = new Map<number, Completion>();
  /**
   * Areas already detached from the tree whose PTEs a munmap (or a MAP_FIXED
   * mmap over them) is still zapping (vms_clear_ptes): the zap may wait for
   * a flush's IPIs, and sys_munmap does it under the downgraded read lock, so
   * others run while these PTEs outlive their areas, as on Linux, where the
   * detached areas stay on the unmapper's own list until the zap is done.
   */
  readonly zapping = new Set<VmAreaStruct>();
  /** The address space is being torn down (exit_mmap has started). */
  exiting = false;
  /** The heap: where it starts (start_brk, fixed at exec) and the current break (brk(2) moves it). */
  startBrk = BRK_BASE;
  brk = BRK_BASE;
  /** MMF_DISABLE_THP (prctl PR_SET_THP_DISABLE): no huge pages for this process; inherited across fork. */
  thpDisabled = false;

  constructor(
    readonly k: Kernel,
    /** context.ctx_id: unique, never reused. */
    readonly id: number,
    pgd: number,
    mmapBase: number,
    readonly mmapLock: RwSemaphore,
    /** Kernel address of the struct (its counters' cache lines). */
    readonly kaddr: number,
    /** Kernel address of the maple tree's nodes (vma.ts charges tree walks against it). */
    readonly mtKaddr: number,
  ) {
    this.pgd = pgd;
    this.mmapBase = mmapBase;
    this.cpumask = new Uint8Array(k.cfg.cpus);
  }

  /** get_mm_rss. */
  get rssPages(): number {
    return this.rss[MM_FILEPAGES]! + this.rss[MM_ANONPAGES]! + this.rss[MM_SHMEMPAGES]!;
  }
}
