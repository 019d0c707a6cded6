import { describe, expect, it } from 'vitest';
import { makeSwapPte } from '../../../src/kernel/mm/swapops.js';
import type { Kernel } from '../../../src/kernel/kernel.js';
import { current, type TaskStruct } from '../../../src/kernel/sched/task_struct.js';
import { swapCache, swapin_nr_pages_window } from '../../../src/kernel/mm/swap_state.js';
import { free_swap_and_cache, get_swap_page, put_swap_folio, swap_duplicate, swap_free, swapInfo } from '../../../src/kernel/mm/swapfile.js';
import type { Task, TaskBody } from '../../../src/sim/task.js';
import { checkAll, diff, mapAnon, PAGE, pattern, readPage, reclaimKernel, smallConfig, writePage } from './swaphelpers.js';

/** Runs `body` as the one process of a fresh kernel and returns the kernel once everything has finished. */
function runProcess(k: Kernel, body: (t: Task) => TaskBody): Kernel {
  k.spawnProcess('proc', body, { cpu: 0 });
  k.run();
  return k;
}

describe('data through swap', () => {
  it('fills three times RAM with distinct pages and reads every byte back', () => {
    const cfg = smallConfig(16, 64);
    const k = reclaimKernel(cfg);
    const pages = 3 * cfg.ram_mib * 256;
    const bad: string[] = [];
    runProcess(k, function* (t) {
      const base = yield* mapAnon(t, pages);
      for (let p = 0; p < pages; p++) {
        const sig = yield* writePage(t, base + p * PAGE, pattern(1, p));
        if (sig) {
          bad.push(`write of page ${p}: signal ${sig}`);
          return;
        }
      }
      for (let p = 0; p < pages && bad.length < 4; p++) {
        const got = yield* readPage(t, base + p * PAGE);
        if (typeof got === 'number') {
          bad.push(`read of page ${p}: signal ${got}`);
          return;
        }
        const at = diff(got, pattern(1, p));
        if (at >= 0) bad.push(`page ${p} byte ${at}: ${got[at]} instead of ${pattern(1, p)[at]}`);
      }
      expect(checkAll(k)).toEqual([]);
      yield* k.exit(t, current(t));
    });
    expect(bad).toEqual([]);
    const c = k.engine.counters;
    // At least everything beyond RAM went out once, and came back in.
    expect(c.get('pswpout')).toBeGreaterThanOrEqual(pages - cfg.ram_mib * 256);
    expect(c.get('pswpin')).toBeGreaterThanOrEqual(pages - cfg.ram_mib * 256);
    expect(c.get('pgmajfault')).toBeGreaterThan(0);
    expect(c.get('oom_kill')).toBe(0);
    // The exit gave back every slot a swap PTE named. A page that was under
    // I/O (locked for a read, or under writeback) when its last swap PTE was
    // zapped stays in the swap cache, as free_swap_and_cache's trylock leaves
    // it in Linux, holding its slot by SWAP_HAS_CACHE alone until reclaim
    // takes the orphan; nothing maps it and only the cache holds it.
    const si = swapInfo(k);
    const cache = swapCache(k);
    expect(si.inuse).toBe(cache.pages.size);
    expect(k.swap.usedSlots).toBe(cache.pages.size);
    expect(cache.reading.size + cache.writing.size).toBe(0);
    for (const [slot, pfn] of cache.pages) {
      expect(si.mapCount(slot), `slot ${slot}`).toBe(0);
      expect(si.hasCache(slot), `slot ${slot}`).toBe(true);
      expect(k.mem_map.mapcount[pfn], `pfn ${pfn}`).toBe(0);
      expect(k.mem_map.refcount[pfn], `pfn ${pfn}`).toBe(1);
    }
    expect(checkAll(k)).toEqual([]);
  });

  it('keeps parent and child apart across fork when their shared pages are swapped', () => {
    const cfg = smallConfig(8, 64);
    const k = reclaimKernel(cfg);
    const pages = 3000;
    const bad: string[] = [];
    runProcess(k, function* (t) {
      const base = yield* mapAnon(t, pages);
      for (let p = 0; p < pages; p++) yield* writePage(t, base + p * PAGE, pattern(2, p));
      const child = yield* k.fork(t, current(t), function* (ct) {
        // The child rewrites the even pages, then checks all of them.
        for (let p = 0; p < pages; p += 2) yield* writePage(ct, base + p * PAGE, pattern(2, p, 1));
        for (let p = 0; p < pages; p++) {
          const got = yield* readPage(ct, base + p * PAGE);
          const want = pattern(2, p, p % 2 === 0 ? 1 : 0);
          if (typeof got === 'number' || diff(got, want) >= 0) bad.push(`child page ${p}`);
        }
        yield* k.exit(ct, current(ct));
      });
      expect(typeof child).not.toBe('number');
      // The parent rewrites the odd pages meanwhile: its own copies.
      for (let p = 1; p < pages; p += 2) yield* writePage(t, base + p * PAGE, pattern(2, p, 2));
      const exited = (child as TaskStruct).task.exited;
      if (!exited.done) yield t.sleepOn(exited);
      for (let p = 0; p < pages; p++) {
        const got = yield* readPage(t, base + p * PAGE);
        const want = pattern(2, p, p % 2 === 1 ? 2 : 0);
        if (typeof got === 'number' || diff(got, want) >= 0) bad.push(`parent page ${p}`);
      }
      expect(checkAll(k)).toEqual([]);
      yield* k.exit(t, current(t));
    });
    expect(bad.slice(0, 5)).toEqual([]);
    expect(k.engine.counters.get('pswpout')).toBeGreaterThan(0);
    expect(swapInfo(k).inuse).toBe(0);
    expect(checkAll(k)).toEqual([]);
  });
});

