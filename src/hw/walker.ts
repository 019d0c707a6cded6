/**
 * The page-table walker: reads a CPU's 4-level tables for one address,
 * through the paging-structure cache and the data caches, checks the rights
 * and sets the A (and, for a write, D) bits as the hardware does.
 *
 *   47      39 38      30 29      21 20      12 11        0
 *  +----------+----------+----------+----------+-----------+
 *  |   PML4   |   PDPT   |    PD    |    PT    |  offset   |
 *  +----------+----------+----------+----------+-----------+
 *
 * Cycles: cost.walk_start once a walk (also one that faults); per level read
 * caches.accessLine(entry, read) + cost.walk_step;
 * per entry whose A (or, at the leaf, D) bit the walker sets
 * caches.accessLine(entry, write) + cost.ad_assist. A PWC hit skips the PML4,
 * PDPT and PD reads; a PD entry with PS ends the walk as a 2 MiB
 * translation. The effective rights are the AND of RW and US over all levels
 * (NX the OR); a write to a read-only page faults in user and supervisor
 * mode alike (CR0.WP); a user access to a supervisor page faults. A bits on
 * the upper levels are set as the walker passes each present entry; the
 * leaf's A (and D) only when the translation succeeds. A walk that faults
 * at the PT level drops the PWC entry it used (SDM vol. 3 §4.10.4.1); only a
 * walk that ends in a 4 KiB translation leaves a PWC entry behind.
 * 1 GiB pages are not modelled.
 *
 * Entries are read straight from the table frame's word view (low word:
 * flags and pfn bits 0-19; high word: pfn bits 20-39, NX in bit 31), and each
 * is read before its access is charged: the value cannot change in between,
 * and a host cache miss on the table then overlaps the cache model's work.
 *
 * walk() returns 0 or a fault code; the translation (pfn, flags, huge) and
 * the cycles (also those of a walk that faulted) are in the walker's result
 * fields, valid until its next walk.
 */
import { FAULT_NOT_PRESENT, FAULT_PROTECTION, type FaultCode } from './access.js';
import type { CacheHierarchy } from './cache.js';
import type { HardwareConfig } from './config.js';
import { CHUNK_MASK, CHUNK_SHIFT, FRAME_WORDS, type PhysMem } from './physmem.js';
import type { Pwc } from './pwc.js';
import { TLB_D, TLB_NX, TLB_U, TLB_W } from './tlb.js';
import { type Cycles, PAGE_SIZE, type Pfn, type Vaddr } from './types.js';

const TWO20 = 2 ** 20;
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
// physmem.ts's byte-pool geometry and the page size as literals, which V8
// folds (an imported binding is a cell load and a check at each use).
const PAGE = 4096;
const SLOT_SHIFT = 6;
const SLOT_MASK = 63;
const WORDS_PER_FRAME = 1024;
/** Regions whose PT's pool slot the walker remembers (a power of two). */
const PT_SLOTS = 1024;
const PT_SLOT_MASK = PT_SLOTS - 1;
if (SLOT_SHIFT !== CHUNK_SHIFT || SLOT_MASK !== CHUNK_MASK || WORDS_PER_FRAME !== FRAME_WORDS || PAGE !== PAGE_SIZE) {
  throw new Error('walker.ts: byte-pool geometry differs from physmem.ts');
}

export class Walker {
  /** The last walk's translation: frame (of the 4 KiB page, also inside a 2 MiB one), TLB_* flags, 2 MiB or not. */
  pfn: Pfn = 0;
  flags = 0;
  huge = false;
  /** Cycles of the last walk, also when it faulted. */
  cycles: Cycles = 0;

  private readonly walkStep: number;
  /** The walker's own latency per walk (cost.walk_start). */
  private readonly walkStart: number;
  /** The locked update of an entry whose A or D bit the walker sets (cost.ad_assist). */
  private readonly adAssist: number;
  /** 1 / the cache line size (a power of two, so a product is exact). */
  private readonly lineInv: number;
  /**
   * Host speed only: per 2 MiB region (modulo PT_SLOTS), the pool slot of
   * the page table the last walk there read its PT entry from, used while
   * PhysMem.slotPfn says that slot still holds that table's bytes. It saves
   * the read of PhysMem.content for the table, one host cache miss on a
   * random walk over a large area (the table frames' content words are
   * 2 KiB apart).
   */
  private readonly ptSlot = new Int32Array(PT_SLOTS).fill(-1);

  constructor(
    cfg: HardwareConfig,
    private readonly mem: PhysMem,
    private readonly caches: CacheHierarchy,
    private readonly pwc: Pwc,
    /** PML4 pfn per CPU, -1 for none (the MMU's CR3s). */
    private readonly cr3: Float64Array,
  ) {
    this.walkStep = cfg.cost.walk_step;
    this.walkStart = cfg.cost.walk_start;
    this.adAssist = cfg.cost.ad_assist;
    this.lineInv = 1 / caches.lineBytes;
  }

