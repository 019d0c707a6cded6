/**
 * Dave Hansen's null-syscall figures from the KAISER (page-table isolation)
 * thread, 2017: lseek() at 5.2 M/s without PTI and 3.0 M/s with PTI and
 * PCID, i.e. ~192 ns and ~333 ns per call (calibration.md, "Kernel paths").
 * The simulator runs lseek on fd 0 (/dev/null) in a loop and reports the
 * mean cycles per call after warm-up, in nanoseconds at the profile's clock.
 */
import { opCycles, meanAfter } from '../script.js';
import { defineExperiment } from '../types.js';
import type { Op } from '../../workloads/script/types.js';

const CALLS = 64;
const WARMUP = 8;
const lseeks: Op[] = Array.from({ length: CALLS }, () => ({ op: 'lseek', fd: { value: 0 }, offset: 0, whence: 0 }));

export const experiment = defineExperiment({
  id: 'hansen2017-null-syscall',
  title: 'Null system call (lseek) without and with page-table isolation',
  source: 'Dave Hansen, "KAISER: unmap most of the kernel from userspace page tables", linux-kernel, 2017: lseek at 5.2 M/s (no PTI), 3.0 M/s (PTI+PCID)',
  hardware: 'a recent Intel x86 core (the message names no model)',
  profile: 'default',
  unit: 'ns',
  x: 'configuration',
  curves: [
    {
      label: 'lseek',
      points: [
        { x: 'no PTI', value: 192 },
        { x: 'PTI+PCID', value: 333 },
      ],
    },
  ],
  tolerance: { point: 0.3, shape: 0.3, why: 'throughputs quoted to two digits; the machine is not named, so the profile\'s clock is an assumption' },
  notes:
    'Circular in part: `cost.syscall` and `cost.pti_syscall_extra` are derived from these two figures, so this experiment checks that the lseek path adds only ' +
    'what it should (fdget, the file\'s f_pos lock and no_llseek on /dev/null) on top of the entry and exit, and that PTI+PCID adds the published step.',
  simulate(ctx) {
    const at = (over: Record<string, unknown>): number => {
      const cfg = ctx.machine(over);
      return meanAfter(opCycles(cfg, 'null-syscall', lseeks), WARMUP) / cfg.clock_ghz;
    };
    return [[at({ kernel: { pti: false } }), at({ kernel: { pti: true }, tlb: { pcid: true } })]];
  },
});
