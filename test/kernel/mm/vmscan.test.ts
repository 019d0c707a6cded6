import { describe, expect, it } from 'vitest';
import { PTE_ACCESSED, tableIndex } from '../../../src/hw/pagetable.js';
import type { Kernel } from '../../../src/kernel/kernel.js';
import type { BackingStore } from '../../../src/kernel/mm/filemap.js';
import { AddressSpace } from '../../../src/kernel/mm/filemap.js';
import { MmCore } from '../../../src/kernel/mm/core.js';
import { do_mmap } from '../../../src/kernel/mm/mmap.js';
import { oomMessages, oomVictims } from '../../../src/kernel/mm/oom_kill.js';
import { folio_referenced } from '../../../src/kernel/mm/rmap_reclaim.js';
import { LRU_INACTIVE_ANON, LRU_INACTIVE_FILE, lru_add_drain, lru_lock, lru_unlock, lruvec_add_folio, lruvec_del_folio, lruvecOf, PAGEVEC_SIZE } from '../../../src/kernel/mm/swap.js';
import { MADV_DONTNEED, sys_madvise } from '../../../src/kernel/mm/madvise.js';
import { DEF_PRIORITY, get_scan_count, inactive_is_low, newScanControl, pgdatOf } from '../../../src/kernel/mm/vmscan.js';
import { SIGKILL } from '../../../src/kernel/mm/fault.js';
import { current, type TaskStruct } from '../../../src/kernel/sched/task_struct.js';
import { sys_nanosleep } from '../../../src/kernel/signal.js';
import type { Task, TaskBody } from '../../../src/sim/task.js';
import { checkAll, diff, mapAnon, PAGE, pattern, readPage, reclaimKernel, smallConfig, writePage } from './swaphelpers.js';

function spawn(k: Kernel, name: string, body: (t: Task) => TaskBody, cpu = 0): TaskStruct {
  return k.spawnProcess(name, body, { cpu });
}

/** A file whose pages live in a map, read and written with a fixed latency. */
class TestStore implements BackingStore {
  readonly data = new Map<number, Uint8Array>();
  reads = 0;
  writes = 0;
  constructor(
    readonly k: Kernel,
    readonly latency: number,
  ) {}
  readPage(index: number, pfn: number, now: number): number {
    this.reads++;
    const d = this.data.get(index);
    if (d) this.k.machine.mem.writeFrom(pfn, 0, d, 0, PAGE);
    else this.k.machine.mem.zero(pfn);
    return now + this.latency;
  }
  writePage(index: number, pfn: number, now: number): number {
    this.writes++;
    const copy = new Uint8Array(PAGE);
    this.k.machine.mem.readInto(pfn, 0, copy, 0, PAGE);
    this.data.set(index, copy);
    return now + this.latency;
  }
}

