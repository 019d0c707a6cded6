/**
 * Readahead of file faults under MADV_NORMAL, MADV_SEQUENTIAL and
 * MADV_RANDOM: a sequential read of a file mapping backed by a slow store,
 * counting faults, major faults and pages read.
 */
import { describe, expect, it } from 'vitest';
import { AddressSpace, type BackingStore } from '../../../src/kernel/mm/filemap.js';
import { checkInvariants } from '../../../src/kernel/mm/invariants.js';
import { MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, sys_madvise } from '../../../src/kernel/mm/madvise.js';
import { vm_mmap_pgoff } from '../../../src/kernel/mm/mmap.js';
import type { VmFile } from '../../../src/kernel/mm/mm_types.js';
import { loadUser } from '../../../src/kernel/mm/uaccess.js';
import { PAGE, PROT_R, runProcess, testConfig } from './helpers.js';

const MAP_PRIVATE = 0x02;
/** A disk read: 100 us at 3 GHz. */
const READ_CYCLES = 300_000;

/** A block device: page i holds byte (i % 250) + 1; reads take READ_CYCLES. */
class Disk implements BackingStore {
  reads = 0;
  constructor(
    private readonly fill: (pfn: number, byte: number) => void,
    readonly readahead: boolean,
  ) {}
  readPage(index: number, pfn: number, now: number): number {
    this.reads++;
    this.fill(pfn, (index % 250) + 1);
    return now + READ_CYCLES;
  }
  writePage(_index: number, _pfn: number, now: number): number {
    return now;
  }
}

function scan(pages: number, advice: number, readahead = true) {
  let reads = 0;
  let cached = 0;
  const cfg = testConfig((c) => {
    c.sim.checks = true;
  });
  const k = runProcess(function* (t, ts) {
    const k = t.k;
    const disk = new Disk((pfn, byte) => k.machine.mem.fill(pfn, 0, PAGE, byte), readahead);
    const mapping = new AddressSpace(k, pages * PAGE, disk, false);
    const file: VmFile = { mapping, readable: true, writable: false };
    const a = yield* vm_mmap_pgoff(t, ts.mm!, file, 0n, BigInt(pages * PAGE), PROT_R, MAP_PRIVATE, 0n);
    expect(a).toBeGreaterThan(0);
    expect(yield* sys_madvise(t, a, pages * PAGE, advice)).toBe(0);
    for (let i = 0; i < pages; i++) {
      const v = yield* loadUser(t, a + i * PAGE + 5);
      expect(v.value).toBe((i % 250) + 1);
    }
    checkInvariants(k);
    reads = disk.reads;
    cached = mapping.nrpages;
  }, cfg);
  const c = k.engine.counters;
  return { faults: c.get('pgfault'), major: c.get('pgmajfault'), reads, cached, ra: k.cfg.kernel.read_ahead_kb / 4 };
}

describe('readahead of file faults', () => {
  const P = 128;

  it('MADV_RANDOM: no readahead, one major fault and one page read per page', () => {
    const r = scan(P, MADV_RANDOM);
    expect(r).toMatchObject({ faults: P, major: P, reads: P, cached: P });
  });

  it('MADV_SEQUENTIAL: ra_pages (32) read from each missing page on: one major fault per 32 pages, fault-around maps the rest in 16-page windows', () => {
    const r = scan(P, MADV_SEQUENTIAL);
    expect(r.ra).toBe(32);
    // Per 32 pages: the major fault at its first page, then fault-around faults at its second page and at its 17th.
    expect(r).toMatchObject({ major: P / 32, faults: 3 * (P / 32), reads: P, cached: P });
  });

  it('MADV_NORMAL: read-around of 32 pages centred on the miss; after the first window each miss reads the 16 pages not yet cached', () => {
    const r = scan(P, MADV_NORMAL);
    // Pages 0-31: one major fault (window 0-31) and fault-around faults at 1 and 16; then per 16 pages a major fault and one fault-around fault.
    const later = (P - 32) / 16;
    expect(r).toMatchObject({ major: 1 + later, faults: 3 + 2 * later, reads: P, cached: P });
  });

  it('a store whose device does no readahead (a RAM fs) reads one page per miss whatever the advice', () => {
    const r = scan(P, MADV_SEQUENTIAL, false);
    expect(r).toMatchObject({ major: P, reads: P });
  });
});

describe('MADV_WILLNEED on a file', () => {
  it('starts the reads and returns before they complete; a later load waits only for what is left of its read', () => {
    const pages = 8;
    let madviseCycles = -1;
    let firstLoadWait = -1;
    let reads = -1;
    let secondLoadCycles = -1;
    const cfg = testConfig((c) => {
      c.sim.checks = true;
    });
    const k = runProcess(function* (t, ts) {
      const k = t.k;
      const disk = new Disk((pfn, byte) => k.machine.mem.fill(pfn, 0, PAGE, byte), true);
      const mapping = new AddressSpace(k, pages * PAGE, disk, false);
      const file: VmFile = { mapping, readable: true, writable: false };
      const a = yield* vm_mmap_pgoff(t, ts.mm!, file, 0n, BigInt(pages * PAGE), PROT_R, MAP_PRIVATE, 0n);
      expect(yield* sys_madvise(t, a, pages * PAGE, MADV_RANDOM)).toBe(0);
      const t0 = t.now;
      expect(yield* sys_madvise(t, a, pages * PAGE, 3 /* MADV_WILLNEED */)).toBe(0);
      madviseCycles = t.now - t0;
      reads = disk.reads;
      expect(mapping.nrpages).toBe(pages);
      // The first load finds its page under I/O and waits for the rest of the read.
      const t1 = t.now;
      const v = yield* loadUser(t, a + 3 * PAGE + 1);
      expect(v.value).toBe(4);
      firstLoadWait = t.now - t1;
      // By then every read (all started together) is done: the next page costs no I/O.
      const t2 = t.now;
      expect((yield* loadUser(t, a + 5 * PAGE)).value).toBe(6);
      secondLoadCycles = t.now - t2;
      checkInvariants(k);
    }, cfg);
    expect(reads).toBe(pages);
    expect(madviseCycles).toBeLessThan(READ_CYCLES / 2);
    expect(firstLoadWait).toBeGreaterThan(READ_CYCLES - madviseCycles - 1);
    expect(secondLoadCycles).toBeLessThan(READ_CYCLES / 10);
    // All eight reads overlapped: the whole sequence costs about one read (plus two faults' CPU work), not eight.
    expect(madviseCycles + firstLoadWait + secondLoadCycles).toBeLessThan(READ_CYCLES + madviseCycles + READ_CYCLES / 10);
    // Only the load that waited on the device counts as a major fault.
    expect(k.engine.counters.get('pgmajfault')).toBe(1);
  });
});
