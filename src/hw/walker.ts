/**
 * The page-table walker: on a TLB miss, reads cpu's 4-level tables for an
 * address through the cache hierarchy (each entry read costs what the caches
 * say plus cost.walk_step), checks the rights, sets accessed and dirty bits
 * as x86 hardware does, and keeps the paging-structure cache (pwc.ts).
 *
 * Cycles of a walk:
 *   per level read     caches.access(entry, read) + cost.walk_step
 *   per entry whose A (or, at the leaf, D) bit the walker sets:
 *                      caches.access(entry, write)
 *   A PWC hit skips the PML4, PDPT and PD reads; a PD entry with PS ends
 *   the walk as a 2 MiB translation.
 *
 * The effective rights are the AND of RW and US over all levels (NX the OR);
 * a write to a read-only page faults in user and supervisor mode alike
 * (CR0.WP); a user access to a supervisor page faults; SMAP is not modelled,
 * nor are instruction fetches (so NX never faults). A bits on the upper
 * levels are set as the walker passes each present entry; the leaf's A (and
 * D for a write) only when the translation succeeds. 1 GiB pages are not
 * modelled. A walk that faults drops the region's PWC entry.
 */
import type { CacheHierarchy } from './cache.js';
import type { HardwareConfig } from './config.js';
import { FAULT_NOT_PRESENT, FAULT_PROTECTION } from './fault.js';
import type { PageTables } from './pagetable.js';
import { CHUNK_MASK, CHUNK_SHIFT, FRAME_WORDS, PAGE_SIZE, type PhysMem } from './physmem.js';
import type { Pwc } from './pwc.js';
import { TLB_D, TLB_NX, TLB_U, TLB_W } from './tlb.js';

const PAGE = 4096;
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
// physmem.ts's page size and byte-pool geometry as literals, which V8 folds
// (an imported binding is a cell load and a check at each use).
const SLOT_SHIFT = 6;
const SLOT_MASK = 63;
const WORDS_PER_FRAME = 1024;
if (SLOT_SHIFT !== CHUNK_SHIFT || SLOT_MASK !== CHUNK_MASK || WORDS_PER_FRAME !== FRAME_WORDS || PAGE !== PAGE_SIZE) {
  throw new Error('walker.ts: page size or byte-pool geometry differs from physmem.ts');
}

export class Walker {
  // The translation the last successful walk() found.
  /** Frame of the 4 KiB page holding the address (for a 2 MiB leaf, the frame within it). */
  pfn = 0;
  /** TLB_* rights of the translation, TLB_D when the entry is dirty. */
  flags = 0;
  /** A 2 MiB leaf. */
  huge = false;
  /** Cycles the last walk spent before it faulted. */
  faultCycles = 0;

  private readonly mem: PhysMem;
  private readonly step: number;
  /** 1 / the cache line size (a power of two, so a product is exact). */
  private readonly lineInv: number;

  constructor(
    cfg: HardwareConfig,
    pt: PageTables,
    private readonly caches: CacheHierarchy,
    /** Paging-structure cache (pwc.ts). */
    readonly pwc: Pwc,
    /** PML4 pfn per CPU, -1 for none (the MMU's CR3s). */
    private readonly cr3: Float64Array,
    /** Current PCID per CPU (the MMU's). */
    private readonly pcid: Uint16Array,
  ) {
    this.mem = pt.mem;
    this.step = cfg.cost.walk_step;
    this.lineInv = 1 / caches.lineBytes;
  }

  private fail(code: number, cycles: number): number {
    this.faultCycles = cycles;
    return code;
  }

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
   * Walks cpu's tables for vaddr; returns cycles with pfn/flags/huge set, or a FAULT_* code (faultCycles set, PWC entry dropped).
   * Each entry is read before its access is charged: the value cannot change
   * in between, and a host cache miss on the table then overlaps the cache
   * model's work. The 4 KiB leaf is finished here, a 2 MiB one in leafHuge().
   */
  walk(cpu: number, vaddr: number, write: boolean, user: boolean): number {
    const caches = this.caches;
    const chunks = this.mem.chunkWords;
    const step = this.step;
    const lineInv = this.lineInv;
    const pcid = this.pcid[cpu]!;
    const region = Math.floor(vaddr * REGION_INV);
    let cyc = 0;
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
          if (level === 2) return this.leafHuge(cpu, lo, hi, words, wi, paddr, rights, cyc, vaddr, write, user);
          throw new Error(`walk: 1 GiB pages are not modelled (vaddr ${vaddr})`);
        }
        if ((lo & E_A) === 0) {
          words[wi] = (lo | E_A) >>> 0;
          cyc += caches.accessLine(cpu, Math.floor(paddr * lineInv), true);
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
      cyc += caches.accessLine(cpu, line, true);
    }
    this.pfn = (lo >>> 12) + (hi & 0xfffff) * TWO20;
    this.flags = leafRights | ((want & E_D) !== 0 ? TLB_D : 0);
    this.huge = false;
    // Only a walk that ends in a translation leaves a PWC entry behind.
    if (pe < 0) pwc.insert(cpu, region, pcid, table, rights);
    return cyc;
  }

  /**
   * Finishes a walk at a PD entry with PS (lo, hi: already read and
   * charged): checks the rights, sets A (and D for a write), and sets
   * pfn/flags/huge for a 2 MiB translation.
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
      return this.fail(FAULT_PROTECTION, cyc);
    }
    const want = lo | E_A | (write ? E_D : 0);
    if (want !== lo) {
      words[wi] = want >>> 0;
      cyc += this.caches.accessLine(cpu, Math.floor(paddr * this.lineInv), true);
    }
    this.pfn = (lo >>> 12) + (hi & 0xfffff) * TWO20 + (Math.floor(vaddr * PAGE_INV) & 511);
    this.flags = rights | ((want & E_D) !== 0 ? TLB_D : 0);
    this.huge = true;
    return cyc;
  }

  /** The byte-pool slot of a page-table frame (see physmem.ts); a frame without bytes is given them, a free one throws. */
  private tableSlot(table: number): number {
    const mem = this.mem;
    if (!(table < mem.totalFrames)) throw new Error(`walk: page table at pfn ${table} is outside RAM (corrupt entry)`);
    const c = table < mem.content.length ? mem.content[table]! : -1;
    // A table frame without bytes is read as its bytes would be; a free one throws (a walk through a freed table).
    return c >= 0 ? c : mem.materialize(table);
  }
}
