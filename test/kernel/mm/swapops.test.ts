import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makePte, PTE_ACCESSED, PTE_PRESENT, PTE_SOFT1, PTE_SOFT3 } from '../../../src/hw/pagetable.js';
import { isSwapPte, makeSwapPte, PTE_PROTNONE, swapOffset, swapType } from '../../../src/kernel/mm/swapops.js';

describe('swap entries (swapops)', () => {
  it('swap entries round trip, are never zero and never present (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 31 }), fc.integer({ min: 0, max: 2 ** 40 - 1 }), (type, offset) => {
        const pte = makeSwapPte(type, offset);
        expect(pte).not.toBe(0);
        expect(pte & PTE_PRESENT).toBe(0);
        expect(isSwapPte(pte)).toBe(true);
        expect(swapType(pte)).toBe(type);
        expect(swapOffset(pte)).toBe(offset);
        // Software bits the kernel may add do not disturb the decoding.
        const soft = pte + PTE_SOFT1 + PTE_SOFT3;
        expect([isSwapPte(soft), swapType(soft), swapOffset(soft)]).toEqual([true, type, offset]);
      }),
    );
  });

  it('rejects out-of-range swap entries; none, present and PROT_NONE entries are not swap entries', () => {
    expect(() => makeSwapPte(32, 0)).toThrow(RangeError);
    expect(() => makeSwapPte(0, 2 ** 40)).toThrow(RangeError);
    expect(isSwapPte(0)).toBe(false);
    expect(isSwapPte(makePte(5, PTE_PRESENT))).toBe(false);
    expect(isSwapPte(makePte(5, PTE_PROTNONE | PTE_ACCESSED))).toBe(false);
  });

});
