/**
 * TLB management as arch/x86/mm/tlb.c does it: per-CPU TLB state with six
 * dynamic ASIDs (PCIDs), address-space switches that keep a process's TLB
 * entries across switches, lazy TLB mode for kernel threads and idle, and
 * shootdowns driven by per-mm generation counters.
 *
 * - switch_mm_irqs_off: loading an mm picks an ASID slot on this CPU. A slot
 *   that already holds the mm needs no flush unless the mm's tlb_gen moved
 *   past what the slot saw; a new slot (or no PCIDs) flushes. A CPU stays in
 *   the mm_cpumask of every mm it ran, and is trimmed lazily by flushes.
 * - enter_lazy_tlb: a kernel thread or idle keeps the previous mm loaded and
 *   marks the CPU lazy; shootdowns skip lazy CPUs unless page tables were
 *   freed, and a lazy CPU catches up (flushes) when it switches back.
 * - flush_tlb_mm_range: bump the mm's tlb_gen, then flush locally or send
 *   flush_tlb_func to every CPU in the cpumask that should_flush_tlb picks
 *   (native_flush_tlb_multi), run it locally too, and spin until every
 *   target has acknowledged. Up to tlb_single_page_flush_ceiling pages are
 *   flushed one INVLPG each, more with one full flush of the PCID.
 *
 * Hardware PCID = ASID + 1, as kern_pcid(); PCID 0 stays with init_mm.
 * init_mm is `null` here: no user mappings (CR3 -1 in the MMU).
 */
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import type { Kernel } from '../kernel.js';
import { current } from '../sched/task_struct.js';
import { smp_call_function_many } from '../smp.js';
import { mmCore } from './core.js';
import { type MmStruct, PAGE_SHIFT, PAGE_SIZE } from './mm_types.js';

/** TLB_NR_DYN_ASIDS. */
export const TLB_NR_DYN_ASIDS = 6;
/** TLB_FLUSH_ALL as an end address. */
export const TLB_FLUSH_ALL = Infinity;
/** TLB_GENERATION_INVALID: a flush that is not tied to an mm's generation. */
const TLB_GENERATION_INVALID = 0;

const CAT_FLUSH_TLB_MM_RANGE = intern('flush_tlb_mm_range');
const CAT_FLUSH_TLB_MULTI = intern('native_flush_tlb_multi');
const CAT_FLUSH_TLB_FUNC = intern('flush_tlb_func');
const CAT_CSD_WAIT = intern('csd_lock_wait');
const CAT_BROADCAST = intern('broadcast_tlb_flush');
const CAT_KVM_FLUSH_ON_ENTER = intern('kvm_flush_tlb_on_enter');
const CAT_RAR = intern('rar_action');

/** The mms given a global ASID (use_global_asid): flushed by INVLPGB broadcast from then on. */
const globalAsid = new WeakSet<MmStruct>();

/** Offset of context.tlb_gen inside struct mm_struct (its own cache line, apart from mmap_lock). */
const MM_TLB_GEN_OFF = 128;
/** Offset of mm_cpumask inside struct mm_struct. */
const MM_CPUMASK_OFF = 192;

/** cpu_tlbstate and cpu_tlbstate_shared of one CPU. */
export class CpuTlbState {
  /** The mm whose tables CR3 holds; null for init_mm. */
  loadedMm: MmStruct | null = null;
  loadedMmAsid = 0;
  /** cpu_tlbstate_shared.is_lazy. */
  isLazy = false;
  nextAsid = 1;
  /** ctxs[asid].ctx_id (0: unused) and ctxs[asid].tlb_gen. */
  readonly ctxId = new Float64Array(TLB_NR_DYN_ASIDS);
  readonly ctxGen = new Float64Array(TLB_NR_DYN_ASIDS);
  /** The mm a kernel thread or idle on this CPU borrowed (active_mm, holding an mm_count reference). */
  lazyRef: MmStruct | null = null;
  /** Kernel address of this CPU's tlbstate line (read by remote CPUs in should_flush_tlb). */
  kaddr = 0;
  /** Kernel address of this CPU's flush_tlb_info (DEFINE_PER_CPU_SHARED_ALIGNED): written by get_flush_tlb_info, read by the CPUs it sends flush_tlb_func to. */
  infoKaddr = 0;
}

/** struct flush_tlb_info. */
export interface FlushTlbInfo {
  mm: MmStruct | null;
  start: number;
  end: number;
  strideShift: number;
  freedTables: boolean;
  newTlbGen: number;
  initiatingCpu: number;
  trimCpumask: boolean;
}

