/**
 * mremap(MREMAP_DONTUNMAP) of a locked area: dontunmap_complete clears
 * VM_LOCKED on the source but leaves its pages on locked_vm, and the
 * destination's are added (on the 6.18 host VmLck goes 4 -> 8 kB, and
 * stays 4 kB after both areas are unmapped). The model keeps Linux's count;
 * the invariant checks used to call it a violation ("locked_vm 2 but 1
 * pages in VM_LOCKED areas", found by kernsim fuzz --seed 40000, script 136).
 */
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../src/config/machine.js';
import { checkInvariants } from '../../../src/kernel/mm/invariants.js';
import { runScript } from '../../../src/workloads/script/interp.js';
import { parseScript } from '../../../src/workloads/script/parse.js';

const script = {
  kernsim_script: 1,
  machine: { sim: { checks: true } },
  ops: [
    { op: 'mmap', as: 'M', pages: 1, prot: 'rwx', flags: ['private', 'anonymous', 'locked'] },
    { op: 'mremap', addr: '$M', old_len: 4096, new_len: 4096, flags: ['maymove', 'dontunmap'], as: 'N' },
    { op: 'munmap', addr: '$N', len: 4096 },
    { op: 'munmap', addr: '$M', len: 4096 },
  ],
};

describe('locked_vm after mremap(MREMAP_DONTUNMAP) of a locked area', () => {
  it('keeps Linux\'s count (the source stays counted) and the checks pass after every op', () => {
    const r = runScript(parseScript(JSON.stringify(script), 'dontunmap-locked.json'), defaultConfig());
    expect(r.finished).toBe(true);
    expect(r.lines.map((l) => JSON.parse(l).ret)).toEqual([0, 0, 0, 0]);
    expect(() => checkInvariants(r.kernel)).not.toThrow();
  });
});
