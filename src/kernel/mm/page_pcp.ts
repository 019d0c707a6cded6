/**
 * The per-CPU page lists (struct per_cpu_pages) in front of the buddy
 * allocator, and the zone->lock holds that move pages between them, after
 * mm/page_alloc.c (Linux 6.7+, with Huang Ying's pcp->high auto-tuning):
 *
 * - a free goes on its CPU's list (free_frozen_page_commit); when the list
 *   reaches nr_pcp_high(), free_pcppages_bulk() gives nr_pcp_free() pages
 *   (its oldest) back to the buddy lists under one zone->lock hold;
 * - an allocation takes from its CPU's list (__rmqueue_pcplist); an empty
 *   list is refilled by rmqueue_bulk() with nr_pcp_alloc() pages under one
 *   zone->lock hold.
 *
 * pcp->batch and the bounds of pcp->high come from the kernel's formulas
 * (zone_batchsize, zone_highsize with percpu_pagelist_high_fraction 0), so
 * they follow the RAM size, the low watermark and the CPU count; the
 * auto-tuning state (free_count, alloc_factor, high between high_min and
 * high_max, ZONE_BELOW_HIGH) follows the kernel's code.
 *
 * What is modelled is the lists' lengths, the lock and the memory the
 * transfers touch: the frames themselves still come from MemMap's one LIFO
 * stack (the model's buddy lists), so which frame a CPU gets back is not
 * per-CPU, and buddy merging (which reads and relinks the struct pages of
 * the merged buddies) is not modelled: every page goes to the order-0 list.
 * Each list keeps the pfns it was given so a bulk free touches the struct
 * pages Linux touches; a refill touches the struct pages of the frames the
 * stack will hand out next.
 *
 * Costs: the zone->lock is a SpinLock (contended across CPUs as in Linux),
 * every struct page and list-head line goes through the cache model, and
 * each page moved between the lists is one kernel_op of list and counter
 * work (__free_one_page's buddy check and list_add; __rmqueue_smallest's
 * list_del). The order-0 free to the per-CPU list itself stays
 * cost.page_free; an allocation's cost.page_alloc (LLFree's whole-allocator
 * figure) already averages its refills' instructions, so a refill charges
 * only its lock and memory.
 */
import { intern } from '../../sim/attribution.js';
import type { Task } from '../../sim/task.js';
import type { Kernel } from '../kernel.js';
import { SpinLock } from '../locking/spinlock.js';
import { MmCore, mmCore } from './core.js';

/** CONFIG_PCP_BATCH_SCALE_MAX default: batches scale up to batch << 5. */
export const PCP_BATCH_SCALE_MAX = 5;
/** MIN_PERCPU_PAGELIST_HIGH_FRACTION: high_max is managed pages / 8 over the node's CPUs. */
const MIN_PERCPU_PAGELIST_HIGH_FRACTION = 8;
/** Offset of free_area[0] (its list head and nr_free) inside struct zone, after the lock's line. */
const ZONE_FREE_AREA_OFF = 64;

const CAT_FREE_BULK = intern('free_pcppages_bulk');
const CAT_RMQUEUE_BULK = intern('rmqueue_bulk');

/** rounddown_pow_of_two(). */
function rounddownPow2(n: number): number {
  return n < 1 ? 0 : 2 ** Math.floor(Math.log2(n));
}

/** zone_batchsize(): pages a bulk transfer moves, ~1/4 of 1 MiB worth, one less than a power of two. */
export function zoneBatchsize(managedPages: number): number {
  let batch = Math.min(Math.floor(managedPages / 1024), Math.floor((1 << 20) / 4096));
  batch = Math.floor(batch / 4);
  if (batch < 1) batch = 1;
  return rounddownPow2(batch + Math.floor(batch / 2)) - 1;
}

/** zone_highsize(): a bound of pcp->high from a page total split over the node's CPUs, at least 4 batches. */
export function zoneHighsize(totalPages: number, batch: number, cpus: number): number {
  return Math.max(Math.floor(totalPages / Math.max(1, cpus)), batch << 2);
}

/** The zone's per-CPU pagesets and the zone->lock. */
export class ZonePcp {
  readonly lock: SpinLock;
  readonly zoneKaddr: number;
  readonly pcpKaddr: number[];
  readonly batch: number;
  readonly highMin: number;
  readonly highMax: number;
  /** The high watermark's free pages (ZONE_BELOW_HIGH is set below it). */
  readonly highWmark: number;
  readonly count: Int32Array;
  readonly high: Int32Array;
  readonly freeCount: Int32Array;
  readonly allocFactor: Int32Array;
  /** Per CPU: the pfns on its list, oldest first (a bulk free takes from this end, list_last_entry). */
  private readonly lists: Int32Array[];
  private readonly head: Int32Array;
  belowHigh = false;

