/**
 * The kernel's section of the machine config: its settings (sysctls, boot
 * options, rlimits, module parameters) and the cost of its own software paths
 * (the page-fault handler, flush_tlb_func, kmalloc, the page allocator, ksmd's
 * hashing...). The hardware's costs are the hardware's (src/hw/config.ts);
 * each software cost here is the part a mechanism charged through the
 * hardware model (cache accesses, TLB operations) does not already cover.
 */
import { ZERO_PAGE_NS } from '../hw/config.js';
import { bool, choice, ConfigError, int, nsCost, type Schema, type ValuesOf } from '../params/schema.js';

export const kernelSchema = {
  hz: int(250, 'scheduler tick rate (CONFIG_HZ)', { unit: 'Hz', source: 'Debian kernel default CONFIG_HZ_250', min: 1, max: 10000 }),
  pti: bool(false, 'page-table isolation (pti=on)', { source: 'off on CPUs not affected by Meltdown' }),
  thp: choice(['always', 'madvise', 'never'], 'madvise', 'transparent huge pages (/sys/kernel/mm/transparent_hugepage/enabled)', { source: 'Debian default: madvise' }),
  ksm_run: bool(false, 'KSM scanning enabled (/sys/kernel/mm/ksm/run)', { source: 'kernel default 0' }),
  ksm_pages_to_scan: int(100, 'pages ksmd scans per wake-up (/sys/kernel/mm/ksm/pages_to_scan)', { source: 'kernel default', min: 1 }),
  ksm_sleep_ms: int(20, 'ksmd sleep between scans (/sys/kernel/mm/ksm/sleep_millisecs)', { unit: 'ms', source: 'kernel default', min: 0 }),
  read_ahead_kb: int(128, 'readahead window of a file (the bdi\'s read_ahead_kb; ra_pages = read_ahead_kb / 4): mmap read-around size and the largest window', { unit: 'KiB', source: 'kernel default VM_READAHEAD_PAGES = 128 KiB', min: 0 }),
  zero_page: bool(true, 'a read fault on private anonymous memory maps the shared zero page (the model has no huge zero page: a THP read fault always allocates); false: it allocates a page, as when mm_forbids_zeropage() holds or the kernel boots with pvm_no_zero_page=1 (conformance reads /proc/cmdline)', { source: 'mm/memory.c do_anonymous_page; the development host (Linux 6.18 KVM guest) boots with pvm_no_zero_page=1' }),
  nr_hugepages: int(0, 'vm.nr_hugepages: 2 MiB hugetlb pages set aside at boot for MAP_HUGETLB (fewer when memory is short); `conform` reads the host\'s /proc/sys/vm/nr_hugepages', { source: 'kernel default 0 (mm/hugetlb.c)', min: 0, max: 1 << 20 }),
  memory_failure: bool(true, 'CONFIG_MEMORY_FAILURE (MADV_HWPOISON, MADV_SOFT_OFFLINE)', { source: 'on in distribution kernels; /proc/sys/vm/memory_failure_recovery exists when set' }),
  tlb_single_page_flush_ceiling: int(33, 'above this many pages a flush is a full flush (/sys/kernel/debug/x86/tlb_single_page_flush_ceiling)', { source: 'Dave Hansen, commit a5102476a24b', min: 0 }),
  nr_open: int(1048576, 'fs.nr_open: the cap on RLIMIT_NOFILE and fd table size', { source: 'kernel default 1024*1024', min: 64 }),
  nofile_soft: int(1024, 'RLIMIT_NOFILE soft limit of a new process', { source: 'kernel default INR_OPEN_CUR', min: 0 }),
  nofile_hard: int(4096, 'RLIMIT_NOFILE hard limit of a new process', { source: 'kernel default INR_OPEN_MAX', min: 0 }),
  rcu_blimit: int(10, 'RCU callbacks invoked per rcu_do_batch call (rcutree.blimit)', { source: 'kernel/rcu/tree.c DEFAULT_RCU_BLIMIT', min: 1 }),
  rcu_qhimark: int(10000, 'above this many callbacks queued on a CPU, batches are unlimited (rcutree.qhimark)', { source: 'kernel/rcu/tree.c DEFAULT_RCU_QHIMARK', min: 1 }),
  rcu_softirq_restarts: int(10, 'RCU_SOFTIRQ runs per tick before the rest waits for the next tick (ksoftirqd)', { source: 'kernel/softirq.c MAX_SOFTIRQ_RESTART', min: 1 }),
  rcu_jiffies_till_first_fqs: int(-1, 'jiffies from grace-period start to the first force-quiescent-state scan, which notes idle CPUs (rcutree.jiffies_till_first_fqs); -1: computed as the kernel does, 1 + (HZ > 250) + (HZ > 500) + cpus / 256; a given value is capped at HZ', { source: 'kernel/rcu/tree.c rcu_init_geometry and param_set_first_fqs_jiffies; RCU_JIFFIES_TILL_FORCE_QS and RCU_JIFFIES_FQS_DIV in kernel/rcu/tree.h', min: -1 }),
  rcu_jiffies_till_next_fqs: int(-1, 'jiffies between later force-quiescent-state scans (rcutree.jiffies_till_next_fqs); -1: computed as for the first scan; a given value is kept within 1..HZ', { source: 'kernel/rcu/tree.c rcu_init_geometry and param_set_next_fqs_jiffies', min: -1 }),
  rcu_expedited: bool(false, 'every synchronize_rcu() takes an expedited grace period (rcupdate.rcu_expedited, /sys/kernel/rcu_expedited)', { source: 'kernel/rcu/update.c rcu_gp_is_expedited(), checked by synchronize_rcu() in kernel/rcu/tree.c; default 0 (CONFIG_RCU_EXPEDITE_BOOT unset)' }),
  lease_break_time: int(45, 'fs.lease-break-time: seconds a lease holder has, after a conflicting open, before its lease is removed or downgraded; 0 or less: never (the opener waits for the holder); `conform` reads the host\'s', { unit: 's', source: 'fs/locks.c lease_break_time = 45', min: -2147483648, max: 2147483647 }),
  leases_enable: int(1, 'fs.leases-enable: 0 refuses new leases (F_SETLEASE EINVAL; a lease already held can still change); `conform` reads the host\'s', { source: 'fs/locks.c leases_enable = 1', min: -2147483648, max: 2147483647 }),
  inotify_max_queued_events: int(16384, 'fs.inotify.max_queued_events', { source: 'kernel default', min: 1 }),
  inotify_max_user_instances: int(128, 'fs.inotify.max_user_instances', { source: 'kernel default', min: 1 }),
  inotify_max_user_watches: int(8192, 'fs.inotify.max_user_watches', { source: 'kernel default before 5.11 (newer kernels scale it with RAM)', min: 1 }),
  swapon: bool(true, 'the swap device is in use as swap (swapon at boot; /proc/swaps lists it); false: no swap, as after swapoff -a. Was swap.enabled, which still reads as this', { source: 'a kernel setting: /proc/swaps' }),
  swappiness: int(60, 'vm.swappiness', { source: 'kernel default', min: 0, max: 200 }),
  min_free_kbytes: int(8192, 'vm.min_free_kbytes: sets the min watermark; low = 5/4 min, high = 3/2 min', { unit: 'KiB', source: 'kernel scales it with sqrt(RAM); 8 MiB suits 4 GiB', min: 0 }),
  page_cluster: int(3, 'vm.page-cluster: swap readahead of 2^n pages', { source: 'kernel default', min: 0, max: 10 }),
  cap_sys_admin: bool(false, 'tasks run with CAP_SYS_ADMIN (needed for MADV_HWPOISON / MADV_SOFT_OFFLINE)', { source: 'an unprivileged user by default' }),
  mmap_min_addr: int(4096, 'vm.mmap_min_addr: lowest address a process without CAP_SYS_RAWIO may map', { unit: 'B', source: 'CONFIG_DEFAULT_MMAP_MIN_ADDR default on x86 (4096), as on the development host; Debian and Ubuntu set 65536', min: 0 }),
  max_map_count: int(65530, 'vm.max_map_count: areas a process may have', { source: 'kernel default DEFAULT_MAX_MAP_COUNT', min: 1 }),
  overcommit_memory: int(0, 'vm.overcommit_memory: 0 heuristic (refuse one mapping larger than RAM + swap), 1 always, 2 never (commit limit = swap + RAM x overcommit_ratio)', { source: 'kernel default 0', min: 0, max: 2 }),
  overcommit_ratio: int(50, 'vm.overcommit_ratio: percent of RAM in the commit limit when overcommit_memory is 2', { unit: '%', source: 'kernel default', min: 0 }),
  memlock_kib: int(8192, 'RLIMIT_MEMLOCK of a new process (mlock, MAP_LOCKED) for a task without CAP_IPC_LOCK', { unit: 'KiB', source: 'kernel default MLOCK_LIMIT (8 MiB since 5.16), as on the development host', min: 0 }),
  memcg_depth: int(3, 'levels below the root of the memory cgroup tasks run in: every user page is charged to it and its ancestors (one atomic per level on a shared counter for each 64 pages taken, and per batch of pages freed); 0 runs them in the root cgroup, which is not charged', { source: 'a login session on a systemd distribution (cgroup v2): /user.slice/user-UID.slice/session-N.scope, 3 levels; kernsim calibrate reads the host\'s from /proc/self/cgroup', min: 0, max: 16 }),
  madvise_batch_tlb_flush: bool(true, 'madvise and process_madvise gather every range of a DONTNEED or FREE call into one mmu_gather and flush once (false: one gather and flush per area and range, as before Linux 6.16)', { source: 'SeongJae Park, "mm/madvise: batch tlb flushes for MADV_DONTNEED[_LOCKED]" (Linux 6.16)' }),

  cost: {
    flush_tlb_func: int(680, 'fixed software cost of flush_tlb_mm_range / flush_tlb_func on top of the INVLPGs', { unit: 'cycles', source: 'derived: Dave Hansen, linux-mm 2014-07-01: 1 page 1276 cycles - 335 tracing - 260 INVLPG', min: 0 }),
    context_switch: nsCost(1000, 'scheduler context switch excluding the CR3 write', { source: 'derived: a pipe round trip of 3.7-8.8 us holds two switches (WF_SYNC thread, 2022); ~1 us each x 3.0 GHz', min: 0 }),
    kernel_op: int(30, 'a short kernel bookkeeping step (a list insert, a counter update, a flag test and set)', { unit: 'cycles', source: 'assumption: ~30 instructions at IPC 1; memory it touches is charged through the cache model', min: 0 }),
    rcu_callback: nsCost(50, 'invoking one RCU callback in softirq context (kfree of the object)', { source: 'derived: perfbook defer/rcuapi.tex puts call_rcu sub-microsecond; kfree fast path ~50 ns x 3.0 GHz', min: 0 }),
    call_rcu: nsCost(20, 'queueing one callback with call_rcu', { source: 'derived: perfbook defer/rcuapi.tex, call_rcu sub-microsecond; ~20 ns x 3.0 GHz', min: 0 }),
    lock_wakeup: int(30, 'unlock slow path bookkeeping: dequeue a waiter and hand it the lock (wake_q_add); the wake-up itself is a context switch', { unit: 'cycles', source: 'assumption: one kernel_op; memory touched is the lock line, charged through the cache model', min: 0 }),
    rcu_softirq: nsCost(100, 'one RCU_SOFTIRQ run (softirq entry/exit, rcu_core bookkeeping) before its batch of callbacks', { source: 'assumption: ~100 ns for __do_softirq entry/exit and rcu_core with nothing else to do; the callbacks are charged per callback', min: 0 }),
    kmalloc: nsCost(20, 'one slab allocation or free on the fast path (kmalloc, kfree, kmem_cache_alloc); the object\'s lines are charged through the cache model when touched', { source: 'assumption: SLUB fast path ~20 ns (a per-CPU freelist cmpxchg) x 3.0 GHz', min: 0 }),
    vmalloc_page: int(400, 'per page of a vmalloc or vfree beyond kmalloc (page allocation and kernel page-table update; vfree\'s TLB flush is lazy and batched)', { unit: 'cycles', source: 'assumption: a page allocation (~100 ns) plus a PTE update, x 3.0 GHz', min: 0 }),
    page_alloc: nsCost(94, 'allocating one order-0 page from the buddy allocator\'s per-CPU lists (struct page initialisation is charged through the cache model)', { source: 'derived: LLFree (Wrenger et al., USENIX ATC 2023): a 4 KiB allocation by the Linux allocator takes 94 ns on one core, x 3.0 GHz', min: 0 }),
    page_free: nsCost(94, 'freeing one order-0 page to the per-CPU lists', { source: 'assumption: equal to page_alloc (the same per-CPU list, the other way)', min: 0 }),
    fault_handler: int(65, 'software path of a page fault beyond the exception entry and exit (cost.page_fault_trap): do_user_addr_fault, the VMA lookup and lock, handle_mm_fault down to the PTE, the instructions only (the VMA, page-table and struct page accesses, page allocation, clearing and the memcg charge are charged separately)', { unit: 'cycles', source: 'derived from a bare-metal measurement: Linus Torvalds, "Page fault handling by the CPU" (Google+, 2014-04-30): in a loop of read faults that map the zero page on Haswell, the 1050 cycles of exception entry and exit were 80.7% of the CPU time, so 1301 cycles a fault and 251 beyond the exception; the model charges 186 of those itself (haswell-desktop: the VMA and page-table reads and the PTE store through the caches, 102, and the retried access\'s walk, 84: its PTE read hits L1, the PTE page having been cleared through the caches), leaving 65. A 2014 kernel (no per-VMA lock); replaces 2000 cycles measured in a KVM guest, where a fault pays EPT or shadow-paging costs a bare-metal one does not (the kvm-guest-12 profile keeps that figure)', min: 0 }),
    swap_io: nsCost(1000, 'CPU cost of one 4 KiB block I/O that reclaim or swap-in issues (a swap read or write, a file page written back), beyond the data transfer: bio set-up, submit_bio through blk-mq to the NVMe driver, and the completion interrupt that ends it (the device time is the swap section\'s or the backing store\'s)', { source: 'assumption: ~1 us of kernel CPU per 4 KiB I/O, the order at which one core of an interrupt-driven Linux NVMe stack saturates near a million IOPS; x 3.0 GHz', min: 0 }),
    ksm_checksum_page: nsCost(4096 / 19.4, 'ksmd hashing one 4 KiB page (calc_checksum, xxhash of the page) to see whether it changed since the last scan', { source: 'derived: XXH64 at 19.4 GB/s (xxHash README benchmark) -> 4096 B in 211 ns x 3.0 GHz', min: 0 }),
    ksm_memcmp_page: nsCost(2 * ZERO_PAGE_NS, 'comparing two 4 KiB pages that turn out equal (memcmp_pages / pages_identical: all 8 KiB read)', { source: 'derived: taken as copy_page, which also moves 8 KiB (4 read, 4 written)', min: 0 }),
  },
} as const satisfies Schema;

export type KernelConfig = ValuesOf<typeof kernelSchema>;
export type KernelCosts = KernelConfig['cost'];

/** Checks between kernel fields: the rlimits must nest as setrlimit and fs.nr_open require. */
export function checkKernel(cfg: KernelConfig, file: string, prefix = 'kernel.'): void {
  if (cfg.nofile_soft > cfg.nofile_hard) {
    throw new ConfigError(file, `${prefix}nofile_soft`, `at most ${prefix}nofile_hard (${cfg.nofile_hard}), got ${cfg.nofile_soft}`);
  }
  if (cfg.nofile_hard > cfg.nr_open) {
    throw new ConfigError(file, `${prefix}nofile_hard`, `at most ${prefix}nr_open (${cfg.nr_open}), got ${cfg.nofile_hard}`);
  }
}
