/** Every validation experiment, in the order the docs list them. Adding one: a module in ./experiments/ and one line here. */
import { experiment as arora2023ClearPage } from './experiments/arora2023-clear-page.js';
import { experiment as fernandesSynchronizeRcu } from './experiments/fernandes-synchronize-rcu.js';
import { experiment as hansen2017NullSyscall } from './experiments/hansen2017-null-syscall.js';
import { experiment as hansen2014FlushByPages } from './experiments/hansen2014-flush-by-pages.js';
import { experiment as hansen2014CeilingSweep } from './experiments/hansen2014-ceiling-sweep.js';
import { experiment as amit2019DontneedTouch } from './experiments/amit2019-dontneed-touch.js';
import { experiment as park2025DontneedPerPage } from './experiments/park2025-dontneed-per-page.js';
import { experiment as park2025ProcessMadviseBatching } from './experiments/park2025-process-madvise-batching.js';
import { experiment as minchan2015Ebizzy } from './experiments/minchan2015-ebizzy.js';
import { experiment as vanriel2025TlbFlush2 } from './experiments/vanriel2025-tlb-flush2.js';
import { experiment as vanriel2025TlbFlush2Threads } from './experiments/vanriel2025-tlb-flush2-threads.js';
import type { Experiment } from './types.js';

export const EXPERIMENTS: readonly Experiment[] = [
  hansen2017NullSyscall,
  fernandesSynchronizeRcu,
  hansen2014FlushByPages,
  hansen2014CeilingSweep,
  amit2019DontneedTouch,
  park2025DontneedPerPage,
  park2025ProcessMadviseBatching,
  minchan2015Ebizzy,
  vanriel2025TlbFlush2,
  vanriel2025TlbFlush2Threads,
  arora2023ClearPage,
];
