/**
 * Minchan Kim's ebizzy runs from "mm: support madvise(MADV_FREE)" v3
 * (linux-mm, 2015): ebizzy with jemalloc purging by MADV_DONTNEED or
 * MADV_FREE on a 12-vCPU KVM guest, records per second by threads.
 */
import { ebizzy } from '../../workloads/ebizzy.js';
import { runWorkload } from '../../workloads/run.js';
import { defineExperiment } from '../types.js';

const THREADS = [1, 2, 4, 8, 16, 32];
const DONTNEED = [2962, 5020, 8989, 13037, 11092, 11067];
const FREE = [12070, 17827, 27931, 33739, 31424, 34496];

export const experiment = defineExperiment({
  id: 'minchan2015-ebizzy',
  title: 'ebizzy records per second by threads, jemalloc purging with MADV_DONTNEED and with MADV_FREE',
  source: 'Minchan Kim, "mm: support madvise(MADV_FREE)" v3, linux-mm, 2015 (ebizzy with jemalloc, 12-vCPU KVM guest)',
  hardware: '12-vCPU KVM guest (host not named)',
  profile: 'kvm-guest-12',
  unit: 'records/s',
  x: 'threads',
  curves: [
    { label: 'MADV_DONTNEED', points: THREADS.map((x, i) => ({ x, value: DONTNEED[i]! })) },
    { label: 'MADV_FREE', points: THREADS.map((x, i) => ({ x, value: FREE[i]! })) },
  ],
  tolerance: { shape: 0.3, why: 'one run per point in the posting; points are not judged: the guest\'s host is unknown, so the kvm-guest-12 profile\'s hardware figures are Skylake-SP-class defaults' },
  notes:
    'kernsim run ebizzy --cpus 12 --threads N --advice A --duration-ms 10 (512 KiB chunks, 10 of them, ebizzy\'s defaults). ' +
    'Runs on the kvm-guest-12 profile (12 vCPUs of a KVM guest: IPIs exit to the hypervisor, paravirtual IPIs and TLB flush, no steal time measured). ' +
    'The copy of 512 KiB streams at the rate the kernel\'s copies do (streamUser: the first line\'s latency, then cost.zero_page a 4 KiB, as prefetchers ' +
    'keep a sequential copy at bandwidth), so one thread agrees: FREE 12,000 against 12,070 records/s, DONTNEED 3,800 against 2,962, and FREE\'s advantage ' +
    'stays within 30% of the published one at every thread count (3.1-3.4x against 2.6-4.1x). The curves do not: they keep rising to 12 threads, ' +
    'where the published ones flatten from 8 (FREE 33.7k at 8, 31.4k at 16; DONTNEED falls after 8). Something the whole guest shares saturates at ' +
    '8 threads there, and no such limit is modelled: each CPU streams at its own rate with no machine-wide memory bandwidth (FREE at 8 threads ' +
    'moves 33,739 x 1 MiB = 35 GB/s of copy traffic) and the 12 vCPUs are 12 cores, where the unnamed host may have had fewer (hyperthreads or ' +
    'other guests). What would measure it: the host\'s topology (lscpu) and STREAM bandwidth, and the same ebizzy run under perf stat with the ' +
    'memory controller\'s CAS counts. Above 12 threads the run is short against the scheduler tick (4 ms at HZ=250) that time-slices threads ' +
    'sharing a CPU, so records in flight at the end are lost and the curves fall; the published plateau needs runs of seconds.',
  simulate(ctx) {
    const cfg = ctx.machine({ cpus: 12 });
    const run = (advice: string) =>
      THREADS.map((threads) => runWorkload(ebizzy, { threads, advice, chunks: 10, chunk_kib: 512, duration_ms: 10 }, cfg).figures['records_per_sec']!);
    return [run('MADV_DONTNEED'), run('MADV_FREE')];
  },
});
