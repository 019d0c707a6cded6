/**
 * Mmu: per-CPU CR3/PCID, and the access pipeline: address translation
 * through the TLB, a paging-structure cache and the page-table walker
 * (walker.ts), then the data access through the cache hierarchy.
 *
 * One loop, run(), serves every caller: it takes an address stream
 * (access.ts: a stride, a random stream, a buffer of trace records), a
 * count, read or write, a cycle budget and user or supervisor mode, and
 * returns the CPU's AccessOutcome record: accesses done, cycles spent, and
 * which access faulted and why. access(), accessRange() and accessRandom()
 * are that loop over a one-address, a stride and a random stream.
 *
 * Cycles of one access (what the tests pin):
 *   TLB L1 hit         0
 *   STLB hit           cost.stlb_hit
 *   TLB miss           cost.stlb_hit + walk (walker.ts)
 *   write via an entry
 *   without TLB_D      the hit's cost + a walk that sets D (hardware assist);
 *                      the TLB entry then gets TLB_D
 *   data               caches.access(pfn * PAGE_SIZE + offset, write)
 * On a fault nothing is charged for the data access: the outcome's fault
 * says why and faultCycles what the lookup and walk cost (included in its
 * cycles). As on x86 (SDM vol. 3 §4.10.4.1), a fault invalidates the TLB
 * entry for the page and the PWC entry for the region, so once the kernel
 * has fixed the tables a retry walks them afresh (Linux relies on this when
 * it upgrades permissions without a flush). The TLB invalidation is counted
 * under tlb_invlpg. SMAP is not modelled, nor are instruction fetches (so NX
 * never faults).
 *
 * PWC (pwc.ts; cfg.tlb.pwc_entries per CPU, fully associative, LRU, PCID-tagged):
 * key (2 MiB region, PCID) -> page-table pfn and the rights of the upper
 * three levels. INVLPG drops every PWC entry of the current PCID, as the SDM
 * specifies; a PCID flush drops that PCID's, a full flush all.
 *
 * Fast path. Per CPU the MMU remembers its last translation (vpn, PCID, pfn,
 * TLB flags); while tlb.epoch[cpu] is unchanged that entry is still in the
 * L1 dTLB and is the most recent of its set, so a repeat is counted with
 * tlb.countL1Hit and costs 0 without a lookup. Within one run (whose
 * accesses are all reads or all writes) it also remembers the last data
 * line: while caches.epoch[cpu] is unchanged and no other access of this
 * CPU came between (a walk resets it: aliases of one frame), a repeat is an
 * L1 hit on the MRU line, already held with the rights it needs, and is
 * charged with caches.hitSame. The line memo does not outlive a run because
 * kernel code also accesses the caches directly for this CPU (which does
 * not bump caches.epoch). Either memo can be switched off (`memo = false`);
 * the results are identical (test/hw/mmu.test.ts, and test/hw/pipeline.test.ts
 * against the reference implementation in test/hw/oracle).
 *
 * Addresses are 48-bit numbers (see pagetable.ts); callers pass valid CPUs.
 */
import { AccessOutcome, AddressStream, FAULT_PROTECTION, type FaultCode, STREAM_RANDOM, STREAM_STRIDE } from './access.js';
import type { CacheHierarchy } from './cache.js';
import type { HardwareConfig } from './config.js';
import type { PageTables } from './pagetable.js';
import { Pwc } from './pwc.js';
import { FunctionalWalk, Sampler, type SamplingReport } from './sampler.js';
import { type Tlb, TLB_D, TLB_U, TLB_W } from './tlb.js';
import { type Cycles, PAGE_SIZE, type Pfn, type Vaddr } from './types.js';
import { Walker } from './walker.js';

export { FAULT_NOT_PRESENT, FAULT_PROTECTION } from './access.js';

// The page size as a literal, which V8 folds (an imported binding is a cell
// load and a check at each use).
const PAGE = 4096;
if (PAGE !== PAGE_SIZE) throw new Error('mmu.ts: PAGE differs from PAGE_SIZE');
const REGION = 2 ** 21;
const PCIDS = 4096;

export class Mmu {
  /** PML4 pfn per CPU, -1 for none. */
  readonly cr3: Float64Array;
  readonly pcid: Uint16Array;
  /** Memoize the last translation and data line (see the header); off gives the reference path. */
  memo = true;

