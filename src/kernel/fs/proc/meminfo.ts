/**
 * /proc/meminfo (fs/proc/meminfo.c) and /proc/vmstat (mm/vmstat.c): the
 * simulator's memory state in Linux's format, from the frames, the page
 * caches, the LRU lists, the swap area, the slab and the event counters.
 * Each show reads the figures it prints (a line of kernel work each); the
 * kernel's per-CPU counter folding is not modelled.
 */
import { PG_dirty, PG_swapcache } from '../../mm/page_flags.js';
import type { Task } from '../../../sim/task.js';
import type { Kernel } from '../../kernel.js';
import { mmCore } from '../../mm/core.js';
import { hugetlb_meminfo } from '../../mm/hugetlb.js';
import { MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES, MM_SWAPENTS } from '../../mm/mm_types.js';
import { LRU_ACTIVE_ANON, LRU_ACTIVE_FILE, LRU_INACTIVE_ANON, LRU_INACTIVE_FILE } from '../../mm/swap.js';
import type { SeqBuf } from '../seq_file.js';

function kb(m: SeqBuf, name: string, pages: number): void {
  m.line(`${(name + ':').padEnd(16)}${String(Math.round(pages * 4)).padStart(8)} kB`);
}

function kbBytes(m: SeqBuf, name: string, bytes: number): void {
  m.line(`${(name + ':').padEnd(16)}${String(Math.floor(bytes / 1024)).padStart(8)} kB`);
}

/** The LRU list sizes. */
function lruSizes(k: Kernel): Float64Array {
  return k.lruvec.size;
}

/** Swap pages in total and free (none before swapon). */
function swapFigures(k: Kernel): { total: number; free: number } {
  const si = k.swapInfo;
  return { total: si.pages, free: si.pages - si.inuse };
}

/** meminfo_proc_show(). */
export function meminfo_show(t: Task, m: SeqBuf): void {
  const k = t.k;
  const mem = k.machine.mem;
  const memmap = k.mem_map;
  const core = mmCore(k);
  let cached = 0;
  let shmem = 0;
  let dirty = 0;
  let swapcache = 0;
  for (const mapping of core.mappings.values()) {
    k.touch(t, mapping.kaddr, false);
    for (const pfn of mapping.pages.values()) {
      const f = memmap.flags[pfn]!;
      if (f & PG_dirty) dirty++;
      if (f & PG_swapcache) swapcache++;
    }
    if (mapping.shmem) shmem += mapping.nrpages;
    cached += mapping.nrpages;
  }
  let anon = 0;
  let mapped = 0;
  let pgtables = 0;
  for (const mm of core.mms.values()) {
    anon += mm.rss[MM_ANONPAGES]!;
    mapped += mm.rss[MM_FILEPAGES]! + mm.rss[MM_SHMEMPAGES]!;
    pgtables += mm.pgtablesBytes;
  }
  const lru = lruSizes(k);
  const swap = swapFigures(k);
  const free = memmap.freeCount;
  kb(m, 'MemTotal', mem.totalFrames);
  kb(m, 'MemFree', free);
  kb(m, 'MemAvailable', free + lru[LRU_INACTIVE_FILE]! + lru[LRU_ACTIVE_FILE]!);
  kb(m, 'Buffers', 0);
  kb(m, 'Cached', cached - swapcache);
  kb(m, 'SwapCached', swapcache);
  kb(m, 'Active', lru[LRU_ACTIVE_ANON]! + lru[LRU_ACTIVE_FILE]!);
  kb(m, 'Inactive', lru[LRU_INACTIVE_ANON]! + lru[LRU_INACTIVE_FILE]!);
  kb(m, 'Active(anon)', lru[LRU_ACTIVE_ANON]!);
  kb(m, 'Inactive(anon)', lru[LRU_INACTIVE_ANON]!);
  kb(m, 'Active(file)', lru[LRU_ACTIVE_FILE]!);
  kb(m, 'Inactive(file)', lru[LRU_INACTIVE_FILE]!);
  kb(m, 'SwapTotal', swap.total);
  kb(m, 'SwapFree', swap.free);
  kb(m, 'Dirty', dirty);
  kb(m, 'AnonPages', anon);
  kb(m, 'Mapped', mapped);
  kb(m, 'Shmem', shmem);
  kbBytes(m, 'Slab', k.slab.bytesInUse);
  kbBytes(m, 'PageTables', pgtables);
  kb(m, 'Committed_AS', core.committedPages);
  for (const line of hugetlb_meminfo(k)) m.line(line);
}

/** The /proc/vmstat names the simulator keeps, in the kernel's order (vmstat_text). */
const VMSTAT_EVENTS = [
  'pgalloc_normal',
  'allocstall_normal',
  'pgfree',
  'pgactivate',
  'pgdeactivate',
  'pglazyfree',
  'pgfault',
  'pgmajfault',
  'pglazyfreed',
  'pgrefill',
  'pgrotated',
  'pswpin',
  'pswpout',
  'pageoutrun',
  'oom_kill',
  'nr_tlb_remote_flush',
  'nr_tlb_remote_flush_received',
  'nr_tlb_local_flush_all',
  'nr_tlb_local_flush_one',
  'unevictable_pgs_culled',
  'unevictable_pgs_mlocked',
  'unevictable_pgs_munlocked',
  'thp_fault_alloc',
  'swap_ra',
  'swap_ra_hit',
] as const;

/** vmstat_show(): the page-state gauges, then the event counters. */
export function vmstat_show(t: Task, m: SeqBuf): void {
  const k = t.k;
  const core = mmCore(k);
  const lru = lruSizes(k);
  let anon = 0;
  let file = 0;
  let shmem = 0;
  let swapents = 0;
  let pgtables = 0;
  for (const mm of core.mms.values()) {
    k.touch(t, mm.kaddr, false);
    anon += mm.rss[MM_ANONPAGES]!;
    file += mm.rss[MM_FILEPAGES]!;
    shmem += mm.rss[MM_SHMEMPAGES]!;
    swapents += mm.rss[MM_SWAPENTS]!;
    pgtables += mm.pgtablesBytes;
  }
  const c = k.engine.counters;
  m.line(`nr_free_pages ${k.mem_map.freeCount}`);
  m.line(`nr_inactive_anon ${lru[LRU_INACTIVE_ANON]}`);
  m.line(`nr_active_anon ${lru[LRU_ACTIVE_ANON]}`);
  m.line(`nr_inactive_file ${lru[LRU_INACTIVE_FILE]}`);
  m.line(`nr_active_file ${lru[LRU_ACTIVE_FILE]}`);
  m.line(`nr_anon_pages ${anon}`);
  m.line(`nr_mapped ${file + shmem}`);
  m.line(`nr_shmem ${shmem}`);
  m.line(`nr_swapents ${swapents}`);
  m.line(`nr_page_table_pages ${Math.floor(pgtables / 4096)}`);
  for (const name of VMSTAT_EVENTS) m.line(`${name} ${c.get(name)}`);
}
