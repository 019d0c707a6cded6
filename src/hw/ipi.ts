/**
 * The inter-processor interrupt fabric: what sending, delivering, handling
 * and acknowledging an IPI costs. Timing (delivery at t + latency, the sender
 * waiting for acknowledgements) is the engine's; this unit holds the costs and
 * counts what crossed it.
 */
import type { HardwareConfig } from './config.js';

export class IpiFabric {
  readonly sendCost: number;
  readonly latency: number;
  readonly handlerCost: number;
  readonly ackCost: number;
  readonly sent: Float64Array;
  readonly received: Float64Array;
  /** In a guest: the sender's VM exits, once per send (a PV IPI hypercall for the whole mask) or once per destination (trapped ICR writes). */
  readonly exitPerSend: number;
  readonly exitPerTarget: number;
  /** In a guest without posted interrupts: the target's exit (the kick) and the injection at re-entry. */
  readonly exitOnDelivery: number;
  /** VM exits taken by senders and targets (for reports). */
  vmExits = 0;

  constructor(cfg: HardwareConfig) {
    this.sendCost = cfg.cost.ipi_send;
    this.latency = cfg.cost.ipi_latency;
    this.handlerCost = cfg.cost.ipi_handler;
    this.ackCost = cfg.cost.ipi_ack;
    this.sent = new Float64Array(cfg.cpus);
    this.received = new Float64Array(cfg.cpus);
    const v = cfg.virt;
    this.exitPerSend = v.enabled && v.pv_ipi ? v.vm_exit : 0;
    this.exitPerTarget = v.enabled && !v.pv_ipi ? v.vm_exit : 0;
    this.exitOnDelivery = v.enabled && !v.posted_interrupts ? v.vm_exit : 0;
  }

  counters(): Record<string, number> {
    let s = 0;
    let r = 0;
    for (let i = 0; i < this.sent.length; i++) {
      s += this.sent[i]!;
      r += this.received[i]!;
    }
    return this.vmExits > 0 ? { ipi_sent: s, ipi_received: r, vm_exits_ipi: this.vmExits } : { ipi_sent: s, ipi_received: r };
  }
}
