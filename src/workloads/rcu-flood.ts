/**
 * rcu-flood: an RCU-protected table replaced over and over (a routing table,
 * a configuration blob) while readers on other CPUs walk it. Each update
 * allocates a new copy, publishes it with rcu_assign_pointer and hands the old
 * one to RCU: with kfree_rcu by default, or waiting in synchronize_rcu
 * (`--sync`) as an update path that cannot defer does. The flood of callbacks
 * shows what deferral costs in memory: callbacks and bytes pending, how long
 * a freed table waits, and how many grace periods it took.
 */
import { bool, int } from '../params/schema.js';
import { call_rcu, rcu_read_lock, rcu_read_unlock, rcuOf, synchronize_rcu } from '../kernel/rcu/tree.js';
import { syscall } from '../kernel/syscalls.js';
import { intern } from '../sim/attribution.js';
import type { Blocking, Task, TaskBody } from '../sim/task.js';
import { defineWorkload } from './types.js';

const CAT_USER = intern('user:rcu-flood');
const CAT_UPDATE = intern('rcu_update_table');
const CAT_READ = intern('rcu_read_table');

interface State {
  /** Kernel address of the published table (rcu_dereference reads it). */
  current: number;
  updates: number;
  reads: number;
  /** Tables allocated and not yet freed (the published one included). */
  live: number;
}

/** The parameters the update and read paths use. */
interface FloodParams {
  table_bytes: number;
  sync: boolean;
}

/*
 * The system calls' bodies are module-level generators, not closures made per
 * call: calling a generator function made afresh costs the host microseconds
 * (each makes its own prototype object), more than the call it simulates.
 */

/** One update: copy the table, publish the copy, free the old one after a grace period. */
function* updateTable(t: Task, p: FloodParams, st: State): Blocking<number> {
  const k = t.k;
  t.enter(CAT_UPDATE);
  const fresh = k.slab.kmalloc(p.table_bytes);
  st.live++;
  // Copy the old table into the new one, then publish (a release store to the pointer's line).
  k.touchRange(t, st.current, p.table_bytes, false);
  k.touchRange(t, fresh, p.table_bytes, true);
  const old = st.current;
  st.current = fresh;
  if (p.sync) {
    yield* synchronize_rcu(t);
    k.slab.kfree(old, p.table_bytes);
    st.live--;
  } else {
    // kfree_rcu, counting the free so the check can see every table come back.
    call_rcu(t, p.table_bytes, () => {
      k.slab.kfree(old, p.table_bytes);
      st.live--;
      return 0;
    }, old);
  }
  st.updates++;
  t.leave();
  return 0;
}

/** One read: walk the first few lines of whatever table is published now, inside rcu_read_lock. */
// A generator so that it runs inside syscall(); it never blocks.
function* readTable(t: Task, p: FloodParams, st: State): Blocking<number> {
  t.enter(CAT_READ);
  rcu_read_lock(t);
  t.k.touchRange(t, st.current, Math.min(p.table_bytes, 512), false);
  rcu_read_unlock(t);
  st.reads++;
  t.leave();
  return 0;
}

export const rcuFlood = defineWorkload({
  name: 'rcu-flood',
  summary: 'an RCU-protected table replaced in a tight loop while readers walk it: callbacks and memory held awaiting grace periods',
  description:
    'One process: --writers threads each replace a shared --table-bytes table --updates times (allocate a copy, publish it with ' +
    'rcu_assign_pointer, free the old one with kfree_rcu, or with --sync wait in synchronize_rcu and free it directly), with ' +
    '--think cycles of user-mode work between updates; --readers threads walk the table --reads times inside rcu_read_lock. ' +
    'Deferred frees pile up until grace periods end, so read rcu_peak_callbacks_pending and rcu_peak_bytes_pending (the memory ' +
    'held), rcu_callback_wait (how long a freed table waited) and rcu_gp_length; --sync trades that memory for update latency ' +
    '(synchronize_rcu in the latency table). The check verifies that every update and read happened, that every deferred table ' +
    'was freed by the end, and that none was freed before a grace period that began after it was unpublished had ended.',
  params: {
    writers: int(2, 'threads replacing the table', { min: 1, max: 256 }),
    readers: int(2, 'threads walking the table under rcu_read_lock', { min: 0, max: 256 }),
    updates: int(2000, 'replacements per writer', { min: 1, max: 10_000_000 }),
    reads: int(4000, 'walks per reader', { min: 0, max: 100_000_000 }),
    table_bytes: int(4096, 'size of the table', { unit: 'B', min: 64, max: 1 << 24 }),
    think: int(3000, 'user-mode cycles between calls', { unit: 'cycles', min: 0, max: 1e12 }),
    sync: bool(false, 'wait in synchronize_rcu instead of kfree_rcu'),
  },

  setup(k, p) {
    const st: State = { current: k.slab.kmalloc(p.table_bytes), updates: 0, reads: 0, live: 1 };
    const think = (t: Task): void => t.chargeAs(CAT_USER, p.think);

    const writer = (t: Task): TaskBody =>
      (function* () {
        for (let i = 0; i < p.updates; i++) {
          think(t);
          yield* syscall(t, 'ioctl', updateTable(t, p, st));
          if (t.shouldYield()) yield;
        }
      })();

    const reader = (t: Task): TaskBody =>
      (function* () {
        for (let i = 0; i < p.reads; i++) {
          think(t);
          yield* syscall(t, 'ioctl', readTable(t, p, st));
          if (t.shouldYield()) yield;
        }
      })();

    const leader = k.spawnProcess('rcu-flood/w0', writer);
    for (let i = 1; i < p.writers; i++) k.spawnThread(leader, `rcu-flood/w${i}`, writer);
    for (let i = 0; i < p.readers; i++) k.spawnThread(leader, `rcu-flood/r${i}`, reader);
    return st;
  },

  check(k, p, st) {
    const out: string[] = [];
    if (st.updates !== p.writers * p.updates) out.push(`made ${st.updates} updates, expected ${p.writers * p.updates}`);
    if (st.reads !== p.readers * p.reads) out.push(`made ${st.reads} reads, expected ${p.readers * p.reads}`);
    if (st.live !== 1) out.push(`${st.live - 1} replaced tables were never freed`);
    const v = rcuOf(k).violations;
    if (v.length) out.push(`${v.length} objects freed before their grace period ended (first: ${JSON.stringify(v[0])})`);
    return out;
  },

  figureDefs: {
    updates_per_sec: { unit: 'updates/s', definition: 'table replacements by all writers per simulated second of the whole run' },
    grace_periods: { unit: 'grace periods', definition: 'RCU grace periods completed (rcu_grace_periods)' },
    peak_callbacks_pending: { unit: 'callbacks', definition: 'most RCU callbacks queued at once (rcu_peak_callbacks_pending)' },
    peak_bytes_pending: { unit: 'B', definition: 'most bytes held by frees waiting for a grace period at once (rcu_peak_bytes_pending)' },
  },
  headline: 'peak_bytes_pending',

  figures(k, p) {
    const c = k.engine.counters;
    const seconds = k.engine.maxClock() / (k.cfg.clock_ghz * 1e9);
    return {
      updates_per_sec: seconds > 0 ? (p.writers * p.updates) / seconds : 0,
      grace_periods: c.get('rcu_grace_periods'),
      peak_callbacks_pending: c.get('rcu_peak_callbacks_pending'),
      peak_bytes_pending: c.get('rcu_peak_bytes_pending'),
    };
  },

  progress(k, p, st) {
    return st.updates / (p.writers * p.updates);
  },
});
