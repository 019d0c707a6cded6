/**
 * Steal time of a virtualised machine: each vCPU is off its CPU (the host
 * runs something else) for `len` cycles in every `period`, at a phase
 * staggered by CPU so the vCPUs are not all preempted at once. Bare metal,
 * or a guest without steal time, has `len` 0.
 */
import type { MachineConfig } from '../config/machine.js';

export class StealSchedule {
  readonly period: number;
  readonly len: number;

  constructor(
    cfg: MachineConfig,
    private readonly ncpus: number,
  ) {
    const v = cfg.virt;
    this.period = Math.max(1, Math.round(v.steal_period_us * 1000 * cfg.clock_ghz));
    this.len = v.enabled ? Math.round((this.period * v.steal_pct) / 100) : 0;
  }

  private phase(cpu: number): number {
    return Math.floor((cpu * this.period) / this.ncpus);
  }

  /** The end of the steal slice vCPU `cpu` is in at `time`, or -1 when it runs then (always -1 without steal time). */
  preemptedUntil(cpu: number, time: number): number {
    if (this.len === 0) return -1;
    const phase = this.phase(cpu);
    const start = phase + Math.floor((time - phase) / this.period) * this.period;
    return time >= start && time < start + this.len ? start + this.len : -1;
  }

  /** The start of the first steal slice of vCPU `cpu` after `time`. */
  nextStart(cpu: number, time: number): number {
    const phase = this.phase(cpu);
    return phase + (Math.floor((time - phase) / this.period) + 1) * this.period;
  }
}
