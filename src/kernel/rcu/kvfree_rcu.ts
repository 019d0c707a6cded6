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
import type { RcuCallbackFn } from './rcu_segcblist.js';
import { counterId, type Counters } from '../../sim/stats.js';
import type { Engine } from '../../sim/engine.js';
import { PAGE_SIZE } from '../../hw/types.js';
import { Slab } from '../mm/slab.js';

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

const C_QUEUED = counterId('kvfree_rcu_queued');
const C_PEAK_BYTES = counterId('kvfree_rcu_peak_bytes');
const C_DRAINED_READY = counterId('kvfree_rcu_drained_ready');
const C_BATCHES = counterId('kvfree_rcu_batches');

/** Host storage: addresses per chunk of a pointer list (2^CHUNK_SHIFT), and chunks per block allocated at once. */
const CHUNK_SHIFT = 9;
const CHUNK = 1 << CHUNK_SHIFT;
const CHUNKS_PER_BLOCK = 32;

/** An address stored in 32 bits: its slot above Slab.BASE (Slab.slotOf: kmalloc's addresses); WIDE marks one stored whole beside the chunk. */
const WIDE = 0xffffffff;

/** Chunks of address storage, reused once a list that held them is emptied. */
class ChunkPool {
  private readonly free: Uint32Array[] = [];

  take(): Uint32Array {
    if (this.free.length === 0) {
      const block = new Uint32Array(CHUNK * CHUNKS_PER_BLOCK);
      for (let i = CHUNKS_PER_BLOCK - 1; i >= 0; i--) this.free.push(block.subarray(i * CHUNK, (i + 1) * CHUNK));
    }
    return this.free.pop()!;
  }

  give(c: Uint32Array): void {
    this.free.push(c);
  }
}

/**
 * Pointers waiting, in the order they were added: their addresses (as
 * 32-bit slot numbers where they are kmalloc's, 4 bytes of host memory
 * each, the rare other one kept whole beside), and
 * their sizes with the get_state_synchronize_rcu() cookie each was added
 * under as runs of equal (cookie, size) (a cookie changes once per grace
 * period). Addresses are kept in fixed-size chunks of typed arrays from a
 * pool, so a kfree_rcu() allocates nothing on the host in the common case,
 * and the pointers a flood keeps waiting across grace periods (hundreds of
 * thousands) are neither objects the collector copies nor arrays copied as
 * they grow.
 */
class Ptrs {
  private readonly chunks: Uint32Array[] = [];
  /** Addresses that are not kmalloc's slots above Slab.BASE, by index (made at the first). */
  wide: Map<number, number> | null = null;
  length = 0;
  /** Sum of the sizes. */
  bytes = 0;
  /** Run r covers [runStart[r], runStart[r + 1]) (the last one up to length) with cookie runNeed[r] and size runBytes[r]. */
  readonly runStart: number[] = [];
  readonly runNeed: number[] = [];
  readonly runBytes: number[] = [];

  constructor(private readonly pool: ChunkPool) {}

  /** Add an address: kmalloc's as its slot, any other whole beside the chunk. */
  push(addr: number, bytes: number, need: number): void {
    const slot = Slab.slotOf(addr);
    if (slot >>> 0 === slot && slot !== WIDE) this.pushSlot(slot, bytes, need);
    else {
      this.pushSlot(WIDE, bytes, need);
      (this.wide ??= new Map()).set(this.length - 1, addr);
    }
  }

  /** Add kmalloc's object `slot` (Slab.slotOf), or WIDE for an address the caller records in `wide`. */
  pushSlot(slot: number, bytes: number, need: number): void {
    const i = this.length;
    const o = i & (CHUNK - 1);
    if (o === 0) this.chunks.push(this.pool.take());
    this.chunks[i >> CHUNK_SHIFT]![o] = slot;
    const r = this.runStart.length - 1;
    if (r < 0 || this.runNeed[r] !== need || this.runBytes[r] !== bytes) {
      this.runStart.push(i);
      this.runNeed.push(need);
      this.runBytes.push(bytes);
    }
    this.bytes += bytes;
    this.length = i + 1;
  }

