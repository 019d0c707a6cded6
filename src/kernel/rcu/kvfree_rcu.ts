/**
 * kfree_rcu() batching, after mm/slab_common.c (kernel/rcu/tree.c before
 * 6.14): kvfree_call_rcu puts the pointer on its CPU's page-sized bulk array
 * (struct kvfree_rcu_bulk_data, KVFREE_BULK_MAX_ENTR pointers) and arms the
 * CPU's monitor work: KFREE_DRAIN_JIFFIES (5 * HZ) out, or 1 jiffy once the
 * CPU holds a page's worth (schedule_delayed_monitor_work, which only ever
 * brings an armed monitor earlier). The monitor (kfree_rcu_monitor) frees
 * at once what a grace period that ended since has already covered
 * (kvfree_rcu_drain_ready: each page keeps a get_state_synchronize_rcu
 * snapshot), then hands the rest to one of KFREE_N_BATCHES (2) channels
 * that is free (kvfree_rcu_queue_batch -> queue_rcu_work: one call_rcu for
 * the whole batch, whose work item frees it all, kfree_rcu_work); with both
 * channels still waiting on grace periods, it re-arms itself. So a stream
 * of kfree_rcu() costs one RCU callback per batch, not one per object
 * (commit a35d16905efc: ~5x fewer grace periods).
 *
 * Costs: cost.kernel_op to add a pointer and per monitor run; cost.kmalloc
 * per object freed (kfree_bulk's per-object work; no separate figure);
 * the batch's callback through call_rcu. Not modelled: the page cache of
 * bulk pages and its refill work, the rcu_head fallback list when no page
 * can be had, the shrinker, and vmalloc'ed pointers (a second channel).
 *
 * Counters: kvfree_rcu_queued, kvfree_rcu_batches, kvfree_rcu_drained_ready;
 * kvfree_rcu_peak_bytes (bytes waiting on the CPUs' bulk arrays).
 */
import { intern } from '../../sim/attribution.js';
import type { Task } from '../../sim/task.js';
import type { Kernel } from '../kernel.js';
import { rcuOf, type Rcu } from './tree.js';
import { PAGE_SIZE } from '../../hw/types.js';

/** KFREE_N_BATCHES: channels of batches in flight per CPU. */
export const KFREE_N_BATCHES = 2;
/** KVFREE_BULK_MAX_ENTR: pointers in one page after its header (list_head 16, rcu_gp_oldstate 16, nr_records 8 bytes). */
export const KVFREE_BULK_MAX_ENTR = (PAGE_SIZE - 40) / 8;
/** KFREE_DRAIN_JIFFIES, in jiffies at this HZ (5 * HZ since commit 51824b780b71). */
export function KFREE_DRAIN_JIFFIES(hz: number): number {
  return 5 * hz;
}

const CAT_KVFREE = intern('kvfree_call_rcu');
const CAT_MONITOR = intern('kfree_rcu_monitor');

/**
 * Pointers waiting, in the order they were added: their addresses, sizes and
 * the get_state_synchronize_rcu() cookie each was added under. Kept as
 * parallel arrays of numbers rather than an object per pointer, so that a
 * kfree_rcu() allocates nothing on the host (a flood keeps hundreds of
 * thousands waiting across grace periods).
 */
class Ptrs {
  addr: number[] = [];
  bytes: number[] = [];
  need: number[] = [];
  get length(): number {
    return this.addr.length;
  }
  push(addr: number, bytes: number, need: number): void {
    this.addr.push(addr);
    this.bytes.push(bytes);
    this.need.push(need);
  }
}

/** struct kfree_rcu_cpu. */
class KfreeRcuCpu {
  ptrs = new Ptrs();
  bytes = 0;
  /** When the armed monitor runs (Infinity: not armed), and a number that cancels older timers. */
  monitorAt = Infinity;
  monitorSeq = 0;
  readonly channelBusy = new Uint8Array(KFREE_N_BATCHES);
}

export class KvfreeRcu {
  private readonly krcs: KfreeRcuCpu[];
  private readonly tick: number;
  private bytesWaiting = 0;

  constructor(
    readonly k: Kernel,
    readonly rcu: Rcu,
  ) {
    this.krcs = Array.from({ length: k.engine.ncpus }, () => new KfreeRcuCpu());
    this.tick = k.engine.tickPeriod;
  }

  kvfree_call_rcu(t: Task, addr: number, bytes: number): void {
    t.chargeAs(CAT_KVFREE, this.k.cfg.kernel.cost.kernel_op);
    const cpu = t.cpu;
    const krcp = this.krcs[cpu]!;
    krcp.ptrs.push(addr, bytes, this.rcu.get_state_synchronize_rcu());
    krcp.bytes += bytes;
    this.bytesWaiting += bytes;
    const c = this.k.engine.counters;
    c.add('kvfree_rcu_queued');
    c.max('kvfree_rcu_peak_bytes', this.bytesWaiting);
    this.schedule_delayed_monitor_work(cpu, t.now);
  }

