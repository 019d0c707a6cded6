/**
 * The engine's interface types: the hooks the layer above plugs in, IPI
 * handlers, spawn options, and the trace records it keeps.
 */
import type { Task } from './task.js';

export interface SchedHooks {
  /** A task was created, before its body starts: the layer above fills in its own fields of the task. */
  taskInit?(t: Task): void;
  /** CPU `cpu` switches from `prev` (null: idle) to `next`; returns the cycles this subsystem's part costs (every hook is called, costs add). */
  contextSwitch?(cpu: number, prev: Task | null, next: Task): number;
  /** A scheduler tick on a busy CPU. */
  tick?(cpu: number, task: Task | null, time: number): void;
  idleEnter?(cpu: number, time: number): void;
  idleExit?(cpu: number, time: number): void;
}

/** Runs on the target CPU when an IPI arrives; returns the cycles its work took (beyond the fabric's handler cost). */
export type IpiHandler = (cpu: number, time: number) => number;

export interface SpawnOptions {
  /** Start on this CPU (default: the least loaded). */
  cpu?: number;
  /** Pin to `cpu` (default false). */
  pinned?: boolean;
  kernelThread?: boolean;
  /** Start time (default: the chosen CPU's clock). */
  at?: number;
  data?: unknown;
}

export interface TraceSlice {
  cpu: number;
  ts: number;
  dur: number;
  name: string;
  /** What the slice is (syscall, fault, lock, rcu_gp, rcu_exp_gp, rcu_cb); absent for an IPI handler. */
  cat?: string;
}

export interface TraceFlow {
  fromCpu: number;
  fromTs: number;
  toCpu: number;
  toTs: number;
  name: string;
}
