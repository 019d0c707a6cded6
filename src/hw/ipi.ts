/**
 * The inter-processor interrupt fabric: what sending, delivering, handling
 * and acknowledging an IPI costs. Timing (delivery at t + latency, the sender
 * waiting for acknowledgements) is the engine's; this unit holds the costs and
 * counts what crossed it.
 */
import type { MachineConfig } from './config.js';

export class IpiFabric {
  readonly sendCost: number;
  readonly latency: number;
  readonly handlerCost: number;
  readonly ackCost: number;
  readonly sent: Float64Array;
  readonly received: Float64Array;

  constructor(cfg: MachineConfig) {
    this.sendCost = cfg.cost.ipi_send;
    this.latency = cfg.cost.ipi_latency;
    this.handlerCost = cfg.cost.ipi_handler;
    this.ackCost = cfg.cost.ipi_ack;
    this.sent = new Float64Array(cfg.cpus);
    this.received = new Float64Array(cfg.cpus);
  }

  counters(): Record<string, number> {
    let s = 0;
    let r = 0;
    for (let i = 0; i < this.sent.length; i++) {
      s += this.sent[i]!;
      r += this.received[i]!;
    }
    return { ipi_sent: s, ipi_received: r };
  }
}
