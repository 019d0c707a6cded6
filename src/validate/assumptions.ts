/**
 * The machine parameters whose default is an assumption (their declared
 * source says so), each with what would measure it. docs/validation.md lists
 * them, so what the cost model does not yet know is in one place.
 *
 * Keyed by the field's own name (its last path component), so moving a field
 * between sections of the config does not lose its entry.
 */
import { machineSchema } from '../config/machine.js';
import { describeSchema, type ParamRow } from '../params/schema.js';

const HOW_TO_MEASURE: Readonly<Record<string, string>> = {
  pwc_entries: 'a pointer chase over working sets that miss the STLB, stepping the number of distinct PDEs until walks slow (as in the "Paging-structure caches" microbenchmarks)',
  tlb_flush_pcid: 'an INVPCID single-context loop in a kernel module, cycles per instruction from rdtsc around 10^6 calls',
  ipi_send: 'smp_call_function_many to one CPU with an empty function: sender cycles to the return of the ICR write (ftrace function_graph on native_send_call_func_ipi)',
  ipi_latency: 'the same call: time from the ICR write to the handler\'s entry on the target (both rdtsc, synchronised TSC); on a Milan, van Riel 2025\'s profile (TLB invalidation 40% of CPU at 527k loops/s, 35 IPIs a loop) puts a flush IPI\'s wait and handling near 0.8 us against ~0.3 us modelled (docs: vanriel2025-tlb-flush2-threads)',
  write_latency_us: 'fio --rw=randwrite --bs=4k --iodepth=1 --direct=1 on the swap device',
  queue_depth: 'fio 4 KiB random reads at queue depths 1 to 128: the depth where IOPS stop growing',
  kernel_op: 'not one measurement: it stands for short bookkeeping steps; replace each use by the path\'s own measured cost (perf stat of the syscall that contains it)',
  lock_wakeup: 'a futex-style handoff microbenchmark: unlock-to-wake latency minus a context switch',
  rcu_softirq: 'ftrace function_graph of rcu_core with an empty callback list, on an idle machine',
  kmalloc: 'kmem_cache_alloc/kmem_cache_free pairs in a kernel module (slub_bench), cycles per pair / 2',
  vmalloc_page: 'test_vmalloc.ko (lib/test_vmalloc.c) fix_size_alloc_test, cycles per page',
  page_free: 'the LLFree benchmark (free of order-0 pages on one core) or page_alloc tracepoints with rdtsc',
  zero_page: 'Arora\'s clear_page benchmark (or perf bench mem memset -f x86-64-stosb with 4 KiB chunks) on a Skylake-SP part, boost off',
  fault_handler: 'the same read-fault loop on bare metal (a zero-page fault per 4 KiB of a MADV_NOHUGEPAGE mapping, less a null syscall), on each profile\'s part',
  page_fault_trap: 'Torvalds 2014\'s loop of zero-page read faults on each profile\'s part (cycles per fault beside perf\'s share of them inside the handler: the rest is the exception entry and the iret)',
  invlpgb: 'INVLPGB of one page followed by TLBSYNC, timed with rdtsc in a kernel module on a Milan: alone, then with every core broadcasting at once (the difference is the queueing a fixed cost leaves out); van Riel 2025\'s ~4% of CPU at 527k loops/s bounds the sum under 36-way broadcast at ~6,700 cycles (docs: vanriel2025-tlb-flush2)',
  tlbsync: 'as for invlpgb: TLBSYNC\'s wait after one INVLPGB, alone and with every core broadcasting',
  swap_io: 'perf stat of a direct 4 KiB O_DIRECT read loop on a RAM-backed NVMe (null_blk): system time per I/O',
};

export interface AssumptionRow {
  path: string;
  value: string;
  assumes: string;
  measure: string;
}

function isAssumption(r: ParamRow): boolean {
  return /^assum/i.test(r.source) || /\bassum(ed|ption)\b/i.test(r.source);
}

/** Every parameter whose source is an assumption, with what would measure it. */
export function assumptionRows(): AssumptionRow[] {
  return describeSchema(machineSchema)
    .filter(isAssumption)
    .map((r) => {
      const leaf = r.path.slice(r.path.lastIndexOf('.') + 1);
      return { path: r.path, value: `${String(r.default)}${r.unit ? ` ${r.unit}` : ''}`, assumes: r.source, measure: HOW_TO_MEASURE[leaf] ?? 'not named yet' };
    });
}
