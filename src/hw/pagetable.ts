/**
 * The x86-64 4-level page-table format, held in simulated frames as real
 * bytes, and a side-effect-free walker.
 *
 * An entry in memory is the x86 64-bit value, little-endian (low word, then
 * high word). In code an entry is a JS number below 2^53: the x86 value with
 * NX moved from bit 63 to bit 52. x86 bits 52-62 are ignored by hardware and
 * stay zero in our tables, so nothing else moves:
 *
 *    52 51                                  12 11  9 8 7 6 5 4 3 2 1 0
 *   +--+--------------------------------------+-----+-+-+-+-+-+-+-+-+-+
 *   |NX|            pfn (40 bits)             | SW  |G|PS|D|A|CD|WT|U|W|P|
 *   +--+--------------------------------------+-----+-+-+-+-+-+-+-+-+-+
 *
 * A non-present entry (P = 0) is ignored by the walker, whatever its other
 * bits: the operating system may keep its own encodings there.
 *
 * Addresses are 48-bit: a virtual address is a number in [0, 2^48); the
 * upper canonical half is given by its low 48 bits.
 */
import { CHUNK_MASK, CHUNK_SHIFT, FRAME_WORDS, PAGE_SHIFT, PAGE_SIZE, type PhysMem } from './physmem.js';
import type { Paddr, Pfn, Vaddr } from './types.js';

export const PTE_PRESENT = 1 << 0;
export const PTE_RW = 1 << 1;
export const PTE_USER = 1 << 2;
export const PTE_PWT = 1 << 3;
export const PTE_PCD = 1 << 4;
export const PTE_ACCESSED = 1 << 5;
export const PTE_DIRTY = 1 << 6;
/** At the PD level: a 2 MiB leaf. */
export const PTE_PSE = 1 << 7;
export const PTE_GLOBAL = 1 << 8;
export const PTE_SOFT1 = 1 << 9;
export const PTE_SOFT2 = 1 << 10;
export const PTE_SOFT3 = 1 << 11;
/** No-execute, as a bit of the flags word (bit 52 of a pte, bit 63 in memory). */
export const PTE_NX = 1 << 12;
/** Flags of an entry pointing to a lower table, as Linux's _PAGE_TABLE. */
export const PTE_TABLE = PTE_PRESENT | PTE_RW | PTE_USER | PTE_ACCESSED | PTE_DIRTY;

export const PTRS_PER_TABLE = 512;
export const PML4_SHIFT = 39;
export const PDPT_SHIFT = 30;
export const PD_SHIFT = 21;
export const HPAGE_SIZE = 1 << PD_SHIFT;
/** Bytes of virtual address space: 2^48. */
export const VA_SPACE = 2 ** 48;

const TWO32 = 4294967296;
const TWO52 = 2 ** 52;
const TWO40 = 2 ** 40;

export function makePte(pfn: number, flags: number): number {
  return pfn * PAGE_SIZE + (flags & 0xfff) + (flags & PTE_NX ? TWO52 : 0);
}

export function ptePfn(pte: number): number {
  return Math.floor(pte / PAGE_SIZE) % TWO40;
}

/** The low 12 flag bits, plus PTE_NX. */
export function pteFlags(pte: number): number {
  return (pte & 0xfff) | (pte >= TWO52 ? PTE_NX : 0);
}

/** The entry with `set` flags added and `clear` flags removed (pte_mkdirty, pte_wrprotect, ...). */
export function pteModify(pte: number, set: number, clear: number): number {
  return makePte(ptePfn(pte), (pteFlags(pte) & ~clear) | set);
}

export function pteNone(pte: number): boolean {
  return pte === 0;
}

export function ptePresent(pte: number): boolean {
  return (pte & PTE_PRESENT) !== 0;
}

/** Index of vaddr's entry in the table of `level` (4 = PML4, 3 = PDPT, 2 = PD, 1 = PT). */
export function tableIndex(vaddr: number, level: number): number {
  return Math.floor(vaddr / 2 ** (PAGE_SHIFT + 9 * (level - 1))) & 511;
}

/** Entry from its two little-endian words in memory. */
export function pteFromWords(lo: number, hi: number): number {
  return lo + (hi & 0xfffff) * TWO32 + (hi >>> 31) * TWO52;
}

/**
 * Where the frames that hold page tables come from and go back to: the
 * operating system's allocator. A frame it hands out is claimed in PhysMem;
 * allocTable zeroes it.
 */
export interface TableFrames {
  /** A frame for a table, or -1 when memory is exhausted. */
  allocTableFrame(): number;
  freeTableFrame(pfn: number): void;
}

const NO_TABLE_FRAMES: TableFrames = {
  allocTableFrame(): number {
    throw new Error('PageTables: no frame source (set PageTables.frames to the allocator that owns the frames)');
  },
  freeTableFrame(): void {
    throw new Error('PageTables: no frame source (set PageTables.frames to the allocator that owns the frames)');
  },
};

export class PageTables {
  /** The allocator table frames come from; the operating system sets it before building tables. */
  frames: TableFrames = NO_TABLE_FRAMES;

  /** Level of the entry the last walkFunctional returned (1 = PT, 2 = PD, ...). */
  walkLevel = 0;
  /** Table frame and index holding that entry (-1 when there is no table). */
  walkTable = -1;
  walkIndex = 0;

  constructor(readonly mem: PhysMem) {}

  /** A zeroed table frame holding real bytes (the walker reads its words), from `frames`; -1 when memory is exhausted. */
  allocTable(): Pfn {
    const pfn = this.frames.allocTableFrame();
    if (pfn < 0) return -1;
    this.mem.zero(pfn);
    this.mem.materialize(pfn);
    return pfn;
  }

