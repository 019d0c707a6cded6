/**
 * MachineConfig: the one place where the simulated machine and its kernel's
 * settings are declared. Every latency is a named field of `cost` with its
 * source; nothing in the simulator charges a number that is not here.
 *
 * Defaults describe a Skylake-SP-class x86-64 server core at 3.0 GHz. Where a
 * source gives nanoseconds, the cycle figure is derived at 3.0 GHz and says so.
 */
import { bool, choice, defaultsOf, int, num, str, type Schema, type ValuesOf } from './params.js';

export const machineSchema = {
  name: str('default', 'profile name, shown in reports'),
  description: str('Skylake-SP-class x86-64 server core at 3.0 GHz, 4 CPUs, 4 GiB', 'one line describing the machine'),
  cpus: int(4, 'number of simulated CPUs', { min: 1, max: 256 }),
  clock_ghz: num(3.0, 'core clock; converts nanosecond figures to cycles', { unit: 'GHz', min: 0.1, max: 10 }),
  ram_mib: int(4096, 'simulated physical memory', { unit: 'MiB', min: 4, max: 1 << 22 }),

  tlb: {
    l1_entries: int(64, 'L1 dTLB entries for 4 KiB pages', { source: 'AnandTech Skylake-X review, p.4', pow2: true, min: 1 }),
    l1_ways: int(4, 'L1 dTLB associativity', { source: 'AnandTech Skylake-X review, p.4', min: 1 }),
    l1_2m_entries: int(32, 'L1 dTLB entries for 2 MiB pages', { source: 'Intel optimization manual, Skylake: 32 entries, 4-way', pow2: true, min: 1 }),
    l1_2m_ways: int(4, 'L1 dTLB 2 MiB associativity', { source: 'Intel optimization manual, Skylake', min: 1 }),
    stlb_entries: int(1536, 'L2 STLB entries (shared by 4 KiB and 2 MiB pages)', { source: 'AnandTech Skylake-X review, p.4', min: 1 }),
    stlb_ways: int(12, 'L2 STLB associativity', { source: 'AnandTech Skylake-X review, p.4', min: 1 }),
    pwc_entries: int(32, 'paging-structure cache entries (PDE cache: skips the upper three levels of a walk)', { source: 'Intel SDM vol. 3 §4.10.3 describes the caches; 32 entries is an assumption, sizes are not published', min: 0 }),
    pcid: bool(true, 'TLB entries tagged by PCID, so a switch of address space need not flush', { source: 'x86 CR4.PCIDE; Linux uses PCIDs since 4.14' }),
    invlpgb: bool(false, 'AMD INVLPGB/TLBSYNC broadcast invalidation (Zen 3 and later): Linux 6.15+ gives an mm running on more than 3 CPUs a global ASID and flushes it with INVLPGB instead of IPIs', { source: 'AMD APM vol. 3 (INVLPGB, TLBSYNC); Rik van Riel, "AMD broadcast TLB invalidation" series, Linux 6.15 (arch/x86/mm/tlb.c consider_global_asid, broadcast_tlb_flush)' }),
    invlpgb_count_max: int(8, 'pages one INVLPGB can name (CPUID 0x80000008 EDX[15:0] + 1)', { source: 'AMD APM vol. 3: the count field; 8 on Zen 3 (Milan), as Linux reads it into invlpgb_count_max', min: 1 }),
    rar: bool(false, 'Intel RAR (remote action request): a flush reaches other CPUs as an action the target CPU carries out in microcode, without interrupting its software', { source: 'Intel "Remote Action Request" white paper; Rik van Riel\'s RAR RFC v1-v4 for Linux, 2025 (no upstream Linux yet, no published figures)' }),
  },

  cache: {
    line_bytes: int(64, 'cache line size', { unit: 'B', source: 'x86', pow2: true, min: 8, max: 4096 }),
    l1d_kib: int(32, 'per-CPU L1 data cache', { unit: 'KiB', source: 'Intel optimization manual, Skylake', min: 1 }),
    l1d_ways: int(8, 'L1D associativity', { source: 'Intel optimization manual, Skylake', min: 1 }),
    l2_kib: int(1024, 'per-CPU L2 cache', { unit: 'KiB', source: 'AnandTech Skylake-X review (1 MiB server L2)', min: 1 }),
    l2_ways: int(16, 'L2 associativity', { source: 'AnandTech Skylake-X review', min: 1 }),
    llc_kib: int(8192, 'shared last-level cache (whole machine)', { unit: 'KiB', source: 'sized at 2 MiB per CPU for 4 CPUs (Skylake-SP has 1.375 MiB per core; a power-of-two set count keeps indexing cheap)', min: 1 }),
    llc_ways: int(16, 'LLC associativity', { source: 'rounded from Skylake-SP 11-way to keep a power-of-two set count', min: 1 }),
  },

  cost: {
    l1d_hit: int(5, 'load-to-use latency of an L1D hit', { unit: 'cycles', source: 'Intel optimization manual, Skylake: 4-5 cycles', min: 0 }),
    l2_hit: int(14, 'latency of an L2 hit', { unit: 'cycles', source: 'Intel optimization manual / AnandTech: 11-14 cycles', min: 0 }),
    llc_hit: int(44, 'latency of an LLC hit', { unit: 'cycles', source: 'AnandTech Skylake: 44 cycles client (77 server, see the server profile)', min: 0 }),
    dram: int(195, 'latency of a DRAM access after an LLC miss', { unit: 'cycles', source: 'derived: ~65 ns local DRAM (Intel Xeon 5500 guide; 7-cpu) x 3.0 GHz', min: 0 }),
    c2c_transfer: int(142, 'extra latency when a line is held modified by another CPU (cache-to-cache transfer), or a write must invalidate other CPUs\' copies', { unit: 'cycles', source: 'derived: 47.5 ns same-socket blind write, perfbook cpu/overheads.tex (Xeon 8176), x 3.0 GHz', min: 0 }),
    stlb_hit: int(11, 'extra latency of an L1 dTLB miss that hits the STLB', { unit: 'cycles', source: 'published microbenchmarks, IvyBridge/Haswell: 11-12 cycles (calibration.md)', min: 0 }),
    walk_step: int(0, 'fixed walker cost per level on top of reading the entry through the caches', { unit: 'cycles', source: 'derived: a walk with page tables in L1 adds ~20 cycles = 4 L1 hits, leaving nothing per step', min: 0 }),
    invlpg: int(260, 'INVLPG of one page', { unit: 'cycles', source: 'Ingo Molnar, "TLB flush multiple pages per IPI v5", 2015 (260 cycles); matches the per-page slope of Hansen\'s flush_tlb_mm_range figures', min: 0 }),
    tlb_flush_full: int(96, 'full flush of the TLB (CR3 reload)', { unit: 'cycles', source: 'Ingo Molnar 2015: CR3 reload 96 cycles (refill cost is modelled by later misses)', min: 0 }),
    tlb_flush_pcid: int(96, 'flush of one PCID (INVPCID single-context)', { unit: 'cycles', source: 'assumed equal to a CR3 reload (no published INVPCID figure in our sources)', min: 0 }),
    flush_tlb_func: int(680, 'fixed software cost of flush_tlb_mm_range / flush_tlb_func on top of the INVLPGs', { unit: 'cycles', source: 'derived: Dave Hansen, linux-mm 2014-07-01: 1 page 1276 cycles - 335 tracing - 260 INVLPG', min: 0 }),
    ipi_send: int(300, 'sender cost of one IPI (x2APIC ICR write and csd setup)', { unit: 'cycles', source: 'assumption: ~100 ns per destination for smp_call_function_many setup and the ICR write', min: 0 }),
    ipi_latency: int(1500, 'from ICR write to the target entering its handler', { unit: 'cycles', source: 'assumption within the 1-2 thousand cycles commonly reported (an IPI round trip is 1-3 us)', min: 0 }),
    ipi_handler: int(600, 'target\'s interrupt entry, handler dispatch and exit, excluding the flush work itself', { unit: 'cycles', source: 'derived: interrupt entry/exit taken as one null syscall (192 ns, Hansen KAISER thread 2017) x 3.0 GHz = 576, rounded', min: 0 }),
    ad_assist: int(16, 'the page walker setting an accessed or dirty bit in an entry: a locked read-modify-write of the entry beyond the cache access to its line', { unit: 'cycles', source: 'Intel SDM vol. 3 §4.8 (the processor sets A and D with locked operations); taken as atomic_rmw (perfbook CAS, Xeon 8176); Intel counts these as assists (ASSISTS.PAGE_FAULT, Ice Lake+) with no published latency', min: 0 }),
    invlpgb: int(300, 'issuing one INVLPGB (broadcast invalidation of up to invlpgb_count_max pages, or one PCID)', { unit: 'cycles', source: 'assumption: of the order of a local INVLPG (260, Molnar 2015); AMD publishes no latency', min: 0 }),
    tlbsync: int(1500, 'TLBSYNC: waiting until every CPU has carried out the INVLPGBs this CPU issued', { unit: 'cycles', source: 'assumption: about one IPI latency (ipi_latency), the time for the invalidation to reach and be acknowledged by every core; AMD publishes no latency', min: 0 }),
    rar_action: int(300, 'a target CPU carrying out one RAR invalidation in microcode (no interrupt entry or handler)', { unit: 'cycles', source: 'assumption: of the order of the INVLPGs it performs; Intel publishes no latency', min: 0 }),
    ipi_ack: int(142, 'target\'s acknowledgement reaching the sender (a cache-line write the sender spins on)', { unit: 'cycles', source: 'derived: one cache-to-cache transfer (c2c_transfer)', min: 0 }),
    syscall: int(576, 'syscall entry and exit without page-table isolation', { unit: 'cycles', source: 'derived: 192 ns null syscall (lseek at 5.2 M/s), Dave Hansen, KAISER thread 2017, x 3.0 GHz', min: 0 }),
    pti_syscall_extra: int(423, 'extra entry/exit cost with page-table isolation and PCID', { unit: 'cycles', source: 'derived: 333 ns - 192 ns (Hansen 2017) x 3.0 GHz', min: 0 }),
    page_fault_trap: int(576, 'exception entry and exit for a page fault', { unit: 'cycles', source: 'derived: taken equal to a null syscall (same ring transition and register save), Hansen 2017', min: 0 }),
    zero_page: int(844, 'clearing one 4 KiB page', { unit: 'cycles', source: 'derived: 4096 B at 14.55 GB/s, clear_page on AMD Milan (Ankur Arora, x86/clear_huge_page v2, 2023), x 3.0 GHz; the same source measured 9.19 GB/s on Intel Ice Lake-X (the icelake-x profile): this Intel-class default keeps the Milan rate, an assumption for Skylake-SP', min: 0 }),
    copy_page: int(1688, 'copying one 4 KiB page', { unit: 'cycles', source: 'derived: twice zero_page (a copy reads and writes each byte)', min: 0 }),
    context_switch: int(3000, 'scheduler context switch excluding the CR3 write', { unit: 'cycles', source: 'derived: a pipe round trip of 3.7-8.8 us holds two switches (WF_SYNC thread, 2022); ~1 us each x 3.0 GHz', min: 0 }),
    cr3_write: int(96, 'CR3 write when switching address space', { unit: 'cycles', source: 'Ingo Molnar 2015: CR3 reload 96 cycles', min: 0 }),
    kernel_op: int(30, 'a short kernel bookkeeping step (a list insert, a counter update, a flag test and set)', { unit: 'cycles', source: 'assumption: ~30 instructions at IPC 1; memory it touches is charged through the cache model', min: 0 }),
    rcu_callback: int(150, 'invoking one RCU callback in softirq context (kfree of the object)', { unit: 'cycles', source: 'derived: perfbook defer/rcuapi.tex puts call_rcu sub-microsecond; kfree fast path ~50 ns x 3.0 GHz', min: 0 }),
    call_rcu: int(60, 'queueing one callback with call_rcu', { unit: 'cycles', source: 'derived: perfbook defer/rcuapi.tex, call_rcu sub-microsecond; ~20 ns x 3.0 GHz', min: 0 }),
    atomic_rmw: int(16, 'a lock-prefixed read-modify-write (cmpxchg, xadd) beyond the cache access to its line', { unit: 'cycles', source: 'derived: perfbook cpu/overheads.tex (Xeon 8176) same-CPU CAS 7.0 ns x 3.0 GHz = 21, less the l1d_hit the cache model charges', min: 0 }),
    lock_wakeup: int(30, 'unlock slow path bookkeeping: dequeue a waiter and hand it the lock (wake_q_add); the wake-up itself is a context switch', { unit: 'cycles', source: 'assumption: one kernel_op; memory touched is the lock line, charged through the cache model', min: 0 }),
    rcu_softirq: int(300, 'one RCU_SOFTIRQ run (softirq entry/exit, rcu_core bookkeeping) before its batch of callbacks', { unit: 'cycles', source: 'assumption: ~100 ns for __do_softirq entry/exit and rcu_core with nothing else to do; the callbacks are charged per callback', min: 0 }),
    kmalloc: int(60, 'one slab allocation or free on the fast path (kmalloc, kfree, kmem_cache_alloc); the object\'s lines are charged through the cache model when touched', { unit: 'cycles', source: 'assumption: SLUB fast path ~20 ns (a per-CPU freelist cmpxchg) x 3.0 GHz', min: 0 }),
    vmalloc_page: int(400, 'per page of a vmalloc or vfree beyond kmalloc (page allocation and kernel page-table update; vfree\'s TLB flush is lazy and batched)', { unit: 'cycles', source: 'assumption: a page allocation (~100 ns) plus a PTE update, x 3.0 GHz', min: 0 }),
    page_alloc: int(282, 'allocating one order-0 page from the buddy allocator\'s per-CPU lists (struct page initialisation is charged through the cache model)', { unit: 'cycles', source: 'derived: LLFree (Wrenger et al., USENIX ATC 2023): a 4 KiB allocation by the Linux allocator takes 94 ns on one core, x 3.0 GHz', min: 0 }),
    page_free: int(282, 'freeing one order-0 page to the per-CPU lists', { unit: 'cycles', source: 'assumption: equal to page_alloc (the same per-CPU list, the other way)', min: 0 }),
    fault_handler: int(2000, 'software path of a page fault beyond the exception entry: do_user_addr_fault, the VMA lookup and lock, handle_mm_fault down to the PTE (page allocation, clearing and the PTE and VMA accesses are charged separately)', { unit: 'cycles', source: 'measured in a KVM guest, an assumption for bare metal: a read fault that maps the zero page took 884 ns against a 198 ns null syscall on the development host (Linux 6.18, AMD EPYC KVM guest, page tables present, MADV_NOHUGEPAGE); (884 - 198) ns x 3.0 GHz = 2058, rounded down for the memory accesses charged separately. A guest fault pays EPT walks a bare-metal one does not; the bare-metal profiles carry it until a bare-metal measurement replaces it', min: 0 }),
    swap_io: int(3000, 'CPU cost of one 4 KiB block I/O that reclaim or swap-in issues (a swap read or write, a file page written back), beyond the data transfer: bio set-up, submit_bio through blk-mq to the NVMe driver, and the completion interrupt that ends it (the device time is the swap section\'s or the backing store\'s)', { unit: 'cycles', source: 'assumption: ~1 us of kernel CPU per 4 KiB I/O, the order at which one core of an interrupt-driven Linux NVMe stack saturates near a million IOPS; x 3.0 GHz', min: 0 }),
    ksm_checksum_page: int(633, 'ksmd hashing one 4 KiB page (calc_checksum, xxhash of the page) to see whether it changed since the last scan', { unit: 'cycles', source: 'derived: XXH64 at 19.4 GB/s (xxHash README benchmark) -> 4096 B in 211 ns x 3.0 GHz', min: 0 }),
    ksm_memcmp_page: int(1688, 'comparing two 4 KiB pages that turn out equal (memcmp_pages / pages_identical: all 8 KiB read)', { unit: 'cycles', source: 'derived: taken as copy_page, which also moves 8 KiB (4 read, 4 written)', min: 0 }),
  },

  swap: {
    enabled: bool(true, 'a swap device is configured (swapon)', { source: 'kernel setting: /proc/swaps' }),
    size_mib: int(8192, 'swap device size', { unit: 'MiB', min: 1 }),
    read_latency_us: num(77.9, 'latency of one 4 KiB read at queue depth 1', { unit: 'us', source: 'AnandTech 11209: Intel P3700 NAND, 4 KiB random read QD1', min: 0 }),
    write_latency_us: num(77.9, 'latency of one 4 KiB write at queue depth 1', { unit: 'us', source: 'assumption: taken equal to the read latency (no QD1 write figure in our sources)', min: 0 }),
    bandwidth_mbps: num(2800, 'device transfer bandwidth', { unit: 'MB/s', source: 'Intel P3700 datasheet: 2800 MB/s sequential read', min: 1 }),
    queue_depth: int(32, 'requests the device serves at once; more wait in its queue', { source: 'assumption: NVMe queues are deeper, but the P3700 saturates near QD32 (AnandTech 11209)', min: 1 }),
  },

  kernel: {
    hz: int(250, 'scheduler tick rate (CONFIG_HZ)', { unit: 'Hz', source: 'Debian kernel default CONFIG_HZ_250', min: 1, max: 10000 }),
    pti: bool(false, 'page-table isolation (pti=on)', { source: 'off on CPUs not affected by Meltdown' }),
    thp: choice(['always', 'madvise', 'never'], 'madvise', 'transparent huge pages (/sys/kernel/mm/transparent_hugepage/enabled)', { source: 'Debian default: madvise' }),
    ksm_run: bool(false, 'KSM scanning enabled (/sys/kernel/mm/ksm/run)', { source: 'kernel default 0' }),
    ksm_pages_to_scan: int(100, 'pages ksmd scans per wake-up (/sys/kernel/mm/ksm/pages_to_scan)', { source: 'kernel default', min: 1 }),
    ksm_sleep_ms: int(20, 'ksmd sleep between scans (/sys/kernel/mm/ksm/sleep_millisecs)', { unit: 'ms', source: 'kernel default', min: 0 }),
    read_ahead_kb: int(128, 'readahead window of a file (the bdi\'s read_ahead_kb; ra_pages = read_ahead_kb / 4): mmap read-around size and the largest window', { unit: 'KiB', source: 'kernel default VM_READAHEAD_PAGES = 128 KiB', min: 0 }),
    memory_failure: bool(true, 'CONFIG_MEMORY_FAILURE (MADV_HWPOISON, MADV_SOFT_OFFLINE)', { source: 'on in distribution kernels; /proc/sys/vm/memory_failure_recovery exists when set' }),
    madvise_batch_tlb_flush: bool(true, 'madvise and process_madvise gather every range of a DONTNEED or FREE call into one mmu_gather and flush once (false: one gather and flush per area and range, as before Linux 6.16)', { source: 'SeongJae Park, "mm/madvise: batch tlb flushes for MADV_DONTNEED[_LOCKED]" (Linux 6.16)' }),
    tlb_single_page_flush_ceiling: int(33, 'above this many pages a flush is a full flush (/sys/kernel/debug/x86/tlb_single_page_flush_ceiling)', { source: 'Dave Hansen, commit a5102476a24b', min: 0 }),
    nr_open: int(1048576, 'fs.nr_open: the cap on RLIMIT_NOFILE and fd table size', { source: 'kernel default 1024*1024', min: 64 }),
    nofile_soft: int(1024, 'RLIMIT_NOFILE soft limit of a new process', { source: 'kernel default INR_OPEN_CUR', min: 0 }),
    nofile_hard: int(4096, 'RLIMIT_NOFILE hard limit of a new process', { source: 'kernel default INR_OPEN_MAX', min: 0 }),
    rcu_blimit: int(10, 'RCU callbacks invoked per rcu_do_batch call (rcutree.blimit)', { source: 'kernel/rcu/tree.c DEFAULT_RCU_BLIMIT', min: 1 }),
    rcu_qhimark: int(10000, 'above this many callbacks queued on a CPU, batches are unlimited (rcutree.qhimark)', { source: 'kernel/rcu/tree.c DEFAULT_RCU_QHIMARK', min: 1 }),
    rcu_softirq_restarts: int(10, 'RCU_SOFTIRQ runs per tick before the rest waits for the next tick (ksoftirqd)', { source: 'kernel/softirq.c MAX_SOFTIRQ_RESTART', min: 1 }),
    rcu_jiffies_till_first_fqs: int(-1, 'jiffies from grace-period start to the first force-quiescent-state scan, which notes idle CPUs (rcutree.jiffies_till_first_fqs); -1: computed as the kernel does, 1 + (HZ > 250) + (HZ > 500) + cpus / 256; a given value is capped at HZ', { source: 'kernel/rcu/tree.c rcu_init_geometry and param_set_first_fqs_jiffies; RCU_JIFFIES_TILL_FORCE_QS and RCU_JIFFIES_FQS_DIV in kernel/rcu/tree.h', min: -1 }),
    rcu_jiffies_till_next_fqs: int(-1, 'jiffies between later force-quiescent-state scans (rcutree.jiffies_till_next_fqs); -1: computed as for the first scan; a given value is kept within 1..HZ', { source: 'kernel/rcu/tree.c rcu_init_geometry and param_set_next_fqs_jiffies', min: -1 }),
    inotify_max_queued_events: int(16384, 'fs.inotify.max_queued_events', { source: 'kernel default', min: 1 }),
    inotify_max_user_instances: int(128, 'fs.inotify.max_user_instances', { source: 'kernel default', min: 1 }),
    inotify_max_user_watches: int(8192, 'fs.inotify.max_user_watches', { source: 'kernel default before 5.11 (newer kernels scale it with RAM)', min: 1 }),
    swappiness: int(60, 'vm.swappiness', { source: 'kernel default', min: 0, max: 200 }),
    min_free_kbytes: int(8192, 'vm.min_free_kbytes: sets the min watermark; low = 5/4 min, high = 3/2 min', { unit: 'KiB', source: 'kernel scales it with sqrt(RAM); 8 MiB suits 4 GiB', min: 0 }),
    page_cluster: int(3, 'vm.page-cluster: swap readahead of 2^n pages', { source: 'kernel default', min: 0, max: 10 }),
    cap_sys_admin: bool(false, 'tasks run with CAP_SYS_ADMIN (needed for MADV_HWPOISON / MADV_SOFT_OFFLINE)', { source: 'an unprivileged user by default' }),
    mmap_min_addr: int(4096, 'vm.mmap_min_addr: lowest address a process without CAP_SYS_RAWIO may map', { unit: 'B', source: 'CONFIG_DEFAULT_MMAP_MIN_ADDR default on x86 (4096), as on the development host; Debian and Ubuntu set 65536', min: 0 }),
    max_map_count: int(65530, 'vm.max_map_count: areas a process may have', { source: 'kernel default DEFAULT_MAX_MAP_COUNT', min: 1 }),
    overcommit_memory: int(0, 'vm.overcommit_memory: 0 heuristic (refuse one mapping larger than RAM + swap), 1 always, 2 never (commit limit = swap + RAM x overcommit_ratio)', { source: 'kernel default 0', min: 0, max: 2 }),
    overcommit_ratio: int(50, 'vm.overcommit_ratio: percent of RAM in the commit limit when overcommit_memory is 2', { unit: '%', source: 'kernel default', min: 0 }),
    memlock_kib: int(8192, 'RLIMIT_MEMLOCK of a new process (mlock, MAP_LOCKED) for a task without CAP_IPC_LOCK', { unit: 'KiB', source: 'kernel default MLOCK_LIMIT (8 MiB since 5.16), as on the development host', min: 0 }),
  },

  virt: {
    enabled: bool(false, 'the machine is a KVM guest and its CPUs are vCPUs (false: bare metal)', { source: 'a setting' }),
    vm_exit: int(1376, 'a VM exit and re-entry on a fast path (a hypercall, a trapped ICR write, a kick out of guest mode)', { unit: 'cycles', source: 'measured: VMRUN to #VMEXIT and back 1,344-1,376 cycles, Michael Roth, "KVM: SVM: use vmsave/vmload for saving/restoring additional host state", linux-kernel, 2020-12 (AMD EPYC)', min: 0 }),
    pv_ipi: bool(true, 'an IPI to several vCPUs is one KVM_HC_SEND_IPI hypercall (one VM exit) instead of one trapped ICR write (one exit) per destination', { source: 'Wanpeng Li, "KVM: X86: Implement PV IPIs in linux guest", Linux 4.19 (arch/x86/kernel/kvm.c kvm_send_ipi_mask)' }),
    posted_interrupts: bool(false, 'an IPI reaches a running vCPU without a VM exit (APICv posted interrupts, AVIC); false: the target is kicked out of guest mode and the interrupt injected at re-entry', { source: 'Intel SDM vol. 3 ch. 29 (posted-interrupt processing); Wanpeng Li, "KVM: VMX: FIXED+PHYSICAL mode single target IPI fastpath", Linux 5.5' }),
    pv_tlb_flush: bool(true, 'KVM\'s paravirtual TLB flush: a preempted vCPU gets no flush IPI; it is marked and flushes when it next enters the guest', { source: 'arch/x86/kernel/kvm.c kvm_flush_tlb_multi (KVM_VCPU_FLUSH_TLB in steal_time.preempted), Linux 4.16' }),
    steal_pct: num(0, 'share of each vCPU\'s time the host gives to something else (steal time), lost in one slice per steal_period_us, the vCPUs\' slices staggered', { unit: '%', source: 'a setting: the guest\'s /proc/stat steal column measures it', min: 0, max: 90 }),
    steal_period_us: num(3000, 'the host scheduling period in which each vCPU loses steal_pct of its time', { unit: 'us', source: 'assumption: EEVDF\'s base slice on a host with 8 or more CPUs, 0.75 ms x (1 + log2 8) = 3 ms (kernel/sched/fair.c sysctl_sched_base_slice, scaled as sched_tunable_scaling does)', min: 1 }),
  },

  sim: {
    quantum: int(1000, 'cycles a CPU may run ahead of the slowest busy CPU (0 = exact ordering)', { unit: 'cycles', source: 'bound-weave style simulators use ~1000 cycles', min: 0 }),
    seed: int(1, 'seed of the one random generator', { min: 0 }),
    checks: bool(false, 'walk TLBs, page tables and frame metadata after every step (slow; for tests)'),
  },
} as const satisfies Schema;

export type MachineConfig = ValuesOf<typeof machineSchema>;
export type CostModel = MachineConfig['cost'];
export type KernelConfig = MachineConfig['kernel'];

export function defaultConfig(): MachineConfig {
  return defaultsOf(machineSchema);
}

/** Nanoseconds to cycles at the machine's clock (rounded to whole cycles). */
export function nsToCycles(cfg: MachineConfig, ns: number): number {
  return Math.round(ns * cfg.clock_ghz);
}
