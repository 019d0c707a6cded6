/**
 * streamUser: a sequential user copy half charged as the kernel's copies
 * are (Kernel.streamRange): per page, the lesser of its lines' latencies in
 * turn and the first line's latency plus the rest at cost.zero_page a 4 KiB.
 */
import { describe, expect, it } from 'vitest';
import { defaultConfig, type MachineConfig } from '../../../src/config/machine.js';
import { sys_mmap } from '../../../src/kernel/mm/mmap.js';
import { fillUser, loadUser, streamUser } from '../../../src/kernel/mm/uaccess.js';
import { runProcess } from '../../../src/validate/process.js';

const PAGE = 4096;
const PAGES = 4;

/** Cycles of streamUser over 4 pages just written (TLB entries and lines warm in L1), and what a load reads after a streamed write. */
function run(cfg: MachineConfig, write: boolean): { cycles: number; byte: number } {
  const out = { cycles: 0, byte: -1 };
  runProcess(cfg, function* (t) {
    const a = yield* sys_mmap(t, 0, PAGES * PAGE, 3, 0x22, -1, 0);
    expect(yield* fillUser(t, a, PAGES * PAGE, 1)).toBe(0);
    const t0 = t.now;
    expect(yield* streamUser(t, a, PAGES * PAGE, write, write ? 7 : -1)).toBe(0);
    out.cycles = t.now - t0;
    out.byte = (yield* loadUser(t, a + PAGE + 100)).value;
  });
  return out;
}

describe('streamUser', () => {
  it('lines already in L1 cost their hits one after another (cheaper than the stream rate)', () => {
    const c = defaultConfig();
    const lines = PAGE / c.cache.line_bytes;
    // A page of L1 hits (64 x 5) is below the first line plus 63 lines at 844 cycles a 4 KiB.
    expect(lines * c.cost.l1d_hit).toBeLessThan(c.cost.l1d_hit + Math.ceil(((lines - 1) * c.cache.line_bytes * c.cost.zero_page) / PAGE));
    expect(run(c, false).cycles).toBe(PAGES * lines * c.cost.l1d_hit);
  });

  it('at a stream rate below the hits, a page costs its first line and the rest at cost.zero_page a 4 KiB', () => {
    const c = defaultConfig();
    c.cost.zero_page = 64; // one cycle a 64-byte line
    const lines = PAGE / c.cache.line_bytes;
    expect(run(c, false).cycles).toBe(PAGES * (c.cost.l1d_hit + (lines - 1)));
  });

  it('a streamed write writes its byte over the range', () => {
    expect(run(defaultConfig(), true).byte).toBe(7);
  });
});