  constructor(readonly k: Kernel) {
    const core = mmCore(k);
    const managed = k.mem_map.totalFrames;
    const cpus = k.cfg.cpus;
    this.batch = zoneBatchsize(managed);
    // zone_highsize(zone, batch, 0, 0): the low watermark over the node's CPUs; with fraction 8: managed / 8.
    this.highMin = zoneHighsize(core.lowWmark, this.batch, cpus);
    this.highMax = zoneHighsize(Math.floor(managed / MIN_PERCPU_PAGELIST_HIGH_FRACTION), this.batch, cpus);
    // __setup_per_zone_wmarks: high = low + (low - min).
    this.highWmark = core.lowWmark + (core.lowWmark - core.minWmark);
    this.zoneKaddr = k.slab.kmalloc(128);
    // spin_lock_irqsave(&zone->lock) in rmqueue_bulk and free_pcppages_bulk: interrupts wait for the unlock.
    this.lock = new SpinLock(k, 'zone->lock', this.zoneKaddr, true);
    this.pcpKaddr = Array.from({ length: cpus }, () => k.slab.kmalloc(64));
    this.count = new Int32Array(cpus);
    this.high = new Int32Array(cpus);
    this.freeCount = new Int32Array(cpus);
    this.allocFactor = new Int32Array(cpus);
    this.lists = Array.from({ length: cpus }, () => new Int32Array(64));
    this.head = new Int32Array(cpus);
    // The state a booted machine is in: every CPU has allocated on its own
    // during bring-up (its idle task's stack, its per-CPU kthreads), so each
    // list has had its first rmqueue_bulk. Starting from empty lists would
    // charge every CPU's first allocation of a run with a refill of cold
    // struct pages that a running system paid at boot. The pages are not
    // named (as after a refill) and take no frames: the model's buddy lists
    // are MemMap's stack, and MemFree is unchanged.
    for (let cpu = 0; cpu < cpus; cpu++) for (let i = 0; i < this.batch; i++) this.push(cpu, -1);
  }

  /** Appends a freed pfn to cpu's list (list_add at the head: the newest). */
  push(cpu: number, pfn: number): void {
    let l = this.lists[cpu]!;
    const at = this.head[cpu]! + this.count[cpu]!;
    if (at >= l.length) {
      const n = this.count[cpu]!;
      const bigger = new Int32Array(Math.max(64, n * 2));
      bigger.set(l.subarray(this.head[cpu]!, this.head[cpu]! + n));
      this.lists[cpu] = l = bigger;
      this.head[cpu] = 0;
      l[n] = pfn;
    } else {
      l[at] = pfn;
    }
    this.count[cpu]!++;
  }

  /** Takes cpu's oldest pfn (-1 for a page the list got from a refill and never named). */
  popOldest(cpu: number): number {
    const pfn = this.lists[cpu]![this.head[cpu]!]!;
    this.head[cpu]!++;
    if (--this.count[cpu]! === 0) this.head[cpu] = 0;
    return pfn;
  }

  /** Takes cpu's newest page (the allocation side: list_first_entry). */
  popNewest(cpu: number): void {
    if (--this.count[cpu]! === 0) this.head[cpu] = 0;
  }
}

export function zonePcp(k: Kernel): ZonePcp {
  const core = mmCore(k);
  return (core.pcp ??= new ZonePcp(k));
}

function zoneLock(t: Task, z: ZonePcp): void {
  const g = z.lock.lock(t);
  if (!g.next().done) throw new Error('zone->lock: held across a yield');
}

/** nr_pcp_high(): the list length at which a free spills, adjusting pcp->high. */
function nrPcpHigh(z: ZonePcp, cpu: number): number {
  const batch = z.batch;
  let high = Math.min(Math.max(z.high[cpu]!, z.highMin), z.highMax);
  z.high[cpu] = high;
  if (z.highMin === z.highMax) return high;
  if (z.belowHigh) {
    const freeCount = Math.max(z.freeCount[cpu]!, batch);
    z.high[cpu] = Math.max(high - freeCount, z.highMin);
    high = Math.max(z.count[cpu]!, z.highMin);
  } else if (z.count[cpu]! >= high) {
    const need = z.freeCount[cpu]! + batch;
    if (z.high[cpu]! < need) z.high[cpu] = Math.min(Math.max(need, z.highMin), z.highMax);
  }
  return high;
}

/** nr_pcp_free(): pages a spill gives back; at least batch stay on the list. */
function nrPcpFree(z: ZonePcp, cpu: number, high: number): number {
  const batch = z.batch;
  if (high < batch) return 1;
  return Math.min(Math.max(z.freeCount[cpu]!, batch), high - batch);
}

