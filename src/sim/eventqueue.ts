/**
 * A binary min-heap of timed events. Ties in time are broken by insertion
 * sequence, so the order of events never depends on anything but the inputs.
 */
export interface SimEvent {
  time: number;
  seq: number;
  fn: (time: number) => void;
}

export class EventQueue {
  private heap: SimEvent[] = [];
  private seq = 0;
  /** The earliest event's time (Infinity when empty): the engine looks at it every step, one field instead of the heap's length and its top's time. */
  private next = Infinity;

  get size(): number {
    return this.heap.length;
  }

  push(time: number, fn: (time: number) => void): void {
    const ev: SimEvent = { time, seq: this.seq++, fn };
    const h = this.heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(ev, h[p]!)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = ev;
    this.next = h[0]!.time;
  }

  peekTime(): number {
    return this.next;
  }

  pop(): SimEvent | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length && last) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const c = r < h.length && before(h[r]!, h[l]!) ? r : l;
        if (!before(h[c]!, last)) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    this.next = h.length ? h[0]!.time : Infinity;
    return top;
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
