import { describe, expect, it } from 'vitest';
import { loadProfile } from '../../src/cli/commands/validate.js';
import { experiment } from '../../src/validate/experiments/hansen2017-null-syscall.js';

describe('hansen2017-null-syscall', () => {
  it('PTI with PCID adds exactly cost.pti_syscall_extra to each call, in ns at the profile\'s clock', () => {
    const cfg = loadProfile('default');
    const [[noPti, pti]] = experiment.simulate({ machine: (o) => loadProfile('default', o), profile: (name, o) => loadProfile(name, o) }) as [number[]];
    expect(pti! - noPti!).toBeCloseTo(cfg.cost.pti_syscall_extra / cfg.clock_ghz, 9);
    // The call is at least the entry and exit.
    expect(noPti!).toBeGreaterThanOrEqual(cfg.cost.syscall / cfg.clock_ghz);
  });
});
