import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/machine.js';
import { SwapDevice } from '../../src/hw/swapdev.js';

describe('swap device', () => {
  const cfg = defaultConfig();
  const hz = cfg.clock_ghz * 1e9;

  it('one read takes latency plus transfer time', () => {
    const d = new SwapDevice(cfg);
    const lat = Math.round((cfg.swap.read_latency_us * hz) / 1e6);
    const xfer = Math.round(4096 * (hz / (cfg.swap.bandwidth_mbps * 1e6)));
    expect(d.submit(1000, false)).toBe(1000 + lat + xfer);
  });

  it('requests beyond the queue depth wait for a free server', () => {
    const c = defaultConfig();
    c.swap = { ...c.swap, queue_depth: 2 };
    const d = new SwapDevice(c);
    const s = d.serviceTime(true, 4096);
    const done = [0, 1, 2, 3, 4].map(() => d.submit(0, true));
    expect(done).toEqual([s, s, 2 * s, 2 * s, 3 * s]);
    expect(d.queueWait).toBe(s + s + 2 * s);
    expect(d.counters().swap_dev_writes).toBe(5);
  });

  it('allocates slots, keeps what was stored, and refuses a double free', () => {
    const d = new SwapDevice(cfg);
    const a = d.allocSlot();
    const b = d.allocSlot();
    expect([a, b]).toEqual([0, 1]);
    d.store(a, 'page A');
    expect(d.load(a)).toBe('page A');
    d.freeSlot(a);
    expect(() => d.freeSlot(a)).toThrow(/freed twice/);
    expect(() => d.load(a)).toThrow(/read while free/);
  });

  it('has its slots whatever the kernel does with them (swapon is kernel.swapon)', () => {
    const c = defaultConfig();
    c.swap = { ...c.swap, size_mib: 2 };
    expect(new SwapDevice(c).slots).toBe(512);
  });
});
