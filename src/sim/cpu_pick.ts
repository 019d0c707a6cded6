/**
 * Which running CPU has the lowest clock, without scanning every CPU per
 * engine step: the running CPUs kept in a ring sorted by clock, ties to the
 * lower number (as a scan in CPU order picks). The pick is the ring's head
 * and the next-lowest clock the one after it. A CPU whose clock or state
 * changes is marked (`touch`) and put back in order before the next pick:
 * the stepped CPU after its step, any other when it is charged or changes
 * state.
 *
 * The stepped CPU is the head and its clock only grows, so it leaves the
 * head and goes back in from the tail, moving back past the CPUs whose
 * clocks are now higher: when every CPU runs for about the same time per
 * step (a round robin, as many CPUs busy with the same loop step), that is
 * one comparison, where a tournament tree replays log2(CPUs) levels and
 * walks them again for the next-lowest clock. A single other CPU touched is
 * moved to its place; several are taken out and the ring sorted again
 * (insertion sort: linear when little moved).
 */
export class LowestClockPicker {
  /** The running CPUs in (clock, number) order: ring[(head + j) & mask] is the j-th lowest. */
  private readonly ring: Int32Array;
  private readonly mask: number;
  private head = 0;
  private len = 0;
  /** Where each CPU is in the ring (a physical index), or -1 when it is not in it. */
  private readonly pos: Int32Array;
  private readonly dirty: Uint8Array;
  private readonly dirtyList: number[] = [];
  /** The CPU being stepped (it is put back in order after the step), or -1. */
  private stepping = -1;
  /** Scratch for a full re-sort. */
  private readonly scratch: Int32Array;

  /** `clock` and `state` are the engine's own arrays, read when a CPU is put in order; a CPU runs when its state is `running`. */
  constructor(
    private readonly clock: Float64Array,
    private readonly state: Uint8Array,
    private readonly running: number,
  ) {
    let cap = 1;
    while (cap < clock.length) cap *= 2;
    this.ring = new Int32Array(cap);
    this.mask = cap - 1;
    this.pos = new Int32Array(clock.length).fill(-1);
    this.dirty = new Uint8Array(clock.length);
    this.scratch = new Int32Array(clock.length);
  }

  /** Mark CPU c's place stale (its clock or state changed outside its own step). */
  touch(c: number): void {
    if (c === this.stepping || this.dirty[c]) return;
    this.dirty[c] = 1;
    this.dirtyList.push(c);
  }

  /** Mark every CPU stale: clocks may have been set from outside (tests, an idle CPU's clock moved by a work item). */
  touchAll(): void {
    for (let c = 0; c < this.clock.length; c++) this.touch(c);
  }

  /** CPU c is being stepped: changes to it during the step are put in order once, at `endStep`. */
  beginStep(c: number): void {
    this.stepping = c;
  }

  endStep(c: number): void {
    this.stepping = -1;
    if (this.dirtyList.length === 0 && this.len > 0 && this.ring[this.head] === c) {
      // The common case, put in order at once: nothing else moved, and the stepped CPU is still the head.
      this.pos[c] = -1;
      this.head = (this.head + 1) & this.mask;
      this.len--;
      if (this.state[c] === this.running) this.insert(c);
    } else this.touch(c);
  }

  /** The running CPU with the lowest clock (-1: none), every stale CPU put in order first. */
  pick(): number {
    if (this.dirtyList.length > 0) this.fix();
    return this.len > 0 ? this.ring[this.head]! : -1;
  }

  /** The lowest clock among running CPUs other than `c`, the CPU `pick` returned: the next in the ring. */
  secondClock(c: number): number {
    if (this.len > 1 && this.ring[this.head] === c) return this.clock[this.ring[(this.head + 1) & this.mask]!]!;
    let best = Infinity;
    for (let j = 0; j < this.len; j++) {
      const o = this.ring[(this.head + j) & this.mask]!;
      if (o !== c && this.clock[o]! < best) best = this.clock[o]!;
    }
    return best;
  }