  /** Paging-structure cache (pwc.ts). */
  readonly pwc: Pwc;
  /** The page-table walker (walker.ts). */
  readonly walker: Walker;

  private readonly stlbHit: number;
  /** 1 / the cache line size (a power of two, so a product is exact). */
  private readonly lineInv: number;

  // The last translation per CPU.
  private readonly mVpn: Float64Array;
  private readonly mPcid: Int32Array;
  private readonly mEpoch: Uint32Array;
  private readonly mPfn: Float64Array;
  private readonly mFlags: Uint8Array;

  /** Each CPU's outcome record, returned by its runs. */
  private readonly outcomes: AccessOutcome[];
  /** The stream of the single-call helpers (access, accessRange, accessRandom). */
  private readonly scratch = new AddressStream();
  /** Sampled mode of user traffic (sampler.ts), or null: every access in detail. */
  private sampler: Sampler | null = null;
  private readonly fwalk: FunctionalWalk;
  /** Page-table roots the hypervisor has shadow tables for (virt.shadow_root > 0). */
  private readonly shadowRoots = new Set<number>();

  // translate()'s translation: pfn, TLB_* flags, whether it walked (a walk
  // touches the caches, so the line memo no longer holds).
  private tPfn = 0;
  private tFlags = 0;
  private tWalked = false;

  constructor(
    readonly cfg: HardwareConfig,
    readonly pt: PageTables,
    readonly tlb: Tlb,
    readonly caches: CacheHierarchy,
  ) {
    const cpus = cfg.cpus;
    this.cr3 = new Float64Array(cpus).fill(-1);
    this.pcid = new Uint16Array(cpus);
    this.stlbHit = cfg.cost.stlb_hit;
    this.lineInv = 1 / caches.lineBytes;
    this.mVpn = new Float64Array(cpus).fill(-1);
    this.mPcid = new Int32Array(cpus).fill(-1);
    this.mEpoch = new Uint32Array(cpus);
    this.mPfn = new Float64Array(cpus);
    this.mFlags = new Uint8Array(cpus);
    this.outcomes = Array.from({ length: cpus }, () => new AccessOutcome());
    this.pwc = new Pwc(cpus, cfg.tlb.pwc_entries);
    this.walker = new Walker(cfg, pt.mem, caches, this.pwc, this.cr3);
    this.fwalk = new FunctionalWalk(pt.mem);
  }

  /**
   * Sampled mode for user accesses (sampler.ts): `fraction` of them in
   * detail, in units of `unit` accesses (half warm-up, half measured), the
   * rest translated functionally and charged the last unit's mean. A
   * fraction of 1 (or more) switches it off: every access in detail.
   */
  setSampling(fraction: number, unit: number, warmup = 0): void {
    this.sampler = fraction >= 1 ? null : new Sampler(this.cfg.cpus, fraction, unit, warmup);
  }

  /** The sampled mode's counts and error estimate, or null in exact mode. */
  samplingReport(): SamplingReport | null {
    return this.sampler === null ? null : this.sampler.report();
  }

  /**
   * Loads CR3. Without PCIDs (cfg.tlb.pcid false) the PCID is 0 and the load
   * flushes the TLB and PWC, as a CR3 write does; with PCIDs it keeps them
   * unless noflush is false (CR3 bit 63 clear), which flushes that PCID.
   * Returns cost.cr3_write, plus virt.shadow_root on a guest's first load of
   * the root.
   */
  setCr3(cpu: number, pml4Pfn: Pfn, pcid: number, noflush = true): Cycles {
    this.cr3[cpu] = pml4Pfn;
    const shadow = pml4Pfn >= 0 && this.cfg.virt.enabled ? this.shadowRootCycles(pml4Pfn) : 0;
    if (!this.cfg.tlb.pcid) {
      this.pcid[cpu] = 0;
      this.tlb.flushAll(cpu);
      this.pwc.dropPcid(cpu, -1);
    } else {
      if (!(pcid >= 0 && pcid < PCIDS)) throw new RangeError(`setCr3: PCID ${pcid} not in 0..4095`);
      this.pcid[cpu] = pcid;
      if (!noflush) {
        this.tlb.flushPcid(cpu, pcid);
        this.pwc.dropPcid(cpu, pcid);
      }
    }
    return this.cfg.cost.cr3_write + shadow;
  }

