/**
 * What the access pipeline (Mmu.run) takes and gives back: an address
 * stream and a per-CPU outcome record.
 *
 * An AddressStream yields the virtual addresses of a run of accesses, all
 * reads or all writes:
 *   stride   base, base + stride, base + 2 * stride, ...
 *   random   uniformly random 8-byte-aligned addresses in [base, base + len),
 *            drawn with xorshift32 (13, 17, 5) from a non-zero state
 *   trace    the addresses held in a buffer, from a position on
 * A run consumes the addresses it completes: the stream then continues from
 * the first access not done (the faulting one, after a fault), so calling
 * run again with the same stream retries it.
 *
 * An AccessOutcome says how a run ended, as values: how many accesses were
 * done, the cycles spent, and, if an access faulted, which one, why and what
 * its TLB lookup and walk cost. The MMU keeps one per CPU and returns it
 * from every run: read it before the CPU's next run.
 */
import type { Cycles, Vaddr } from './types.js';

/** Not present at some level of the walk. */
export const FAULT_NOT_PRESENT = -1;
/** Present, but the rights do not allow the access (a write to a read-only page, a user access to a supervisor page). */
export const FAULT_PROTECTION = -2;
/** 0: no fault; else why the access faulted. */
export type FaultCode = 0 | typeof FAULT_NOT_PRESENT | typeof FAULT_PROTECTION;

export const STREAM_STRIDE = 0;
export const STREAM_RANDOM = 1;
export const STREAM_TRACE = 2;
export type StreamKind = typeof STREAM_STRIDE | typeof STREAM_RANDOM | typeof STREAM_TRACE;

const EMPTY_TRACE = new Float64Array(0);

export class AddressStream {
  kind: StreamKind = STREAM_STRIDE;
  /** stride: the next address; random: the bottom of the range. */
  base: Vaddr = 0;
  /** stride: bytes from one address to the next (may be negative or 0). */
  stride = 0;
  /** random: 8-byte slots in the range. */
  slots = 0;
  /** random: the xorshift32 state the next address is drawn from (non-zero). */
  state = 1;
  /** trace: the addresses, and the position of the next one. */
  trace: Float64Array = EMPTY_TRACE;
  pos = 0;

  /** Sets this stream to base, base + stride, ... (reused by the MMU's single-call helpers: no allocation per run). */
  setStride(base: Vaddr, stride: number): this {
    this.kind = STREAM_STRIDE;
    this.base = base;
    this.stride = stride;
    return this;
  }

  /** Sets this stream to random 8-byte-aligned addresses in [base, base + len), from `seed` (0 counts as 1). */
  setRandom(base: Vaddr, len: number, seed: number): this {
    this.kind = STREAM_RANDOM;
    this.base = base;
    this.slots = Math.floor(len / 8);
    this.state = seed >>> 0 || 1;
    return this;
  }

  /** Sets this stream to the addresses trace[pos], trace[pos + 1], ... */
  setTrace(trace: Float64Array, pos = 0): this {
    this.kind = STREAM_TRACE;
    this.trace = trace;
    this.pos = pos;
    return this;
  }

  static stride(base: Vaddr, stride: number): AddressStream {
    return new AddressStream().setStride(base, stride);
  }

  static random(base: Vaddr, len: number, seed: number): AddressStream {
    return new AddressStream().setRandom(base, len, seed);
  }

  static trace(trace: Float64Array, pos = 0): AddressStream {
    return new AddressStream().setTrace(trace, pos);
  }
}

export class AccessOutcome {
  /** Accesses completed. */
  done = 0;
  /** Cycles spent: the completed accesses', plus the faulting access's TLB lookup and walk (faultCycles). */
  cycles: Cycles = 0;
  /** 0, or why the access after the completed ones faulted (nothing was charged for its data). */
  fault: FaultCode = 0;
  /** The faulting access: its address, whether it wrote, whether in user mode, and what its lookup and walk cost. */
  faultAddr: Vaddr = 0;
  faultWrite = false;
  faultUser = false;
  faultCycles: Cycles = 0;
}
