import { describe, expect, it } from 'vitest';
import { defaultConfig, type MachineConfig } from '../../../src/config/machine.js';
import { PhysMem } from '../../../src/hw/physmem.js';
import { MemMap } from '../../../src/kernel/mm/page_alloc.js';
import { PG_dirty, PG_lru, PG_pagetable } from '../../../src/kernel/mm/page_flags.js';

function mem(ramMib = 16): MemMap {
  const cfg: MachineConfig = defaultConfig();
  cfg.ram_mib = ramMib;
  return new MemMap(new PhysMem(cfg));
}

describe('MemMap: struct pages and the free lists', () => {
  it('hands out the lowest never-used frame first and reuses freed frames LIFO', () => {
    const m = mem();
    expect(m.totalFrames).toBe(16 * 256);
    expect([m.alloc(), m.alloc(), m.alloc(), m.alloc()]).toEqual([0, 1, 2, 3]);
    m.free(1);
    m.free(3);
    expect(m.alloc()).toBe(3);
    expect(m.alloc()).toBe(1);
    expect(m.alloc()).toBe(4);
    expect(m.usedCount).toBe(5);
    expect(m.freeCount).toBe(m.totalFrames - 5);
  });

  it('returns -1 when RAM is exhausted and grows metadata past its first capacity', () => {
    const m = mem(8);
    for (let i = 0; i < 8 * 256; i++) expect(m.alloc()).toBe(i);
    expect(m.alloc()).toBe(-1);
    expect(m.freeCount).toBe(0);
    m.refcount[2047] = 5;
    expect(m.refcount[2047]).toBe(5);
  });

  it('throws when freeing a free, referenced or mapped frame', () => {
    const m = mem();
    const a = m.alloc();
    m.free(a);
    expect(() => m.free(a)).toThrow(/not allocated/);
    expect(() => m.free(100)).toThrow(/not allocated/);
    const b = m.alloc();
    m.refcount[b] = 1;
    expect(() => m.free(b)).toThrow(/refcount 1/);
    m.refcount[b] = 0;
    m.mapcount[b] = 1;
    expect(() => m.free(b)).toThrow(/mapcount 1/);
    m.mapcount[b] = 0;
    m.free(b);
  });

  it('clears metadata on free', () => {
    const m = mem();
    const a = m.alloc();
    m.flags[a] = PG_dirty | PG_lru;
    m.owner[a] = 7;
    m.index[a] = 2 ** 40;
    m.free(a);
    expect(m.alloc()).toBe(a);
    expect([m.flags[a], m.owner[a], m.index[a], m.refcount[a], m.mapcount[a]]).toEqual([0, 0, 0, 0, 0]);
  });

  it('claims the frames it hands out in the hardware and releases those it frees', () => {
    const m = mem();
    const a = m.alloc();
    expect([m.mem.isClaimed(a), m.mem.claimedCount]).toEqual([true, 1]);
    m.free(a);
    expect([m.mem.isClaimed(a), m.isFree(a)]).toEqual([false, true]);
    const t = m.allocTableFrame();
    expect([m.flags[t], m.refcount[t]]).toEqual([PG_pagetable, 1]);
    m.freeTableFrame(t);
    expect([m.isFree(t), m.flags[t], m.refcount[t]]).toEqual([true, 0, 0]);
  });

  it('keeps metadata per touched frame, not per frame of RAM', () => {
    const m = mem(4096);
    for (let i = 0; i < 3000; i++) m.alloc();
    expect(m.hostBytesPerPage()).toBeLessThan(64);
  });
});