  /** Under shadow paging, the first load of a root makes the hypervisor build its shadow tables (virt.shadow_root). */
  private shadowRootCycles(pml4Pfn: number): number {
    const cost = this.cfg.virt.shadow_root;
    if (cost === 0 || this.shadowRoots.has(pml4Pfn)) return 0;
    this.shadowRoots.add(pml4Pfn);
    return cost;
  }

  /** The guest freed a page-table root: the hypervisor drops its shadow tables (a new root there is built again). */
  dropShadowRoot(pml4Pfn: number): void {
    this.shadowRoots.delete(pml4Pfn);
  }

  /** INVLPG (or, for another PCID, INVPCID individual-address): drops the page's TLB entries and the PCID's PWC entries. */
  invlpg(cpu: number, vaddr: Vaddr, pcid: number = this.pcid[cpu]!): Cycles {
    this.tlb.invlpg(cpu, pcid, Math.floor(vaddr / PAGE));
    this.pwc.dropPcid(cpu, pcid);
    return this.cfg.cost.invlpg;
  }

  /** INVPCID single-context: drops every TLB and PWC entry of one PCID. */
  flushPcid(cpu: number, pcid: number): Cycles {
    this.tlb.flushPcid(cpu, pcid);
    this.pwc.dropPcid(cpu, pcid);
    return this.cfg.cost.tlb_flush_pcid;
  }

  /** Drops every TLB and PWC entry of the CPU. */
  flushAll(cpu: number): Cycles {
    this.tlb.flushAll(cpu);
    this.pwc.dropPcid(cpu, -1);
    return this.cfg.cost.tlb_flush_full;
  }

  /** Frame holding vaddr's byte in cpu's address space, or -1; no cycles, no LRU or A/D changes. */
  translateFunctional(cpu: number, vaddr: Vaddr): Pfn {
    return this.pt.translateFunctional(this.cr3[cpu]!, vaddr);
  }

  /** PWC entries of a CPU, most recent first (for checks and tests): [pcid, 2 MiB region number, page-table pfn]. */
  pwcEntries(cpu: number): number[][] {
    return this.pwc.list(cpu);
  }

  /** The outcome record of cpu's last run. */
  outcome(cpu: number): AccessOutcome {
    return this.outcomes[cpu]!;
  }

  /** One data access of `cpu` at vaddr (a run of one). */
  access(cpu: number, vaddr: Vaddr, write: boolean, user = true): AccessOutcome {
    return this.run(cpu, this.scratch.setStride(vaddr, 0), 1, write, Infinity, user);
  }

  /** Up to `count` accesses at vaddr, vaddr + stride, ... (a run over a stride stream). */
  accessRange(cpu: number, vaddr: Vaddr, count: number, stride: number, write: boolean, budget: number, user = true): AccessOutcome {
    return this.run(cpu, this.scratch.setStride(vaddr, stride), count, write, budget, user);
  }

  /**
   * Up to `count` 8-byte accesses at uniformly random 8-byte-aligned
   * addresses in [base, base + len), drawn with xorshift32 from `seed` (a
   * run over a random stream; to continue the stream, or retry its faulting
   * access, run an AddressStream of your own).
   */
  accessRandom(cpu: number, base: Vaddr, len: number, count: number, seed: number, write = false, budget = Infinity, user = true): AccessOutcome {
    return this.run(cpu, this.scratch.setRandom(base, len, seed), count, write, budget, user);
  }

  /**
   * The access pipeline: up to `count` accesses of `cpu` at the stream's
   * addresses, all reads or all writes, in user or supervisor mode; stops
   * before an access once the cycles spent reach `budget`, or at a fault.
   * The stream advances past the accesses done. Returns cpu's outcome record.
   */
  run(cpu: number, stream: AddressStream, count: number, write: boolean, budget: number, user = true): AccessOutcome {
    if (this.sampler !== null && user) return this.runSampled(this.sampler, cpu, stream, count, write, budget);
    return this.runExact(cpu, stream, count, write, budget, user);
  }