/** The hardware PCID of an ASID slot (kern_pcid). */
export function kernPcid(k: Kernel, asid: number): number {
  return k.cfg.tlb.pcid ? asid + 1 : 0;
}

function stateOf(k: Kernel, cpu: number): CpuTlbState {
  const st = mmCore(k).tlbstate[cpu]!;
  if (st.kaddr === 0) {
    st.kaddr = k.slab.kmalloc(k.machine.caches.lineBytes);
    st.infoKaddr = k.slab.kmalloc(k.machine.caches.lineBytes);
  }
  return st;
}

/** choose_new_asid: a slot for `next` on this CPU and whether it must be flushed. */
function chooseNewAsid(k: Kernel, st: CpuTlbState, next: MmStruct, nextGen: number): { asid: number; flush: boolean } {
  if (!k.cfg.tlb.pcid) return { asid: 0, flush: true };
  for (let asid = 0; asid < TLB_NR_DYN_ASIDS; asid++) {
    if (st.ctxId[asid] !== next.id) continue;
    return { asid, flush: st.ctxGen[asid]! < nextGen };
  }
  let asid = st.nextAsid++;
  if (asid >= TLB_NR_DYN_ASIDS) {
    asid = 0;
    st.nextAsid = 1;
  }
  return { asid, flush: true };
}

/**
 * switch_mm_irqs_off(): load `next` (null: init_mm) on `cpu`. Returns the
 * cycles: the CR3 write (a flushing one when the PCID's contents are stale,
 * which costs the same: the figure is a CR3 reload), and the cpumask update.
 */
export function switch_mm_irqs_off(k: Kernel, cpu: number, next: MmStruct | null): number {
  const st = stateOf(k, cpu);
  const mmu = k.machine.mmu;
  const cost = k.cfg.cost;
  const prev = st.loadedMm;
  const wasLazy = st.isLazy;
  let cycles = 0;
  st.isLazy = false;
  let asid: number;
  let flush: boolean;
  let nextGen = 0;
  if (prev === next) {
    if (!wasLazy || next === null) return 0;
    // Back from lazy mode: the TLB is good unless a flush was skipped meanwhile.
    nextGen = next.tlbGen;
    cycles += k.machine.caches.access(cpu, next.kaddr + MM_TLB_GEN_OFF, false);
    if (st.ctxGen[st.loadedMmAsid] === nextGen) return cycles;
    asid = st.loadedMmAsid;
    flush = true;
  } else if (next === null) {
    // To init_mm: no user entries to keep or flush.
    st.loadedMm = null;
    return mmu.setCr3(cpu, -1, 0, true);
  } else {
    if (!next.cpumask[cpu]) {
      next.cpumask[cpu] = 1;
      cycles += k.machine.caches.access(cpu, next.kaddr + MM_CPUMASK_OFF, true) + cost.atomic_rmw;
    }
    nextGen = next.tlbGen;
    cycles += k.machine.caches.access(cpu, next.kaddr + MM_TLB_GEN_OFF, false);
    ({ asid, flush } = chooseNewAsid(k, st, next, nextGen));
  }
  const pcid = kernPcid(k, asid);
  if (flush) {
    next = next!;
    st.ctxId[asid] = next.id;
    st.ctxGen[asid] = nextGen;
    // The flushing CR3 write is the whole cost: cost.cr3_write is the measured CR3 reload (Molnar 2015),
    // which flushes; the refill shows up as later TLB misses.
    cycles += mmu.setCr3(cpu, next.pgd, pcid, false);
  } else {
    cycles += mmu.setCr3(cpu, next.pgd, pcid, true);
  }
  st.loadedMm = next;
  st.loadedMmAsid = asid;
  return cycles;
}

/** enter_lazy_tlb(): a kernel thread or idle now runs on whatever mm is loaded. */
export function enter_lazy_tlb(k: Kernel, cpu: number): void {
  const st = stateOf(k, cpu);
  if (st.loadedMm === null) return;
  st.isLazy = true;
}

/** The PCID an mm has on a CPU that has it loaded. */
export function loadedPcid(k: Kernel, cpu: number): number {
  return kernPcid(k, stateOf(k, cpu).loadedMmAsid);
}

/**
 * flush_tlb_func(): on `cpu`, bring its TLB up to the mm's generation: one
 * INVLPG per page of a range when it is exactly one generation behind, a
 * full flush of the PCID otherwise. A CPU that no longer runs the mm leaves
 * its cpumask; a lazy one drops to init_mm. Returns the cycles.
 */
