/**
 * brk(2), after mm/mmap.c (sys_brk, do_brk_flags): the heap grows as one
 * private anonymous area from mm->start_brk. Below start_brk, over a
 * mapping of someone else's, within a page and the stack guard gap of the
 * next area, past RLIMIT_DATA or past what overcommit allows, the call
 * fails by returning the unchanged break; shrinking always succeeds and
 * unmaps what lies between the two page-aligned breaks. Under
 * mlockall(MCL_FUTURE) the new part is populated.
 */
import type { Blocking, Task } from '../../sim/task.js';
import { current } from '../sched/task_struct.js';
import { task_rlimits, RLIMIT_DATA } from '../sys.js';
import { syscall } from '../syscalls.js';
import { PAGE_SIZE, TASK_SIZE, VM_LOCKED, type MmStruct } from './mm_types.js';
import { do_mmap, mm_populate } from './mmap.js';
import { mmap_write_lock, mmap_write_unlock } from './mmap_lock.js';
import { do_vmi_munmap } from './munmap.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE } from './uapi.js';
import { find_vma_intersection } from './vma.js';

/** stack_guard_gap: 256 pages (mm/mmap.c). */
const STACK_GUARD_GAP = 256 * PAGE_SIZE;

const pageAlign = (x: number): number => Math.ceil(x / PAGE_SIZE) * PAGE_SIZE;

function* do_brk(t: Task, mm: MmStruct, brkIn: bigint): Blocking<number> {
  const ts = current(t);
  yield* mmap_write_lock(t, mm);
  const origbrk = mm.brk;
  const fail = (): number => {
    mm.brk = origbrk;
    mmap_write_unlock(t, mm);
    return origbrk;
  };
  if (brkIn < BigInt(mm.startBrk) || brkIn > BigInt(TASK_SIZE)) return fail();
  const brk = Number(brkIn);
  // check_data_rlimit(): the heap counts against RLIMIT_DATA (a program image's data segment would too; here there is none).
  const data = task_rlimits(mm.k, ts)[RLIMIT_DATA]!.cur;
  if (data !== Infinity && brk - mm.startBrk > data) return fail();
  const newbrk = pageAlign(brk);
  const oldbrk = pageAlign(mm.brk);
  if (oldbrk === newbrk) {
    mm.brk = brk;
    mmap_write_unlock(t, mm);
    return brk;
  }
  if (brk <= mm.brk) {
    // Shrinking: the heap's own area must span the part given back.
    const vma = find_vma_intersection(t, mm, newbrk, oldbrk);
    if (!vma || vma.vmStart >= oldbrk) return fail();
    mm.brk = brk;
    const r = yield* do_vmi_munmap(t, mm, newbrk, oldbrk - newbrk, false);
    if (r < 0) return fail();
    mmap_write_unlock(t, mm);
    return brk;
  }
  // security_vm_enough_memory_mm(): do_mmap's accounting of the new part answers it.
  // The next area (its guard gap included, for a stack) must leave a page free above the new break.
  const next = find_vma_intersection(t, mm, oldbrk, Math.min(newbrk + PAGE_SIZE + STACK_GUARD_GAP, TASK_SIZE + PAGE_SIZE));
  if (next && newbrk + PAGE_SIZE > next.vmStart) return fail();
  // do_brk_flags(): a private anonymous area, merged with the heap's own when it ends at oldbrk.
  const r = yield* do_mmap(t, mm, null, BigInt(oldbrk), BigInt(newbrk - oldbrk), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0, 0n);
  if (r.ret < 0) return fail();
  mm.brk = brk;
  const populate = (mm.defFlags & VM_LOCKED) !== 0;
  mmap_write_unlock(t, mm);
  if (populate) yield* mm_populate(t, mm, oldbrk, newbrk - oldbrk, true);
  return brk;
}

/** brk(2): returns the new break, or the old one when the request fails. */
export function sys_brk(t: Task, brk: number | bigint): Blocking<number> {
  const mm = current(t).mm!;
  return syscall(t, 'brk', do_brk(t, mm, BigInt.asUintN(64, BigInt(brk))));
}
