/**
 * The reference MMU: src/hw/mmu.ts as it was before the access pipeline
 * (three loops, results in fields on the object), kept unchanged as the
 * oracle of test/hw/pipeline.test.ts. Every optimisation of the pipeline,
 * the walker or the set stores must leave cycles, counters, A/D bits and
 * fault reports equal to what this computes over the same hardware.
 *
 * Mmu: per-CPU CR3/PCID, address translation through the TLB, a
 * paging-structure cache and the page-table walker, then the data access
 * through the cache hierarchy.
 *
 * Cycles of one access (what the tests pin):
 *   TLB L1 hit         0
 *   STLB hit           cost.stlb_hit
 *   TLB miss           cost.stlb_hit + walk
 *   walk               cost.walk_start once; per level read: caches.access(entry, read) + cost.walk_step
 *                      per entry whose A (or, at the leaf, D) bit the walker
 *                      sets: caches.access(entry, write) + cost.ad_assist
 *                      A PWC hit skips the PML4, PDPT and PD reads; a PD
 *                      entry with PS ends the walk as a 2 MiB translation.
 *   write via an entry
 *   without TLB_D      the hit's cost + a walk that sets D (hardware assist);
 *                      the TLB entry then gets TLB_D
 *   data               caches.access(pfn * 4096 + offset, write)
 * On a fault nothing is charged for the data access: the access returns
 * FAULT_NOT_PRESENT or FAULT_PROTECTION and faultCycles holds what the
 * lookup and walk cost. As on x86 (SDM vol. 3 §4.10.4.1), a fault
 * invalidates the TLB entry for the page and the PWC entry for the region,
 * so once the kernel has fixed the tables a retry walks them afresh (Linux
 * relies on this when it upgrades permissions without a flush). The TLB
 * invalidation is counted under tlb_invlpg.
 *
 * Walker details: the effective rights are the AND of RW and US over all
 * levels (NX the OR); a write to a read-only page faults in user and
 * supervisor mode alike (CR0.WP, as Linux sets it); a user access to a
 * supervisor page faults; SMAP is not modelled, nor are instruction fetches
 * (so NX never faults). A bits on the upper levels are set as the walker
 * passes each present entry; the leaf's A (and D for a write) only when the
 * translation succeeds. 1 GiB pages are not modelled.
 *
 * PWC (pwc.ts; cfg.tlb.pwc_entries per CPU, fully associative, LRU, PCID-tagged):
 * key (2 MiB region, PCID) -> page-table pfn and the rights of the upper
 * three levels. INVLPG drops every PWC entry of the current PCID, as the SDM
 * specifies; a PCID flush drops that PCID's, a full flush all.
 *
 * Fast path. Per CPU the MMU remembers its last translation (vpn, PCID, pfn,
 * TLB flags); while tlb.epoch[cpu] is unchanged that entry is still in the
 * L1 dTLB and is the most recent of its set, so a repeat is counted with
 * tlb.countL1Hit and costs 0 without a lookup. Within one accessRange /
 * accessRandom call (whose accesses are all reads or all writes) it also
 * remembers the last data line: while caches.epoch[cpu] is unchanged and no
 * other access of this CPU came between (a walk resets it: aliases of one
 * frame), a repeat is an L1 hit on the MRU line, already held with the
 * rights it needs, and is charged with caches.hitSame. The line memo
 * does not outlive a call because kernel code also accesses the caches
 * directly for this CPU (which does not bump caches.epoch). Either memo can
 * be switched off (`memo = false`); the results are identical.
 *
 * Addresses are 48-bit numbers (see pagetable.ts); callers pass valid CPUs.
 */
import type { CacheHierarchy } from './cache-ref.js';
import type { HardwareConfig } from '../../../src/hw/config.js';
import type { PageTables } from '../../../src/hw/pagetable.js';
import { CHUNK_MASK, CHUNK_SHIFT, FRAME_WORDS, type PhysMem } from '../../../src/hw/physmem.js';
import { Pwc } from './pwc-ref.js';
import { type Tlb, TLB_D, TLB_NX, TLB_U, TLB_W } from './tlb-ref.js';

