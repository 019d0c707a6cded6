/**
 * Which running CPU has the lowest clock, without scanning every CPU per
 * engine step: a tournament tree over the CPUs (leaves from `leaves` up,
 * each inner node the winner of its two children: lowest clock among
 * running CPUs, ties to the lower number, as a scan in CPU order picks; -1
 * for a subtree with none running). A CPU whose clock or state changes is
 * marked (`touch`) and its path replayed before the next pick: the stepped
 * CPU after its step, any other when it is charged or changes state.
 */
export class LowestClockPicker {
  private readonly leaves: number;
  private readonly tree: Int32Array;
  private readonly dirty: Uint8Array;
  private readonly dirtyList: number[] = [];
  /** The CPU being stepped (its leaf is replayed after the step), or -1. */
  private stepping = -1;

  /** `clock` and `state` are the engine's own arrays, read at each replay; a CPU runs when its state is `running`. */
  constructor(
    private readonly clock: Float64Array,
    private readonly state: Uint8Array,
    private readonly running: number,
  ) {
    let leaves = 1;
    while (leaves < clock.length) leaves *= 2;
    this.leaves = leaves;
    this.tree = new Int32Array(2 * leaves).fill(-1);
    this.dirty = new Uint8Array(clock.length);
  }

  /** Mark CPU c's place in the tree stale (its clock or state changed outside its own step). */
  touch(c: number): void {
    if (c === this.stepping || this.dirty[c]) return;
    this.dirty[c] = 1;
    this.dirtyList.push(c);
  }

  /** Mark every CPU stale: clocks may have been set from outside (tests, an idle CPU's clock moved by a work item). */
  touchAll(): void {
    for (let c = 0; c < this.clock.length; c++) this.touch(c);
  }

  /** CPU c is being stepped: changes to it during the step are replayed once, at `endStep`. */
  beginStep(c: number): void {
    this.stepping = c;
  }

  endStep(c: number): void {
    this.stepping = -1;
    this.touch(c);
  }

  /** The running CPU with the lowest clock (-1: none), every stale path replayed first. */
  pick(): number {
    const dirty = this.dirtyList;
    while (dirty.length > 0) {
      const d = dirty.pop()!;
      this.dirty[d] = 0;
      this.replay(d);
    }
    return this.tree[1]!;
  }

  /** The lowest clock among running CPUs other than `c` (the tree's winner): the best of the losers along c's path. */
  secondClock(c: number): number {
    const tree = this.tree;
    let best = Infinity;
    for (let i = this.leaves + c; i > 1; i >>= 1) {
      const o = tree[i ^ 1]!;
      if (o >= 0 && this.clock[o]! < best) best = this.clock[o]!;
    }
    return best;
  }

  /** The winner of two entries of the tree: the running CPU with the lower clock, ties to the lower number (-1: none). */
  private better(a: number, b: number): number {
    if (a < 0) return b;
    if (b < 0) return a;
    const ca = this.clock[a]!;
    const cb = this.clock[b]!;
    return cb < ca || (cb === ca && b < a) ? b : a;
  }

  /** Replay CPU c's path from its leaf to the root. */
  private replay(c: number): void {
    const tree = this.tree;
    let i = this.leaves + c;
    tree[i] = this.state[c] === this.running ? c : -1;
    for (i >>= 1; i >= 1; i >>= 1) tree[i] = this.better(tree[2 * i]!, tree[2 * i + 1]!);
  }
}
