/**
 * The OOM killer, after mm/oom_kill.c: when reclaim can free nothing and an
 * allocation must not fail, pick the process using the most memory
 * (oom_badness: resident pages, swap entries and page tables), send it
 * SIGKILL and reap its private memory so the allocation can go on.
 *
 * What it says is kept as the kernel would log it ("Out of memory: Killed
 * process 7 (hog) total-vm:..."), in oomMessages(k), and counted as
 * oom_kill. SIGKILL is left pending on every thread of the victim
 * (fatal_signal_pending); a task dies when it next returns to user mode,
 * which the user-mode side of the simulator checks.
 *
 * The reaper (__oom_reap_task_mm) runs at once in the killer's context
 * instead of in the oom_reaper thread two seconds later: it unmaps the
 * victim's anonymous and private areas under mmap_lock taken for reading
 * (retrying ten times at HZ/10 if a writer holds it), then marks the mm
 * MMF_OOM_SKIP so the next OOM chooses someone else. Processes are all
 * candidates (the simulator has no init to protect); oom_score_adj is 0.
 */
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { TaskState } from '../../sim/task.js';
import type { Kernel } from '../kernel.js';
import { current, type TaskStruct } from '../sched/task_struct.js';
import { zap_thread } from '../signal.js';
import { unmap_page_range } from './memory_zap.js';
import { MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES, MM_SWAPENTS, PAGE_SIZE, VM_HUGETLB, VM_PFNMAP, VM_SHARED, type MmStruct } from './mm_types.js';
import { tlb_finish_mmu, tlb_gather_mmu } from './mmu_gather.js';

/** MAX_OOM_REAP_RETRIES. */
const MAX_OOM_REAP_RETRIES = 10;

const CAT_OUT_OF_MEMORY = intern('out_of_memory');
const CAT_SELECT = intern('select_bad_process');
const CAT_REAP = intern('oom_reap_task_mm');

export class OomState {
  readonly messages: string[] = [];
  /** Killed processes (thread-group leaders), in order. */
  readonly victims: TaskStruct[] = [];
  /** Address spaces already reaped (MMF_OOM_SKIP). */
  readonly skip = new Set<MmStruct>();
}

function oomState(k: Kernel): OomState {
  return (k.oom ??= new OomState());
}

/** What the OOM killer logged, oldest first. */
export function oomMessages(k: Kernel): readonly string[] {
  return oomState(k).messages;
}

/** Processes the OOM killer killed, oldest first. */
export function oomVictims(k: Kernel): readonly TaskStruct[] {
  return oomState(k).victims;
}

/** mm_is_oom_victim / MMF_OOM_SKIP: the OOM reaper has taken this address space's memory. */
export function mm_oom_reaped(k: Kernel, mm: MmStruct): boolean {
  return oomState(k).skip.has(mm);
}

/** fatal_signal_pending(): SIGKILL is pending on the task. */
export function fatal_signal_pending(ts: TaskStruct): boolean {
  return ts.sigkillPending;
}

/**
 * do_send_sig_info(SIGKILL, ..., PIDTYPE_TGID) at simulated time `time`: every
 * thread of the process gets it, and one asleep interruptibly or killably
 * (a lock wait, nanosleep, sigsuspend) is woken to die, as complete_signal's
 * signal_wake_up does for a fatal signal.
 */
export function send_sigkill(ts: TaskStruct, time: number): void {
  for (const th of ts.group) zap_thread(th, time);
}

/** oom_badness(): pages the process would give back. */
export function oom_badness(mm: MmStruct): number {
  return mm.rssPages + mm.rss[MM_SWAPENTS]! + Math.floor(mm.pgtablesBytes / PAGE_SIZE);
}

function kb(pages: number): number {
  return pages * (PAGE_SIZE / 1024);
}

/**
 * select_bad_process(): the live user process with the highest badness
 * (a later one wins a tie, as for_each_process order does); 'abort' while
 * an earlier victim still holds its memory.
 */