describe('swap slots', () => {
  it('frees a slot only when no swap PTE names it and no page caches it', () => {
    const k = reclaimKernel(smallConfig(16, 4));
    const si = swapInfo(k);
    k.spawnKernelThread('t', function* (t) {
      const slot = get_swap_page(t);
      expect(slot).toBe(0);
      expect(si.hasCache(slot)).toBe(true);
      expect(si.inuse).toBe(1);
      // Two PTEs name it (try_to_unmap in two processes).
      expect(swap_duplicate(k, t, slot)).toBe(0);
      expect(swap_duplicate(k, t, slot)).toBe(0);
      expect(si.mapCount(slot)).toBe(2);
      put_swap_folio(k, t, slot);
      expect(si.inuse).toBe(1);
      swap_free(k, t, slot);
      expect(k.swap.isUsed(slot)).toBe(true);
      swap_free(k, t, slot);
      expect(k.swap.isUsed(slot)).toBe(false);
      expect(si.inuse).toBe(0);
      // A slot not in use cannot gain a PTE.
      expect(swap_duplicate(k, t, slot)).toBe(-1);
      expect(() => free_swap_and_cache(t, slot)).toThrow(/not named/);
    });
    k.run();
  });

  it('hands out every slot once and then reports swap full', () => {
    const k = reclaimKernel(smallConfig(16, 1));
    k.spawnKernelThread('t', function* (t) {
      const got = new Set<number>();
      for (let i = 0; i < 256; i++) got.add(get_swap_page(t));
      expect(got.size).toBe(256);
      expect(get_swap_page(t)).toBe(-1);
    });
    k.run();
  });

  it('encodes slots in swap PTEs that the walker never follows', () => {
    expect(makeSwapPte(0, 5) & 1).toBe(0);
  });
});

describe('swap-in readahead window (swapin_nr_pages)', () => {
  it('reads one page after a miss far from the last fault', () => {
    expect(swapin_nr_pages_window(100, 500, 0, 8, 0)).toBe(1);
  });
  it('reads two pages (hits + 2) next to the last fault with no hits yet', () => {
    expect(swapin_nr_pages_window(100, 101, 0, 8, 0)).toBe(2);
  });
  it('rounds hits + 2 up to a power of two of at least 4, capped at 2^page-cluster', () => {
    expect(swapin_nr_pages_window(0, 500, 1, 8, 0)).toBe(4);
    expect(swapin_nr_pages_window(0, 500, 3, 8, 0)).toBe(8);
    expect(swapin_nr_pages_window(0, 500, 30, 8, 0)).toBe(8);
  });
  it('shrinks to no less than half the previous window', () => {
    expect(swapin_nr_pages_window(0, 500, 0, 8, 8)).toBe(4);
  });
});