describe('LRU lists', () => {
  it('new pages reach the inactive anon list in per-CPU batches, newest at the head', () => {
    const k = reclaimKernel(smallConfig(16, 64));
    const pfns: number[] = [];
    spawn(k, 'p', function* (t) {
      const base = yield* mapAnon(t, 40);
      for (let p = 0; p < 40; p++) {
        yield* writePage(t, base + p * PAGE, pattern(0, p));
        pfns.push(k.machine.mmu.translateFunctional(t.cpu, base + p * PAGE));
      }
      const lv = lruvecOf(k);
      // One batch of PAGEVEC_SIZE went onto the list; the rest waits in this CPU's batch.
      expect(lv.size[LRU_INACTIVE_ANON]).toBe(PAGEVEC_SIZE);
      expect(lv.addCount[t.cpu]).toBe(40 - PAGEVEC_SIZE);
      lru_add_drain(t);
      expect(lv.size[LRU_INACTIVE_ANON]).toBe(40);
      expect(lv.pages(LRU_INACTIVE_ANON)).toEqual([...pfns].reverse());
      expect(lv.tail(LRU_INACTIVE_ANON)).toBe(pfns[0]);
      expect(checkAll(k)).toEqual([]);
    });
    k.run();
  });

  it('a link update on warm lines costs three L1 hits (the two neighbours and the page) and the list size\'s statistics', () => {
    const k = reclaimKernel(smallConfig(16, 64));
    spawn(k, 'p', function* (t) {
      const base = yield* mapAnon(t, 3);
      for (let p = 0; p < 3; p++) yield* writePage(t, base + p * PAGE, pattern(0, p));
      lru_add_drain(t);
      const lv = lruvecOf(k);
      const mid = k.machine.mmu.translateFunctional(t.cpu, base + PAGE);
      const caches = k.machine.caches;
      // Warm the lines the unlink and relink write: both neighbours' and the page's.
      for (let p = 0; p < 3; p++) caches.access(t.cpu, MmCore.pageKaddr(k.machine.mmu.translateFunctional(t.cpu, base + p * PAGE)) + 8, true);
      caches.access(t.cpu, lv.kaddr, true);
      lru_add_drain(t);
      // update_lru_size on warm lines (vmstat.test.ts prices each part): the node and zone diffs (an op and a line each),
      // the memcg's and lruvec's per-CPU lines (an op, two lines), memcg_rstat_updated's walk (an op, two lines a level
      // for the cgroup and its ancestors up to the root's) and lru_zone_size's line.
      const l1 = k.cfg.cost.l1d_hit;
      const stats = 4 * k.cfg.kernel.cost.kernel_op + (2 + 2 + 2 * (k.cfg.kernel.memcg_depth + 1) + 1) * l1;
      const c0 = t.cpuTime;
      lruvec_del_folio(t, lv, mid);
      expect(t.cpuTime - c0).toBe(3 * l1 + stats);
      const c1 = t.cpuTime;
      lruvec_add_folio(t, lv, mid, false);
      expect(t.cpuTime - c1).toBe(3 * l1 + stats);
    });
    k.run();
  });
});

describe('a page freed while a CPU\'s lru_add batch holds it (the batch\'s reference, mm/swap.c)', () => {
  /** Writes `pages` pages (they wait in CPU 0's batch), DONTNEEDs the last if `freeLast`, warms every line the drain writes, and returns the drain's cycles and lock holds. */
  function drain(pages: number, freeLast: boolean): { cycles: number; holds: number; lockPair: number } {
    const k = reclaimKernel(smallConfig(16, 64));
    const out = { cycles: 0, holds: 0, lockPair: 0 };
    spawn(k, 'p', function* (t) {
      const base = yield* mapAnon(t, pages);
      for (let p = 0; p < pages; p++) yield* writePage(t, base + p * PAGE, pattern(0, p));
      const pfns = Array.from({ length: pages }, (_, p) => k.machine.mmu.translateFunctional(t.cpu, base + p * PAGE));
      const lv = lruvecOf(k);
      if (freeLast) {
        expect(yield* sys_madvise(t, base + (pages - 1) * PAGE, PAGE, MADV_DONTNEED)).toBe(0);
        // Freed now, but its slot stays taken until the batch drains, as the batch's reference keeps it in Linux.
        expect(k.mem_map.isFree(pfns[pages - 1]!)).toBe(true);
        expect(lv.inBatch[pfns[pages - 1]!]).toBe(0);
      }
      expect(lv.addCount[t.cpu]).toBe(pages);
      const caches = k.machine.caches;
      for (const pfn of pfns) caches.access(t.cpu, MmCore.pageKaddr(pfn) + 8, true);
      caches.access(t.cpu, lv.kaddr, true);
      lru_lock(t, lv); // the lock's line warm too
      lru_unlock(t, lv);
      const c0 = t.cpuTime;
      lru_lock(t, lv);
      lru_unlock(t, lv);
      out.lockPair = t.cpuTime - c0;
      const h0 = lv.lock.acquisitions;
      const c1 = t.cpuTime;
      lru_add_drain(t);
      out.cycles = t.cpuTime - c1;
      out.holds = lv.lock.acquisitions - h0;
      expect(lv.addCount[t.cpu]).toBe(0);
      expect(lv.size[LRU_INACTIVE_ANON]).toBe(freeLast ? pages - 1 : pages);
      expect(checkAll(k)).toEqual([]);
    });
    k.run();
    return out;
  }

  it('keeps its slot; the drain puts it on the list and takes it off again under a second lru_lock hold', () => {
    const freed = drain(2, true);
    const kept = drain(1, false);
    expect(kept.holds).toBe(1);
    expect(freed.holds).toBe(2);
    const l1 = smallConfig(16, 64).cost.l1d_hit;
    // On warm lines: the add's three stores and the release's three, and one more lock hold (an uncontended one on a warm line).
    expect(freed.lockPair).toBe(kept.lockPair);
    expect(freed.cycles - kept.cycles).toBe(6 * l1 + freed.lockPair);
  });
});