/** nr_pcp_alloc(): pages a refill takes (order 0), doubling with consecutive refills. */
function nrPcpAlloc(z: ZonePcp, cpu: number): number {
  const base = z.batch;
  let high = Math.min(Math.max(z.high[cpu]!, z.highMin), z.highMax);
  z.high[cpu] = high;
  if (high < base) return 1;
  let batch = base << z.allocFactor[cpu]!;
  if (z.highMin !== z.highMax && !z.belowHigh) {
    high = Math.min(high + batch, z.highMax);
    z.high[cpu] = high;
  }
  const maxNrAlloc = Math.max(high - z.count[cpu]! - base, base);
  if (batch <= maxNrAlloc && z.allocFactor[cpu]! < PCP_BATCH_SCALE_MAX) z.allocFactor[cpu]!++;
  batch = Math.min(batch, maxNrAlloc);
  return batch;
}

/**
 * free_frozen_page_commit() for an order-0 page freed on t's CPU (after
 * cost.page_free): the list grows, and past nr_pcp_high() the oldest
 * nr_pcp_free() pages go back to the buddy lists under zone->lock.
 */
export function pcp_free_commit(t: Task, pfn: number): void {
  const k = t.k;
  const z = zonePcp(k);
  const cpu = t.cpu;
  z.allocFactor[cpu] = z.allocFactor[cpu]! >> 1;
  z.push(cpu, pfn);
  if (z.freeCount[cpu]! < z.batch << PCP_BATCH_SCALE_MAX) z.freeCount[cpu]!++;
  const high = nrPcpHigh(z, cpu);
  if (z.count[cpu]! < high) return;
  free_pcppages_bulk(t, z, nrPcpFree(z, cpu, high));
  if (z.belowHigh && k.mem_map.freeCount > z.highWmark) z.belowHigh = false;
}

/**
 * free_pcppages_bulk(): `count` of the CPU's oldest pages to the buddy lists
 * under one zone->lock hold. Per page: off the pcp list (its struct page),
 * __free_one_page's look at the order-0 buddy (pfn ^ 1, page_is_buddy) and
 * the list_add onto free_area[0] (the zone's list head line), one kernel_op.
 */
function free_pcppages_bulk(t: Task, z: ZonePcp, count: number): void {
  const k = t.k;
  const caches = k.machine.caches;
  const cpu = t.cpu;
  t.enter(CAT_FREE_BULK);
  zoneLock(t, z);
  let cycles = 0;
  const op = k.cfg.kernel.cost.kernel_op;
  for (let i = 0; i < count && z.count[cpu]! > 0; i++) {
    const pfn = z.popOldest(cpu);
    cycles += op + caches.access(cpu, z.zoneKaddr + ZONE_FREE_AREA_OFF, true);
    if (pfn >= 0) cycles += caches.access(cpu, MmCore.pageKaddr(pfn), true) + caches.access(cpu, MmCore.pageKaddr(pfn ^ 1), false);
  }
  t.charge(cycles);
  k.engine.counters.add('pcp_free_bulk');
  z.lock.unlock(t);
  t.leave();
}

/**
 * The allocation side of the per-CPU list for an order-0 page on t's CPU
 * (before cost.page_alloc): an empty list is refilled by rmqueue_bulk() with
 * nr_pcp_alloc() pages under one zone->lock hold. `free` is the zone's free
 * page count, for ZONE_BELOW_HIGH (get_page_from_freelist sets it below the
 * high watermark).
 */
export function pcp_alloc(t: Task, free: number): void {
  const k = t.k;
  const z = zonePcp(k);
  const cpu = t.cpu;
  if (!z.belowHigh && free <= z.highWmark) z.belowHigh = true;
  z.freeCount[cpu] = z.freeCount[cpu]! >> 1;
  if (z.count[cpu]! === 0) rmqueue_bulk(t, z, nrPcpAlloc(z, cpu));
  if (z.count[cpu]! > 0) z.popNewest(cpu);
}

/**
 * rmqueue_bulk(): `count` pages from the buddy lists onto the CPU's list
 * under one zone->lock hold: per page the list head line and its struct page
 * (the frames the stack hands out next).
 */
function rmqueue_bulk(t: Task, z: ZonePcp, count: number): void {
  const k = t.k;
  const caches = k.machine.caches;
  const memmap = k.mem_map;
  const cpu = t.cpu;
  t.enter(CAT_RMQUEUE_BULK);
  zoneLock(t, z);
  let cycles = 0;
  for (let i = 0; i < count; i++) {
    const pfn = memmap.peekFree(i);
    cycles += caches.access(cpu, z.zoneKaddr + ZONE_FREE_AREA_OFF, true);
    if (pfn >= 0) cycles += caches.access(cpu, MmCore.pageKaddr(pfn), true);
    z.push(cpu, -1);
  }
  t.charge(cycles);
  k.engine.counters.add('pcp_alloc_bulk');
  z.lock.unlock(t);
  t.leave();
}