describe('swap I/O in simulated time', () => {
  it('a swap-in fault sleeps for the device read, and its CPU runs nothing meanwhile', () => {
    const cfg = smallConfig(16, 64, 1);
    cfg.kernel = { ...cfg.kernel, page_cluster: 0 };
    const k = reclaimKernel(cfg);
    const pages = 6000;
    let faultStart = 0;
    let faultEnd = 0;
    let idleDuring = 0;
    let slot = -1;
    runProcess(k, function* (t) {
      const base = yield* mapAnon(t, pages);
      for (let p = 0; p < pages; p++) yield* writePage(t, base + p * PAGE, pattern(3, p));
      // Let the writes in flight complete.
      yield t.sleepFor(k.swap.serviceTime(true, PAGE) * 64);
      // A page that has gone to swap (not all early pages have: young ones got a second round on the list) and whose
      // write has completed and the swap cache let it go: the data is only on the device.
      const pgd = current(t).mm!.pgd;
      let victim = -1;
      for (let p = 0; p < pages && victim < 0; p++) {
        const e = k.machine.pt.walkFunctional(pgd, base + p * PAGE);
        if (e !== 0 && (e & 1) === 0 && !swapCache(k).pages.has(Math.floor(e / PAGE) % 2 ** 40)) victim = p;
      }
      expect(victim).toBeGreaterThanOrEqual(0);
      const pte = k.machine.pt.walkFunctional(pgd, base + victim * PAGE);
      slot = Math.floor(pte / PAGE) % 2 ** 40;
      expect(swapCache(k).pages.has(slot)).toBe(false);
      const before = k.engine.counters.get('pswpin');
      faultStart = t.now;
      const idle0 = k.engine.idle[0]!;
      const got = yield* readPage(t, base + victim * PAGE);
      faultEnd = t.now;
      idleDuring = k.engine.idle[0]! - idle0;
      expect(typeof got === 'number' ? got : diff(got, pattern(3, victim))).toBe(-1);
      expect(k.engine.counters.get('pswpin') - before).toBe(1);
      yield* k.exit(t, current(t));
    });
    const read = k.swap.serviceTime(false, PAGE);
    expect(slot).toBeGreaterThanOrEqual(0);
    // The fault took at least the device's read time, and the CPU idled for most of it.
    expect(faultEnd - faultStart).toBeGreaterThanOrEqual(read);
    expect(idleDuring).toBeGreaterThan(0);
    expect(idleDuring).toBeLessThanOrEqual(read);
  });

  it('costs swap_io of CPU per request, charged under swap_writepage and swap_read_folio', () => {
    const cfg = smallConfig(16, 64, 1);
    const k = reclaimKernel(cfg);
    runProcess(k, function* (t) {
      const base = yield* mapAnon(t, 6000);
      for (let p = 0; p < 6000; p++) yield* writePage(t, base + p * PAGE, pattern(4, p));
      for (let p = 0; p < 200; p++) yield* readPage(t, base + p * PAGE);
      yield* k.exit(t, current(t));
    });
    const tree = k.engine.attribution.tree();
    const sum = (name: string): number => {
      let s = 0;
      const walk = (n: typeof tree): void => {
        if (n.name === name) s += n.exclusive;
        n.children.forEach(walk);
      };
      walk(tree);
      return s;
    };
    const c = k.engine.counters;
    expect(sum('swap_writepage')).toBe(c.get('pswpout') * cfg.kernel.cost.swap_io);
    expect(sum('swap_read_folio')).toBe(c.get('pswpin') * cfg.kernel.cost.swap_io);
  });
});
