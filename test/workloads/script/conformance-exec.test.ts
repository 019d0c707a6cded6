/**
 * The conformance scripts of execve (issue 16, processes): close-on-exec
 * closing, the mm replaced, what the process keeps, execve in a fork child
 * and in a threaded process, and the errors of files that are not programs,
 * run on the simulator, must print what the host kernel printed, line for
 * line, with the invariant checks on.
 */
import { describe, expect, it } from 'vitest';
import { itAgreesWithHost, scriptsWithPrefixes } from '../../conformance/agree.js';

const GROUPS = ['exec-'];

describe('conformance: execve agrees with the host kernel', () => {
  it('covers every script of this group (a removed script fails here)', () => {
    expect(scriptsWithPrefixes(GROUPS)).toHaveLength(19);
  });
  itAgreesWithHost(GROUPS);
});
