/**
 * One way to call the kernel (docs/kernel.md): a function that runs on a
 * task takes it first and reaches the kernel as t.k, never both; one that may
 * run without a task takes (k, t | null). scripts/codemod/kernel-convention.mjs
 * converts code written the other ways.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Parameter lists that pass the kernel beside a task that is always there, or the task first when it may be null. */
const BOTH = [/\(\s*\w+: Kernel,\s*\w+: Task\s*[,)]/, /\(\s*\w+: Task,\s*\w+: Kernel\s*[,)]/, /\(\s*\w+: Task \| null,\s*\w+: Kernel\s*[,)]/];

describe('kernel calling convention', () => {
  it('no function in src/, bench/ or test/ takes both the kernel and its task', () => {
    const offenders: string[] = [];
    for (const dir of ['src', 'bench', 'test']) {
      for (const file of tsFiles(join(root, dir))) {
        if (file === fileURLToPath(import.meta.url)) continue;
        const lines = readFileSync(file, 'utf8').split('\n');
        lines.forEach((line, i) => {
          if (BOTH.some((re) => re.test(line)) && !line.includes('kernel-convention: exempt')) offenders.push(`${file.slice(root.length)}:${i + 1}: ${line.trim()}`);
        });
      }
    }
    expect(offenders, 'node scripts/codemod/kernel-convention.mjs converts these').toEqual([]);
  });

  it('the check sees each of the old forms', () => {
    expect(BOTH.some((re) => re.test('export function* sys_close(k: Kernel, t: Task, fd: number)'))).toBe(true);
    expect(BOTH.some((re) => re.test('function alloc_page(t: Task, k: Kernel): number'))).toBe(true);
    expect(BOTH.some((re) => re.test('function folio_add_lru(t: Task | null, k: Kernel, pfn: number)'))).toBe(true);
    expect(BOTH.some((re) => re.test('export function* sys_close(t: Task, fd: number)'))).toBe(false);
    expect(BOTH.some((re) => re.test('function folio_add_lru(k: Kernel, t: Task | null, pfn: number)'))).toBe(false);
  });
});
