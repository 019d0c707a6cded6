/**
 * The file and inotify scripts of the conformance suite (file-*, inotify-*)
 * run on the simulator must print what the host kernel printed, line for
 * line, with the host's recorded kernel settings applied and the invariant
 * checks on.
 */
import { describe, expect, it } from 'vitest';
import { itAgreesWithHost, scriptsWithPrefixes } from '../../conformance/agree.js';

describe('conformance: file and inotify scripts agree with the host kernel', () => {
  it('covers every script of these groups (a removed script fails here)', () => {
    expect(scriptsWithPrefixes(['file-', 'inotify-'])).toHaveLength(72);
  });
  itAgreesWithHost(['file-', 'inotify-']);
});
