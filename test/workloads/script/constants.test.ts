/**
 * The uapi numbers scripts use must be the kernel's: where a C compiler is
 * available, every table entry the installed headers define is compared with
 * the value the headers give (entries newer than the headers are skipped).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostRunnerAvailable } from '../../../src/conform/host.js';
import { F, FD_CLOEXEC, FIONREAD, IN, MADV, MAP, O, PROT, RLIMIT, SEEK } from '../../../src/workloads/script/constants.js';

const tables: Record<string, number> = { ...PROT, ...MAP, ...MADV, ...O, ...F, ...IN, ...SEEK, ...RLIMIT, FD_CLOEXEC, FIONREAD };

function headerValues(): Map<string, number> {
  const dir = mkdtempSync(join(tmpdir(), 'kernsim-uapi-'));
  try {
    const lines = Object.keys(tables).map((n) => `#ifdef ${n}\n  printf("${n} %lld\\n", (long long)(${n}));\n#endif`);
    const src = ['#include <stdio.h>', '#include <linux/mman.h>', '#include <linux/fcntl.h>', '#include <linux/inotify.h>', '#include <linux/fs.h>',
      '#include <asm/ioctls.h>', '#include <asm/resource.h>', 'int main(void) {', ...lines, '  return 0;', '}'].join('\n');
    writeFileSync(join(dir, 'uapi.c'), src);
    const cc = spawnSync('cc', ['-o', join(dir, 'uapi'), join(dir, 'uapi.c')], { encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(`cc failed: ${cc.stderr}`);
    const out = spawnSync(join(dir, 'uapi'), { encoding: 'utf8' }).stdout;
    return new Map(out.trim().split('\n').map((l) => { const [n, v] = l.split(' '); return [n!, Number(v)] as [string, number]; }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const available = hostRunnerAvailable();
if (!available) console.warn('uapi constant check skipped: no C compiler (cc) to read the installed headers');

describe('uapi constants', () => {
  it.skipIf(!available)('match the installed Linux headers wherever the headers define them', () => {
    const host = headerValues();
    // The headers must at least know the long-standing names; a check that compared nothing would prove nothing.
    for (const n of ['MADV_DONTNEED', 'MAP_FIXED_NOREPLACE', 'O_CLOEXEC', 'F_DUPFD_CLOEXEC', 'IN_ONESHOT', 'SEEK_HOLE', 'FIONREAD']) expect(host.has(n)).toBe(true);
    const differ = [...host].filter(([n, v]) => tables[n] !== v).map(([n, v]) => `${n}: headers ${v}, table ${tables[n]}`);
    expect(differ).toEqual([]);
  });

  it('includes every madvise advice of current Linux, with the numbers newer than older headers', () => {
    expect(MADV).toMatchObject({ MADV_COLD: 20, MADV_PAGEOUT: 21, MADV_POPULATE_READ: 22, MADV_POPULATE_WRITE: 23, MADV_DONTNEED_LOCKED: 24, MADV_COLLAPSE: 25,
      MADV_HWPOISON: 100, MADV_SOFT_OFFLINE: 101, MADV_GUARD_INSTALL: 102, MADV_GUARD_REMOVE: 103, MADV_WIPEONFORK: 18, MADV_KEEPONFORK: 19 });
  });
});