  /**
   * run() in sampled mode (sampler.ts), user accesses: the detailed part of
   * each period through runExact, the rest translated functionally; an
   * access the functional translation cannot take (a fault, an A or D bit
   * to set) is done in detail.
   */
  private runSampled(s: Sampler, cpu: number, stream: AddressStream, count: number, write: boolean, budget: number): AccessOutcome {
    const fw = this.fwalk;
    fw.reset();
    const root = this.cr3[cpu]!;
    const need = write ? 6 : 4; // E_US | (write ? E_RW : 0)
    const unit = s.unit;
    const warm = s.warm;
    const period = s.period;
    let done = 0;
    let spent = 0;
    while (done < count && spent < budget) {
      const pos = s.pos[cpu]!;
      if (pos < unit) {
        // pos < 0: the start-up warm-up; then the unit's warm-up half, then its measured half
        const edge = pos < 0 ? 0 : pos < warm ? warm : unit;
        // a measured access goes one at a time: only one a functional translation could take counts in the mean
        const measuring = pos >= warm;
        const n = measuring ? 1 : Math.min(count - done, edge - pos);
        const eligible = measuring && fw.nextOk(root, stream, need);
        const o = this.runExact(cpu, stream, n, write, budget - spent, true);
        const d = o.done;
        s.detailed += d;
        const np = pos + d;
        if (measuring) s.measured(cpu, eligible ? d : 0, eligible ? o.cycles - (o.fault !== 0 ? o.faultCycles : 0) : 0, np === unit);
        s.pos[cpu] = np === period ? 0 : np;
        done += d;
        spent += o.cycles;
        if (o.fault !== 0) {
          o.done = done;
          o.cycles = spent;
          return o;
        }
        if (d < n) break;
        continue;
      }
      // functional until the period ends or an access needs detail
      const n = Math.min(count - done, period - pos);
      const est = s.est[cpu]!;
      if (est < 0) {
        // no unit has measured a mean yet: the rest of the period runs in detail, unmeasured
        const o = this.runExact(cpu, stream, n, write, budget - spent, true);
        s.detailed += o.done;
        const np = pos + o.done;
        s.pos[cpu] = np === period ? 0 : np;
        done += o.done;
        spent += o.cycles;
        if (o.fault !== 0) {
          o.done = done;
          o.cycles = spent;
          return o;
        }
        if (o.done < n) break;
        continue;
      }
      const k = fw.stretch(root, stream, n, need, est, budget - spent);
      const handOver = fw.handOver;
      spent += k * est;
      s.functional += k;
      s.estimated += k * est;
      done += k;
      let np = pos + k;
      if (handOver) {
        const o = this.runExact(cpu, stream, 1, write, budget - spent, true);
        s.detailed += o.done;
        np += o.done;
        done += o.done;
        spent += o.cycles;
        if (o.fault !== 0) {
          s.pos[cpu] = np === period ? 0 : np;
          o.done = done;
          o.cycles = spent;
          return o;
        }
      }
      s.pos[cpu] = np === period ? 0 : np;
    }
    const out = this.outcomes[cpu]!;
    out.done = done;
    out.cycles = spent;
    out.fault = 0;
    return out;
  }

  /** run() with every access in detail. */
  private runExact(cpu: number, stream: AddressStream, count: number, write: boolean, budget: number, user: boolean): AccessOutcome {
    const caches = this.caches;
    const tlb = this.tlb;
    const tlbEpoch = tlb.epoch;
    const cacheEpoch = caches.epoch;
    const lineInv = this.lineInv;
    const memo = this.memo;
    const pcid = this.pcid[cpu]!;
    const need = (user ? TLB_U : 0) | (write ? TLB_W | TLB_D : 0);
    const kind = stream.kind;
    const base = stream.base;
    const stride = stream.stride;
    const slots = stream.slots;
    const trace = stream.trace;
    const pos = stream.pos;
    let x = stream.state;
    let mVpn = this.mPcid[cpu] === pcid ? this.mVpn[cpu]! : -1;
    let mEpoch = this.mEpoch[cpu]!;
    let mPfn = this.mPfn[cpu]!;
    let mFlags = this.mFlags[cpu]!;
    let lastLine = -1;
    let lastEpoch = 0;
    let spent = 0;
    let done = 0;
    let fault: FaultCode = 0;
    let va = 0;
    while (done < count && spent < budget) {
      let y = x;
      if (kind === STREAM_STRIDE) va = base + done * stride;
      else if (kind === STREAM_RANDOM) {
        y ^= y << 13;
        y ^= y >>> 17;
        y ^= y << 5;
        y >>>= 0;
        va = base + Math.floor((y / 4294967296) * slots) * 8;
      } else va = trace[pos + done]!;
      const vpn = Math.floor(va / PAGE);
      let cyc: number;
      let pfn: number;
      if (memo && vpn === mVpn && tlbEpoch[cpu] === mEpoch && (mFlags & need) === need) {
        tlb.countL1Hit(cpu);
        cyc = 0;
        pfn = mPfn;
      } else {
        cyc = this.translate(cpu, va, vpn, write, user);
        if (cyc < 0) {
          fault = cyc as FaultCode;
          break;
        }
        pfn = this.tPfn;
        if (this.tWalked) lastLine = -1;
        mVpn = vpn;
        mEpoch = tlbEpoch[cpu]!;
        mPfn = pfn;
        mFlags = this.tFlags;
      }
      const line = Math.floor((pfn * PAGE + (va - vpn * PAGE)) * lineInv);
      if (memo && line === lastLine && cacheEpoch[cpu] === lastEpoch) {
        cyc += caches.hitSame(cpu);
      } else {
        cyc += caches.accessLine(cpu, line, write);
        lastLine = line;
        lastEpoch = cacheEpoch[cpu]!;
      }
      x = y;
      spent += cyc;
      done++;
    }
    const out = this.outcomes[cpu]!;
    out.done = done;
    out.fault = fault;
    if (fault !== 0) {
      const fc = this.tCycles;
      out.faultCycles = fc;
      out.faultAddr = va;
      out.faultWrite = write;
      out.faultUser = user;
      spent += fc;
    }
    out.cycles = spent;
    if (kind === STREAM_STRIDE) stream.base = base + done * stride;
    else if (kind === STREAM_RANDOM) stream.state = x;
    else stream.pos = pos + done;
    return out;
  }