describe('get_scan_count and inactive_is_low', () => {
  it('splits the scan between anon and file by swappiness when costs are equal', () => {
    const k = reclaimKernel(smallConfig(16, 64));
    const lv = lruvecOf(k);
    lv.size.set([4000, 1000, 8000, 2000]);
    const sc = newScanControl(k, true, 32);
    sc.priority = 2;
    const s = k.cfg.kernel.swappiness;
    // ap = swappiness, fp = 200 - swappiness (with no reclaim cost on either side).
    const ap = s;
    const fp = 200 - s;
    const want = [4000, 1000, 8000, 2000].map((n, lru) => Math.floor(((n >> 2) * (lru < 2 ? ap : fp)) / (ap + fp)));
    expect(get_scan_count(k, sc)).toEqual(want);
    // At priority 0 with swap and swappiness both lists are scanned whole (SCAN_EQUAL).
    sc.priority = 0;
    expect(get_scan_count(k, sc)).toEqual([4000, 1000, 8000, 2000]);
    lv.size.fill(0);
  });

  it('scans only file pages when anonymous pages have nowhere to go', () => {
    const k = reclaimKernel(smallConfig(16, 0));
    const lv = lruvecOf(k);
    lv.size.set([4000, 1000, 8000, 2000]);
    const sc = newScanControl(k, true, 32);
    sc.priority = DEF_PRIORITY - 10;
    expect(get_scan_count(k, sc)).toEqual([0, 0, 2000, 500]);
    lv.size.fill(0);
  });

  it('inactive_is_low uses the ratio sqrt(10 x GiB)', () => {
    const k = reclaimKernel(smallConfig(16, 64));
    const lv = lruvecOf(k);
    // 1 GiB of pages in the pair: ratio floor(sqrt(10)) = 3.
    lv.size.set([62144, 200000, 0, 0]);
    expect(inactive_is_low(lv, LRU_INACTIVE_ANON)).toBe(true);
    lv.size.set([70000, 192144, 0, 0]);
    expect(inactive_is_low(lv, LRU_INACTIVE_ANON)).toBe(false);
    // Below a GiB the ratio is 1.
    lv.size.set([0, 0, 99, 100]);
    expect(inactive_is_low(lv, LRU_INACTIVE_FILE)).toBe(true);
    lv.size.fill(0);
  });
});

describe('folio_referenced', () => {
  it('counts young PTEs and clears their accessed bits without a flush', () => {
    const k = reclaimKernel(smallConfig(16, 64));
    spawn(k, 'p', function* (t) {
      const base = yield* mapAnon(t, 1);
      yield* writePage(t, base, pattern(0, 0));
      const pfn = k.machine.mmu.translateFunctional(t.cpu, base);
      const flushes = k.engine.counters.get('nr_tlb_local_flush_one') + k.engine.counters.get('nr_tlb_local_flush_all');
      expect(folio_referenced(t, pfn).ptes).toBe(1);
      const pte = k.machine.pt.walkFunctional(current(t).mm!.pgd, base);
      expect(pte & PTE_ACCESSED).toBe(0);
      expect(folio_referenced(t, pfn).ptes).toBe(0);
      expect(k.engine.counters.get('nr_tlb_local_flush_one') + k.engine.counters.get('nr_tlb_local_flush_all')).toBe(flushes);
      expect(tableIndex(base, 1)).toBeGreaterThanOrEqual(0);
    });
    k.run();
  });
});

