/**
 * The statistics an rmap or LRU change updates, after mm/vmstat.c and
 * mm/memcontrol.c: __mod_lruvec_state(), which every
 * __lruvec_stat_mod_folio() (NR_ANON_MAPPED, NR_FILE_MAPPED when a page's
 * first mapping comes or its last goes) and update_lru_size() (a page onto
 * or off an LRU list) call. The cost side only: no reader consumes them.
 *
 * - __mod_node_page_state(): the CPU's per-CPU diff for the item
 *   (vm_node_stat_diff) takes the change; when its magnitude passes the
 *   CPU's stat_threshold the diff is folded into the node's and the global
 *   counter (two atomics on lines every CPU shares) and restarts at zero.
 *   The threshold is calculate_normal_threshold()'s: 2 x fls(cpus) x
 *   (1 + fls(memory in 128 MiB units)), at most 125.
 * - __mod_memcg_lruvec_state(): the memcg's and the lruvec's per-CPU
 *   counters (this_cpu_add), then memcg_rstat_updated(): from the task's
 *   cgroup up to the root's, each level's per-CPU stats_updates grows by
 *   the pages changed, and at MEMCG_CHARGE_BATCH (64) it is moved into the
 *   level's shared atomic; a level whose shared count already exceeds 64 x
 *   CPUs needs a flush and stops the walk (its ancestors do too). The
 *   periodic flush (flush_memcg_stats_dwork, every 2 s) resets the shared
 *   counts; its own work (a kworker) is not charged.
 *   Tasks in the root cgroup (kernel.memcg_depth 0) update the root
 *   memcg's statistics: one level.
 * - update_lru_size() also adds to the zone's per-CPU diff
 *   (__mod_zone_page_state, the same threshold) and to the memcg's
 *   lru_zone_size (mem_cgroup_update_lru_size: a plain add on the cgroup's
 *   per-node line, which every CPU writes under lru_lock).
 *
 * Costs: every line goes through the cache model (the per-CPU ones stay
 * in their CPU's L1 while it works; the shared ones move between CPUs as on
 * hardware); each atomic is cost.atomic_rmw; the instructions around them
 * are kernel.cost.kernel_op per function (__mod_node_page_state,
 * __mod_memcg_lruvec_state, memcg_rstat_updated's walk).
 */
import type { Task } from '../../sim/task.js';
import type { Kernel } from '../kernel.js';
import { MEMCG_CHARGE_BATCH } from './memcontrol.js';
import { mmCore } from './core.js';

/** Node statistics items the model updates (enum node_stat_item, the ones rmap and the LRU touch). */
export const NR_ANON_MAPPED = 0;
export const NR_FILE_MAPPED = 1;
/** NR_LRU_BASE + lru (NR_INACTIVE_ANON ... NR_ACTIVE_FILE). */
export const NR_LRU_BASE = 2;
const NR_ITEMS = NR_LRU_BASE + 4;
/** The zone item update_lru_size() also changes (NR_ZONE_LRU_BASE + lru), kept apart from the node items. */
const ZONE_LRU_BASE = NR_ITEMS;
const NR_ALL = ZONE_LRU_BASE + 4;

/** FLUSH_TIME: the periodic memcg statistics flush (mm/memcontrol.c, 2 x HZ jiffies). */
const FLUSH_NS = 2e9;

/** fls(): the position of the highest set bit, 1-based (0 for 0). */
function fls(x: number): number {
  return x === 0 ? 0 : 32 - Math.clz32(x);
}

/** calculate_normal_threshold(): the per-CPU diff a counter may drift before it is folded. */
export function statThreshold(cpus: number, ramMib: number): number {
  return Math.min(125, 2 * fls(cpus) * (1 + fls(Math.floor(ramMib / 128))));
}

export class VmStat {
  readonly threshold: number;
  /** Per CPU: the line of vm_node_stat_diff / vm_stat_diff (one per CPU; the diffs of one CPU share it). */
  readonly diffKaddr: number[];
  /** Per CPU x item: the diff since the last fold. */
  readonly diff: Int32Array;
  /** pgdat->vm_stat and the global vm_node_stat (zone->vm_stat and vm_zone_stat for zone items). */
  readonly nodeKaddr: number;
  readonly globalKaddr: number;
  /** Per CPU: the memcg's lruvec_stats_percpu line (the memcg's vmstats_percpu line is MemCgroup's statKaddr). */
  readonly lruvecStatKaddr: number[];
  /** Per level (task's cgroup first, root last) x CPU: the per-CPU stats_updates line and count. */
  readonly rstatKaddr: number[][];
  readonly rstatPcpu: Int32Array;
  /** Per level: the shared vmstats->stats_updates line and count since the last flush. */
  readonly rstatSharedKaddr: number[];
  readonly rstatShared: Float64Array;
  /** The memcg's per-node line holding lru_zone_size. */
  readonly lruSizeKaddr: number;
  readonly levels: number;
  private lastFlush = 0;