  /** Cycles of translate()'s lookup and walk when it faulted. */
  private tCycles = 0;

  /**
   * TLB lookup and, if needed, a walk. Returns the cycles (>= 0) with tPfn,
   * tFlags and tWalked set and the per-CPU memo updated; or a fault code with
   * tCycles set.
   */
  private translate(cpu: number, vaddr: number, vpn: number, write: boolean, user: boolean): number {
    const tlb = this.tlb;
    const pcid = this.pcid[cpu]!;
    const walker = this.walker;
    this.tWalked = false;
    const level = tlb.lookup(cpu, pcid, vpn);
    let cyc: number;
    if (level !== 0) {
      cyc = level === 2 ? this.stlbHit : 0;
      const flags = tlb.flags;
      if ((user && (flags & TLB_U) === 0) || (write && (flags & TLB_W) === 0)) {
        tlb.invlpg(cpu, pcid, vpn);
        this.pwc.dropRegion(cpu, Math.floor(vaddr / REGION), pcid);
        return this.fail(FAULT_PROTECTION, cyc);
      }
      if (write && (flags & TLB_D) === 0) {
        // Hardware assist: re-walk to set D in the PTE, then mark the entry dirty.
        const huge = tlb.huge;
        const pfn = tlb.pfn;
        const w = walker.walk(cpu, pcid, vaddr, write, user);
        this.tWalked = true;
        if (w !== 0) {
          tlb.invlpg(cpu, pcid, vpn);
          return this.fail(w, cyc + walker.cycles);
        }
        cyc += walker.cycles;
        if (walker.pfn === pfn && walker.huge === huge) tlb.setFlags(cpu, pcid, vpn, walker.flags);
        else tlb.insert(cpu, pcid, vpn, walker.pfn, walker.flags, walker.huge);
        this.tPfn = walker.pfn;
        this.tFlags = walker.flags;
      } else {
        this.tPfn = tlb.pfn;
        this.tFlags = flags;
      }
    } else {
      cyc = this.stlbHit;
      const w = walker.walk(cpu, pcid, vaddr, write, user);
      this.tWalked = true;
      if (w !== 0) return this.fail(w, cyc + walker.cycles);
      cyc += walker.cycles;
      tlb.insert(cpu, pcid, vpn, walker.pfn, walker.flags, walker.huge);
      this.tPfn = walker.pfn;
      this.tFlags = walker.flags;
    }
    this.mVpn[cpu] = vpn;
    this.mPcid[cpu] = pcid;
    this.mEpoch[cpu] = tlb.epoch[cpu]!;
    this.mPfn[cpu] = this.tPfn;
    this.mFlags[cpu] = this.tFlags;
    return cyc;
  }

  private fail(code: FaultCode, cycles: number): number {
    this.tCycles = cycles;
    return code;
  }
}