export function flush_tlb_func(k: Kernel, cpu: number, f: FlushTlbInfo): number {
  const st = stateOf(k, cpu);
  const counters = k.engine.counters;
  const cost = k.cfg.cost;
  const kcost = k.cfg.kernel.cost;
  const local = cpu === f.initiatingCpu;
  const loaded = st.loadedMm;
  let cycles = kcost.kernel_op;
  if (!local) counters.add('nr_tlb_remote_flush_received');
  if (f.mm !== null && f.mm !== loaded) {
    f.mm.cpumask[cpu] = 0;
    return cycles + k.machine.caches.access(cpu, f.mm.kaddr + MM_CPUMASK_OFF, true) + cost.atomic_rmw;
  }
  if (loaded === null) return cycles;
  if (st.isLazy) return cycles + switch_mm_irqs_off(k, cpu, null);
  const asid = st.loadedMmAsid;
  const localGen = st.ctxGen[asid]!;
  if (f.newTlbGen !== TLB_GENERATION_INVALID && f.newTlbGen <= localGen) return cycles;
  const mmGen = loaded.tlbGen;
  cycles += k.machine.caches.access(cpu, loaded.kaddr + MM_TLB_GEN_OFF, false);
  if (localGen === mmGen) return cycles;
  const mmu = k.machine.mmu;
  const pcid = kernPcid(k, asid);
  if (f.end !== TLB_FLUSH_ALL && f.newTlbGen === localGen + 1 && f.newTlbGen === mmGen) {
    const step = 2 ** f.strideShift;
    let n = 0;
    for (let addr = f.start; addr < f.end; addr += step) {
      cycles += mmu.invlpg(cpu, addr, pcid);
      n++;
    }
    if (local) counters.add('nr_tlb_local_flush_one', n);
  } else {
    // native_flush_tlb_local(): invalidate_user_asid() and a CR3 write of the loaded root without the no-flush bit,
    // which drops the PCID's TLB and paging-structure-cache entries (all of them without PCIDs). Not INVPCID: Linux
    // reloads CR3 for a local full flush. The refill is the walks that follow (cost.walk_start and the caches).
    cycles += mmu.setCr3(cpu, mmu.cr3[cpu]!, pcid, false);
    if (local) counters.add('nr_tlb_local_flush_all');
  }
  st.ctxGen[asid] = mmGen;
  return cycles;
}

/** should_flush_tlb(): does a CPU in the cpumask need the IPI? Charges the sender's read of the CPU's state. */
function shouldFlushTlb(t: Task, cpu: number, f: FlushTlbInfo): boolean {
  const k = t.k;
  const st = stateOf(k, cpu);
  t.charge(k.machine.caches.access(t.cpu, st.kaddr, false));
  if (st.isLazy) return false;
  if (f.mm === null) return true;
  if (st.loadedMm === f.mm) return true;
  return f.trimCpumask;
}

/** should_trim_cpumask(): at most once a second (HZ jiffies), flush CPUs that left the mm so they drop out of its cpumask. */
function shouldTrimCpumask(t: Task, mm: MmStruct): boolean {
  const k = t.k;
  const jiffies = Math.floor(t.now / k.engine.tickPeriod);
  if (jiffies > mm.nextTrimCpumask) {
    mm.nextTrimCpumask = jiffies + k.cfg.kernel.hz;
    return true;
  }
  return false;
}

/**
 * native_flush_tlb_multi(): IPIs to the CPUs of `mask` that need the flush
 * (all of them when page tables were freed, since a lazy CPU could walk a
 * freed table speculatively), the local flush if this CPU is among them,
 * then a spin until every target has acknowledged (csd_lock_wait).
 */
