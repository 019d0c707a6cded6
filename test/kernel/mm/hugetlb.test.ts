/**
 * MAP_HUGETLB with a reserved pool (kernel.nr_hugepages), which the
 * development host cannot show: it has vm.nr_hugepages = 0, so its
 * conformance scripts (hugetlb-*) see only ENOMEM and MAP_NORESERVE's
 * SIGBUS. These expectations follow mm/hugetlb.c: reservation at mmap
 * (ENOMEM when the pool is short), faults from the pool, pages back on
 * unmap, the shared file's pages across fork, COW of a private page (and,
 * with no page to copy into, the owner taking the page back from its
 * children: unmap_ref_private), MADV_DONTNEED giving a private page's
 * reservation back, and the HugePages_* lines of /proc/meminfo.
 */
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../src/config/machine.js';
import { runScript } from '../../../src/workloads/script/interp.js';
import { parseScript } from '../../../src/workloads/script/parse.js';
import { readText, runProcess, testConfig } from '../fs/helpers.js';
import { sys_mmap } from '../../../src/kernel/mm/mmap.js';
import { sys_munmap } from '../../../src/kernel/mm/munmap.js';
import { accessUser } from '../../../src/kernel/mm/uaccess.js';
import { sys_madvise } from '../../../src/kernel/mm/madvise.js';
import { hstate } from '../../../src/kernel/mm/hugetlb.js';
import { TaskState, type Task } from '../../../src/sim/task.js';
import { current } from '../../../src/kernel/sched/task_struct.js';
import { ptePfn } from '../../../src/hw/pagetable.js';

const MB2 = 2 * 1024 * 1024;

/** The frame a present leaf at addr maps in the task's address space. */
function headOf(t: Task, addr: number): number {
  return ptePfn(t.k.machine.pt.walkFunctional(current(t).mm!.pgd, addr));
}

function run(ops: unknown[], pool: number): unknown[] {
  const c = defaultConfig();
  c.sim = { ...c.sim, checks: true };
  c.kernel = { ...c.kernel, nr_hugepages: pool };
  const s = parseScript(JSON.stringify({ kernsim_script: 1, name: 't', ops }), 't.json');
  return runScript(s, c).lines.map((l) => {
    const o = JSON.parse(l) as Record<string, unknown>;
    delete o['sim'];
    return o;
  });
}

const huge = (as: string, pages: number, extra: string[] = []): unknown => ({ op: 'mmap', as, pages, prot: 'rw', flags: ['private', 'anonymous', 'hugetlb', ...extra] });

