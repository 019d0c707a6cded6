/**
 * fd-server: a multi-threaded server's fd table under load. Acceptor
 * threads open ("accept") connections and close the oldest once they hold
 * --hold of them, so the table grows while the load builds (64 embedded
 * fds, then 128, 256, ... 8192 with the defaults; tables above 4096 fds are
 * vmalloc'ed), and every close sends a struct file through RCU. Lookup
 * threads meanwhile look random fds up (fcntl F_GETFL, which takes and drops
 * a file reference since the table is shared), under rcu_read_lock against
 * tables being replaced. Every thread does user-mode work between calls, so
 * scheduler ticks find CPUs in user mode: quiescent states.
 *
 * The results show fd-table expansions and the tables freed after their
 * grace periods (directly in the RCU callback, or through the per-CPU
 * deferral list and a worker for vmalloc'ed ones), grace-period lengths,
 * callbacks and bytes pending, and contention on files_struct.file_lock.
 */
import { int } from '../params/schema.js';
import { EBADF } from '../kernel/errno.js';
import { sys_close, sys_fcntl, sys_open } from '../kernel/fs/fd_syscalls.js';
import { filesState, type FilesStruct } from '../kernel/fs/file.js';
import { F_GETFL, O_RDWR } from '../kernel/fs/uapi_fcntl.js';
import type { Kernel } from '../kernel/kernel.js';
import { rcuOf } from '../kernel/rcu/tree.js';
import type { TaskStruct } from '../kernel/sched/task_struct.js';
import { intern } from '../sim/attribution.js';
import type { Task, TaskBody } from '../sim/task.js';
import { defineWorkload } from './types.js';

const CAT_USER = intern('user:server');

interface State {
  leader: TaskStruct | null;
  accepted: number[];
  lookups: number[];
  hits: number;
  misses: number;
  /** One past the highest fd any acceptor holds: lookups draw below it. */
  fdCeiling: number;
  failures: string[];
}

export const fdServer = defineWorkload({
  name: 'fd-server',
  summary: 'a threaded server opening, closing and looking up thousands of fds: fd-table growth, RCU and file_lock contention',
  description:
    'One process with --acceptors threads that each accept (open) --connections connections, keeping the newest --hold open and ' +
    'closing the oldest, and --lookers threads that each look up --lookups random fds with fcntl(F_GETFL), all with --think cycles ' +
    'of user-mode work between calls. The shared fd table grows in the kernel\'s steps while connections pile up; each old table ' +
    'is handed to RCU and freed after a grace period (large, vmalloc\'ed tables through the per-CPU deferral list and a worker), ' +
    'and each closed connection\'s struct file is freed through call_rcu too. Read rcu_gp_length, rcu_callback_wait, ' +
    'rcu_peak_callbacks_pending, rcu_peak_bytes_pending, fdtable_expand, fdtable_free_deferred and ' +
    'lock_contended:files_struct.file_lock. The check verifies that every connection was accepted and closed, that every fd a ' +
    'thread held named a file, and that no table or file was freed before a grace period that began after it was unpublished had ended.',
  params: {
    acceptors: int(4, 'threads accepting and closing connections', { min: 1, max: 256 }),
    lookers: int(4, 'threads looking fds up', { min: 0, max: 256 }),
    connections: int(4000, 'connections each acceptor accepts', { min: 1, max: 10_000_000 }),
    hold: int(2500, 'connections an acceptor keeps open; it closes the oldest past this', { min: 1, max: 1 << 20 }),
    lookups: int(4000, 'fd lookups each looker makes', { min: 0, max: 100_000_000 }),
    think: int(20000, 'user-mode work between calls (handling a request)', { unit: 'cycles', min: 0, max: 1e12 }),
  },

  setup(k, p) {
    const st: State = { leader: null, accepted: new Array<number>(p.acceptors).fill(0), lookups: new Array<number>(p.lookers).fill(0), hits: 0, misses: 0, fdCeiling: 3, failures: [] };
    const ncpu = k.cfg.cpus;
    const bodies: { name: string; body: (t: Task) => TaskBody }[] = [];
    for (let i = 0; i < p.acceptors; i++) bodies.push({ name: `acceptor/${i}`, body: acceptor(k, st, i, p.connections, p.hold, p.think) });
    for (let i = 0; i < p.lookers; i++) bodies.push({ name: `looker/${i}`, body: looker(k, st, i, p.lookups, p.think, k.engine.rng.nextU32() | 1) });
    const first = bodies[0]!;
    const leader = k.spawnProcess(`fd-server`, first.body, { cpu: 0 });
    // The server was started with a raised limit (ulimit -n), as servers are.
    const limit = Math.min(k.cfg.kernel.nr_open, Math.max(1024, p.acceptors * p.hold * 2 + 64));
    leader.rlimitNofile.cur = limit;
    leader.rlimitNofile.max = Math.max(limit, leader.rlimitNofile.max);
    st.leader = leader;
    bodies.slice(1).forEach((b, i) => k.spawnThread(leader, b.name, b.body, { cpu: (i + 1) % ncpu }));
    return st;
  },

  check(k, p, st) {
    const out = [...st.failures];
    st.accepted.forEach((n, i) => {
      if (n !== p.connections) out.push(`acceptor ${i} accepted ${n} of ${p.connections} connections`);
    });
    st.lookups.forEach((n, i) => {
      if (n !== p.lookups) out.push(`looker ${i} made ${n} of ${p.lookups} lookups`);
    });
    const files = st.leader?.files as FilesStruct | null;
    if (files) {
      let open = 0;
      for (let fd = 0; fd < files.fdt.max_fds; fd++) if (files.fdt.open_fds[fd]) open++;
      if (open !== 3) out.push(`${open} fds open at the end; expected only 0-2`);
    }
    for (const v of filesState(k).violations) out.push(`fd table of ${v.maxFds} fds unpublished at ${v.unpublishedAt} freed at ${v.freedAt} before a full grace period`);
    for (const v of rcuOf(k).violations) out.push(`RCU callback queued at ${v.queuedAt} ran at ${v.invokedAt}, before grace period ${v.gp} (${v.gpStart}-${v.gpEnd}) was over`);
    return out;
  },

  figureDefs: {
    connections: { unit: 'connections', definition: 'connections accepted and closed (--acceptors x --connections)' },
    lookups: { unit: 'lookups', definition: 'fcntl(F_GETFL) lookups made (--lookers x --lookups)' },
    lookup_hit_percent: { unit: '%', definition: 'lookups that found an open fd' },
    rcu_gp_length_p50_cycles: { unit: 'cycles', definition: 'median RCU grace-period length, from its start to its end' },
    rcu_callback_wait_p50_cycles: { unit: 'cycles', definition: 'median time from call_rcu (an old fd table or a closed file handed to RCU) to its callback running' },
    rcu_callback_wait_p99_cycles: { unit: 'cycles', definition: '99th percentile of the same wait: how long freed memory is held' },
  },
  headline: 'rcu_callback_wait_p99_cycles',

  figures(k, p, st) {
    const e = k.engine;
    const gp = e.samples.of('rcu_gp_length').percentiles();
    const wait = e.samples.of('rcu_callback_wait').percentiles();
    return {
      connections: p.acceptors * p.connections,
      lookups: p.lookers * p.lookups,
      lookup_hit_percent: st.hits + st.misses > 0 ? Math.round((st.hits / (st.hits + st.misses)) * 1000) / 10 : 0,
      rcu_gp_length_p50_cycles: gp.p50,
      rcu_callback_wait_p50_cycles: wait.p50,
      rcu_callback_wait_p99_cycles: wait.p99,
    };
  },

  progress(k, p, st) {
    const total = p.acceptors * p.connections + p.lookers * p.lookups;
    const done = st.accepted.reduce((s, n) => s + n, 0) + st.lookups.reduce((s, n) => s + n, 0);
    return total > 0 ? done / total : 1;
  },
});