const FAULT_NOT_PRESENT = -1;
const FAULT_PROTECTION = -2;

const PAGE = 4096;
const REGION = 2 ** 21;
const TWO20 = 2 ** 20;
const PCIDS = 4096;
// Entry bits in the low word (see pagetable.ts).
const E_P = 1;
const E_RW = 2;
const E_US = 4;
const E_A = 0x20;
const E_D = 0x40;
const E_PS = 0x80;
// Reciprocals of powers of two: a product is exact, so it indexes as the
// quotient would, without a division.
const REGION_INV = 2 ** -21;
const PAGE_INV = 2 ** -12;
// physmem.ts's byte-pool geometry as literals, which V8 folds (an imported
// binding is a cell load and a check at each use).
const SLOT_SHIFT = 6;
const SLOT_MASK = 63;
const WORDS_PER_FRAME = 1024;
if (SLOT_SHIFT !== CHUNK_SHIFT || SLOT_MASK !== CHUNK_MASK || WORDS_PER_FRAME !== FRAME_WORDS) {
  throw new Error('mmu.ts: byte-pool geometry differs from physmem.ts');
}

export class RefMmu {
  /** PML4 pfn per CPU, -1 for none. */
  readonly cr3: Float64Array;
  readonly pcid: Uint16Array;
  /** Memoize the last translation and data line (see the header); off gives the reference path. */
  memo = true;

  /** Cycles spent before the last fault (TLB lookup and walk). */
  faultCycles = 0;
  faultAddr = 0;
  faultWrite = false;
  faultUser = false;
  /** Code of the last fault (FAULT_*). */
  faultCode = 0;
  /** Cycles spent by the last accessRange / accessRandom, including a final fault's faultCycles. */
  lastCycles = 0;
  /** 0, or the fault code that stopped the last accessRange / accessRandom. */
  lastFault = 0;
  /** xorshift32 state after the last accessRandom; after a fault, the state that regenerates the faulting address. */
  rngState = 1;

  private readonly mem: PhysMem;
  private readonly stlbHit: number;
  private readonly walkStep: number;
  /** The walker's own latency per walk (cost.walk_start). */
  private readonly walkStart: number;
  /** The locked update of an entry whose A or D bit the walker sets (cost.ad_assist). */
  private readonly adAssist: number;
  /** 1 / the cache line size (a power of two, so a product is exact). */
  private readonly lineInv: number;

  // The last translation per CPU.
  private readonly mVpn: Float64Array;
  private readonly mPcid: Int32Array;
  private readonly mEpoch: Uint32Array;
  private readonly mPfn: Float64Array;
  private readonly mFlags: Uint8Array;

  /** Paging-structure cache (pwc.ts). */
  readonly pwc: Pwc;

