/**
 * MemBandwidth: the machine's DRAM channels as one shared server of
 * bandwidth. Every CPU's traffic to DRAM goes through it: the line fills of
 * LLC misses and the streamed copies (clear_page, copy_page, the user and
 * kernel copies of uaccess streamUser / Kernel.streamRange). While the
 * channels have room a transfer takes what it would take alone; when the
 * CPUs together ask for more bytes than the channels move, the transfers
 * that come later queue and their CPUs stall.
 *
 * The channels move `bytesPerCycle` = channels x MT/s x 8 bytes x the
 * achievable fraction (STREAM over the wire rate), at the machine's clock.
 *
 * Time is cut into bins of BIN_CYCLES cycles; each bin can move
 * bytesPerCycle x BIN_CYCLES bytes. A transfer of `bytes` starting at time
 * t that would take `cycles` alone moves at its own rate (bytes / cycles)
 * through the bins from t on, in each bin at most what is left of the bin's
 * capacity; it finishes when its last byte is moved, and the CPU stalls for
 * the time past t + cycles. A bin's bytes are counted, not placed within it
 * (a fluid model at the bin's resolution). One transfer alone never stalls
 * while its own rate is at most the channels' (its bytes fill a bin no
 * faster than the bin's share of its time).
 *
 * CPUs' clocks are not in lockstep (the engine runs the lowest-clocked CPU
 * up to a quantum ahead of the next), so requests arrive a little out of
 * time order: a calendar of bins lets a request that comes late for an
 * early time use what that early bin had left, instead of queueing behind
 * later ones as a single "busy until" would. The ring holds RING_BINS bins;
 * a request for a bin older than the ring (a CPU lagging by more than ~4M
 * cycles) finds it free.
 *
 * Deterministic: the result depends only on the order and times of the
 * requests, which the engine fixes.
 */
import type { HardwareConfig } from './config.js';

/** Bin width: ~340 ns at 3 GHz, a few 4 KiB pages' time at one core's stream rate. */
export const BIN_CYCLES = 1024;
const RING_BINS = 4096;
const RING_MASK = RING_BINS - 1;

export class MemBandwidth {
  /** Bytes the channels move per cycle of the machine's clock. */
  readonly bytesPerCycle: number;
  /** Bytes one bin can move. */
  readonly binBytes: number;
  private readonly used = new Float64Array(RING_BINS);
  private readonly tag = new Float64Array(RING_BINS).fill(-1);
  /** The CPUs' clocks (the engine's), attached by the kernel; null: no time, nothing queues. */
  private clock: Float64Array | null = null;
  /** Per CPU: > 0 while a stream gathers its line fills (the caller makes one transfer of them). */
  private readonly gathering: Int32Array;
  private readonly gathered: Float64Array;
  /** Per CPU: when its last line fill completes (line()). */
  private readonly cursor: Float64Array;
  /** Totals: bytes moved, and cycles CPUs stalled waiting for the channels. */
  bytes = 0;
  stallCycles = 0;

  constructor(cfg: HardwareConfig) {
    const m = cfg.mem;
    this.bytesPerCycle = (m.channels * m.mt_s * 1e6 * 8 * m.stream_fraction) / (cfg.clock_ghz * 1e9);
    this.binBytes = this.bytesPerCycle * BIN_CYCLES;
    this.gathering = new Int32Array(cfg.cpus);
    this.gathered = new Float64Array(cfg.cpus);
    this.cursor = new Float64Array(cfg.cpus);
  }

  /** dram_bytes: bytes the channels moved (line fills and streams); dram_stall_cycles: cycles CPUs waited for them. */
  counters(): Record<string, number> {
    return { dram_bytes: this.bytes, dram_stall_cycles: this.stallCycles };
  }

  attachClock(clock: Float64Array): void {
    this.clock = clock;
  }

  /** The CPU's current time (its clock), or -1 when no clock is attached. */
  now(cpu: number): number {
    return this.clock === null ? -1 : this.clock[cpu]!;
  }

  /**
   * A line fill of an LLC miss by `cpu` whose latency alone is `cycles`:
   * the extra cycles it waits for the channels. Inside a stream
   * (beginStream) the line is only counted: the stream makes one transfer.
   */
  line(cpu: number, bytes: number, cycles: number): number {
    if (this.gathering[cpu]! > 0) {
      this.gathered[cpu]! += bytes;
      return 0;
    }
    if (this.clock === null) return 0;
    // Callers sum the latencies of a run of accesses and charge them at its end, so the clock stands still
    // during the run: a miss is placed after the CPU's previous one has completed (a dependent miss waits
    // for it), or at the clock when that is later.
    const c = this.clock[cpu]!;
    const t = this.cursor[cpu]! > c ? this.cursor[cpu]! : c;
    const stall = this.transfer(t, bytes, cycles);
    this.cursor[cpu] = t + cycles + stall;
    return stall;
  }

  /** A stream by `cpu` starts: its LLC misses are gathered until endStream. */
  beginStream(cpu: number): void {
    if (this.gathering[cpu]!++ === 0) this.gathered[cpu] = 0;
  }

  /** The stream ends: the bytes its line fills brought from DRAM. */
  endStream(cpu: number): number {
    this.gathering[cpu]!--;
    return this.gathering[cpu]! > 0 ? 0 : this.gathered[cpu]!;
  }

  /**
   * `bytes` to or from DRAM starting at time t, taking `cycles` if the
   * channels had room: the extra cycles the transfer waits (0 when they
   * have room). t < 0 (no clock): nothing is queued.
   */
  transfer(t: number, bytes: number, cycles: number): number {
    if (bytes <= 0 || t < 0) return 0;
    this.bytes += bytes;
    const rate = bytes / Math.max(1, cycles);
    const cap = this.binBytes;
    let rem = bytes;
    let time = t;
    for (;;) {
      const b = Math.floor(time / BIN_CYCLES);
      const slot = b & RING_MASK;
      const end = (b + 1) * BIN_CYCLES;
      const window = end - time;
      const tg = this.tag[slot]!;
      let free: number;
      if (tg === b) free = cap - this.used[slot]!;
      else if (tg > b) free = Infinity; // older than the ring: taken as free, not recorded
      else {
        this.tag[slot] = b;
        this.used[slot] = 0;
        free = cap;
      }
      const can = Math.min(rate * window, free);
      if (can >= rem) {
        if (free !== Infinity) this.used[slot]! += rem;
        const finish = time + (rem * window) / can;
        // (a hair of tolerance: a transfer alone finishes at t + cycles up to rounding)
        const stall = Math.max(0, Math.ceil(finish - t - cycles - 1e-6));
        this.stallCycles += stall;
        return stall;
      }
      if (can > 0) {
        if (free !== Infinity) this.used[slot]! += can;
        rem -= can;
      }
      time = end;
    }
  }
}
