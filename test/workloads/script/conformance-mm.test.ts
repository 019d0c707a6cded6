/**
 * The memory-management conformance scripts (mmap-, munmap-, mprotect-,
 * mlock-, mincore-, fork-, mremap-, mseal-) run on the simulator must print what the host
 * kernel printed (test/conformance/*.host.jsonl), line for line, with the
 * host's recorded kernel settings applied and the invariant checks on.
 */
import { describe, expect, it } from 'vitest';
import { itAgreesWithHost, scriptsWithPrefixes } from '../../conformance/agree.js';

describe('conformance: memory scripts agree with the host kernel', () => {
  it('covers every script of these groups (a removed script fails here)', () => {
    expect(scriptsWithPrefixes(['mmap-', 'munmap-', 'mprotect-', 'mlock-', 'mincore-', 'fork-', 'mremap-', 'mseal-'])).toHaveLength(130);
  });
  itAgreesWithHost(['mmap-', 'munmap-', 'mprotect-', 'mlock-', 'mincore-', 'fork-', 'mremap-', 'mseal-']);
});
