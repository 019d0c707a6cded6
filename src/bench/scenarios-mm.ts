/**
 * Focused memory-management scenarios: TLB shootdowns at several CPU counts,
 * the three kinds of page fault, and MADV_FREE / MADV_DONTNEED of growing
 * ranges.
 */
import { MADV_DONTNEED, MADV_FREE, MADV_PAGEOUT, sys_madvise } from '../kernel/mm/madvise.js';
import { sys_mmap } from '../kernel/mm/mmap.js';
import { accessUser, accessUserRange, fillUser, loadUser } from '../kernel/mm/uaccess.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../kernel/mm/uapi.js';
import { newScanControl, shrink_node } from '../kernel/mm/vmscan.js';
import type { Blocking, Task, TaskBody } from '../sim/task.js';
import { current, expectCount, waitUntil, type FocusedContext, type FocusedScenario } from './focused.js';
import { PAGE_SIZE } from '../hw/types.js';

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

function* mapAnon(t: Task, ctx: FocusedContext, pages: number): Blocking<number> {
  const base = yield* sys_mmap(t, 0, pages * PAGE_SIZE, RW, ANON, -1, 0);
  if (base < 0) ctx.fail(`mmap of ${pages} pages failed (${base})`);
  return base;
}

/**
 * MADV_DONTNEED of `pages` dirty pages while the process's other threads run
 * on CPUs 1..cpus-1, each pinned and loading from its own buffer, so every
 * CPU holds the mm and must take the flush IPI. The headline is the
 * initiator's cycles inside flush_tlb_mm_range: IPIs sent, the local flush
 * and the wait for every acknowledgement.
 */
function shootdown(pages: number, cpus: number): FocusedScenario {
  return {
    name: `shootdown/${pages}-page${pages > 1 ? 's' : ''}/${cpus}-cpus`,
    summary: `TLB shootdown of ${pages} page${pages > 1 ? 's' : ''} with ${cpus} CPUs running the mm: initiator cycles in flush_tlb_mm_range`,
    cpus,
    headline: 'flush_tlb_mm_range',
    body: (ctx) => (t) =>
      (function* (): TaskBody {
        const { k, w } = ctx;
        const base = yield* mapAnon(t, ctx, pages);
        if (base < 0) return;
        const st = { started: 1, done: false };
        for (let c = 1; c < cpus; c++) k.spawnThread(current(t), `spin/${c}`, spinner(ctx, st), { cpu: c, pinned: true });
        yield* waitUntil(t, () => st.started === cpus);
        if ((yield* fillUser(t, base, pages * PAGE_SIZE, 1)) !== 0) ctx.fail('fault while dirtying the pages');
        w.start(t);
        const r = yield* sys_madvise(t, base, pages * PAGE_SIZE, MADV_DONTNEED);
        w.stop(t);
        st.done = true;
        if (r !== 0) ctx.fail(`madvise returned ${r}`);
      })(),
    expect: (c) => [...expectCount(c, 'ipi_sent', cpus - 1), ...expectCount(c, 'nr_tlb_remote_flush', cpus > 1 ? 1 : 0)],
  };
}

function spinner(ctx: FocusedContext, st: { started: number; done: boolean }): (t: Task) => TaskBody {
  return (t) =>
    (function* (): TaskBody {
      const b = yield* mapAnon(t, ctx, 4);
      if (b < 0) return;
      if ((yield* accessUserRange(t, b, 4, PAGE_SIZE, true)) !== 0) ctx.fail('spinner fault');
      st.started++;
      while (!st.done) {
        if ((yield* accessUserRange(t, b, 64, 64, false)) !== 0) return;
        if (t.shouldYield()) yield;
      }
    })();
}

/**
 * One write to an untouched anonymous page whose page table already exists
 * (its neighbour was written first, so no table is allocated in the window):
 * trap, handle_mm_fault, page allocation, zeroing, the retried store.
 */
const minorFault: FocusedScenario = {
  name: 'fault/minor',
  summary: 'one anonymous write fault on an untouched page, its page table present (trap, handler, allocation, zeroing), as the storing task sees it',
  body: (ctx) => (t) =>
    (function* (): TaskBody {
      const base = yield* mapAnon(t, ctx, 2);
      if (base < 0) return;
      if ((yield* accessUser(t, base, true)) !== 0) ctx.fail('fault on the neighbouring page');
      ctx.w.start(t);
      const sig = yield* accessUser(t, base + PAGE_SIZE, true);
      ctx.w.stop(t);
      if (sig) ctx.fail(`the store raised signal ${sig}`);
    })(),
  expect: (c) => [...expectCount(c, 'pgfault', 1), ...expectCount(c, 'pgmajfault', 0)],
};