describe('kswapd and direct reclaim', () => {
  it('kswapd wakes at the low watermark and balances the node above the high one', () => {
    const k = reclaimKernel(smallConfig(16, 64, 2));
    let freeAfter = 0;
    spawn(k, 'p', function* (t) {
      const base = yield* mapAnon(t, 5000);
      for (let p = 0; p < 5000; p++) yield* writePage(t, base + p * PAGE, pattern(0, p));
      // Give kswapd time to finish its run, then look.
      yield t.sleepFor(100 * k.engine.tickPeriod);
      freeAfter = k.mem_map.freeCount;
      expect(checkAll(k)).toEqual([]);
    });
    k.run();
    const c = k.engine.counters;
    expect(k.engine.allTasks().some((t) => t.name === 'kswapd0' && t.kernelThread)).toBe(true);
    expect(c.get('pageoutrun')).toBeGreaterThan(0);
    expect(c.get('pgscan_kswapd')).toBeGreaterThan(0);
    expect(c.get('pgsteal_kswapd')).toBeGreaterThan(0);
    expect(freeAfter).toBeGreaterThan(pgdatOf(k).highWmark);
  });

  it('an allocation that finds memory below the min watermark reclaims directly', () => {
    const k = reclaimKernel(smallConfig(16, 64, 1));
    spawn(k, 'p', function* (t) {
      const base = yield* mapAnon(t, 6000);
      for (let p = 0; p < 6000; p++) yield* writePage(t, base + p * PAGE, pattern(0, p));
    });
    k.run();
    const c = k.engine.counters;
    expect(c.get('allocstall_normal')).toBeGreaterThan(0);
    expect(c.get('pgscan_direct')).toBeGreaterThan(0);
    expect(c.get('pgsteal_direct')).toBeGreaterThan(0);
  });

  it('reclaim run by one CPU leaves no usable stale translation on the CPUs running the process', () => {
    const cfg = smallConfig(16, 64, 4);
    const k = reclaimKernel(cfg);
    const problems: string[] = [];
    const leader = spawn(k, 'main', function* (t) {
      const base = yield* mapAnon(t, 7000);
      for (let p = 0; p < 7000; p++) {
        yield* writePage(t, base + p * PAGE, pattern(5, p));
        if (p % 500 === 499) problems.push(...checkAll(k));
      }
      for (let p = 0; p < 7000; p += 7) {
        const got = yield* readPage(t, base + p * PAGE);
        if (typeof got === 'number' || diff(got, pattern(5, p)) >= 0) problems.push(`page ${p} wrong`);
      }
    });
    for (let i = 1; i < 4; i++) {
      k.spawnThread(leader, `reader${i}`, function* (t) {
        // Each thread keeps its own small working set hot on its CPU.
        const base = yield* mapAnon(t, 64);
        for (let round = 0; round < 60; round++) {
          for (let p = 0; p < 64; p++) {
            if (round === 0) yield* writePage(t, base + p * PAGE, pattern(10 + i, p));
            else {
              const got = yield* readPage(t, base + p * PAGE);
              if (typeof got === 'number' || diff(got, pattern(10 + i, p)) >= 0) problems.push(`thread ${i} page ${p} wrong`);
            }
          }
          yield t.sleepFor(20_000);
        }
      }, { cpu: i, pinned: true });
    }
    k.run();
    expect(problems.slice(0, 5)).toEqual([]);
    expect(k.engine.counters.get('nr_tlb_remote_flush')).toBeGreaterThan(0);
    expect(checkAll(k)).toEqual([]);
  });
});

describe('file pages', () => {
  it('drops clean file pages without writing and writes dirty ones back through the backing store', () => {
    const cfg = smallConfig(16, 64, 2);
    const k = reclaimKernel(cfg);
    const store = new TestStore(k, 30_000);
    const pages = 6000;
    const mapping = new AddressSpace(k, pages * PAGE, store, false);
    const bad: string[] = [];
    spawn(k, 'p', function* (t) {
      const mm = current(t).mm!;
      const r = yield* do_mmap(t, mm, { mapping, readable: true, writable: true }, 0n, BigInt(pages * PAGE), 3, 0x01, 0, 0n);
      expect(r.ret).toBeGreaterThan(0);
      const base = r.ret;
      // Read the whole file (clean pages), then write half of it (dirty pages), then read everything back.
      for (let p = 0; p < pages; p++) yield* readPage(t, base + p * PAGE);
      const writesAfterRead = store.writes;
      expect(writesAfterRead).toBe(0);
      for (let p = 0; p < pages; p += 2) yield* writePage(t, base + p * PAGE, pattern(6, p));
      for (let p = 0; p < pages; p++) {
        const got = yield* readPage(t, base + p * PAGE);
        const want = p % 2 === 0 ? pattern(6, p) : new Uint8Array(PAGE);
        if (typeof got === 'number' || diff(got, want) >= 0) bad.push(`page ${p}`);
        if (bad.length > 3) break;
      }
      expect(checkAll(k)).toEqual([]);
    });
    k.run();
    expect(bad).toEqual([]);
    const c = k.engine.counters;
    expect(c.get('pgsteal_file')).toBeGreaterThan(pages);
    expect(store.writes).toBeGreaterThan(0);
    expect(c.get('nr_vmscan_write')).toBe(store.writes);
    expect(c.get('pswpout')).toBe(0);
  });
});

