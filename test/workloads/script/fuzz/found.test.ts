/**
 * Defects the fuzzer found, each as the minimal script it shrank to (run
 * with invariant checks on: each failed them, or gave a wrong line, before
 * its fix).
 */
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../../src/config/machine.js';
import { runScript } from '../../../../src/workloads/script/interp.js';
import { parseScript } from '../../../../src/workloads/script/parse.js';

function run(script: object) {
  return runScript(parseScript(JSON.stringify({ kernsim_script: 1, ...script }), 'found.json'), defaultConfig());
}

describe('found by kernsim fuzz', () => {
  it('splitting an area inside a THP splits the PMD leaf at the new boundary (vma_adjust_trans_huge)', () => {
    const r = run({
      machine: { kernel: { thp: 'always' }, sim: { checks: true } },
      ops: [
        { op: 'mmap', as: 'A', pages: 513, prot: 'rx', flags: ['private', 'anonymous', 'locked', 'noreserve'] },
        { op: 'madvise', addr: '$A+86016', len: 892928, advice: 'MADV_DONTFORK' },
        { op: 'load', addr: '$A+90112' },
      ],
    });
    expect(r.lines).toEqual(['{"i":0,"op":"mmap","ret":0,"errno":null}', '{"i":1,"op":"madvise","ret":0,"errno":null}', '{"i":2,"op":"load","ret":0,"errno":null,"value":0}']);
    expect(r.kernel.engine.counters.get('thp_split_pmd')).toBe(1);
  });
});