  constructor(readonly k: Kernel) {
    const cpus = k.cfg.cpus;
    const slab = k.slab;
    this.threshold = statThreshold(cpus, k.cfg.ram_mib);
    this.diffKaddr = Array.from({ length: cpus }, () => slab.kmalloc(64));
    this.diff = new Int32Array(cpus * NR_ALL);
    this.nodeKaddr = slab.kmalloc(64);
    this.globalKaddr = slab.kmalloc(64);
    this.lruvecStatKaddr = Array.from({ length: cpus }, () => slab.kmalloc(64));
    this.levels = k.cfg.kernel.memcg_depth + 1;
    this.rstatKaddr = Array.from({ length: this.levels }, () => Array.from({ length: cpus }, () => slab.kmalloc(64)));
    this.rstatPcpu = new Int32Array(this.levels * cpus);
    this.rstatSharedKaddr = Array.from({ length: this.levels }, () => slab.kmalloc(64));
    this.rstatShared = new Float64Array(this.levels);
    this.lruSizeKaddr = slab.kmalloc(64);
  }

  /** __mod_node_page_state / __mod_zone_page_state: the per-CPU diff, folded past the threshold. */
  modState(t: Task, item: number, delta: number): number {
    const k = this.k;
    const caches = k.machine.caches;
    const cpu = t.cpu;
    let cycles = k.cfg.kernel.cost.kernel_op + caches.access(cpu, this.diffKaddr[cpu]!, true);
    const i = cpu * NR_ALL + item;
    const x = this.diff[i]! + delta;
    if (Math.abs(x) > this.threshold) {
      // node_page_state_add / zone_page_state_add: two atomic_long_adds on shared lines.
      const rmw = k.cfg.cost.atomic_rmw;
      cycles += caches.access(cpu, this.nodeKaddr, true) + rmw + caches.access(cpu, this.globalKaddr, true) + rmw;
      this.diff[i] = 0;
      k.engine.counters.add('vmstat_fold');
    } else this.diff[i] = x;
    return cycles;
  }

  /** __mod_memcg_lruvec_state() and memcg_rstat_updated() for a change of `pages` pages. */
  modMemcg(t: Task, pages: number): number {
    const k = this.k;
    const caches = k.machine.caches;
    const cpu = t.cpu;
    const op = k.cfg.kernel.cost.kernel_op;
    const cg = mmCore(k).memcg;
    // The memcg's vmstats_percpu line (MemCgroup's, the charge statistics' line) and the lruvec's per-CPU line.
    const memcgLine = cg ? cg.statKaddr[cpu]! : this.rstatKaddr[0]![cpu]!;
    let cycles = op + caches.access(cpu, memcgLine, true) + caches.access(cpu, this.lruvecStatKaddr[cpu]!, true);
    // memcg_rstat_updated(): css_rstat_updated (the CPU's rstat node, already queued) and the walk up.
    if (t.now - this.lastFlush >= FLUSH_NS * k.cfg.clock_ghz) {
      this.rstatShared.fill(0);
      this.lastFlush = t.now;
    }
    cycles += op;
    const cpus = k.cfg.cpus;
    const rmw = k.cfg.cost.atomic_rmw;
    for (let l = 0; l < this.levels; l++) {
      // memcg_vmstats_needs_flush(): a read of the level's shared count.
      cycles += caches.access(cpu, this.rstatSharedKaddr[l]!, false);
      if (this.rstatShared[l]! > MEMCG_CHARGE_BATCH * cpus) break;
      cycles += caches.access(cpu, this.rstatKaddr[l]![cpu]!, true);
      const j = l * cpus + cpu;
      const n = this.rstatPcpu[j]! + pages;
      if (n < MEMCG_CHARGE_BATCH) {
        this.rstatPcpu[j] = n;
        continue;
      }
      // this_cpu_xchg, then atomic64_add into the level's shared count.
      this.rstatPcpu[j] = 0;
      this.rstatShared[l] = this.rstatShared[l]! + n;
      cycles += caches.access(cpu, this.rstatSharedKaddr[l]!, true) + rmw;
    }
    return cycles;
  }
}

function vmstatOf(k: Kernel): VmStat {
  const core = mmCore(k);
  return (core.vmstat ??= new VmStat(k));
}

/** __mod_lruvec_state(): the node's statistic and the memcg's for one item, charged to t. */
export function mod_lruvec_state(t: Task, item: number, delta: number): void {
  const vs = vmstatOf(t.k);
  t.charge(vs.modState(t, item, delta) + vs.modMemcg(t, Math.abs(delta)));
}

/** update_lru_size(): __mod_lruvec_state, __mod_zone_page_state and mem_cgroup_update_lru_size for list `lru`. */
export function update_lru_size(t: Task, lru: number, delta: number): void {
  const k = t.k;
  const vs = vmstatOf(k);
  const cycles = vs.modState(t, NR_LRU_BASE + lru, delta) + vs.modMemcg(t, Math.abs(delta)) + vs.modState(t, ZONE_LRU_BASE + lru, delta) + k.machine.caches.access(t.cpu, vs.lruSizeKaddr, true);
  t.charge(cycles);
}