describe('OOM', () => {
  it('kills the biggest process with SIGKILL when nothing can be reclaimed, and says so', () => {
    const k = reclaimKernel(smallConfig(16, 0, 2));
    let smallOk = false;
    let hogSignal = 0;
    spawn(k, 'small', function* (t) {
      const base = yield* mapAnon(t, 100);
      for (let p = 0; p < 100; p++) yield* writePage(t, base + p * PAGE, pattern(7, p));
      yield t.sleepFor(40 * k.engine.tickPeriod);
      smallOk = true;
      for (let p = 0; p < 100; p++) {
        const got = yield* readPage(t, base + p * PAGE);
        if (typeof got === 'number' || diff(got, pattern(7, p)) >= 0) smallOk = false;
      }
    }, 0);
    const hog = spawn(k, 'hog', function* (t) {
      // Four mappings of half of RAM each (one larger than RAM would be refused by the overcommit heuristic).
      outer: for (let m = 0; m < 4; m++) {
        const base = yield* mapAnon(t, 2048);
        for (let p = 0; p < 2048; p++) {
          const sig = yield* writePage(t, base + p * PAGE, pattern(8, m * 2048 + p));
          if (sig) {
            hogSignal = sig;
            break outer;
          }
        }
      }
      yield* k.exit(t, current(t));
    }, 1);
    k.run();
    const c = k.engine.counters;
    expect(c.get('oom_kill')).toBe(1);
    expect(oomVictims(k)).toEqual([hog]);
    expect(hogSignal).toBe(SIGKILL);
    expect(smallOk).toBe(true);
    const msgs = oomMessages(k);
    expect(msgs[0]).toMatch(/^hog invoked oom-killer: gfp_mask=GFP_HIGHUSER_MOVABLE, order=0, oom_score_adj=0$/);
    expect(msgs[1]).toMatch(new RegExp(`^Out of memory: Killed process ${hog.pid} \\(hog\\) total-vm:\\d+kB, anon-rss:\\d+kB, file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:\\d+kB oom_score_adj:0$`));
    expect(msgs[2]).toMatch(new RegExp(`^oom_reaper: reaped process ${hog.pid} \\(hog\\), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB$`));
    expect(checkAll(k)).toEqual([]);
  });

  it('wakes a thread of the victim asleep interruptibly, so it dies at once instead of at the end of its sleep', () => {
    const k = reclaimKernel(smallConfig(16, 0, 2));
    const hog = spawn(k, 'hog', function* (t) {
      for (let m = 0; m < 4; m++) {
        const base = yield* mapAnon(t, 2048);
        for (let p = 0; p < 2048; p++) if (yield* writePage(t, base + p * PAGE, pattern(8, m * 2048 + p))) return;
      }
    }, 1);
    const tenSeconds = 10 * k.cfg.clock_ghz * 1e9;
    let sleeperEnd = -1;
    let sleeperRet = 0;
    k.spawnThread(hog, 'hog-sleeper', function* (t) {
      sleeperRet = yield* sys_nanosleep(t, 10e9);
      sleeperEnd = t.now;
    }, { cpu: 0 });
    k.run();
    expect(k.engine.counters.get('oom_kill')).toBe(1);
    expect(oomVictims(k)).toEqual([hog]);
    // Woken by the kill (SIGKILL pending), not by its timer ten seconds on.
    expect(hog.group.every((th) => th.sigkillPending)).toBe(true);
    expect(sleeperEnd).toBeGreaterThan(0);
    expect(sleeperEnd).toBeLessThan(tenSeconds / 10);
    expect(sleeperRet).toBeLessThan(0);
  });
});