function* nativeFlushTlbMulti(t: Task, mask: Uint8Array, f: FlushTlbInfo): Blocking<void> {
  const k = t.k;
  t.enter(CAT_FLUSH_TLB_MULTI);
  k.engine.counters.add('nr_tlb_remote_flush');
  const targets: number[] = [];
  let self = false;
  const virt = k.cfg.virt;
  for (let cpu = 0; cpu < mask.length; cpu++) {
    if (!mask[cpu]) continue;
    if (!f.freedTables && !shouldFlushTlb(t, cpu, f)) continue;
    if (cpu === t.cpu) {
      self = true;
      continue;
    }
    if (virt.enabled && virt.pv_tlb_flush) {
      // kvm_flush_tlb_multi(): a preempted vCPU is marked KVM_VCPU_FLUSH_TLB (a cmpxchg on its steal_time line)
      // instead of being sent the IPI; KVM flushes its TLB when it next enters the guest.
      const back = k.engine.preemptedUntil(cpu, t.now);
      if (back >= 0) {
        t.charge(k.machine.caches.access(t.cpu, stateOf(k, cpu).kaddr + 64, true) + k.cfg.cost.atomic_rmw);
        k.engine.counters.add('kvm_pv_tlb_flush_on_enter');
        k.engine.runOnCpuAt(cpu, back, CAT_KVM_FLUSH_ON_ENTER, (c) => flush_tlb_func(k, c, f));
        continue;
      }
    }
    targets.push(cpu);
  }
  let done = null;
  if (targets.length > 0) {
    done = k.cfg.tlb.rar
      ? k.engine.sendIpi(t, targets, CAT_RAR, (cpu) => rarFlush(k, cpu, f), k.cfg.cost.rar_action)
      : smp_call_function_many(t, targets, CAT_FLUSH_TLB_FUNC, (cpu) => flush_tlb_func(k, cpu, f), stateOf(k, t.cpu).infoKaddr);
  }
  if (self) t.chargeAs(CAT_FLUSH_TLB_FUNC, flush_tlb_func(k, t.cpu, f));
  if (done) {
    t.enter(CAT_CSD_WAIT);
    yield t.spinOn(done);
    t.leave();
  }
  t.leave();
}

/**
 * flush_tlb_mm_range(): flush [start, end) of `mm` (end TLB_FLUSH_ALL for
 * everything) from every CPU that may cache it, and wait until they have.
 * strideShift is the page size's shift; freedTables says page tables were
 * freed (lazy CPUs must then flush too).
 */
export function* flush_tlb_mm_range(t: Task, mm: MmStruct, start: number, end: number, strideShift: number, freedTables: boolean): Blocking<void> {
  const k = mm.k;
  const cost = k.cfg.cost;
  const kcost = k.cfg.kernel.cost;
  const counters = k.engine.counters;
  t.enter(CAT_FLUSH_TLB_MM_RANGE);
  t.charge(kcost.flush_tlb_func);
  if (end === TLB_FLUSH_ALL || (end - start) / 2 ** strideShift > k.cfg.kernel.tlb_single_page_flush_ceiling) {
    start = 0;
    end = TLB_FLUSH_ALL;
    counters.add('tlb_shootdown_full');
  } else {
    counters.add('tlb_shootdown_pages', (end - start) / 2 ** strideShift);
  }
  // inc_mm_tlb_gen: an atomic on the mm's context line.
  t.charge(k.machine.caches.access(t.cpu, mm.kaddr + MM_TLB_GEN_OFF, true) + cost.atomic_rmw);
  const newTlbGen = ++mm.tlbGen;
  const f: FlushTlbInfo = { mm, start, end, strideShift, freedTables, newTlbGen, initiatingCpu: t.cpu, trimCpumask: false };
  // get_flush_tlb_info(): this CPU's flush_tlb_info is filled in (the line the targets of an IPI read).
  t.charge(k.machine.caches.access(t.cpu, stateOf(k, t.cpu).infoKaddr, true));
  let others = false;
  for (let cpu = 0; cpu < mm.cpumask.length; cpu++) {
    if (mm.cpumask[cpu] && cpu !== t.cpu) {
      others = true;
      break;
    }
  }
  t.charge(k.machine.caches.access(t.cpu, mm.kaddr + MM_CPUMASK_OFF, false));
  if (k.cfg.tlb.invlpgb && globalAsid.has(mm)) {
    broadcast_tlb_flush(t, f);
  } else if (others) {
    f.trimCpumask = shouldTrimCpumask(t, mm);
    yield* nativeFlushTlbMulti(t, mm.cpumask, f);
    consider_global_asid(t, mm);
  } else if (stateOf(k, t.cpu).loadedMm === mm) {
    t.chargeAs(CAT_FLUSH_TLB_FUNC, flush_tlb_func(k, t.cpu, f));
  }
  t.leave();
}

/**
 * Invalidates, on `cpu`, what `f` names in the ASID slot that holds its mm,
 * as hardware does for INVLPGB and RAR (no software runs there), and marks
 * the slot current when it was one generation behind. Returns nothing: the
 * target's cycles are the caller's to charge.
 */
