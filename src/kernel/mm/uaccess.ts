/**
 * User-mode memory accesses of a simulated thread: each goes through the MMU
 * (TLB, walk, caches) as the CPU would do it; a fault enters the kernel's
 * page-fault handler and the access is retried, or the thread gets a signal.
 *
 * - accessUser: one access.
 * - accessUserRange: a strided run of accesses in a tight loop, pausing
 *   (yielding) where the CPU's window ends so other CPUs keep pace.
 * - fillUser / loadUser: the script ops `fill` and `load`, moving real bytes
 *   through PhysMem after translation. fill writes pages in ascending order,
 *   each page's lines through the MMU and then its bytes, so a fault
 *   part-way leaves the lower pages written.
 */
import { FAULT_PROTECTION } from '../../hw/mmu.js';
import { CAT_USER } from '../../sim/task.js';
import type { Blocking, Task } from '../../sim/task.js';
import type { Kernel } from '../kernel.js';
import { do_user_addr_fault, SIGSEGV } from './fault.js';
import { PAGE_SIZE } from './mm_types.js';

/** Canonical user addresses end here (2^47); anything above is a kernel or non-canonical address. */
const USER_TOP = 2 ** 47;

/** Faults on one access before giving up (a fault that keeps recurring is a kernel bug). */
const MAX_RETRIES = 8;

/**
 * The frame the CPU just reached vaddr through: its TLB entry, which is what
 * the hardware uses (possibly a stale one a flush has not reached yet), not
 * the page table.
 */
function accessedPfn(k: Kernel, cpu: number, vaddr: number): number {
  const mmu = k.machine.mmu;
  const pfn = k.machine.tlb.probe(cpu, mmu.pcid[cpu]!, Math.floor(vaddr / PAGE_SIZE));
  return pfn >= 0 ? pfn : mmu.translateFunctional(cpu, vaddr);
}

/**
 * One user access at vaddr. Returns 0, or the signal it raised (SIGSEGV,
 * SIGBUS, SIGKILL).
 */
export function* accessUser(t: Task, vaddr: number, write: boolean): Blocking<number> {
  const k = t.k;
  if (!(vaddr >= 0 && vaddr < USER_TOP)) return yield* do_user_addr_fault(t, vaddr, write, false);
  const mmu = k.machine.mmu;
  for (let i = 0; i < MAX_RETRIES; i++) {
    const o = mmu.access(t.cpu, vaddr, write, true);
    t.chargeAs(CAT_USER, o.cycles);
    if (o.fault === 0) return 0;
    const sig = yield* do_user_addr_fault(t, vaddr, write, o.fault === FAULT_PROTECTION);
    if (sig) return sig;
  }
  throw new Error(`accessUser: the fault at 0x${vaddr.toString(16)} (${write ? 'write' : 'read'}) keeps recurring`);
}

/**
 * `count` accesses at vaddr, vaddr + stride, ...; yields when the CPU's
 * window is used up. Returns 0, or the signal of the access that failed
 * (`lastDone` then holds how many completed before it).
 */
export function* accessUserRange(t: Task, vaddr: number, count: number, stride: number, write: boolean): Blocking<number> {
  const k = t.k;
  const mmu = k.machine.mmu;
  let done = 0;
  let retries = 0;
  while (done < count) {
    const va = vaddr + done * stride;
    if (!(va >= 0 && va < USER_TOP)) {
      rangeDone = done;
      return yield* do_user_addr_fault(t, va, write, false);
    }
    const budget = Math.max(1, t.budget());
    const o = mmu.accessRange(t.cpu, va, count - done, stride, write, budget, true);
    const n = o.done;
    t.chargeAs(CAT_USER, o.cycles);
    done += n;
    if (o.fault !== 0) {
      if (n === 0 && ++retries > MAX_RETRIES) throw new Error(`accessUserRange: the fault at 0x${o.faultAddr.toString(16)} keeps recurring`);
      if (n > 0) retries = 0;
      const sig = yield* do_user_addr_fault(t, o.faultAddr, write, o.fault === FAULT_PROTECTION);
      if (sig) {
        rangeDone = done;
        return sig;
      }
    }
    if (t.shouldYield()) yield;
  }
  rangeDone = done;
  return 0;
}

/** Accesses accessUserRange completed before its last return. */
export let rangeDone = 0;

/**
 * fill: write `byte` to [addr, addr + len), page by page in ascending order.
 * Returns 0 or the signal that stopped it.
 */