  // Results of translate().
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
    this.mem = pt.mem;
    this.cr3 = new Float64Array(cpus).fill(-1);
    this.pcid = new Uint16Array(cpus);
    this.stlbHit = cfg.cost.stlb_hit;
    this.walkStep = cfg.cost.walk_step;
    this.walkStart = cfg.cost.walk_start;
    this.adAssist = cfg.cost.ad_assist;
    this.lineInv = 1 / caches.lineBytes;
    this.mVpn = new Float64Array(cpus).fill(-1);
    this.mPcid = new Int32Array(cpus).fill(-1);
    this.mEpoch = new Uint32Array(cpus);
    this.mPfn = new Float64Array(cpus);
    this.mFlags = new Uint8Array(cpus);
    this.pwc = new Pwc(cpus, cfg.tlb.pwc_entries);
  }

  /**
   * Loads CR3. Without PCIDs (cfg.tlb.pcid false) the PCID is 0 and the load
   * flushes the TLB and PWC, as a CR3 write does; with PCIDs it keeps them
   * unless noflush is false (CR3 bit 63 clear), which flushes that PCID.
   * Returns cost.cr3_write.
   */
  setCr3(cpu: number, pml4Pfn: number, pcid: number, noflush = true): number {
    this.cr3[cpu] = pml4Pfn;
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
    return this.cfg.cost.cr3_write;
  }

  /** INVLPG (or, for another PCID, INVPCID individual-address): drops the page's TLB entries and the PCID's PWC entries. */
  invlpg(cpu: number, vaddr: number, pcid: number = this.pcid[cpu]!): number {
    this.tlb.invlpg(cpu, pcid, Math.floor(vaddr / PAGE));
    this.pwc.dropPcid(cpu, pcid);
    return this.cfg.cost.invlpg;
  }

  /** INVPCID single-context: drops every TLB and PWC entry of one PCID. */
  flushPcid(cpu: number, pcid: number): number {
    this.tlb.flushPcid(cpu, pcid);
    this.pwc.dropPcid(cpu, pcid);
    return this.cfg.cost.tlb_flush_pcid;
  }

  /** Drops every TLB and PWC entry of the CPU. */
  flushAll(cpu: number): number {
    this.tlb.flushAll(cpu);
    this.pwc.dropPcid(cpu, -1);
    return this.cfg.cost.tlb_flush_full;
  }

  /** Frame holding vaddr's byte in cpu's address space, or -1; no cycles, no LRU or A/D changes. */
  translateFunctional(cpu: number, vaddr: number): number {
    return this.pt.translateFunctional(this.cr3[cpu]!, vaddr);
  }

  /** PWC entries of a CPU, most recent first (for checks and tests): [pcid, 2 MiB region number, page-table pfn]. */
  pwcEntries(cpu: number): number[][] {
    return this.pwc.list(cpu);
  }

  /**
   * One data access of `cpu` at vaddr: returns its cycles (>= 0), or a
   * negative FAULT_* code with faultCycles/faultAddr/faultWrite set.
   */
  access(cpu: number, vaddr: number, write: boolean, user = true): number {
    const vpn = Math.floor(vaddr / PAGE);
    let cyc: number;
    let pfn: number;
    const pcid = this.pcid[cpu]!;
    const need = (user ? TLB_U : 0) | (write ? TLB_W | TLB_D : 0);
    if (
      this.memo &&
      vpn === this.mVpn[cpu] &&
      pcid === this.mPcid[cpu] &&
      this.tlb.epoch[cpu] === this.mEpoch[cpu] &&
      (this.mFlags[cpu]! & need) === need
    ) {
      this.tlb.countL1Hit(cpu);
      cyc = 0;
      pfn = this.mPfn[cpu]!;
    } else {
      cyc = this.translate(cpu, vaddr, vpn, write, user);
      if (cyc < 0) return cyc;
      pfn = this.tPfn;
    }
    return cyc + this.caches.access(cpu, pfn * PAGE + (vaddr - vpn * PAGE), write);
  }

  /**
   * Up to `count` accesses at vaddr, vaddr + stride, ... in a tight loop;
   * stops before an access once the cycles spent reach `budget`, or at a
   * fault (lastFault, faultAddr, ...). Returns the accesses completed;
   * lastCycles holds the cycles spent, a fault's faultCycles included.
   */
  accessRange(cpu: number, vaddr: number, count: number, stride: number, write: boolean, budget: number, user = true): number {
    const caches = this.caches;
    const tlb = this.tlb;
    const tlbEpoch = tlb.epoch;
    const cacheEpoch = caches.epoch;
    const lineInv = this.lineInv;
    const memo = this.memo;
    const pcid = this.pcid[cpu]!;
    const need = (user ? TLB_U : 0) | (write ? TLB_W | TLB_D : 0);
    let mVpn = this.mPcid[cpu] === pcid ? this.mVpn[cpu]! : -1;
    let mEpoch = this.mEpoch[cpu]!;
    let mPfn = this.mPfn[cpu]!;
    let mFlags = this.mFlags[cpu]!;
    let lastLine = -1;
    let lastEpoch = 0;
    let spent = 0;
    let done = 0;
    this.lastFault = 0;
    while (done < count && spent < budget) {
      const va = vaddr + done * stride;
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
          spent += this.faultCycles;
          this.lastFault = cyc;
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
      spent += cyc;
      done++;
    }
    this.lastCycles = spent;
    return done;
  }

  /**
   * Up to `count` 8-byte accesses at uniformly random 8-byte-aligned
   * addresses in [base, base + len), drawn with xorshift32 from `seed`
   * (non-zero). Stops like accessRange; rngState holds the generator state
   * to continue from (after a fault, the state that redraws the faulting
   * address).
   */
  accessRandom(cpu: number, base: number, len: number, count: number, seed: number, write = false, budget = Infinity, user = true): number {
    const caches = this.caches;
    const tlb = this.tlb;
    const tlbEpoch = tlb.epoch;
    const cacheEpoch = caches.epoch;
    const lineInv = this.lineInv;
    const memo = this.memo;
    const pcid = this.pcid[cpu]!;
    const need = (user ? TLB_U : 0) | (write ? TLB_W | TLB_D : 0);
    const slots = Math.floor(len / 8);
    let x = seed >>> 0 || 1;
    let mVpn = this.mPcid[cpu] === pcid ? this.mVpn[cpu]! : -1;
    let mEpoch = this.mEpoch[cpu]!;
    let mPfn = this.mPfn[cpu]!;
    let mFlags = this.mFlags[cpu]!;
    let lastLine = -1;
    let lastEpoch = 0;
    let spent = 0;
    let done = 0;
    this.lastFault = 0;
    while (done < count && spent < budget) {
      let y = x;
      y ^= y << 13;
      y ^= y >>> 17;
      y ^= y << 5;
      y >>>= 0;
      const va = base + Math.floor((y / 4294967296) * slots) * 8;
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
          spent += this.faultCycles;
          this.lastFault = cyc;
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
    this.rngState = x;
    this.lastCycles = spent;
    return done;
  }

  /**
   * TLB lookup and, if needed, a walk. Returns the cycles (>= 0) with tPfn,
   * tFlags (TLB_* of the translation) and tWalked set, and the per-CPU memo
   * updated; or a FAULT_* code with the fault fields set.
   */
  private translate(cpu: number, vaddr: number, vpn: number, write: boolean, user: boolean): number {
    const tlb = this.tlb;
    const pcid = this.pcid[cpu]!;
    this.tWalked = false;
    const level = tlb.lookup(cpu, pcid, vpn);
    let cyc: number;
    if (level !== 0) {
      cyc = level === 2 ? this.stlbHit : 0;
      const flags = tlb.flags;
      if ((user && (flags & TLB_U) === 0) || (write && (flags & TLB_W) === 0)) {
        tlb.invlpg(cpu, pcid, vpn);
        this.pwc.dropRegion(cpu, Math.floor(vaddr / REGION), pcid);
        return this.fault(FAULT_PROTECTION, cyc, vaddr, write, user);
      }
      if (write && (flags & TLB_D) === 0) {
        // Hardware assist: re-walk to set D in the PTE, then mark the entry dirty.
        const huge = tlb.huge;
        const pfn = tlb.pfn;
        const w = this.walk(cpu, vaddr, write, user);
        this.tWalked = true;
        if (w < 0) {
          tlb.invlpg(cpu, pcid, vpn);
          return this.fault(w, cyc + this.faultCycles, vaddr, write, user);
        }
        cyc += w;
        if (this.wPfn === pfn && this.wHuge === huge) tlb.setFlags(cpu, pcid, vpn, this.wFlags);
        else tlb.insert(cpu, pcid, vpn, this.wPfn, this.wFlags, this.wHuge);
        this.tPfn = this.wPfn;
        this.tFlags = this.wFlags;
      } else {
        this.tPfn = tlb.pfn;
        this.tFlags = flags;
      }
    } else {
      cyc = this.stlbHit;
      const w = this.walk(cpu, vaddr, write, user);
      this.tWalked = true;
      if (w < 0) return this.fault(w, cyc + this.faultCycles, vaddr, write, user);
      cyc += w;
      tlb.insert(cpu, pcid, vpn, this.wPfn, this.wFlags, this.wHuge);
      this.tPfn = this.wPfn;
      this.tFlags = this.wFlags;
    }
    this.mVpn[cpu] = vpn;
    this.mPcid[cpu] = pcid;
    this.mEpoch[cpu] = tlb.epoch[cpu]!;
    this.mPfn[cpu] = this.tPfn;
    this.mFlags[cpu] = this.tFlags;
    return cyc;
  }

  private fault(code: number, cycles: number, vaddr: number, write: boolean, user: boolean): number {
    this.faultCode = code;
    this.faultCycles = cycles;
    this.faultAddr = vaddr;
    this.faultWrite = write;
    this.faultUser = user;
    return code;
  }

  // Results of walk().
  private wPfn = 0;
  private wFlags = 0;
  private wHuge = false;

  /*
   * The walk, over the 48-bit split drawn in pagetable.ts:
   *
   *   47      39 38      30 29      21 20      12 11        0
   *  +----------+----------+----------+----------+-----------+
   *  |   PML4   |   PDPT   |    PD    |    PT    |  offset   |
   *  +----------+----------+----------+----------+-----------+
   *
   * Entries are read straight from the table frame's word view (low word:
   * flags and pfn bits 0-19; high word: pfn bits 20-39, NX in bit 31).
   */

  /**
   * Walks cpu's tables for vaddr; returns cycles with wPfn/wFlags/wHuge set, or a FAULT_* code (faultCycles set, PWC entry dropped).
   * Each entry is read before its access is charged: the value cannot change
   * in between, and a host cache miss on the table then overlaps the cache
   * model's work. The 4 KiB leaf is finished here, a 2 MiB one in leafHuge().
   */
  private walk(cpu: number, vaddr: number, write: boolean, user: boolean): number {
    const caches = this.caches;
    const chunks = this.mem.chunkWords;
    const step = this.walkStep;
    const lineInv = this.lineInv;
    const pcid = this.pcid[cpu]!;
    const region = Math.floor(vaddr * REGION_INV);
    let cyc = this.walkStart;
    let rights = TLB_W | TLB_U;
    let table: number;

    const pwc = this.pwc;
    const pe = pwc.lookup(cpu, region, pcid);
    if (pe >= 0) {
      table = pwc.table[pe]!;
      rights = pwc.rights[pe]!;
    } else {
      table = this.cr3[cpu]!;
      if (table < 0) return this.fault(FAULT_NOT_PRESENT, 0, vaddr, write, user);
      // 1 / bytes one entry spans, PML4 down to PD (exact powers of two)
      let inv = 2 ** -39;
      for (let level = 4; level >= 2; level--, inv *= 512) {
        const idx = Math.floor(vaddr * inv) & 511;
        const c = this.tableSlot(table);
        const words = chunks[c >> SLOT_SHIFT]!;
        const wi = (c & SLOT_MASK) * WORDS_PER_FRAME + idx * 2;
        const lo = words[wi]!;
        const hi = words[wi + 1]!;
        const paddr = table * PAGE + idx * 8;
        cyc += caches.accessLine(cpu, Math.floor(paddr * lineInv), false) + step;
        if ((lo & E_P) === 0) return this.fault(FAULT_NOT_PRESENT, cyc, vaddr, write, user);
        if ((lo & E_RW) === 0) rights &= ~TLB_W;
        if ((lo & E_US) === 0) rights &= ~TLB_U;
        if (hi >>> 31 !== 0) rights |= TLB_NX;
        if ((lo & E_PS) !== 0) {
          if (level === 2) return this.leafHuge(cpu, lo, hi, words, wi, paddr, rights, cyc, vaddr, write, user);
          throw new Error(`Mmu walk: 1 GiB pages are not modelled (vaddr ${vaddr})`);
        }
        if ((lo & E_A) === 0) {
          words[wi] = (lo | E_A) >>> 0;
          cyc += caches.accessLine(cpu, Math.floor(paddr * lineInv), true) + this.adAssist;
        }
        table = (lo >>> 12) + (hi & 0xfffff) * TWO20;
      }
    }

    // the PT entry: check the rights, set A (and D for a write)
    const idx = Math.floor(vaddr * PAGE_INV) & 511;
    const c = this.tableSlot(table);
    const words = chunks[c >> SLOT_SHIFT]!;
    const wi = (c & SLOT_MASK) * WORDS_PER_FRAME + idx * 2;
    const lo = words[wi]!;
    const hi = words[wi + 1]!;
    const line = Math.floor((table * PAGE + idx * 8) * lineInv);
    cyc += caches.accessLine(cpu, line, false) + step;
    if ((lo & E_P) === 0) {
      pwc.dropRegion(cpu, region, pcid);
      return this.fault(FAULT_NOT_PRESENT, cyc, vaddr, write, user);
    }
    let leafRights = rights;
    if ((lo & E_RW) === 0) leafRights &= ~TLB_W;
    if ((lo & E_US) === 0) leafRights &= ~TLB_U;
    if (hi >>> 31 !== 0) leafRights |= TLB_NX;
    if ((user && (leafRights & TLB_U) === 0) || (write && (leafRights & TLB_W) === 0)) {
      pwc.dropRegion(cpu, region, pcid);
      return this.fault(FAULT_PROTECTION, cyc, vaddr, write, user);
    }
    const want = lo | E_A | (write ? E_D : 0);
    if (want !== lo) {
      words[wi] = want >>> 0;
      cyc += caches.accessLine(cpu, line, true) + this.adAssist;
    }
    this.wPfn = (lo >>> 12) + (hi & 0xfffff) * TWO20;
    this.wFlags = leafRights | ((want & E_D) !== 0 ? TLB_D : 0);
    this.wHuge = false;
    // Only a walk that ends in a translation leaves a PWC entry behind.
    if (pe < 0) pwc.insert(cpu, region, pcid, table, rights);
    return cyc;
  }

  /**
   * Finishes a walk at a PD entry with PS (lo, hi: already read and
   * charged): checks the rights, sets A (and D for a write), and sets
   * wPfn/wFlags/wHuge for a 2 MiB translation.
   */
  private leafHuge(
    cpu: number,
    lo: number,
    hi: number,
    words: Uint32Array,
    wi: number,
    paddr: number,
    rights: number,
    cyc: number,
    vaddr: number,
    write: boolean,
    user: boolean,
  ): number {
    if ((lo & E_RW) === 0) rights &= ~TLB_W;
    if ((lo & E_US) === 0) rights &= ~TLB_U;
    if (hi >>> 31 !== 0) rights |= TLB_NX;
    if ((user && (rights & TLB_U) === 0) || (write && (rights & TLB_W) === 0)) {
      this.pwc.dropRegion(cpu, Math.floor(vaddr * REGION_INV), this.pcid[cpu]!);
      return this.fault(FAULT_PROTECTION, cyc, vaddr, write, user);
    }
    const want = lo | E_A | (write ? E_D : 0);
    if (want !== lo) {
      words[wi] = want >>> 0;
      cyc += this.caches.accessLine(cpu, Math.floor(paddr * this.lineInv), true) + this.adAssist;
    }
    this.wPfn = (lo >>> 12) + (hi & 0xfffff) * TWO20 + (Math.floor(vaddr * PAGE_INV) & 511);
    this.wFlags = rights | ((want & E_D) !== 0 ? TLB_D : 0);
    this.wHuge = true;
    return cyc;
  }

  /** The byte-pool slot of a page-table frame (see physmem.ts); a frame without bytes is given them, a free one throws. */
  private tableSlot(table: number): number {
    const mem = this.mem;
    if (!(table < mem.totalFrames)) throw new Error(`Mmu walk: page table at pfn ${table} is outside RAM (corrupt entry)`);
    const c = table < mem.content.length ? mem.content[table]! : -1;
    // A table frame without bytes is read as its bytes would be; a free one throws (a walk through a freed table).
    return c >= 0 ? c : mem.materialize(table);
  }
}
