import { describe, expect, it } from 'vitest';
import { Slab } from '../../../src/kernel/mm/slab.js';

describe('Slab', () => {
  it('hands out addresses above Slab.BASE by size class, reusing freed ones last-in first-out', () => {
    const s = new Slab();
    const a = s.kmalloc(64);
    const b = s.kmalloc(100);
    const c = s.kmalloc(1);
    expect([a, b, c]).toEqual([Slab.BASE, Slab.BASE + 64, Slab.BASE + 192]);
    s.kfree(a, 64);
    s.kfree(c, 1);
    expect(s.kmalloc(64)).toBe(c);
    expect(s.kmalloc(33)).toBe(a);
    expect(s.kmalloc(128)).toBe(Slab.BASE + 256);
    expect(s.bytesInUse).toBe(64 + 128 + 64 + 128);
    expect(s.peakBytes).toBe(s.bytesInUse);
  });

  it('slots and addresses are one allocator: kmallocSlot/kfreeSlot mix with kmalloc/kfree', () => {
    const s = new Slab();
    const slot = s.kmallocSlot(64);
    expect(Slab.addrOf(slot)).toBe(Slab.BASE);
    const addr = s.kmalloc(4096);
    expect(Slab.slotOf(addr)).toBe(1);
    s.kfreeSlot(Slab.slotOf(addr), 4096);
    expect(s.kmallocSlot(4000)).toBe(1);
    s.kfree(Slab.addrOf(slot), 64);
    expect(s.kmalloc(64)).toBe(Slab.BASE);
    expect(s.allocations).toBe(4);
  });
});