  /** The slot at i, or WIDE for an address kept whole (addrAt). */
  slotAt(i: number): number {
    return this.chunks[i >> CHUNK_SHIFT]![i & (CHUNK - 1)]!;
  }

  addrAt(i: number): number {
    const slot = this.slotAt(i);
    return slot !== WIDE ? Slab.addrOf(slot) : this.wide!.get(i)!;
  }

  /** End (exclusive) of run r. */
  runEnd(r: number): number {
    return r + 1 < this.runStart.length ? this.runStart[r + 1]! : this.length;
  }

  /** Empty the list, its chunks back to the pool. */
  clear(): void {
    for (const c of this.chunks) this.pool.give(c);
    this.chunks.length = 0;
    this.wide?.clear();
    this.runStart.length = 0;
    this.runNeed.length = 0;
    this.runBytes.length = 0;
    this.length = 0;
    this.bytes = 0;
  }
}

/** struct kfree_rcu_cpu. */
class KfreeRcuCpu {
  /** The pointers not yet handed to a channel. */
  ptrs: Ptrs;
  /** An empty list the monitor builds what it keeps into. */
  spare: Ptrs;
  bytes = 0;
  /** When the armed monitor runs (Infinity: not armed), and a number that cancels older timers. */
  monitorAt = Infinity;
  monitorSeq = 0;
  readonly channelBusy = new Uint8Array(KFREE_N_BATCHES);
  /** Each channel's batch while it waits for its grace period (emptied, and kept for reuse, when freed). */
  readonly channel: Ptrs[] = [];
  /** Each channel's RCU callback (kfree_rcu_work), made once. */
  readonly channelWork: RcuCallbackFn[] = [];

  constructor(pool: ChunkPool) {
    this.ptrs = new Ptrs(pool);
    this.spare = new Ptrs(pool);
    for (let ch = 0; ch < KFREE_N_BATCHES; ch++) this.channel.push(new Ptrs(pool));
  }
}

export class KvfreeRcu {
  private readonly krcs: KfreeRcuCpu[];
  private readonly tick: number;
  private bytesWaiting = 0;
  private readonly pool = new ChunkPool();
  /** The category kvfree_call_rcu was last called from, and its kvfree_call_rcu node. */
  private callerCat = -1;
  private kvfreeNode = 0;
  /**
   * The jiffy kvfree_call_rcu last computed, floor(now / tick), and a clock
   * range [jiffyLo, jiffyHi) in which the division certainly gives it (from
   * its first cycle to just short of the next jiffy's, where rounding could
   * reach it): a clock inside takes it without dividing.
   */
  private jiffy = 0;
  private jiffyLo = Infinity;
  private jiffyHi = -Infinity;
  /** What every call reads, looked up once (the kernel's configuration is fixed once it runs). */
  private readonly engine: Engine;
  private readonly counters: Counters;
  private readonly slab: Slab;
  private readonly kernelOp: number;
  private readonly kmallocCost: number;
  private readonly drainJiffies: number;

  constructor(
    readonly k: Kernel,
    readonly rcu: Rcu,
  ) {
    this.krcs = Array.from({ length: k.engine.ncpus }, () => new KfreeRcuCpu(this.pool));
    this.tick = k.engine.tickPeriod;
    this.engine = k.engine;
    this.counters = k.engine.counters;
    this.slab = k.slab;
    this.kernelOp = k.cfg.kernel.cost.kernel_op;
    this.kmallocCost = k.cfg.kernel.cost.kmalloc;
    this.drainJiffies = KFREE_DRAIN_JIFFIES(k.cfg.kernel.hz);
    for (const krcp of this.krcs) {
      for (let ch = 0; ch < KFREE_N_BATCHES; ch++) {
        krcp.channelWork.push(() => {
          krcp.channelBusy[ch] = 0;
          const batch = krcp.channel[ch]!;
          const n = batch.length;
          this.free(krcp, batch);
          batch.clear();
          return n * this.kmallocCost;
        });
      }
    }
  }

