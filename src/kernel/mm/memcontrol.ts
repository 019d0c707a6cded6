/**
 * The memory cgroup's charge and uncharge of user pages, after
 * mm/memcontrol.c and mm/page_counter.c: the cost side only (no limits, no
 * per-cgroup reclaim). Every task runs in one memory cgroup
 * kernel.memcg_depth levels below the root (0: the root cgroup, where
 * nothing is charged, as mem_cgroup_is_root() skips it).
 *
 * - Charge (mem_cgroup_charge when a user page is allocated: an anonymous
 *   fault, a COW copy, a page-cache or swap-cache page): try_charge_memcg
 *   takes the page from the CPU's memcg_stock (consume_stock); when the
 *   stock is short, page_counter_try_charge adds MEMCG_CHARGE_BATCH (64)
 *   pages to the counter of the cgroup and of every ancestor up to the
 *   root's (one atomic each on a line every CPU shares) and refill_stock
 *   keeps the rest. commit_charge stores folio->memcg_data, and the charge
 *   statistics (PGPGIN, nr_page_events) go to per-CPU counters.
 * - Uncharge (when the page is freed): uncharge_folio reads and clears
 *   folio->memcg_data and adds the page to the caller's uncharge_gather;
 *   uncharge_batch, once per gather (a folio batch of folios_put_refs or of
 *   reclaim's free list, or one page for a lone free), subtracts the pages
 *   from every counter up the hierarchy (page_counter_uncharge: one atomic
 *   each) and counts PGPGOUT and nr_page_events per CPU.
 *
 * Costs: each atomic is cost.atomic_rmw on its counter's line through the
 * cache model (so CPUs charging the same cgroup pull the lines from each
 * other as on hardware); per-CPU lines (the stock, the statistics) and the
 * struct page go through the cache model too; the bookkeeping around them
 * is kernel_op per step.
 *
 * The statistics of rmap and LRU changes (__lruvec_stat_mod_folio,
 * update_lru_size, memcg_rstat_updated) are vmstat.ts's. Not modelled yet:
 * THP and hugetlb folios (allocated whole, not through alloc_page) are not
 * charged; limits and memcg reclaim.
 */
import type { Task } from '../../sim/task.js';
import type { Kernel } from '../kernel.js';
import { MmCore, mmCore } from './core.js';

/** MEMCG_CHARGE_BATCH: pages try_charge takes from the counters at a time, the rest left in the CPU's stock. */
export const MEMCG_CHARGE_BATCH = 64;

/** The task's memory cgroup and its ancestors. */
export class MemCgroup {
  /** Page counters from the task's cgroup up to the root's: one line each (page_counter.usage). */
  readonly counterKaddr: number[];
  /** Per CPU: memcg_stock_pcp (cached memcg, nr_pages) and the cgroup's vmstats_percpu line. */
  readonly stockKaddr: number[];
  readonly statKaddr: number[];
  readonly stock: Int32Array;
  /** Usage of the task's cgroup in pages (the leaf counter). */
  usage = 0;
  /** Per CPU: pages in the open uncharge_gather and how many gathers are open. */
  readonly ugPages: Int32Array;
  readonly ugOpen: Int32Array;
  /** Per pfn: 1 when the page is charged (folio->memcg_data set). */
  private charged = new Uint8Array(1024);

  constructor(
    readonly k: Kernel,
    readonly depth: number,
  ) {
    const cpus = k.cfg.cpus;
    this.counterKaddr = Array.from({ length: depth + 1 }, () => k.slab.kmalloc(64));
    this.stockKaddr = Array.from({ length: cpus }, () => k.slab.kmalloc(64));
    this.statKaddr = Array.from({ length: cpus }, () => k.slab.kmalloc(64));
    this.stock = new Int32Array(cpus);
    this.ugPages = new Int32Array(cpus);
    this.ugOpen = new Int32Array(cpus);
  }

  isCharged(pfn: number): boolean {
    return pfn < this.charged.length && this.charged[pfn] === 1;
  }

  setCharged(pfn: number, on: boolean): void {
    if (pfn >= this.charged.length) {
      if (!on) return;
      let n = this.charged.length;
      while (n <= pfn) n *= 2;
      const c = new Uint8Array(n);
      c.set(this.charged);
      this.charged = c;
    }
    this.charged[pfn] = on ? 1 : 0;
  }
}

