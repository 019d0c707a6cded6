/** Every validation experiment, in the order the docs list them. Adding one: a module in ./experiments/ and one line here. */
import { experiment as fernandesSynchronizeRcu } from './experiments/fernandes-synchronize-rcu.js';
import { experiment as hansen2017NullSyscall } from './experiments/hansen2017-null-syscall.js';
import type { Experiment } from './types.js';

export const EXPERIMENTS: readonly Experiment[] = [
  hansen2017NullSyscall,
  fernandesSynchronizeRcu,
];
