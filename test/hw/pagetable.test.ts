import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/machine.js';
import { makePte, PageTables, pteFlags, pteFromWords, pteModify, ptePfn, PTE_ACCESSED, PTE_DIRTY, PTE_NX, PTE_PRESENT, PTE_PSE, PTE_RW, PTE_SOFT1, PTE_TABLE, PTE_USER, tableIndex } from '../../src/hw/pagetable.js';
import { PhysMem } from '../../src/hw/physmem.js';
import { MemMap } from '../../src/kernel/mm/page_alloc.js';
import { PG_pagetable } from '../../src/kernel/mm/page_flags.js';

/** Page tables over 64 MiB, their frames from the kernel's allocator (the walker's tests need an owner of frames). */
function setup(): { mem: PhysMem; frames: MemMap; pt: PageTables; cr3: number } {
  const cfg = defaultConfig();
  cfg.ram_mib = 64;
  const mem = new PhysMem(cfg);
  const frames = new MemMap(mem);
  const pt = new PageTables(mem);
  pt.frames = frames;
  return { mem, frames, pt, cr3: pt.allocTable() };
}

describe('pte encoding', () => {
  it('packs pfn, low flags and NX', () => {
    const pte = makePte(0x12345, PTE_PRESENT | PTE_RW | PTE_NX);
    expect(pte).toBe(0x12345 * 4096 + 3 + 2 ** 52);
    expect(ptePfn(pte)).toBe(0x12345);
    expect(pteFlags(pte)).toBe(PTE_PRESENT | PTE_RW | PTE_NX);
    expect(pteModify(pte, PTE_DIRTY, PTE_RW | PTE_NX)).toBe(makePte(0x12345, PTE_PRESENT | PTE_DIRTY));
  });

  it('round trips any pfn and flag set (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 40 - 1 }), fc.integer({ min: 0, max: 0x1fff }), (pfn, flags) => {
        const pte = makePte(pfn, flags);
        expect(pte).toBeLessThan(2 ** 53);
        expect(ptePfn(pte)).toBe(pfn);
        expect(pteFlags(pte)).toBe(flags);
      }),
    );
  });

  it('splits a 48-bit address 9/9/9/9/12', () => {
    const va = 0x7f12_3456_7abc;
    expect(tableIndex(va, 4)).toBe(Math.floor(va / 2 ** 39) % 512);
    expect(tableIndex(va, 3)).toBe(Math.floor(va / 2 ** 30) % 512);
    expect(tableIndex(va, 2)).toBe(Math.floor(va / 2 ** 21) % 512);
    expect(tableIndex(va, 1)).toBe(Math.floor(va / 2 ** 12) % 512);
  });
});

describe('PageTables', () => {
  it('allocTable gives a zeroed page-table frame holding bytes', () => {
    const { mem, frames, pt, cr3 } = setup();
    expect(frames.flags[cr3]! & PG_pagetable).toBe(PG_pagetable);
    expect(frames.refcount[cr3]).toBe(1);
    expect(mem.contentTag(cr3)).toBe('bytes');
    for (let i = 0; i < 512; i++) expect(pt.readEntry(cr3, i)).toBe(0);
    pt.freeTable(cr3);
    expect([frames.isFree(cr3), mem.isClaimed(cr3)]).toEqual([true, false]);
    expect(() => new PageTables(mem).allocTable()).toThrow(/no frame source/);
  });

  it('stores entries as little-endian x86 words with NX in bit 63', () => {
    const { mem, pt, cr3 } = setup();
    const pte = makePte(0xabcde12345, PTE_PRESENT | PTE_USER | PTE_NX);
    pt.writeEntry(cr3, 3, pte);
    expect(pt.readEntry(cr3, 3)).toBe(pte);
    expect(pt.entryPaddr(cr3, 3)).toBe(cr3 * 4096 + 24);
    const bytes = Array.from({ length: 8 }, (_, i) => mem.readByte(cr3, 24 + i));
    // 0x8000_000a_bcde_1234_5005 little-endian: pfn << 12 | flags, NX at bit 63.
    expect(bytes).toEqual([0x05, 0x50, 0x34, 0x12, 0xde, 0xbc, 0x0a, 0x80]);
    expect(pteFromWords(0x12345005, 0x800abcde)).toBe(pte);
    expect(() => pt.writeEntry(cr3, 512, 0)).toThrow(RangeError);
    expect(() => pt.writeEntry(cr3, 0, -1)).toThrow(RangeError);
  });

  it('installs and walks 4 KiB and 2 MiB leaves without side effects', () => {
    const { mem, pt, cr3 } = setup();
    const va = 0x7fff_1234_5000;
    const leaf = makePte(777, PTE_PRESENT | PTE_RW | PTE_USER);
    expect(pt.installFunctional(cr3, va, leaf)).toBe(true);
    expect(pt.walkFunctional(cr3, va + 0xfff)).toBe(leaf);
    expect(pt.walkLevel).toBe(1);
    expect(pt.readEntry(pt.walkTable, pt.walkIndex)).toBe(leaf);
    expect(pt.translateFunctional(cr3, va)).toBe(777);
    // Upper entries carry _PAGE_TABLE flags; a walk sets no A/D bits.
    const top = pt.readEntry(cr3, tableIndex(va, 4));
    expect(pteFlags(top)).toBe(PTE_TABLE);
    // Three intermediate tables were allocated.
    expect(mem.claimedCount).toBe(4);

    const huge = 0x4000_0000;
    const hpte = makePte(1024, PTE_PRESENT | PTE_RW | PTE_USER | PTE_PSE);
    expect(pt.installFunctional(cr3, huge, hpte, 2)).toBe(true);
    expect(pt.walkFunctional(cr3, huge + 0x1f_f123)).toBe(hpte);
    expect(pt.walkLevel).toBe(2);
    expect(pt.translateFunctional(cr3, huge + 0x1f_f123)).toBe(1024 + 511);

    // A hole: the first non-present entry, with where it lives.
    expect(pt.walkFunctional(cr3, 0x1000)).toBe(0);
    expect(pt.walkLevel).toBe(3);
    expect(pt.translateFunctional(cr3, 0x1000)).toBe(-1);
    // A non-present entry with other bits set (the operating system's own encoding) is returned as it is.
    const notPresent = makePte(99, PTE_ACCESSED | PTE_SOFT1);
    pt.installFunctional(cr3, va + 4096, notPresent);
    expect(pt.walkFunctional(cr3, va + 4096)).toBe(notPresent);
    expect(pt.translateFunctional(cr3, va + 4096)).toBe(-1);
  });
});
