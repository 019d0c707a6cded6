/**
 * The hardware's section of the machine config: CPUs, clock, memory, TLBs,
 * caches, the swap device, and what the hardware's own operations cost
 * (cache hits, DRAM, TLB flushes, IPIs, traps). Every latency is a named
 * field of `cost` with its source; nothing in src/hw charges a number that is
 * not here. The kernel's settings and software costs are the kernel's section
 * (src/kernel/config.ts); src/config/machine.ts puts the two together.
 *
 * Defaults describe a Skylake-SP-class x86-64 server core at 3.0 GHz. Where a
 * source gives nanoseconds, the cycle figure is derived at 3.0 GHz and says so.
 */
import { bool, ConfigError, int, nsCost, num, type Schema, type ValuesOf } from '../params/schema.js';

/**
 * clear_page of 4 KiB at 14.55 GB/s is 281.5 ns; stated as the 844 cycles at 3.0 GHz the default has
 * always had (281.3 ns), so that a copy, twice the bytes, is exactly twice it at the reference clock.
 */
export const ZERO_PAGE_NS = 844 / 3;

export const hardwareSchema = {
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
    pwc_entries: int(32, 'paging-structure cache entries (PDE cache: skips the upper three levels of a walk)', { source: 'Intel SDM vol. 3 §4.10.3 describes the caches; 32 entries is an assumption, sizes are not published', min: 0, max: 255 }),
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
    dram: nsCost(65, 'latency of a DRAM access after an LLC miss', { source: 'derived: ~65 ns local DRAM (Intel Xeon 5500 guide; 7-cpu) x 3.0 GHz', min: 0 }),
    c2c_transfer: nsCost(47.5, 'extra latency when a line is held modified by another CPU (cache-to-cache transfer), or a write must invalidate other CPUs\' copies', { source: 'derived: 47.5 ns same-socket blind write, perfbook cpu/overheads.tex (Xeon 8176), x 3.0 GHz', min: 0 }),
    stlb_hit: int(11, 'extra latency of an L1 dTLB miss that hits the STLB', { unit: 'cycles', source: 'published microbenchmarks, IvyBridge/Haswell: 11-12 cycles (calibration.md)', min: 0 }),
    walk_start: int(15, 'the page walker\'s own latency per walk (its start after an STLB miss and the fill of the TLB), on top of reading the entries through the caches', { unit: 'cycles', source: 'derived: a walk with page tables in cache adds ~20 cycles to an STLB hit (calibration.md; Yusuke Ohara, Haswell microbenchmarks, 2013-06-21, p.15, graphs 105-107: ~20 cycles past an L2 TLB miss); such a walk hits the paging-structure cache and reads one PTE from L1 (l1d_hit, 5): 20 - 5. Consistent with Hansen 2014: a dTLB walk averaged 45 cycles (walk_duration / walk_completed) on an i5-3320M over a kernel compile, where PTEs also come from L2 and L3', min: 0 }),
    walk_step: int(0, 'fixed walker cost per level read, on top of reading the entry through the caches and walk_start', { unit: 'cycles', source: 'derived: the ~20-cycle walk with page tables in cache is walk_start plus one L1 read, leaving nothing per level', min: 0 }),
    invlpg: int(260, 'INVLPG of one page', { unit: 'cycles', source: 'Ingo Molnar, "TLB flush multiple pages per IPI v5", 2015 (260 cycles); matches the per-page slope of Hansen\'s flush_tlb_mm_range figures', min: 0 }),
    tlb_flush_full: int(96, 'full flush of the TLB (CR3 reload)', { unit: 'cycles', source: 'Ingo Molnar 2015: CR3 reload 96 cycles (refill cost is modelled by later misses)', min: 0 }),
    tlb_flush_pcid: int(96, 'flush of one PCID (INVPCID single-context)', { unit: 'cycles', source: 'assumed equal to a CR3 reload (no published INVPCID single-context figure in our sources). Linux\'s local full flush is a CR3 reload (native_flush_tlb_local, cost.cr3_write), so no kernel path of the model issues it', min: 0 }),
    ipi_send: nsCost(100, 'sender cost of one IPI beyond the lines it writes (x2APIC ICR write, the per-destination loop)', { source: 'assumption: ~100 ns per destination for smp_call_function_many\'s loop and the ICR write; the csd and call_single_queue lines it writes are charged through the cache model (src/kernel/smp.ts)', min: 0 }),
    ipi_latency: int(1500, 'from ICR write to the target entering its handler', { unit: 'cycles', source: 'assumption within the 1-2 thousand cycles commonly reported (an IPI round trip is 1-3 us)', min: 0 }),
    ipi_handler: int(600, 'target\'s interrupt entry, handler dispatch and exit, excluding the flush work itself', { unit: 'cycles', source: 'derived: interrupt entry/exit taken as one null syscall (192 ns, Hansen KAISER thread 2017) x 3.0 GHz = 576, rounded', min: 0 }),
    ipi_ack: int(142, 'target\'s acknowledgement reaching the sender (a cache-line write the sender spins on)', { unit: 'cycles', source: 'derived: one cache-to-cache transfer (c2c_transfer)', min: 0 }),
    syscall: nsCost(192, 'syscall entry and exit without page-table isolation', { source: 'derived: 192 ns null syscall (lseek at 5.2 M/s), Dave Hansen, KAISER thread 2017, x 3.0 GHz', min: 0 }),
    pti_syscall_extra: nsCost(141, 'extra entry/exit cost with page-table isolation and PCID', { source: 'derived: 333 ns - 192 ns (Hansen 2017) x 3.0 GHz', min: 0 }),
    page_fault_trap: int(1050, 'exception entry and exit for a page fault: the #PF delivery to the handler and the IRET back, the software handler that runs between them is the kernel section\'s', { unit: 'cycles', source: 'measured on bare metal: Linus Torvalds, "Page fault handling by the CPU" (Google+, 2014-04-30), Haswell: the fault itself about 715 cycles, the iret about 330, "about 1050 cycles" together (1150 in a noisier run); on the other parts an assumption: no figure for them in our sources, so every profile takes the Haswell one (a Core Duo took 700 + 240 in the same post)', min: 0 }),
    zero_page: nsCost(ZERO_PAGE_NS, 'clearing one 4 KiB page', { source: 'derived: 4096 B at 14.55 GB/s, clear_page on AMD Milan (Ankur Arora, x86/clear_huge_page v2, 2023), x 3.0 GHz; the same source measured 9.19 GB/s on Intel Ice Lake-X (the icelake-x profile): this Intel-class default keeps the Milan rate, an assumption for Skylake-SP', min: 0 }),
    store_l1_line: int(2, 'a string store (rep stosb: clear_page) of one cache line that L1D holds: the line at the store port\'s throughput', { unit: 'cycles', source: 'derived: one 32-byte store a cycle into L1D (Intel optimization manual, the Haswell and Skylake client cache tables: L1D peak 64 B of loads + 32 B of stores a cycle; RealWorldTech, "Intel\'s Haswell CPU Microarchitecture", p.5: 2 loads and 1 store a cycle), 64 B / 32 B; an Intel client figure, taken for every profile (no AMD or server figure for string stores in our sources)', min: 0 }),
    store_l2_line: int(2, 'a string store of one cache line that L2 holds and L1D does not: the line moved from L2 at its throughput (the store itself overlaps)', { unit: 'cycles', source: 'derived: 32 B a cycle between L2 and L1D, 64 B / 32 B (Travis Downs, RealWorldTech forum "L2 bandwidth on Skylake", 2018-11-19: Haswell and earlier move at most 32 bytes a cycle from L2 in any scenario; Intel\'s optimization manual gives Skylake client ~29 B a cycle sustained); taken for every profile', min: 0 }),
    copy_page: nsCost(2 * ZERO_PAGE_NS, 'copying one 4 KiB page', { source: 'derived: twice zero_page (a copy reads and writes each byte)', min: 0 }),
    cr3_write: int(96, 'CR3 write: a switch of address space, and a local full flush (a reload of the loaded root without the no-flush bit, native_flush_tlb_local)', { unit: 'cycles', source: 'Ingo Molnar, "TLB flush multiple pages per IPI v5" thread, 2015-06-08: CR3 reload 96 cycles, timed in a loop at boot (the refill is modelled by the walks that follow)', min: 0 }),
    atomic_rmw: int(16, 'a lock-prefixed read-modify-write (cmpxchg, xadd) beyond the cache access to its line', { unit: 'cycles', source: 'derived: perfbook cpu/overheads.tex (Xeon 8176) same-CPU CAS 7.0 ns x 3.0 GHz = 21, less the l1d_hit the cache model charges', min: 0 }),
    ad_assist: int(16, 'the page walker setting an accessed or dirty bit in an entry: a locked read-modify-write of the entry beyond the cache access to its line', { unit: 'cycles', source: 'Intel SDM vol. 3 §4.8 (the processor sets A and D with locked operations); taken as atomic_rmw (perfbook CAS, Xeon 8176); Intel counts these as assists (ASSISTS.PAGE_FAULT, Ice Lake+) with no published latency', min: 0 }),
    invlpgb: int(300, 'issuing one INVLPGB (broadcast invalidation of up to invlpgb_count_max pages, or one PCID)', { unit: 'cycles', source: 'assumption: of the order of a local INVLPG (260, Molnar 2015); AMD publishes no latency', min: 0 }),
    tlbsync: int(1500, 'TLBSYNC: waiting until every CPU has carried out the INVLPGBs this CPU issued', { unit: 'cycles', source: 'assumption: about one IPI latency (ipi_latency), the time for the invalidation to reach and be acknowledged by every core; AMD publishes no latency', min: 0 }),
    rar_action: int(300, 'a target CPU carrying out one RAR invalidation in microcode (no interrupt entry or handler)', { unit: 'cycles', source: 'assumption: of the order of the INVLPGs it performs; Intel publishes no latency', min: 0 }),
  },

  mem: {
    channels: int(6, 'DRAM channels the machine\'s memory traffic shares (0: no bandwidth limit)', { source: 'Intel Xeon Scalable (Skylake-SP): six DDR4 channels per socket (AnandTech 11544, "Skylake-EP vs EPYC 7000")', min: 0, max: 64 }),
    mt_s: int(2666, 'transfers per second of each channel (a transfer moves 8 bytes)', { unit: 'MT/s', source: 'DDR4-2666, the Xeon Platinum 81xx memory speed (AnandTech 11544)', min: 1 }),
    stream_fraction: num(0.78, 'share of the wire rate (channels x MT/s x 8 bytes) the cores can sustain together (STREAM over peak)', { source: 'derived: Intel\'s STREAM triad of 199 GB/s on two Skylake-SP sockets against 2 x 6 x 2666 MT/s x 8 B = 256 GB/s (AnandTech 11544) = 0.78', min: 0.01, max: 1 }),
  },

  swap: {
    size_mib: int(8192, 'swap device size', { unit: 'MiB', min: 1 }),
    read_latency_us: num(77.9, 'latency of one 4 KiB read at queue depth 1', { unit: 'us', source: 'AnandTech 11209: Intel P3700 NAND, 4 KiB random read QD1', min: 0 }),
    write_latency_us: num(77.9, 'latency of one 4 KiB write at queue depth 1', { unit: 'us', source: 'assumption: taken equal to the read latency (no QD1 write figure in our sources)', min: 0 }),
    bandwidth_mbps: num(2800, 'device transfer bandwidth', { unit: 'MB/s', source: 'Intel P3700 datasheet: 2800 MB/s sequential read', min: 1 }),
    queue_depth: int(32, 'requests the device serves at once; more wait in its queue', { source: 'assumption: NVMe queues are deeper, but the P3700 saturates near QD32 (AnandTech 11209)', min: 1 }),
  },


  virt: {
    enabled: bool(false, 'the machine is a KVM guest and its CPUs are vCPUs (false: bare metal)', { source: 'a setting' }),
    vm_exit: int(1376, 'a VM exit and re-entry on a fast path (a hypercall, a trapped ICR write, a kick out of guest mode)', { unit: 'cycles', source: 'measured: VMRUN to #VMEXIT and back 1,344-1,376 cycles, Michael Roth, "KVM: SVM: use vmsave/vmload for saving/restoring additional host state", linux-kernel, 2020-12 (AMD EPYC)', min: 0 }),
    pv_ipi: bool(true, 'an IPI to several vCPUs is one KVM_HC_SEND_IPI hypercall (one VM exit) instead of one trapped ICR write (one exit) per destination', { source: 'Wanpeng Li, "KVM: X86: Implement PV IPIs in linux guest", Linux 4.19 (arch/x86/kernel/kvm.c kvm_send_ipi_mask)' }),
    posted_interrupts: bool(false, 'an IPI reaches a running vCPU without a VM exit (APICv posted interrupts, AVIC); false: the target is kicked out of guest mode and the interrupt injected at re-entry', { source: 'Intel SDM vol. 3 ch. 29 (posted-interrupt processing); Wanpeng Li, "KVM: VMX: FIXED+PHYSICAL mode single target IPI fastpath", Linux 5.5' }),
    pv_tlb_flush: bool(true, 'KVM\'s paravirtual TLB flush: a preempted vCPU gets no flush IPI; it is marked and flushes when it next enters the guest', { source: 'arch/x86/kernel/kvm.c kvm_flush_tlb_multi (KVM_VCPU_FLUSH_TLB in steal_time.preempted), Linux 4.16' }),
    shadow_root: int(0, 'the hypervisor shadows the guest\'s page tables (no nested paging): building the shadow tables of a page-table root it has not seen, charged on the first CR3 load of that root, and dropping them when the guest frees the root; 0 with nested paging (EPT/NPT) or on bare metal', { unit: 'cycles', source: 'mechanism: KVM\'s shadow MMU, mmu_alloc_shadow_roots / kvm_mmu_free_roots (arch/x86/kvm/mmu/mmu.c); PVM (\"PVM: Efficient Shadow Paging for Deploying Secure Containers in Cloud-native Environment\", SOSP 2023) shadows every guest address space. No published figure: kernsim calibrate fits it on a guest from a fork and exit of a process with nothing mapped', min: 0 }),
    steal_pct: num(0, 'share of each vCPU\'s time the host gives to something else (steal time), lost in one slice per steal_period_us, the vCPUs\' slices staggered', { unit: '%', source: 'a setting: the guest\'s /proc/stat steal column measures it', min: 0, max: 90 }),
    steal_period_us: num(3000, 'the host scheduling period in which each vCPU loses steal_pct of its time', { unit: 'us', source: 'assumption: EEVDF\'s base slice on a host with 8 or more CPUs, 0.75 ms x (1 + log2 8) = 3 ms (kernel/sched/fair.c sysctl_sched_base_slice, scaled as sched_tunable_scaling does)', min: 1 }),
  },
} as const satisfies Schema;

