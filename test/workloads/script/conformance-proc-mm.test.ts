/**
 * The conformance scripts of the memory views and calls of issue 16's
 * memory/process side (/proc/PID/smaps, /proc/PID/pagemap, MAP_HUGETLB), run on the
 * simulator, must print what the host kernel printed, line for line, with
 * the invariant checks on.
 */
import { describe, expect, it } from 'vitest';
import { itAgreesWithHost, scriptsWithPrefixes } from '../../conformance/agree.js';

const GROUPS = ['smaps-', 'pagemap-', 'hugetlb-', 'folio-'];

describe('conformance: smaps, pagemap and hugetlb agree with the host kernel', () => {
  it('covers every script of these groups (a removed script fails here)', () => {
    expect(scriptsWithPrefixes(GROUPS)).toHaveLength(18);
  });
  itAgreesWithHost(GROUPS);
});
