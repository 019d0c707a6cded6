/**
 * copy_fdtable and dup_fd copy the fd array and bitmaps with memcpy/memset:
 * string copies that stream at clear_page's rate after the first line's
 * latency (Kernel.streamRange), not one serialized cache miss per line. So
 * growing the table by dup2 onto fd N costs the fixed allocation plus a copy
 * that grows slowly with N, as the host measures (validate --host's
 * fd-table-growth).
 */
import { describe, expect, it } from 'vitest';
import { sys_dup2 } from '../../../src/kernel/fs/fd_syscalls.js';
import type { Kernel } from '../../../src/kernel/kernel.js';
import type { Task, TaskBody } from '../../../src/sim/task.js';
import { fakeKernel, testConfig as lockConfig } from '../locking/fakekernel.js';
import { runProcess, testConfig } from './helpers.js';

function timeStream(k: Kernel, addr: number, bytes: number, times: number): number[] {
  const out: number[] = [];
  k.engine.spawn('copier', function* (t: Task): TaskBody {
    for (let i = 0; i < times; i++) {
      const t0 = t.now;
      k.streamRange(t, addr, bytes, true);
      out.push(t.now - t0);
    }
  }, { cpu: 0, pinned: true });
  k.engine.run();
  return out;
}

describe('Kernel.streamRange', () => {
  it('charges the first line\'s latency, then each further line at cost.zero_page per 4 KiB; cached lines at most what their hits cost', () => {
    const cfg = lockConfig(2, 0);
    const addr = 1 << 20;
    const bytes = 16384;
    const lines = bytes / 64;
    const [firstLine] = timeStream(fakeKernel(cfg), addr, 64, 1);
    const [cold, warm] = timeStream(fakeKernel(cfg), addr, bytes, 2);
    const stream = Math.ceil(((lines - 1) * 64 * cfg.cost.zero_page) / 4096);
    expect(cold).toBe(firstLine! + stream);
    expect(warm).toBe(Math.min(lines * cfg.cost.l1d_hit, cfg.cost.l1d_hit + stream));
  });
});

describe('fd-table growth by dup2', () => {
  const cfg = testConfig((c) => {
    c.kernel.nofile_soft = 8192;
  });
  /** Cycles of the dup2 that grows a fresh process's table from `from` to `to` fds. */
  function growth(from: number, to: number): number {
    let cycles = 0;
    runProcess(function* (t: Task) {
      if (from > 64) expect(yield* sys_dup2(t, 0, from - 1)).toBe(from - 1);
      const t0 = t.now;
      expect(yield* sys_dup2(t, 0, to - 1)).toBe(to - 1);
      cycles = t.now - t0;
    }, cfg);
    return cycles;
  }

  it('costs the allocation and a streamed copy: far below one DRAM miss per copied line, growing at the streaming rate', () => {
    const g128 = growth(64, 128);
    const g2048 = growth(1024, 2048);
    const g4096 = growth(2048, 4096);
    const c = cfg.cost;
    // Growing to 2048 fds writes 16 KiB of fd array and 512 B of bitmaps and reads 8 KiB and 256 B: 392 lines.
    const lines2048 = (2048 * 8 + 512 + 1024 * 8 + 256) / 64;
    expect(g2048 - g128).toBeLessThan((lines2048 * c.dram) / 4);
    // Doubling again writes 16 KiB more (streamed) and reads the old table, which the previous copy left in
    // the caches (charged as hits when cheaper): the difference lies between the added writes and all the
    // added lines at the streaming rate, plus the first-line misses of the new ranges.
    const perLine = (64 * c.zero_page) / 4096;
    expect(g4096 - g2048).toBeGreaterThan(((2048 * 8 + 256) / 64) * perLine * 0.9);
    expect(g4096 - g2048).toBeLessThan(lines2048 * perLine * 1.1 + 10 * c.dram);
  });
});