  /** Gives a table frame back to `frames`; the caller has flushed every TLB and PWC entry through it. */
  freeTable(pfn: Pfn): void {
    this.frames.freeTableFrame(pfn);
  }

  /** Physical address of an entry, for charging the kernel's own accesses to it. */
  entryPaddr(tablePfn: Pfn, idx: number): Paddr {
    return tablePfn * PAGE_SIZE + idx * 8;
  }

  readEntry(tablePfn: number, idx: number): number {
    const mem = this.mem;
    const c = tablePfn < mem.content.length ? mem.content[tablePfn]! : -1;
    if (c >= 0) {
      const w = mem.chunkWords[c >> CHUNK_SHIFT]!;
      const i = (c & CHUNK_MASK) * FRAME_WORDS + idx * 2;
      return pteFromWords(w[i]!, w[i + 1]!);
    }
    if (!mem.inPieces(tablePfn)) {
      // A uniform table frame: every word is its byte repeated.
      const b = mem.readByte(tablePfn, 0);
      const word = (b * 0x01010101) >>> 0;
      return pteFromWords(word, word);
    }
    // A table frame written in pieces: the entry's words from its bytes, in the host's order, as the word view reads them.
    const words = new Uint32Array(new Uint8Array(8).map((_, k) => mem.readByte(tablePfn, idx * 8 + k)).buffer);
    return pteFromWords(words[0]!, words[1]!);
  }

  writeEntry(tablePfn: number, idx: number, pte: number): void {
    if (!(pte >= 0 && pte < 2 ** 53 && Number.isInteger(pte))) throw new RangeError(`writeEntry: bad pte ${pte}`);
    if (!(idx >= 0 && idx < PTRS_PER_TABLE)) throw new RangeError(`writeEntry: bad index ${idx}`);
    const mem = this.mem;
    const c = mem.materialize(tablePfn);
    const w = mem.chunkWords[c >> CHUNK_SHIFT]!;
    const i = (c & CHUNK_MASK) * FRAME_WORDS + idx * 2;
    const high = Math.floor(pte / TWO32);
    w[i] = pte >>> 0;
    w[i + 1] = ((high & 0xfffff) | (high >= 1 << 20 ? 0x80000000 : 0)) >>> 0;
  }

  /*
   * How a walk splits a 48-bit virtual address:
   *
   *   47        39 38        30 29        21 20        12 11          0
   *  +------------+------------+------------+------------+-------------+
   *  | PML4 index | PDPT index |  PD index  |  PT index  | page offset |
   *  +------------+------------+------------+------------+-------------+
   *        9            9            9            9            12 bits
   *
   * CR3 holds the PML4's pfn. Each level's entry gives the next table's pfn;
   * a PD entry with PS set is a 2 MiB leaf (its pfn 512-aligned, the low 21
   * bits of the address are the offset). 1 GiB leaves are not modelled.
   */

  /**
   * The entry that maps vaddr, without side effects: the PT entry, a PD
   * entry with PS, or the first non-present entry on the way (0 when a table
   * is missing). walkLevel/walkTable/walkIndex say where it lives.
   */
  walkFunctional(cr3Pfn: Pfn, vaddr: Vaddr): number {
    this.walkTable = -1;
    this.walkIndex = 0;
    this.walkLevel = 4;
    if (cr3Pfn < 0) return 0;
    let table = cr3Pfn;
    for (let level = 4; level >= 1; level--) {
      const idx = tableIndex(vaddr, level);
      const pte = this.readEntry(table, idx);
      this.walkLevel = level;
      this.walkTable = table;
      this.walkIndex = idx;
      if ((pte & PTE_PRESENT) === 0) return pte;
      if (level === 1 || (level === 2 && (pte & PTE_PSE) !== 0)) return pte;
      if (level === 3 && (pte & PTE_PSE) !== 0) throw new Error('walkFunctional: 1 GiB pages are not modelled');
      table = ptePfn(pte);
    }
    return 0;
  }

  /** Frame that vaddr's byte lives in, or -1 (no side effects). */
  translateFunctional(cr3Pfn: Pfn, vaddr: Vaddr): Pfn {
    const pte = this.walkFunctional(cr3Pfn, vaddr);
    if ((pte & PTE_PRESENT) === 0) return -1;
    const pfn = ptePfn(pte);
    return this.walkLevel === 2 ? pfn + (tableIndex(vaddr, 1)) : pfn;
  }

  /**
   * Installs `pte` as vaddr's entry at `level` (1 = 4 KiB, 2 = 2 MiB leaf),
   * allocating missing intermediate tables with PTE_TABLE flags. No cycles:
   * for tests, benchmarks and building initial state. Returns false when a
   * table could not be allocated.
   */
  installFunctional(cr3Pfn: Pfn, vaddr: Vaddr, pte: number, level = 1): boolean {
    let table = cr3Pfn;
    for (let l = 4; l > level; l--) {
      const idx = tableIndex(vaddr, l);
      let e = this.readEntry(table, idx);
      if ((e & PTE_PRESENT) === 0) {
        const t = this.allocTable();
        if (t < 0) return false;
        e = makePte(t, PTE_TABLE);
        this.writeEntry(table, idx, e);
      } else if ((e & PTE_PSE) !== 0) {
        throw new Error(`installFunctional: a huge leaf already maps ${vaddr}`);
      }
      table = ptePfn(e);
    }
    this.writeEntry(table, tableIndex(vaddr, level), pte);
    return true;
  }
}