function invalidateRemote(k: Kernel, cpu: number, f: FlushTlbInfo): void {
  const st = mmCore(k).tlbstate[cpu]!;
  const mm = f.mm;
  if (mm === null) return;
  const mmu = k.machine.mmu;
  for (let asid = 0; asid < TLB_NR_DYN_ASIDS; asid++) {
    if (st.ctxId[asid] !== mm.id) continue;
    const pcid = kernPcid(k, asid);
    if (f.end === TLB_FLUSH_ALL) mmu.flushPcid(cpu, pcid);
    else for (let addr = f.start; addr < f.end; addr += 2 ** f.strideShift) mmu.invlpg(cpu, addr, pcid);
    if (st.ctxGen[asid] === f.newTlbGen - 1) st.ctxGen[asid] = f.newTlbGen;
  }
}

/** An Intel RAR action on a target: the invalidation in microcode (cost.rar_action, charged by the fabric), no handler. */
function rarFlush(k: Kernel, cpu: number, f: FlushTlbInfo): number {
  k.engine.counters.add('nr_tlb_remote_flush_received');
  invalidateRemote(k, cpu, f);
  return 0;
}

/**
 * mm_active_cpus_exceeds(): more than `threshold` CPUs run the mm now (have
 * it loaded and are not lazy).
 */
function mm_active_cpus_exceeds(k: Kernel, mm: MmStruct, threshold: number): boolean {
  let weight = 0;
  for (let cpu = 0; cpu < mm.cpumask.length; cpu++) if (mm.cpumask[cpu]) weight++;
  if (weight <= threshold) return false;
  let count = 0;
  const states = mmCore(k).tlbstate;
  for (let cpu = 0; cpu < mm.cpumask.length; cpu++) {
    if (!mm.cpumask[cpu]) continue;
    const st = states[cpu]!;
    if (st.loadedMm !== mm || st.isLazy) continue;
    if (++count > threshold) return true;
  }
  return false;
}

/**
 * consider_global_asid(): with INVLPGB, an mm running on more than 3 CPUs
 * at once gets a global ASID, and its flushes become broadcasts. The check
 * runs once in a while: when the low 5 bits of the caller's pid match
 * jiffies'.
 */
function consider_global_asid(t: Task, mm: MmStruct): void {
  const k = t.k;
  if (!k.cfg.tlb.invlpgb || globalAsid.has(mm)) return;
  const jiffies = Math.floor(t.now / k.engine.tickPeriod);
  if ((current(t).pid & 0x1f) !== (jiffies & 0x1f)) return;
  if (mm_active_cpus_exceeds(k, mm, 3)) {
    globalAsid.add(mm);
    k.engine.counters.add('tlb_global_asid');
  }
}

/** Whether an mm has a global ASID (for tests and reports). */
export function mm_global_asid(mm: MmStruct): boolean {
  return globalAsid.has(mm);
}

/**
 * broadcast_tlb_flush(): INVLPGB for the range, invlpgb_count_max pages an
 * instruction (one per PCID for a full flush; twice with PTI, for the user
 * PCID), then TLBSYNC waits until every CPU has done them. No IPI, no
 * software on the other CPUs.
 */
function broadcast_tlb_flush(t: Task, f: FlushTlbInfo): void {
  const k = t.k;
  t.enter(CAT_BROADCAST);
  const cost = k.cfg.cost;
  let n = f.end === TLB_FLUSH_ALL ? 1 : Math.ceil((f.end - f.start) / 2 ** f.strideShift / k.cfg.tlb.invlpgb_count_max);
  if (k.cfg.kernel.pti) n *= 2;
  t.charge(n * cost.invlpgb + cost.tlbsync);
  k.engine.counters.add('tlb_invlpgb', n);
  for (let cpu = 0; cpu < k.cfg.cpus; cpu++) invalidateRemote(k, cpu, f);
  t.leave();
}

/** flush_tlb_mm(): the whole address space; x86 passes freed_tables, so lazy CPUs flush too. */
export function flush_tlb_mm(t: Task, mm: MmStruct): Blocking<void> {
  return flush_tlb_mm_range(t, mm, 0, TLB_FLUSH_ALL, 12, true);
}

/** flush_tlb_page(): one page (ptep_clear_flush's flush). */
export function flush_tlb_page(t: Task, mm: MmStruct, addr: number): Blocking<void> {
  return flush_tlb_mm_range(t, mm, addr, addr + PAGE_SIZE, PAGE_SHIFT, false);
}

/** The CPU's tlbstate (for the scheduler hook, checks and tests). */
export function cpuTlbState(k: Kernel, cpu: number): CpuTlbState {
  return stateOf(k, cpu);
}