export type HardwareConfig = ValuesOf<typeof hardwareSchema>;
export type HardwareCosts = HardwareConfig['cost'];

/** Nanoseconds to cycles at the machine's clock (rounded to whole cycles). */
export function nsToCycles(cfg: { readonly clock_ghz: number }, ns: number): number {
  return Math.round(ns * cfg.clock_ghz);
}

function isPow2(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

/** Checks that need more than one field: cache and TLB geometry must give whole, power-of-two set counts. */
export function checkHardware(cfg: HardwareConfig, file: string): void {
  const line = cfg.cache.line_bytes;
  const caches: [string, number, number][] = [
    ['cache.l1d_kib', cfg.cache.l1d_kib, cfg.cache.l1d_ways],
    ['cache.l2_kib', cfg.cache.l2_kib, cfg.cache.l2_ways],
    ['cache.llc_kib', cfg.cache.llc_kib, cfg.cache.llc_ways],
  ];
  for (const [field, kib, ways] of caches) {
    const sets = (kib * 1024) / (line * ways);
    if (!Number.isInteger(sets) || !isPow2(sets)) {
      throw new ConfigError(file, field, `a size giving a power-of-two number of sets with ${ways} ways of ${line}-byte lines, got ${kib} KiB (${sets} sets)`);
    }
  }
  const tlbs: [string, number, number][] = [
    ['tlb.l1_entries', cfg.tlb.l1_entries, cfg.tlb.l1_ways],
    ['tlb.l1_2m_entries', cfg.tlb.l1_2m_entries, cfg.tlb.l1_2m_ways],
    ['tlb.stlb_entries', cfg.tlb.stlb_entries, cfg.tlb.stlb_ways],
  ];
  for (const [field, entries, ways] of tlbs) {
    if (entries % ways !== 0) throw new ConfigError(file, field, `a multiple of its associativity (${ways}), got ${entries}`);
  }
  if (cfg.cache.llc_kib < cfg.cache.l2_kib) {
    throw new ConfigError(file, 'cache.llc_kib', `at least cache.l2_kib (${cfg.cache.l2_kib}): the last-level cache holds what L2 evicts, got ${cfg.cache.llc_kib}`);
  }
}
