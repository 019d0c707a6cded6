/**
 * Shared set-up for the reclaim and swap tests: a small machine (so a few
 * thousand pages overflow RAM), a kernel with reclaim attached, and user
 * tasks that write and read page patterns through the MMU and the fault
 * path, as a program would.
 */
import { defaultConfig, type MachineConfig } from '../../../src/config/machine.js';
import { bootKernel } from '../../../src/kernel/boot.js';
import type { Kernel } from '../../../src/kernel/kernel.js';
import { checkInvariants } from '../../../src/kernel/mm/invariants.js';
import { sys_mmap } from '../../../src/kernel/mm/mmap.js';
import { lru_check } from '../../../src/kernel/mm/swap.js';
import { swap_check } from '../../../src/kernel/mm/swapfile.js';
import { accessUser } from '../../../src/kernel/mm/uaccess.js';
import type { Blocking, Task } from '../../../src/sim/task.js';

export const PAGE = 4096;
export const PROT_RW = 3;
export const MAP_PRIVATE_ANON = 0x22;

/** A machine of `ramMib` MiB with `swapMib` MiB of swap and watermarks sized for it. */
export function smallConfig(ramMib = 16, swapMib = 64, cpus = 2): MachineConfig {
  const c = defaultConfig();
  c.cpus = cpus;
  c.ram_mib = ramMib;
  // The kernel's default for this much RAM: sqrt(lowmem_kbytes * 16) KiB.
  c.kernel = { ...c.kernel, min_free_kbytes: Math.floor(Math.sqrt(ramMib * 1024 * 16)) };
  c.swap = { ...c.swap, size_mib: Math.max(1, swapMib) };
  c.kernel.swapon = swapMib > 0;
  return c;
}

/** A booted kernel (boot attaches reclaim and swap). */
export function reclaimKernel(cfg: MachineConfig): Kernel {
  return bootKernel(cfg);
}

/** The bytes page `p` of region `r` holds: distinct for every page and offset pattern. */
export function pattern(r: number, p: number, version = 0): Uint8Array {
  const b = new Uint8Array(PAGE);
  const seed = (r * 7919 + p * 131 + version * 31337) >>> 0;
  for (let i = 0; i < PAGE; i++) b[i] = (seed + i * 7 + (seed >>> 8) + (i >>> 8) * 13) & 0xff;
  // The page number in the first bytes, so two pages never hold the same data.
  b[0] = p & 0xff;
  b[1] = (p >>> 8) & 0xff;
  b[2] = r & 0xff;
  b[3] = version & 0xff;
  return b;
}

/** mmap(NULL, pages * 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS). */
export function* mapAnon(t: Task, pages: number): Blocking<number> {
  const base = yield* sys_mmap(t, 0, pages * PAGE, PROT_RW, MAP_PRIVATE_ANON, -1, 0);
  if (base < 0) throw new Error(`mmap failed: ${base}`);
  return base;
}

/** A store to the page (faulting it in), then its bytes: what a program writing 4 KiB does. Returns a signal or 0. */
export function* writePage(t: Task, addr: number, data: Uint8Array): Blocking<number> {
  const k = t.k;
  const sig = yield* accessUser(t, addr, true);
  if (sig) return sig;
  const pfn = k.machine.mmu.translateFunctional(t.cpu, addr);
  if (pfn < 0) throw new Error(`writePage: 0x${addr.toString(16)} not mapped right after the access`);
  k.machine.mem.writeFrom(pfn, 0, data, 0, PAGE);
  return 0;
}

/** A load from the page (faulting it in), then its bytes. Returns the bytes, or a signal number. */
export function* readPage(t: Task, addr: number): Blocking<Uint8Array | number> {
  const k = t.k;
  const sig = yield* accessUser(t, addr, false);
  if (sig) return sig;
  const pfn = k.machine.mmu.translateFunctional(t.cpu, addr);
  if (pfn < 0) throw new Error(`readPage: 0x${addr.toString(16)} not mapped right after the access`);
  const out = new Uint8Array(PAGE);
  k.machine.mem.readInto(pfn, 0, out, 0, PAGE);
  return out;
}

/** First difference between two pages, or -1. */
export function diff(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < PAGE; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** Every consistency check: MM invariants (incl. TLBs), the LRU lists and the swap slots. */
export function checkAll(k: Kernel): string[] {
  const out: string[] = [];
  try {
    checkInvariants(k);
  } catch (e) {
    out.push((e as Error).message);
  }
  out.push(...lru_check(k), ...swap_check(k));
  return out;
}
