/**
 * The madvise- conformance scripts run on the simulator must print what the
 * host kernel printed (test/conformance/madvise-*.host.jsonl), with the
 * settings recorded beside them (recorded-on.host.jsonl: no
 * CONFIG_MEMORY_FAILURE, THP madvise, no swap) and the invariant checks on.
 */
import { describe, expect, it } from 'vitest';
import { itAgreesWithHost, recordedHostConfig } from '../../conformance/agree.js';

describe('conformance: madvise scripts agree with the host kernel', () => {
  it('runs with the recorded settings: memory failure off, so HWPOISON is EINVAL', () => {
    expect(recordedHostConfig().kernel.memory_failure).toBe(false);
  });
  itAgreesWithHost(['madvise-']);
});
