/**
 * A swap device: numbered 4 KiB slots, and requests that complete in
 * simulated time. Each request takes the device's per-request latency plus
 * its transfer time at the device's bandwidth; up to `queue_depth` requests
 * are served at once and later ones wait in the queue for a free server,
 * so a burst of swap-outs sees queueing delay as a real device does.
 *
 * The device stores what the kernel writes to a slot as an opaque value (the
 * kernel decides the representation of page contents); reading returns it.
 */
import type { HardwareConfig } from './config.js';

export class SwapDevice {
  readonly slots: number;
  readonly readLatency: number;
  readonly writeLatency: number;
  /** Cycles to transfer one byte. */
  readonly cyclesPerByte: number;
  private readonly serverFree: Float64Array;
  private readonly used: Uint8Array;
  private readonly data: unknown[] = [];
  private nextHint = 0;
  usedSlots = 0;
  reads = 0;
  writes = 0;
  /** Sum over requests of cycles spent waiting for a free server. */
  queueWait = 0;

  constructor(cfg: HardwareConfig) {
    const hz = cfg.clock_ghz * 1e9;
    this.slots = cfg.swap.size_mib * 256;
    this.readLatency = Math.round((cfg.swap.read_latency_us * hz) / 1e6);
    this.writeLatency = Math.round((cfg.swap.write_latency_us * hz) / 1e6);
    this.cyclesPerByte = hz / (cfg.swap.bandwidth_mbps * 1e6);
    this.serverFree = new Float64Array(cfg.swap.queue_depth);
    this.used = new Uint8Array(this.slots);
  }

  /** Cycles one request of `bytes` occupies a server, excluding queueing. */
  serviceTime(write: boolean, bytes: number): number {
    return (write ? this.writeLatency : this.readLatency) + Math.round(bytes * this.cyclesPerByte);
  }

  /**
   * Submit a request at `now`; returns the time it completes. The server that
   * frees first takes it (lowest index on ties, so the result is deterministic).
   */
  submit(now: number, write: boolean, bytes = 4096): number {
    let best = 0;
    for (let i = 1; i < this.serverFree.length; i++) if (this.serverFree[i]! < this.serverFree[best]!) best = i;
    const start = Math.max(now, this.serverFree[best]!);
    const done = start + this.serviceTime(write, bytes);
    this.serverFree[best] = done;
    this.queueWait += start - now;
    if (write) this.writes++;
    else this.reads++;
    return done;
  }

  /** A free slot (lowest first after the last allocation, as the kernel's cluster scan tends to), or -1 when full. */
  allocSlot(): number {
    if (this.usedSlots >= this.slots) return -1;
    for (let n = 0; n < this.slots; n++) {
      const s = (this.nextHint + n) % this.slots;
      if (!this.used[s]) {
        this.used[s] = 1;
        this.usedSlots++;
        this.nextHint = s + 1;
        return s;
      }
    }
    return -1;
  }

  freeSlot(slot: number): void {
    if (!this.used[slot]) throw new Error(`swap slot ${slot} freed twice`);
    this.used[slot] = 0;
    this.data[slot] = undefined;
    this.usedSlots--;
  }

  isUsed(slot: number): boolean {
    return this.used[slot] === 1;
  }

  store(slot: number, value: unknown): void {
    if (!this.used[slot]) throw new Error(`swap slot ${slot} written while free`);
    this.data[slot] = value;
  }

  load(slot: number): unknown {
    if (!this.used[slot]) throw new Error(`swap slot ${slot} read while free`);
    return this.data[slot];
  }

  counters(): Record<string, number> {
    return { swap_dev_reads: this.reads, swap_dev_writes: this.writes, swap_slots_used: this.usedSlots, swap_queue_wait_cycles: this.queueWait };
  }
}
