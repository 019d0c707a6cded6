/**
 * When each CPU can take a hard interrupt: not before the end of the
 * handler it is running (one at a time), and not inside a section it ran
 * with interrupts disabled (a spinlock taken with spin_lock_irq/irqsave,
 * spinning and holding).
 */
export class IrqWindows {
  /** Per CPU: the end of the last hard interrupt handler it ran. */
  private readonly freeAt: Float64Array;
  /** Per CPU: recent sections with interrupts disabled, as [from, to) pairs. */
  private readonly off: number[][];

  constructor(ncpus: number) {
    this.freeAt = new Float64Array(ncpus);
    this.off = Array.from({ length: ncpus }, () => []);
  }

  /**
   * CPU `cpu` ran with interrupts off over [from, to). Sections ending
   * before `horizon` (no delivery can come earlier: events fire in time
   * order) are dropped once a few have gathered.
   */
  offDuring(cpu: number, from: number, to: number, horizon: number): void {
    if (!(to > from)) return;
    const iv = this.off[cpu]!;
    if (iv.length >= 32) {
      const h = Math.min(horizon, from);
      let w = 0;
      for (let i = 0; i < iv.length; i += 2) {
        if (iv[i + 1]! > h) {
          iv[w++] = iv[i]!;
          iv[w++] = iv[i + 1]!;
        }
      }
      iv.length = w;
    }
    iv.push(from, to);
  }

  /** The first time at or after `time` at which CPU `cpu` takes an interrupt: after the handler it runs and any section with interrupts off that covers it. */
  start(cpu: number, time: number): number {
    let start = Math.max(time, this.freeAt[cpu]!);
    const iv = this.off[cpu]!;
    for (let moved = true; moved; ) {
      moved = false;
      for (let i = 0; i < iv.length; i += 2) {
        if (iv[i]! <= start && start < iv[i + 1]!) {
          start = iv[i + 1]!;
          moved = true;
        }
      }
    }
    return start;
  }

  /** CPU `cpu` runs a handler until `end`. */
  handlerUntil(cpu: number, end: number): void {
    this.freeAt[cpu] = end;
  }
}