function select_bad_process(t: Task): TaskStruct | 'abort' | null {
  const k = t.k;
  const s = oomState(k);
  let chosen: TaskStruct | null = null;
  let best = -1;
  t.enter(CAT_SELECT);
  for (const ts of k.tasks()) {
    if (ts.kernelThread || !ts.isGroupLeader || !ts.mm) continue;
    if (ts.task && ts.task.state === TaskState.Done) continue;
    const mm = ts.mm;
    t.charge(k.machine.caches.access(t.cpu, mm.kaddr, false) + k.cfg.kernel.cost.kernel_op);
    if (s.skip.has(mm)) continue;
    if (fatal_signal_pending(ts)) {
      t.leave();
      return 'abort';
    }
    const points = oom_badness(mm);
    if (points >= best) {
      best = points;
      chosen = ts;
    }
  }
  t.leave();
  return chosen;
}

/** __oom_reap_task_mm(): unmap the private memory of the victim's areas (not hugetlb, not PFN maps, not shared file maps). */
function* oom_reap_task_mm(t: Task, mm: MmStruct): Blocking<void> {
  t.enter(CAT_REAP);
  for (const vma of [...mm.vmas]) {
    if ((vma.vmFlags & (VM_HUGETLB | VM_PFNMAP)) !== 0) continue;
    if (!vma.isAnonymous && (vma.vmFlags & VM_SHARED) !== 0) continue;
    const tlb = tlb_gather_mmu(t, mm);
    yield* unmap_page_range(t, tlb, vma, vma.vmStart, vma.vmEnd, null);
    yield* tlb_finish_mmu(t, tlb);
  }
  t.leave();
}

/** oom_reap_task(): reap under mmap_lock held for reading, retrying while a writer holds it; the mm is skipped from then on. */
function* oom_reap_task(t: Task, mm: MmStruct): Blocking<void> {
  const k = t.k;
  for (let attempt = 0; attempt < MAX_OOM_REAP_RETRIES; attempt++) {
    if (mm.mmapLock.downReadTrylock(t)) {
      yield* oom_reap_task_mm(t, mm);
      mm.mmapLock.upRead(t);
      break;
    }
    yield t.sleepFor(Math.max(1, Math.floor(k.cfg.kernel.hz / 10)) * k.engine.tickPeriod);
  }
  oomState(k).skip.add(mm);
}

/**
 * out_of_memory(): kill the biggest process and reap it. Returns the frames
 * this freed (0 when there was no one to kill, an earlier victim is still
 * going, or the allocating task itself is dying).
 */
export function* out_of_memory(t: Task): Blocking<number> {
  const k = t.k;
  const s = oomState(k);
  const me = current(t);
  if (fatal_signal_pending(me)) return 0;
  t.enter(CAT_OUT_OF_MEMORY);
  const victim = select_bad_process(t);
  if (victim === 'abort') {
    t.leave();
    return 0;
  }
  s.messages.push(`${me.comm} invoked oom-killer: gfp_mask=GFP_HIGHUSER_MOVABLE, order=0, oom_score_adj=0`);
  if (!victim) {
    s.messages.push('Out of memory and no killable processes...');
    k.engine.counters.add('oom_no_victim');
    t.leave();
    return 0;
  }
  const mm = victim.mm!;
  s.messages.push(
    `Out of memory: Killed process ${victim.pid} (${victim.comm}) total-vm:${kb(mm.totalVm)}kB, anon-rss:${kb(mm.rss[MM_ANONPAGES]!)}kB, ` +
      `file-rss:${kb(mm.rss[MM_FILEPAGES]!)}kB, shmem-rss:${kb(mm.rss[MM_SHMEMPAGES]!)}kB, UID:${victim.cred.uid} pgtables:${mm.pgtablesBytes >> 10}kB oom_score_adj:0`,
  );
  k.engine.counters.add('oom_kill');
  send_sigkill(victim, t.now);
  s.victims.push(victim);
  const before = k.mem_map.freeCount;
  yield* oom_reap_task(t, mm);
  const freed = Math.max(0, k.mem_map.freeCount - before);
  s.messages.push(
    `oom_reaper: reaped process ${victim.pid} (${victim.comm}), now anon-rss:${kb(mm.rss[MM_ANONPAGES]!)}kB, file-rss:${kb(mm.rss[MM_FILEPAGES]!)}kB, shmem-rss:${kb(mm.rss[MM_SHMEMPAGES]!)}kB`,
  );
  t.leave();
  return freed;
}

/**
 * pagefault_out_of_memory(): a fault ended in VM_FAULT_OOM. Unless the task
 * is already dying, run the OOM killer (the fault is then retried).
 */
export function* pagefault_out_of_memory(t: Task): Blocking<void> {
  if (fatal_signal_pending(current(t))) return;
  yield* out_of_memory(t);
}