/** A forked child writes a page it shares with its parent: the copy-on-write fault copies it; the parent still reads its own byte. */
const cowFault: FocusedScenario = {
  name: 'fault/cow',
  summary: 'one copy-on-write fault: a fork child stores to a page its parent wrote (fault, allocation, page copy)',
  body: (ctx) => (t) =>
    (function* (): TaskBody {
      const { k, w } = ctx;
      const base = yield* mapAnon(t, ctx, 1);
      if (base < 0) return;
      if ((yield* fillUser(t, base, PAGE_SIZE, 7)) !== 0) ctx.fail('fault while writing the page');
      const child = yield* k.fork(t, current(t), function* (ct: Task): TaskBody {
        // Bring the child's translation walk into the same state as a fresh fault would see: read first, then store.
        const before = yield* loadUser(ct, base);
        if (before.value !== 7) ctx.fail(`the child read ${before.value} before its store, expected 7`);
        w.start(ct);
        const sig = yield* accessUser(ct, base, true);
        w.stop(ct);
        if (sig) ctx.fail(`the child's store raised signal ${sig}`);
        yield* k.exit(ct, current(ct));
      });
      if (typeof child === 'number') {
        ctx.fail(`fork failed (${child})`);
        return;
      }
      yield t.sleepOn(child.task!.exited);
      const after = yield* loadUser(t, base);
      if (after.value !== 7) ctx.fail(`the parent reads ${after.value} after the child's store, expected 7`);
    })(),
  expect: (c) => [...expectCount(c, 'pgfault', 1), ...expectCount(c, 'pgmajfault', 0)],
};

/** A page written, pushed to swap with MADV_PAGEOUT, then read: the major fault reads it back from the swap device. */
const swapIn: FocusedScenario = {
  name: 'fault/swap-in',
  summary: 'one major fault: a load from a page swapped out with MADV_PAGEOUT (swap read, device latency included)',
  body: (ctx) => (t) =>
    (function* (): TaskBody {
      const { k, w } = ctx;
      const base = yield* mapAnon(t, ctx, 1);
      if (base < 0) return;
      if ((yield* fillUser(t, base, PAGE_SIZE, 9)) !== 0) ctx.fail('fault while writing the page');
      const r = yield* sys_madvise(t, base, PAGE_SIZE, MADV_PAGEOUT);
      if (r !== 0) ctx.fail(`MADV_PAGEOUT returned ${r}`);
      // Let the write-back finish, then one direct-reclaim pass at the highest priority (as under memory
      // pressure) frees the clean page from the swap cache, so the load must read it from the device.
      yield t.sleepFor(10_000_000);
      const sc = newScanControl(k, false, 1);
      sc.priority = 0;
      yield* shrink_node(t, sc);
      w.start(t);
      const v = yield* loadUser(t, base);
      w.stop(t);
      if (v.value !== 9) ctx.fail(`read ${v.value} back from swap, expected 9`);
    })(),
  expect: (c) => [...expectCount(c, 'pgmajfault', 1), ...expectCount(c, 'pswpin', 1)],
};

/** madvise(advice) of `pages` dirty pages on one CPU (no other CPU holds the mm). */
function madviseRange(adviceName: 'free' | 'dontneed', pages: number): FocusedScenario {
  const advice = adviceName === 'free' ? MADV_FREE : MADV_DONTNEED;
  return {
    name: `madvise/${adviceName}/${pages}-page${pages > 1 ? 's' : ''}`,
    summary: `madvise(MADV_${adviceName.toUpperCase()}) of ${pages} dirty page${pages > 1 ? 's' : ''}, one CPU: the call's cycles`,
    body: (ctx) => (t) =>
      (function* (): TaskBody {
        const { w } = ctx;
        const base = yield* mapAnon(t, ctx, pages);
        if (base < 0) return;
        if ((yield* fillUser(t, base, pages * PAGE_SIZE, 3)) !== 0) ctx.fail('fault while dirtying the pages');
        w.start(t);
        const r = yield* sys_madvise(t, base, pages * PAGE_SIZE, advice);
        w.stop(t);
        if (r !== 0) ctx.fail(`madvise returned ${r}`);
      })(),
    expect: (c) => (adviceName === 'free' ? expectCount(c, 'pglazyfree', pages) : []),
  };
}

export const MM_SCENARIOS: FocusedScenario[] = [
  ...[1, 64].flatMap((pages) => [2, 8, 32, 64].map((cpus) => shootdown(pages, cpus))),
  minorFault,
  cowFault,
  swapIn,
  ...(['free', 'dontneed'] as const).flatMap((a) => [1, 8, 64, 1024].map((n) => madviseRange(a, n))),
];