  /** kvfree_call_rcu: queue `addr` (`bytes` long) to be freed after a grace period. */
  kvfree_call_rcu(t: Task, addr: number, bytes: number): void {
    // Small, so that it is inlined into its caller and a kmalloc address reaches queue() as a slot, never boxed.
    const slot = Slab.slotOf(addr);
    if (slot >>> 0 === slot && slot !== WIDE) this.queue(t, slot, bytes);
    else this.queueWide(t, addr, bytes);
  }

  /** An address that is not kmalloc's: kept whole beside the slots. */
  queueWide(t: Task, addr: number, bytes: number): void {
    this.queue(t, WIDE, bytes);
    const ptrs = this.krcs[t.cpu]!.ptrs;
    (ptrs.wide ??= new Map()).set(ptrs.length - 1, addr);
  }

  /** kvfree_call_rcu's work for kmalloc's object `slot` (or WIDE, its address recorded by the caller). */
  queue(t: Task, slot: number, bytes: number): void {
    // t.chargeAs(CAT_KVFREE, kernel_op), with the category's node kept for the caller's category (a look-up in the attribution's table per call otherwise).
    const e = this.engine;
    if (t.cat !== this.callerCat) {
      this.callerCat = t.cat;
      this.kvfreeNode = e.attribution.child(t.cat, CAT_KVFREE);
    }
    const cpu = t.cpu;
    const op = this.kernelOp;
    e.charge(cpu, op, this.kvfreeNode);
    t.cpuTime += op;
    const krcp = this.krcs[cpu]!;
    const ptrs = krcp.ptrs;
    ptrs.pushSlot(slot, bytes, this.rcu.get_state_synchronize_rcu());
    krcp.bytes += bytes;
    const waiting = (this.bytesWaiting += bytes);
    const c = this.counters;
    c.addId(C_QUEUED);
    c.maxId(C_PEAK_BYTES, waiting);
    // schedule_delayed_monitor_work(cpu, t.now), written out.
    const delay = ptrs.length >= KVFREE_BULK_MAX_ENTR ? 1 : this.drainJiffies;
    // The jiffy of t.now, floor(t.now / tick), divided only when the clock left the range where it is certainly the last one's.
    const now = e.clock[cpu]!;
    if (!(now >= this.jiffyLo && now < this.jiffyHi)) {
      const j = Math.floor(now / this.tick);
      this.jiffy = j;
      this.jiffyLo = j * this.tick;
      this.jiffyHi = (j + 1) * this.tick - this.tick * 2 ** -20;
    }
    const due = (this.jiffy + delay) * this.tick;
    if (due < krcp.monitorAt) this.arm(cpu, krcp, due);
  }

  /** Arm the monitor 1 jiffy out with a page's worth waiting, else KFREE_DRAIN_JIFFIES; an armed one only moves earlier. */
  private schedule_delayed_monitor_work(cpu: number, now: number): void {
    // Written out here and in kvfree_call_rcu, which calls arm() itself: a call that passes a fractional clock boxes it on the host.
    const krcp = this.krcs[cpu]!;
    const delay = krcp.ptrs.length >= KVFREE_BULK_MAX_ENTR ? 1 : KFREE_DRAIN_JIFFIES(this.k.cfg.kernel.hz);
    const due = (Math.floor(now / this.tick) + delay) * this.tick;
    if (due < krcp.monitorAt) this.arm(cpu, krcp, due);
  }