  /** Whether CPU a goes before CPU b: the lower clock, ties to the lower number. */
  private before(a: number, b: number): boolean {
    const ca = this.clock[a]!;
    const cb = this.clock[b]!;
    return ca < cb || (ca === cb && a < b);
  }

  private fix(): void {
    const list = this.dirtyList;
    const ring = this.ring;
    const mask = this.mask;
    if (list.length === 1) {
      // The common case: the stepped CPU (the head), or one other CPU.
      const d = list.pop()!;
      this.dirty[d] = 0;
      const p = this.pos[d]!;
      if (p === this.head && this.len > 0) {
        this.pos[d] = -1;
        this.head = (p + 1) & mask;
        this.len--;
        if (this.state[d] === this.running) this.insert(d);
      } else if (p < 0) {
        if (this.state[d] === this.running) this.insert(d);
      } else if (this.state[d] !== this.running) {
        this.remove(d);
      } else {
        this.bubble(d);
      }
      return;
    }
    // Several: take the running ones not marked out in ring order, add the marked running ones, sort.
    const out = this.scratch;
    let n = 0;
    for (let j = 0; j < this.len; j++) {
      const o = ring[(this.head + j) & mask]!;
      this.pos[o] = -1;
      if (!this.dirty[o]) out[n++] = o;
    }
    for (let i = 0; i < list.length; i++) {
      const d = list[i]!;
      this.dirty[d] = 0;
      if (this.state[d] === this.running) out[n++] = d;
    }
    list.length = 0;
    for (let i = 1; i < n; i++) {
      const x = out[i]!;
      let j = i;
      while (j > 0 && this.before(x, out[j - 1]!)) {
        out[j] = out[j - 1]!;
        j--;
      }
      out[j] = x;
    }
    this.head = 0;
    this.len = n;
    for (let i = 0; i < n; i++) {
      ring[i] = out[i]!;
      this.pos[out[i]!] = i;
    }
  }

  /** Put CPU d (not in the ring) in order, from the tail back. */
  private insert(d: number): void {
    const ring = this.ring;
    const mask = this.mask;
    let j = this.len;
    while (j > 0) {
      const q = ring[(this.head + j - 1) & mask]!;
      if (this.before(q, d)) break;
      const at = (this.head + j) & mask;
      ring[at] = q;
      this.pos[q] = at;
      j--;
    }
    const at = (this.head + j) & mask;
    ring[at] = d;
    this.pos[d] = at;
    this.len++;
  }

  /** Take CPU d out of the ring, the CPUs after it moving up one. */
  private remove(d: number): void {
    const ring = this.ring;
    const mask = this.mask;
    let j = (this.pos[d]! - this.head) & mask;
    for (; j + 1 < this.len; j++) {
      const q = ring[(this.head + j + 1) & mask]!;
      const at = (this.head + j) & mask;
      ring[at] = q;
      this.pos[q] = at;
    }
    this.pos[d] = -1;
    this.len--;
  }

  /** Move CPU d, the only one out of order, to its place. */
  private bubble(d: number): void {
    const ring = this.ring;
    const mask = this.mask;
    let j = (this.pos[d]! - this.head) & mask;
    while (j + 1 < this.len) {
      const q = ring[(this.head + j + 1) & mask]!;
      if (!this.before(q, d)) break;
      const at = (this.head + j) & mask;
      ring[at] = q;
      this.pos[q] = at;
      j++;
    }
    while (j > 0) {
      const q = ring[(this.head + j - 1) & mask]!;
      if (!this.before(d, q)) break;
      const at = (this.head + j) & mask;
      ring[at] = q;
      this.pos[q] = at;
      j--;
    }
    const at = (this.head + j) & mask;
    ring[at] = d;
    this.pos[d] = at;
  }
}