export function* fillUser(t: Task, addr: number, len: number, byte: number): Blocking<number> {
  const k = t.k;
  const mem = k.machine.mem;
  const mmu = k.machine.mmu;
  const line = k.machine.caches.lineBytes;
  let cur = addr;
  const end = addr + len;
  while (cur < end) {
    const next = Math.min(Math.floor(cur / PAGE_SIZE) * PAGE_SIZE + PAGE_SIZE, end);
    const first = Math.floor(cur / line) * line;
    const lines = Math.ceil((next - first) / line);
    // The page's lines, then its bytes: no yield in between, so the translation is still current.
    for (let i = 0; i < MAX_RETRIES; i++) {
      if (!(cur < USER_TOP)) return yield* do_user_addr_fault(t, cur, true, false);
      const o = mmu.accessRange(t.cpu, first, lines, line, true, Infinity, true);
      t.chargeAs(CAT_USER, o.cycles);
      if (o.done === lines) break;
      const faultAddr = o.faultAddr;
      const sig = yield* do_user_addr_fault(t, faultAddr, true, o.fault === FAULT_PROTECTION);
      if (sig) return sig;
      if (i === MAX_RETRIES - 1) throw new Error(`fillUser: the fault at 0x${faultAddr.toString(16)} keeps recurring`);
    }
    const pfn = accessedPfn(k, t.cpu, cur);
    if (pfn < 0) continue; // unmapped by another CPU meanwhile: touch it again
    mem.fill(pfn, cur % PAGE_SIZE, next - cur, byte);
    cur = next;
    if (t.shouldYield()) yield;
  }
  return 0;
}

/**
 * One half of a sequential user copy (memcpy's reads or its writes, or a
 * memset): page by page in ascending order, the page's first line through
 * the MMU (TLB, walk, A/D bits, a fault), its other lines through the
 * caches, and the page charged as Kernel.streamRange charges the kernel's
 * copies: the lesser of the lines' latencies one after another and the
 * first line's latency plus the rest at cost.zero_page a 4 KiB. A
 * sequential stream runs at bandwidth, not at a miss a line: the hardware
 * prefetchers run ahead of it (Intel optimization manual, the L2 streamer;
 * AMD 56665, the L2 stream prefetcher) and its misses overlap, which a
 * line-by-line walk through the cache model does not show. The bytes the
 * page's lines bring from DRAM queue at the machine's DRAM channels with
 * every other CPU's (src/hw/membw.ts): when they are full the copy waits.
 * `byte` >= 0
 * writes that byte over the range (the copy's contents). Returns 0 or the
 * signal that stopped it.
 */
export function* streamUser(t: Task, addr: number, len: number, write: boolean, byte = -1): Blocking<number> {
  const k = t.k;
  const mem = k.machine.mem;
  const mmu = k.machine.mmu;
  const caches = k.machine.caches;
  const line = caches.lineBytes;
  const rate = k.cfg.cost.zero_page;
  const bw = k.machine.membw;
  let cur = addr;
  const end = addr + len;
  while (cur < end) {
    const pageBase = Math.floor(cur / PAGE_SIZE) * PAGE_SIZE;
    const next = Math.min(pageBase + PAGE_SIZE, end);
    const first = Math.floor(cur / line) * line;
    const lines = Math.ceil((next - first) / line);
    let firstCycles = 0;
    for (let i = 0; ; i++) {
      if (!(cur < USER_TOP)) return yield* do_user_addr_fault(t, cur, write, false);
      const o = mmu.accessRange(t.cpu, first, 1, line, write, Infinity, true);
      if (o.done === 1) {
        firstCycles = o.cycles;
        break;
      }
      t.chargeAs(CAT_USER, o.cycles);
      const faultAddr = o.faultAddr;
      const sig = yield* do_user_addr_fault(t, faultAddr, write, o.fault === FAULT_PROTECTION);
      if (sig) return sig;
      if (i === MAX_RETRIES - 1) throw new Error(`streamUser: the fault at 0x${faultAddr.toString(16)} keeps recurring`);
    }
    const pfn = accessedPfn(k, t.cpu, cur);
    if (pfn < 0) {
      // unmapped by another CPU meanwhile: touch it again
      t.chargeAs(CAT_USER, firstCycles);
      continue;
    }
    const toPhys = pfn * PAGE_SIZE - pageBase;
    let serial = firstCycles;
    // The other lines' fills from DRAM are gathered and queued as one transfer (membw.ts).
    bw?.beginStream(t.cpu);
    for (let j = 1; j < lines; j++) serial += caches.access(t.cpu, first + j * line + toPhys, write);
    const streamed = firstCycles + Math.ceil(((lines - 1) * line * rate) / PAGE_SIZE);
    const cycles = Math.min(serial, streamed);
    t.chargeAs(CAT_USER, bw === null ? cycles : cycles + bw.transfer(t.now, bw.endStream(t.cpu), cycles));
    if (byte >= 0) mem.fill(pfn, cur % PAGE_SIZE, next - cur, byte);
    cur = next;
    if (t.shouldYield()) yield;
  }
  return 0;
}

/** load: read the byte at addr. Returns { sig: 0, value } or { sig, value: -1 }. */
export function* loadUser(t: Task, addr: number): Blocking<{ sig: number; value: number }> {
  const k = t.k;
  for (let i = 0; i < MAX_RETRIES; i++) {
    const sig = yield* accessUser(t, addr, false);
    if (sig) return { sig, value: -1 };
    const pfn = accessedPfn(k, t.cpu, addr);
    if (pfn >= 0) return { sig: 0, value: k.machine.mem.readByte(pfn, addr % PAGE_SIZE) };
  }
  return { sig: SIGSEGV, value: -1 };
}