  private arm(cpu: number, krcp: KfreeRcuCpu, due: number): void {
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
    const all = krcp.ptrs;
    let nready = 0;
    for (let r = 0; r < all.runStart.length; r++) if (this.rcu.poll_state_synchronize_rcu(all.runNeed[r]!)) nready += all.runEnd(r) - all.runStart[r]!;
    if (nready > 0) this.k.engine.counters.addId(C_DRAINED_READY, nready);
    this.work(cpu, time, CAT_MONITOR, cost.kernel_op + nready * cost.kmalloc);
    if (nready > 0) {
      // Free the ready ones in order; the rest, in order, stay for a batch.
      const rest = krcp.spare;
      for (let r = 0; r < all.runStart.length; r++) {
        const need = all.runNeed[r]!;
        const bytes = all.runBytes[r]!;
        const end = all.runEnd(r);
        if (this.rcu.poll_state_synchronize_rcu(need)) {
          for (let i = all.runStart[r]!; i < end; i++) this.kfree(krcp, all, i, bytes);
        } else {
          for (let i = all.runStart[r]!; i < end; i++) {
            const slot = all.slotAt(i);
            if (slot !== WIDE) rest.pushSlot(slot, bytes, need);
            else rest.push(all.addrAt(i), bytes, need);
          }
        }
      }
      all.clear();
      krcp.ptrs = rest;
      krcp.spare = all;
    }
    // kvfree_rcu_queue_batch: the rest goes to a free channel, one callback for all of it.
    for (let ch = 0; ch < KFREE_N_BATCHES && krcp.ptrs.length > 0; ch++) {
      if (krcp.channelBusy[ch]) continue;
      // The channel's (empty) arrays take the next pointers; the waiting ones become its batch.
      const batch = krcp.ptrs;
      krcp.ptrs = krcp.channel[ch]!;
      krcp.channel[ch] = batch;
      krcp.channelBusy[ch] = 1;
      this.k.engine.counters.addId(C_BATCHES);
      this.rcu.enqueueCallback(cpu, this.k.engine.clock[cpu]!, batch.bytes, krcp.channelWork[ch]!);
    }
    if (krcp.ptrs.length > 0) this.schedule_delayed_monitor_work(cpu, this.k.engine.clock[cpu]!);
  }

  /** kfree every pointer of a list, in order. */
  private free(krcp: KfreeRcuCpu, ptrs: Ptrs): void {
    for (let r = 0; r < ptrs.runStart.length; r++) {
      const bytes = ptrs.runBytes[r]!;
      const end = ptrs.runEnd(r);
      for (let i = ptrs.runStart[r]!; i < end; i++) this.kfree(krcp, ptrs, i, bytes);
    }
  }

  /** kfree the pointer at index i of a list. */
  private kfree(krcp: KfreeRcuCpu, ptrs: Ptrs, i: number, bytes: number): void {
    const slot = ptrs.slotAt(i);
    if (slot !== WIDE) this.slab.kfreeSlot(slot, bytes);
    else this.slab.kfree(ptrs.addrAt(i), bytes);
    krcp.bytes -= bytes;
    this.bytesWaiting -= bytes;
  }
}

function kvfreeOf(k: Kernel): KvfreeRcu {
  return (k.kvfreeRcu ??= new KvfreeRcu(k, rcuOf(k)));
}

/**
 * kfree_rcu(): free a slab object after a grace period, batched per CPU as
 * kvfree_call_rcu does. Under 28 bytes of bytecode, so that V8 inlines it at
 * every call site whatever its budget: a kmalloc address, a double above
 * 2^40, goes on as its slot (Slab.slotOf, a small integer) and is never
 * boxed on the host (a call V8 does not inline takes its arguments as heap
 * objects: 16 bytes of garbage per call).
 */
export function kfree_rcu(t: Task, addr: number, bytes: number): void {
  return kfree_rcu_slot(t, (addr - 1099511627776) * 0.015625, bytes);
}

/** kfree_rcu of the object at `slot` (Slab.slotOf of its address: a kmalloc address's is a 32-bit integer, any other's is not). */
function kfree_rcu_slot(t: Task, slot: number, bytes: number): void {
  const kv = t.k.kvfreeRcu ?? kvfreeOf(t.k);
  if (slot >>> 0 === slot && slot !== WIDE) kv.queue(t, slot, bytes);
  else kv.queueWide(t, Slab.addrOf(slot), bytes);
}