describe('MAP_HUGETLB with a reserved pool', () => {
  it('reserves one page per 2 MiB at mmap and fails with ENOMEM when the pool is short', () => {
    const l = run([huge('A', 1024), huge('B', 512), huge('C', 1), { op: 'munmap', addr: '$A', len: 2 * MB2 }, huge('D', 1536), huge('E', 1024)], 3);
    expect(l.map((x) => (x as { errno: string | null }).errno)).toEqual([null, null, 'ENOMEM', null, 'ENOMEM', null]);
  });

  it('faults zeroed pages from the pool, maps them whole (mincore, smaps) and gives them back on munmap', () => {
    const l = run([
      huge('A', 512),
      { op: 'load', addr: '$A+4096' },
      { op: 'fill', addr: '$A', len: 4096, byte: 7 },
      { op: 'load', addr: '$A+2097151' },
      { op: 'load', addr: '$A' },
      { op: 'mincore', addr: '$A', len: 8192 },
      { op: 'pagemap', addr: '$A', pages: 1 },
      { op: 'smaps', addr: '$A' },
      { op: 'munmap', addr: '$A', len: 4096 },
      { op: 'munmap', addr: '$A', len: MB2 },
      huge('B', 512),
      { op: 'load', addr: '$B' },
    ], 1) as Record<string, unknown>[];
    expect(l[1]!['value']).toBe(0);
    expect(l[4]!['value']).toBe(7);
    expect(l[5]!['vec']).toBe('11');
    expect(l[6]!['entries']).toEqual(['8100000000000000']);
    const smaps = l[7]!['lines'] as string[];
    expect(smaps).toContain('KernelPageSize:     2048 kB');
    expect(smaps).toContain('Private_Hugetlb:    2048 kB');
    expect(smaps).toContain('Rss:                   0 kB');
    expect(smaps.at(-1)).toBe('VmFlags: rd wr mr mw me de ht ');
    expect(l[8]!['errno']).toBe('EINVAL');
    expect(l[10]!['errno']).toBe(null);
    // The page went back: the pool of one serves the new mapping, zeroed.
    expect(l[11]!['value']).toBe(0);
  });

  it('shares a shared mapping\'s pages with a fork child; a private page is copied on write, SIGBUS when no page is free', () => {
    const l = run([
      huge('A', 512),
      { op: 'mmap', as: 'S', pages: 512, prot: 'rw', flags: ['shared', 'anonymous', 'hugetlb'] },
      { op: 'fill', addr: '$A', len: 1, byte: 1 },
      { op: 'fill', addr: '$S', len: 1, byte: 2 },
      { op: 'fork', ops: [
        { op: 'load', addr: '$A' }, { op: 'fill', addr: '$S', len: 1, byte: 3 }, { op: 'fill', addr: '$A', len: 1, byte: 4 }, { op: 'load', addr: '$A' },
      ] },
      { op: 'load', addr: '$A' },
      { op: 'load', addr: '$S' },
    ], 3) as Record<string, unknown>[];
    const child = l[4]!['child'] as Record<string, unknown>[];
    expect(child[0]!['value']).toBe(1);
    expect(child[2]!['errno']).toBe(null);
    expect(child[3]!['value']).toBe(4);
    expect(l[5]!['value']).toBe(1);
    expect(l[6]!['value']).toBe(3);
    const tight = run([
      huge('A', 512),
      { op: 'fill', addr: '$A', len: 1, byte: 1 },
      { op: 'fork', ops: [{ op: 'fill', addr: '$A', len: 1, byte: 4 }] },
    ], 1) as Record<string, unknown>[];
    expect((tight[2]!['child'] as Record<string, unknown>[])[0]!['signal']).toBe('SIGBUS');
  });

  it('MAP_NORESERVE takes unpromised pages at fault time, SIGBUS once none is left', () => {
    const l = run([huge('A', 512), huge('N', 1024, ['noreserve']), { op: 'load', addr: '$N' }, { op: 'load', addr: '$N+2097152' }, { op: 'load', addr: '$A' }], 2) as Record<string, unknown>[];
    expect(l.map((x) => x['signal'] ?? x['errno'])).toEqual([null, null, null, 'SIGBUS', null]);
  });

  it('/proc/meminfo shows the pool: total, free, reserved', () => {
    let text = '';
    runProcess(function* (t) {
      const a = yield* sys_mmap(t, 0, 2 * MB2, 3, 0x22 | 0x40000, -1, 0);
      yield* accessUser(t, a, true);
      text = (yield* readText(t, '/proc/meminfo')) as string;
      yield* sys_munmap(t, a, 2 * MB2);
    }, testConfig((c) => { c.kernel.nr_hugepages = 4; }));
    expect(text).toMatch(/^HugePages_Total: +4$/m);
    expect(text).toMatch(/^HugePages_Free: +3$/m);
    expect(text).toMatch(/^HugePages_Rsvd: +1$/m);
    expect(text).toMatch(/^Hugepagesize: +2048 kB$/m);
    expect(text).toMatch(/^Hugetlb: +8192 kB$/m);
  });

  it('an owner with no page to copy into takes a page shared since fork back from its child, which then gets SIGBUS at any no-page fault (unmap_ref_private)', () => {
    const SIGBUS = 7;
    const got: Record<string, number> = {};
    const k = runProcess(function* (t, ts) {
      const k = t.k;
      // A (faulted: its reservation used) and B (reserved, not faulted): the pool of 2 has no unpromised page left.
      const a = yield* sys_mmap(t, 0, MB2, 3, 0x22 | 0x40000, -1, 0);
      const b = yield* sys_mmap(t, 0, MB2, 3, 0x22 | 0x40000, -1, 0);
      got['ownerFault'] = yield* accessUser(t, a, true);
      const h = hstate(k);
      got['freeBefore'] = h.free.length;
      got['resvBefore'] = h.resv;
      const child = yield* k.fork(t, ts, function* (ct: Task) {
        got['childRead'] = yield* accessUser(ct, a, false);
        // Until the owner has written A and unmapped B.
        yield ct.sleepFor(2_000_000);
        got['childReadAfter'] = yield* accessUser(ct, a, false);
        // B, another area of the child, is not marked: it faults in the page the owner's munmap of B freed.
        got['childOtherArea'] = yield* accessUser(ct, b, false);
        yield* k.exit(ct, current(ct));
      });
      if (typeof child === 'number') throw new Error('fork failed');
      yield t.sleepFor(200_000);
      got['ownerWrite'] = yield* accessUser(t, a, true);
      got['mapcount'] = k.mem_map.mapcount[headOf(t, a)]!;
      yield* sys_munmap(t, b, MB2);
      got['freeAfterUnmap'] = h.free.length;
      yield t.sleepOn(child.task.exited);
      got['childDone'] = child.task.state === TaskState.Done ? 1 : 0;
    }, testConfig((c) => { c.kernel.nr_hugepages = 2; }));
    expect(got).toEqual({
      ownerFault: 0, freeBefore: 1, resvBefore: 1, childRead: 0, ownerWrite: 0, mapcount: 1, freeAfterUnmap: 1,
      childReadAfter: SIGBUS, childOtherArea: 0, childDone: 1,
    });
    // Everything went back to the pool.
    expect(hstate(k).free.length).toBe(2);
    expect(hstate(k).resv).toBe(0);
  });

  it('MADV_DONTNEED of a private page gives its reservation back: a new mapping cannot take the page, a refault can', () => {
    const l = run([
      huge('A', 512),
      { op: 'fill', addr: '$A', len: 1, byte: 5 },
      { op: 'madvise', addr: '$A', len: MB2, advice: 'MADV_DONTNEED' },
      huge('B', 512),
      { op: 'load', addr: '$A' },
      { op: 'fill', addr: '$A', len: 1, byte: 6 },
      { op: 'munmap', addr: '$A', len: MB2 },
      huge('C', 512),
      { op: 'load', addr: '$C' },
    ], 1) as Record<string, unknown>[];
    expect(l.map((x) => x['signal'] ?? x['errno'])).toEqual([null, null, null, 'ENOMEM', null, null, null, null, null]);
    expect(l[4]!['value']).toBe(0);
    let text = '';
    runProcess(function* (t) {
      const a = yield* sys_mmap(t, 0, MB2, 3, 0x22 | 0x40000, -1, 0);
      yield* accessUser(t, a, true);
      yield* sys_madvise(t, a, MB2, 4);
      text = (yield* readText(t, '/proc/meminfo')) as string;
    }, testConfig((c) => { c.kernel.nr_hugepages = 1; }));
    expect(text).toMatch(/^HugePages_Free: +1$/m);
    expect(text).toMatch(/^HugePages_Rsvd: +1$/m);
  });

  it('a reservation given back by MADV_DONTNEED while a fork child still maps the page is counted when the page is freed (HPageRestoreReserve)', () => {
    const got: number[][] = [];
    const k = runProcess(function* (t, ts) {
      const k = t.k;
      const h = hstate(k);
      const snap = (): void => void got.push([h.free.length, h.resv]);
      const a = yield* sys_mmap(t, 0, MB2, 3, 0x22 | 0x40000, -1, 0);
      yield* accessUser(t, a, true);
      snap();
      const child = yield* k.fork(t, ts, function* (ct: Task) {
        yield* accessUser(ct, a, false);
        yield ct.sleepFor(1_000_000);
        yield* k.exit(ct, current(ct));
      });
      if (typeof child === 'number') throw new Error('fork failed');
      yield t.sleepFor(100_000);
      yield* sys_madvise(t, a, MB2, 4);
      // The page stays with the child: nothing freed, nothing promised yet; a new mapping may take the free page.
      snap();
      const b = yield* sys_mmap(t, 0, MB2, 3, 0x22 | 0x40000, -1, 0);
      snap();
      yield t.sleepOn(child.task.exited);
      // The child's exit freed the page: its reservation is A's again.
      snap();
      got.push([yield* accessUser(t, a, true)]);
      snap();
      yield* sys_munmap(t, a, MB2);
      yield* sys_munmap(t, b, MB2);
      snap();
    }, testConfig((c) => { c.kernel.nr_hugepages = 2; }));
    expect(got).toEqual([[1, 0], [1, 0], [1, 1], [2, 2], [0], [1, 1], [2, 0]]);
    expect(hstate(k).restoreReserve.size).toBe(0);
  });
});