  /** Walks cpu's tables (PCID pcid) for vaddr: 0 with the translation set, or a fault code; cycles either way. */
  walk(cpu: number, pcid: number, vaddr: Vaddr, write: boolean, user: boolean): FaultCode {
    const caches = this.caches;
    const chunks = this.mem.chunkWords;
    const step = this.walkStep;
    const lineInv = this.lineInv;
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
      if (table < 0) return this.fail(FAULT_NOT_PRESENT, 0);
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
        if ((lo & E_P) === 0) return this.fail(FAULT_NOT_PRESENT, cyc);
        if ((lo & E_RW) === 0) rights &= ~TLB_W;
        if ((lo & E_US) === 0) rights &= ~TLB_U;
        if (hi >>> 31 !== 0) rights |= TLB_NX;
        if ((lo & E_PS) !== 0) {
          if (level === 2) return this.leafHuge(cpu, pcid, lo, hi, words, wi, paddr, rights, cyc, vaddr, write, user);
          throw new Error(`Mmu walk: 1 GiB pages are not modelled (vaddr ${vaddr})`);
        }
        if ((lo & E_A) === 0) {
          words[wi] = (lo | E_A) >>> 0;
          cyc += caches.accessLine(cpu, Math.floor(paddr * lineInv), true) + this.adAssist;
        }
        table = (lo >>> 12) + (hi & 0xfffff) * TWO20;
      }
    }

    // the PT entry: check the rights, set A (and D for a write). The PT's
    // pool slot as remembered for this region, if that slot still holds it.
    const idx = Math.floor(vaddr * PAGE_INV) & 511;
    const ptSlot = this.ptSlot;
    const h = region & PT_SLOT_MASK;
    let c = ptSlot[h]!;
    if (c < 0 || this.mem.slotPfn[c] !== table) {
      c = this.tableSlot(table);
      ptSlot[h] = c;
    }
    const words = chunks[c >> SLOT_SHIFT]!;
    const wi = (c & SLOT_MASK) * WORDS_PER_FRAME + idx * 2;
    const lo = words[wi]!;
    const hi = words[wi + 1]!;
    const line = Math.floor((table * PAGE + idx * 8) * lineInv);
    cyc += caches.accessLine(cpu, line, false) + step;
    if ((lo & E_P) === 0) {
      pwc.dropRegion(cpu, region, pcid);
      return this.fail(FAULT_NOT_PRESENT, cyc);
    }
    let leafRights = rights;
    if ((lo & E_RW) === 0) leafRights &= ~TLB_W;
    if ((lo & E_US) === 0) leafRights &= ~TLB_U;
    if (hi >>> 31 !== 0) leafRights |= TLB_NX;
    if ((user && (leafRights & TLB_U) === 0) || (write && (leafRights & TLB_W) === 0)) {
      pwc.dropRegion(cpu, region, pcid);
      return this.fail(FAULT_PROTECTION, cyc);
    }
    const want = lo | E_A | (write ? E_D : 0);
    if (want !== lo) {
      words[wi] = want >>> 0;
      cyc += caches.accessLine(cpu, line, true) + this.adAssist;
    }
    this.pfn = (lo >>> 12) + (hi & 0xfffff) * TWO20;
    this.flags = leafRights | ((want & E_D) !== 0 ? TLB_D : 0);
    this.huge = false;
    this.cycles = cyc;
    if (pe < 0) pwc.insert(cpu, region, pcid, table, rights);
    return 0;
  }

  private fail(code: FaultCode, cycles: number): FaultCode {
    this.cycles = cycles;
    return code;
  }

  /**
   * Finishes a walk at a PD entry with PS (lo, hi: already read and
   * charged): checks the rights, sets A (and D for a write), and sets the
   * result for a 2 MiB translation.
   */
  private leafHuge(
    cpu: number,
    pcid: number,
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
  ): FaultCode {
    if ((lo & E_RW) === 0) rights &= ~TLB_W;
    if ((lo & E_US) === 0) rights &= ~TLB_U;
    if (hi >>> 31 !== 0) rights |= TLB_NX;
    if ((user && (rights & TLB_U) === 0) || (write && (rights & TLB_W) === 0)) {
      this.pwc.dropRegion(cpu, Math.floor(vaddr * REGION_INV), pcid);
      return this.fail(FAULT_PROTECTION, cyc);
    }
    const want = lo | E_A | (write ? E_D : 0);
    if (want !== lo) {
      words[wi] = want >>> 0;
      cyc += this.caches.accessLine(cpu, Math.floor(paddr * this.lineInv), true) + this.adAssist;
    }
    this.pfn = (lo >>> 12) + (hi & 0xfffff) * TWO20 + (Math.floor(vaddr * PAGE_INV) & 511);
    this.flags = rights | ((want & E_D) !== 0 ? TLB_D : 0);
    this.huge = true;
    this.cycles = cyc;
    return 0;
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
