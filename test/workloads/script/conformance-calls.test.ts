/**
 * The conformance scripts of the system calls added after format v1
 * (docs/scripts.md, "More system calls") and of the differences from Linux
 * closed with them, run on the simulator, must print what the host kernel
 * printed, line for line, with the invariant checks on.
 */
import { describe, expect, it } from 'vitest';
import { itAgreesWithHost, scriptsWithPrefixes } from '../../conformance/agree.js';

const GROUPS = ['mm-', 'io-', 'path-', 'proc-', 'dev-', 'fcntl-', 'lock-', 'rlimit-', 'task-'];

describe('conformance: later system calls agree with the host kernel', () => {
  it('covers every script of these groups (a removed script fails here)', () => {
    expect(scriptsWithPrefixes(GROUPS)).toHaveLength(300);
  });
  itAgreesWithHost(GROUPS);
});