function userWork(t: Task, cycles: number): void {
  if (cycles <= 0) return;
  t.enter(CAT_USER);
  t.charge(cycles);
  t.leave();
}

function acceptor(k: Kernel, st: State, idx: number, connections: number, hold: number, think: number) {
  return function* (t: Task): TaskBody {
    const held: number[] = [];
    let head = 0;
    for (let i = 0; i < connections; i++) {
      userWork(t, think);
      const fd = yield* sys_open(t, '/dev/null', O_RDWR, 0);
      if (fd < 0) {
        st.failures.push(`acceptor ${idx}: accept ${i} failed with ${-fd}`);
        return;
      }
      held.push(fd);
      if (fd + 1 > st.fdCeiling) st.fdCeiling = fd + 1;
      st.accepted[idx]!++;
      if (held.length - head > hold) {
        const r = yield* sys_close(t, held[head++]!);
        if (r !== 0) st.failures.push(`acceptor ${idx}: close failed with ${-r}`);
      }
      if (t.shouldYield()) yield;
    }
    while (head < held.length) {
      userWork(t, think);
      const r = yield* sys_close(t, held[head++]!);
      if (r !== 0) st.failures.push(`acceptor ${idx}: close failed with ${-r}`);
      if (t.shouldYield()) yield;
    }
  };
}

function looker(k: Kernel, st: State, idx: number, lookups: number, think: number, seed: number) {
  return function* (t: Task): TaskBody {
    let x = seed;
    for (let i = 0; i < lookups; i++) {
      userWork(t, think);
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      const fd = (x >>> 0) % st.fdCeiling;
      const r = yield* sys_fcntl(t, fd, F_GETFL, 0);
      if (r >= 0) st.hits++;
      else if (r === -EBADF) st.misses++;
      else st.failures.push(`looker ${idx}: fcntl(${fd}) failed with ${-r}`);
      st.lookups[idx]!++;
      if (t.shouldYield()) yield;
    }
  };
}
