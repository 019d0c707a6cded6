/**
 * The hardware knows no Linux (DESIGN.md): src/hw imports nothing from the
 * kernel or the layers above it, and names no kernel concept. A kernel
 * concept that the hardware needs (a page's state, a swap entry's encoding, a
 * sysctl, a software cost) belongs in src/kernel, which drives the hardware.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const HW = new URL('../../src/hw/', import.meta.url).pathname;
const files = readdirSync(HW).filter((f) => f.endsWith('.ts')).sort();
const source = (f: string): string => readFileSync(join(HW, f), 'utf8');

/** Module specifiers a file imports or re-exports that lie outside src/hw (and are not the schema helpers or Node's). */
function foreignImports(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    const spec = (m[1] ?? m[2])!;
    if (!(spec.startsWith('./') || spec === '../params/schema.js' || spec.startsWith('node:'))) out.push(spec);
  }
  return out;
}

/** Kernel names: struct page and its flags, refcounts and mapcounts, swap entries, sysctls, software costs. */
const FORBIDDEN: readonly RegExp[] = [
  /\bPG_[a-z]/,
  /mapcount/i,
  /MAX_SWAPFILES/,
  /swp_entry/i,
  /\bswp_/,
  /PTE_PROTNONE/,
  /swappiness/,
  /kmalloc/,
  /fault_handler/,
  /flush_tlb_func/,
  /\bksm/i,
  /struct page/,
  /\bfolio/i,
  /\bbuddy\b/i,
  /\brefcount\b/i,
  /\bswapcache\b/i,
  /\bmm_struct\b/,
  /\bvma\b/i,
];

describe('src/hw', () => {
  it('has sources to check', () => {
    expect(files).toContain('mmu.ts');
    expect(files).toContain('config.ts');
  });

  it('imports only from itself and the parameter-schema helpers', () => {
    expect(files.flatMap((f) => foreignImports(source(f)).map((spec) => `${f}: ${spec}`))).toEqual([]);
  });

  it('the import check catches an import of the kernel or of a layer above', () => {
    const sample = "import { PG_dirty } from '../kernel/mm/page_flags.js';\nimport type { MachineConfig } from '../config/machine.js';\nimport { x } from './tlb.js';\nexport { y } from '../sim/engine.js';\nconst m = await import('../kernel/kernel.js');";
    expect(foreignImports(sample)).toEqual(['../kernel/mm/page_flags.js', '../config/machine.js', '../sim/engine.js', '../kernel/kernel.js']);
  });

  it('names no Linux concept', () => {
    const bad: string[] = [];
    for (const f of files) {
      source(f).split('\n').forEach((line, i) => {
        for (const re of FORBIDDEN) if (re.test(line)) bad.push(`${f}:${i + 1}: ${re} in "${line.trim()}"`);
      });
    }
    expect(bad).toEqual([]);
  });

  it('the name check catches a Linux name', () => {
    expect(FORBIDDEN.some((re) => re.test('if (flags & PG_dirty)'))).toBe(true);
    expect(FORBIDDEN.some((re) => re.test('cfg.cost.fault_handler'))).toBe(true);
    expect(FORBIDDEN.some((re) => re.test('const dramCycles = cfg.cost.dram'))).toBe(false);
  });
});
