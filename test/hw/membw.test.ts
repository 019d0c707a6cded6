import { describe, expect, it } from 'vitest';
import { CacheHierarchy } from '../../src/hw/cache.js';
import { BIN_CYCLES, MemBandwidth } from '../../src/hw/membw.js';
import { defaultConfig, type MachineConfig } from '../../src/config/machine.js';
import { Machine } from '../../src/hw/machine.js';

/** Channels moving a round 4 bytes a cycle: 2 x 1500 MT/s x 8 B x 0.5 at 3.0 GHz. */
function cfg4(): MachineConfig {
  const cfg = defaultConfig();
  cfg.cpus = 2;
  cfg.clock_ghz = 3.0;
  cfg.mem.channels = 2;
  cfg.mem.mt_s = 1500;
  cfg.mem.stream_fraction = 0.5;
  return cfg;
}

describe('MemBandwidth: the DRAM channels as one shared server', () => {
  it('moves channels x MT/s x 8 B x stream_fraction, at the clock', () => {
    const bw = new MemBandwidth(cfg4());
    expect(bw.bytesPerCycle).toBe(4);
    expect(bw.binBytes).toBe(4 * BIN_CYCLES);
    // The defaults: one Skylake-SP socket, 6 x DDR4-2666 at 78% of the wire rate, 3.0 GHz.
    const d = defaultConfig();
    expect(new MemBandwidth(d).bytesPerCycle).toBeCloseTo((6 * 2666e6 * 8 * 0.78) / 3e9, 12);
  });

  it('a transfer alone takes what it takes, even at the channels\' rate or across bins', () => {
    const bw = new MemBandwidth(cfg4());
    expect(bw.transfer(0, 4096, 2048)).toBe(0);
    expect(bw.transfer(2048, 4 * 3000, 3000)).toBe(0); // 4 B a cycle for 3000 cycles, over four bins
    expect(bw.stallCycles).toBe(0);
    expect(bw.bytes).toBe(4096 + 12000);
  });

  it('two CPUs asking for the whole bandwidth at once: the second waits a bin', () => {
    const bw = new MemBandwidth(cfg4());
    // Each: a bin's worth of bytes in a bin's time, both starting at 0.
    expect(bw.transfer(0, 4 * BIN_CYCLES, BIN_CYCLES)).toBe(0);
    // Bin 0 is full; the next moves it at its own rate: it finishes at 2 x BIN_CYCLES instead of BIN_CYCLES.
    expect(bw.transfer(0, 4 * BIN_CYCLES, BIN_CYCLES)).toBe(BIN_CYCLES);
    // Half a bin left in bin 1? No: bin 1 is full too, so a third waits two bins.
    expect(bw.transfer(0, 4 * BIN_CYCLES, BIN_CYCLES)).toBe(2 * BIN_CYCLES);
    expect(bw.stallCycles).toBe(3 * BIN_CYCLES);
  });

  it('shares a bin: two half-rate streams fit, a third one overflows into the next bin', () => {
    const bw = new MemBandwidth(cfg4());
    expect(bw.transfer(0, 2 * BIN_CYCLES, BIN_CYCLES)).toBe(0);
    expect(bw.transfer(0, 2 * BIN_CYCLES, BIN_CYCLES)).toBe(0);
    // Bin 0 is full: all 2048 bytes move in bin 1 at the stream's own 2 B/cycle: done at 2 x BIN_CYCLES.
    expect(bw.transfer(0, 2 * BIN_CYCLES, BIN_CYCLES)).toBe(BIN_CYCLES);
  });

  it('a request that comes late for an earlier time uses what that bin had left (CPUs\' clocks are not in lockstep)', () => {
    const bw = new MemBandwidth(cfg4());
    expect(bw.transfer(BIN_CYCLES, 4 * BIN_CYCLES, BIN_CYCLES)).toBe(0);
    expect(bw.transfer(0, 4 * BIN_CYCLES, BIN_CYCLES)).toBe(0);
    // Both bins are full now: a third at 0 waits for bin 2.
    expect(bw.transfer(0, 4 * BIN_CYCLES, BIN_CYCLES)).toBe(2 * BIN_CYCLES);
  });

  it('an LLC miss waits for the channels when they are full, and adds nothing when they are not', () => {
    const cfg = cfg4();
    const m = new Machine(cfg);
    const clock = new Float64Array(cfg.cpus);
    m.membw!.attachClock(clock);
    const miss = cfg.cost.llc_hit + cfg.cost.dram;
    expect(m.caches.access(0, 0x10000, false)).toBe(miss);
    // CPU 1 asks for a whole bin's bytes at 0: the 64 bytes CPU 0's miss took in bin 0 spill into bin 1,
    // at its own 4 B a cycle: 16 cycles late.
    expect(m.membw!.transfer(0, 4 * BIN_CYCLES, BIN_CYCLES)).toBe(16);
    // CPU 0's next miss, its clock still at 0 (callers charge a run of accesses at its end): placed after the
    // first one completed, at `miss`. Bin 0 is full; its 64 bytes move in bin 1 at 64 / miss bytes a cycle,
    // done at BIN_CYCLES + miss instead of 2 x miss: a wait of BIN_CYCLES - miss.
    expect(m.caches.access(0, 0x20000, false)).toBe(miss + BIN_CYCLES - miss);
    // At time 2 x BIN_CYCLES the channels are idle again.
    clock[0] = 2 * BIN_CYCLES;
    expect(m.caches.access(0, 0x30000, false)).toBe(miss);
    expect(m.membw!.counters()).toEqual({ dram_bytes: 64 + 4 * BIN_CYCLES + 64 + 64, dram_stall_cycles: 16 + BIN_CYCLES - miss });
  });

  it('a stream gathers its LLC misses into one transfer, which the caller makes', () => {
    const cfg = cfg4();
    const m = new Machine(cfg);
    m.membw!.attachClock(new Float64Array(cfg.cpus));
    const c = m.caches;
    m.membw!.transfer(0, 4 * BIN_CYCLES, BIN_CYCLES);
    m.membw!.beginStream(0);
    for (let i = 0; i < 64; i++) expect(c.access(0, 0x40000 + i * 64, true)).toBe(cfg.cost.llc_hit + cfg.cost.dram);
    c.access(0, 0x40000, true); // a hit: nothing from DRAM
    expect(m.membw!.endStream(0)).toBe(4096);
    // The page's 4096 bytes, streamed in 1024 cycles alone, wait for bin 1: done at 2 x BIN_CYCLES.
    expect(m.membw!.transfer(0, 4096, 1024)).toBe(BIN_CYCLES);
  });

  it('no clock attached (a machine without an engine), or mem.channels 0: nothing queues', () => {
    const cfg = cfg4();
    const m = new Machine(cfg);
    expect(m.membw!.line(0, 64, 100)).toBe(0);
    cfg.mem.channels = 0;
    const off = new Machine(cfg);
    expect(off.membw).toBeNull();
    const c = new CacheHierarchy(cfg);
    expect(c.bw).toBeNull();
  });
});