/** The memory cgroup tasks are charged to, or null when they run in the root cgroup. */
function memcgOf(k: Kernel): MemCgroup | null {
  const depth = k.cfg.kernel.memcg_depth;
  if (depth === 0) return null;
  const core = mmCore(k);
  return (core.memcg ??= new MemCgroup(k, depth));
}

/** page_counter_try_charge / page_counter_uncharge: one atomic on every counter from the cgroup up to the root's. */
function pageCounterWalk(t: Task, cg: MemCgroup): number {
  const caches = t.k.machine.caches;
  const rmw = t.k.cfg.cost.atomic_rmw;
  let cycles = 0;
  for (const a of cg.counterKaddr) cycles += caches.access(t.cpu, a, true) + rmw;
  return cycles;
}

/**
 * mem_cgroup_charge() of a user page just allocated on t's CPU: the stock,
 * a batch from the counters when it is short, commit_charge and the charge
 * statistics.
 */
export function mem_cgroup_charge(t: Task, pfn: number): void {
  const k = t.k;
  const cg = memcgOf(k);
  if (!cg) return;
  const caches = k.machine.caches;
  const op = k.cfg.kernel.cost.kernel_op;
  const cpu = t.cpu;
  // consume_stock.
  let cycles = op + caches.access(cpu, cg.stockKaddr[cpu]!, true);
  if (cg.stock[cpu]! < 1) {
    cycles += pageCounterWalk(t, cg);
    // refill_stock: the batch less this page stays with the CPU.
    cycles += op;
    cg.stock[cpu] = cg.stock[cpu]! + MEMCG_CHARGE_BATCH;
    cg.usage += MEMCG_CHARGE_BATCH;
    k.engine.counters.add('memcg_counter_charge');
  }
  cg.stock[cpu]!--;
  // commit_charge (folio->memcg_data), mem_cgroup_charge_statistics and memcg_check_events.
  cycles += caches.access(cpu, MmCore.pageKaddr(pfn), true) + op + caches.access(cpu, cg.statKaddr[cpu]!, true);
  cg.setCharged(pfn, true);
  t.charge(cycles);
}

/** Opens an uncharge_gather on t's CPU: pages freed until memcg_uncharge_end are uncharged in one batch. */
export function memcg_uncharge_begin(t: Task): void {
  const cg = memcgOf(t.k);
  if (cg) cg.ugOpen[t.cpu]!++;
}

/** Closes t's CPU's uncharge_gather: uncharge_batch for what it holds. */
export function memcg_uncharge_end(t: Task): void {
  const cg = memcgOf(t.k);
  if (!cg) return;
  const cpu = t.cpu;
  if (--cg.ugOpen[cpu]! > 0) return;
  const nr = cg.ugPages[cpu]!;
  cg.ugPages[cpu] = 0;
  if (nr > 0) uncharge_batch(t, cg, nr);
}

/** uncharge_folio() of a page being freed by t (before it goes to the allocator); a no-op for an uncharged page. */
export function mem_cgroup_uncharge(t: Task, pfn: number): void {
  const k = t.k;
  const cg = memcgOf(k);
  if (!cg || !cg.isCharged(pfn)) return;
  cg.setCharged(pfn, false);
  // folio_memcg / memcg_data = 0, the gather's counts, css_put (a per-CPU reference).
  t.charge(k.machine.caches.access(t.cpu, MmCore.pageKaddr(pfn), true) + k.cfg.kernel.cost.kernel_op);
  if (cg.ugOpen[t.cpu]! > 0) cg.ugPages[t.cpu]!++;
  else uncharge_batch(t, cg, 1);
}

/** Forgets the charge of a page freed where no task pays (the cost was not modelled there). */
export function mem_cgroup_forget(k: Kernel, pfn: number): void {
  const core = mmCore(k);
  if (core.memcg?.isCharged(pfn)) {
    core.memcg.setCharged(pfn, false);
    core.memcg.usage--;
  }
}

/** uncharge_batch(): page_counter_uncharge up the hierarchy, then PGPGOUT and nr_page_events on this CPU. */
function uncharge_batch(t: Task, cg: MemCgroup, nr: number): void {
  const k = t.k;
  cg.usage -= nr;
  t.charge(pageCounterWalk(t, cg) + k.cfg.kernel.cost.kernel_op + k.machine.caches.access(t.cpu, cg.statKaddr[t.cpu]!, true));
  k.engine.counters.add('memcg_uncharge_batch');
}
