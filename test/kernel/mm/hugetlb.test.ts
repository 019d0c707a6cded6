/**
 * MAP_HUGETLB with a reserved pool (kernel.nr_hugepages), which the
 * development host cannot show: it has vm.nr_hugepages = 0, so its
 * conformance scripts (hugetlb-*) see only ENOMEM and MAP_NORESERVE's
 * SIGBUS. These expectations follow mm/hugetlb.c: reservation at mmap
 * (ENOMEM when the pool is short), faults from the pool, pages back on
 * unmap, the shared file's pages across fork, COW of a private page, and
 * the HugePages_* lines of /proc/meminfo.
 */
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../src/config/machine.js';
import { runScript } from '../../../src/workloads/script/interp.js';
import { parseScript } from '../../../src/workloads/script/parse.js';
import { readText, runProcess, testConfig } from '../fs/helpers.js';
import { sys_mmap } from '../../../src/kernel/mm/mmap.js';
import { sys_munmap } from '../../../src/kernel/mm/munmap.js';
import { accessUser } from '../../../src/kernel/mm/uaccess.js';

const MB2 = 2 * 1024 * 1024;

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
});