  /** Arm the monitor 1 jiffy out with a page's worth waiting, else KFREE_DRAIN_JIFFIES; an armed one only moves earlier. */
  private schedule_delayed_monitor_work(cpu: number, now: number): void {
    const krcp = this.krcs[cpu]!;
    const delay = krcp.ptrs.length >= KVFREE_BULK_MAX_ENTR ? 1 : KFREE_DRAIN_JIFFIES(this.k.cfg.kernel.hz);
    const due = (Math.floor(now / this.tick) + delay) * this.tick;
    if (due >= krcp.monitorAt) return;
    krcp.monitorAt = due;
    const seq = ++krcp.monitorSeq;
    this.k.engine.at(due, (time) => {
      if (seq === krcp.monitorSeq) this.kfree_rcu_monitor(cpu, time);
    });
  }

  /** Charge work done at `time` on `cpu` from a work item (an idle CPU's clock moves up to it first). */
  private work(cpu: number, time: number, cat: number, cycles: number): void {
    const e = this.k.engine;
    if (e.clock[cpu]! < time && this.rcu.cpuIdle(cpu)) {
      e.idle[cpu]! += time - e.clock[cpu]!;
      e.clock[cpu] = time;
    }
    e.charge(cpu, cycles, e.attribution.child(e.attribution.root, cat));
  }

  private kfree_rcu_monitor(cpu: number, time: number): void {
    const krcp = this.krcs[cpu]!;
    krcp.monitorAt = Infinity;
    const cost = this.k.cfg.kernel.cost;
    // kvfree_rcu_drain_ready: what an ended grace period already covers is freed now.
    let ready: Ptrs | null = null;
    const all = krcp.ptrs;
    for (let i = 0; i < all.length; i++) {
      if (!this.rcu.poll_state_synchronize_rcu(all.need[i]!)) continue;
      if (ready === null) {
        // Split in order: the ready ones, and the rest kept for a batch.
        ready = new Ptrs();
        const rest = new Ptrs();
        for (let j = 0; j < all.length; j++) {
          if (this.rcu.poll_state_synchronize_rcu(all.need[j]!)) ready.push(all.addr[j]!, all.bytes[j]!, all.need[j]!);
          else rest.push(all.addr[j]!, all.bytes[j]!, all.need[j]!);
        }
        krcp.ptrs = rest;
      }
      break;
    }
    const nready = ready === null ? 0 : ready.length;
    if (nready > 0) this.k.engine.counters.add('kvfree_rcu_drained_ready', nready);
    this.work(cpu, time, CAT_MONITOR, cost.kernel_op + nready * cost.kmalloc);
    if (ready !== null) this.free(krcp, ready);
    // kvfree_rcu_queue_batch: the rest goes to a free channel, one callback for all of it.
    for (let ch = 0; ch < KFREE_N_BATCHES && krcp.ptrs.length > 0; ch++) {
      if (krcp.channelBusy[ch]) continue;
      const batch = krcp.ptrs;
      krcp.ptrs = new Ptrs();
      krcp.channelBusy[ch] = 1;
      let bytes = 0;
      for (let i = 0; i < batch.length; i++) bytes += batch.bytes[i]!;
      this.k.engine.counters.add('kvfree_rcu_batches');
      this.rcu.enqueueCallback(cpu, this.k.engine.clock[cpu]!, bytes, () => {
        krcp.channelBusy[ch] = 0;
        this.free(krcp, batch);
        return batch.length * cost.kmalloc;
      });
    }
    if (krcp.ptrs.length > 0) this.schedule_delayed_monitor_work(cpu, this.k.engine.clock[cpu]!);
  }

  private free(krcp: KfreeRcuCpu, ptrs: Ptrs): void {
    for (let i = 0; i < ptrs.length; i++) {
      const bytes = ptrs.bytes[i]!;
      this.k.slab.kfree(ptrs.addr[i]!, bytes);
      krcp.bytes -= bytes;
      this.bytesWaiting -= bytes;
    }
  }
}

function kvfreeOf(k: Kernel): KvfreeRcu {
  return (k.kvfreeRcu ??= new KvfreeRcu(k, rcuOf(k)));
}

/** kfree_rcu(): free a slab object after a grace period, batched per CPU as kvfree_call_rcu does. */
export function kfree_rcu(t: Task, addr: number, bytes: number): void {
  const k = t.k;
  kvfreeOf(k).kvfree_call_rcu(t, addr, bytes);
}
