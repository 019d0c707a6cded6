/**
 * Every charged cycle lands on a node of one tree of category paths that
 * follows the kernel call stack (syscall:madvise > zap_page_range > tlb_flush
 * > ipi_wait). Names are interned as small integers once, at module load, so
 * charging on a hot path touches only typed arrays.
 */

const nameTable: string[] = [];
const nameIds = new Map<string, number>();

/** The small-integer id of a category name; call once per name, not per charge. */
export function intern(name: string): number {
  let id = nameIds.get(name);
  if (id === undefined) {
    id = nameTable.length;
    nameTable.push(name);
    nameIds.set(name, id);
  }
  return id;
}

export function nameOf(id: number): string {
  return nameTable[id]!;
}

export interface BreakdownNode {
  name: string;
  inclusive: number;
  exclusive: number;
  children: BreakdownNode[];
}

/** Hash of a (node, name) pair for Attribution's child table. */
function slotOf(node: number, name: number): number {
  return (Math.imul(node, 0x9e3779b1) ^ Math.imul(name, 0x85ebca6b)) >>> 7;
}

export class Attribution {
  /** Node 0 is the root; its children are the top-level categories. */
  readonly root = 0;
  private parent: Int32Array<ArrayBuffer> = new Int32Array(64);
  private names: Int32Array<ArrayBuffer> = new Int32Array(64);
  private exclusive = new Float64Array(64);
  private children: Map<number, number>[] = [];
  private count = 0;
  /**
   * (node, name) -> child, open addressing with linear probing in typed
   * arrays: the look-up every charge to a sub-category makes, without a Map
   * per node (the Maps are kept for walking the tree). Never more than half full.
   */
  private slotNode: Int32Array<ArrayBuffer> = new Int32Array(256).fill(-1);
  private slotName: Int32Array<ArrayBuffer> = new Int32Array(256);
  private slotChild: Int32Array<ArrayBuffer> = new Int32Array(256);

  constructor() {
    this.newNode(-1, intern('all'));
  }

  private newNode(parent: number, name: number): number {
    const id = this.count++;
    if (id >= this.parent.length) {
      const grow = (a: Int32Array): Int32Array<ArrayBuffer> => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.parent = grow(this.parent);
      this.names = grow(this.names);
      const e = new Float64Array(this.exclusive.length * 2);
      e.set(this.exclusive);
      this.exclusive = e;
    }
    this.parent[id] = parent;
    this.names[id] = name;
    this.children.push(new Map());
    return id;
  }

  /** The node for category `name` under `node`, created on first use. */
  child(node: number, name: number): number {
    const mask = this.slotNode.length - 1;
    for (let i = slotOf(node, name) & mask; ; i = (i + 1) & mask) {
      const n = this.slotNode[i]!;
      if (n === node && this.slotName[i] === name) return this.slotChild[i]!;
      if (n === -1) break;
    }
    const id = this.newNode(node, name);
    this.children[node]!.set(name, id);
    if (2 * this.count > this.slotNode.length) this.rehash(this.slotNode.length * 2);
    else this.place(node, name, id);
    return id;
  }

  private place(node: number, name: number, id: number): void {
    const mask = this.slotNode.length - 1;
    let i = slotOf(node, name) & mask;
    while (this.slotNode[i] !== -1) i = (i + 1) & mask;
    this.slotNode[i] = node;
    this.slotName[i] = name;
    this.slotChild[i] = id;
  }

  private rehash(size: number): void {
    this.slotNode = new Int32Array(size).fill(-1);
    this.slotName = new Int32Array(size);
    this.slotChild = new Int32Array(size);
    for (let id = 1; id < this.count; id++) this.place(this.parent[id]!, this.names[id]!, id);
  }

  /** The node for a path of names from the root. */
  pathNode(path: readonly string[]): number {
    let node = this.root;
    for (const p of path) node = this.child(node, intern(p));
    return node;
  }

  parentOf(node: number): number {
    return this.parent[node]!;
  }

  charge(node: number, cycles: number): void {
    this.exclusive[node]! += cycles;
  }

  exclusiveOf(node: number): number {
    return this.exclusive[node]!;
  }

  path(node: number): string[] {
    const out: string[] = [];
    for (let n = node; n > 0; n = this.parent[n]!) out.push(nameOf(this.names[n]!));
    return out.reverse();
  }

  /** The tree with inclusive and exclusive cycles; children by inclusive cycles, then name, so output is stable. Nodes with no cycles are left out. */
  tree(): BreakdownNode {
    const build = (node: number): BreakdownNode => {
      const kids: BreakdownNode[] = [];
      for (const id of this.children[node]!.values()) {
        const k = build(id);
        if (k.inclusive > 0) kids.push(k);
      }
      kids.sort((x, y) => y.inclusive - x.inclusive || (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
      const exclusive = this.exclusive[node]!;
      const inclusive = kids.reduce((s, k) => s + k.inclusive, exclusive);
      return { name: nameOf(this.names[node]!), inclusive, exclusive, children: kids };
    };
    return build(this.root);
  }

  /** A copy of every node's exclusive cycles, for topDelta (a per-op breakdown). */
  snapshot(): Float64Array {
    return this.exclusive.slice(0, this.count);
  }

  /**
   * Cycles charged since `before` (a snapshot) at the top two levels of the
   * tree, inclusive, in folded form ("syscall:madvise", "syscall:madvise;zap_page_range"),
   * sorted by path; zero entries left out.
   */
  topDelta(before: Float64Array): Record<string, number> {
    const sums = new Map<number, number>();
    for (let n = 1; n < this.count; n++) {
      const d = this.exclusive[n]! - (n < before.length ? before[n]! : 0);
      if (d === 0) continue;
      // The node's ancestors at depth 1 and 2 (the root is depth 0).
      let top = n;
      let second = -1;
      while (this.parent[top]! > 0) {
        second = top;
        top = this.parent[top]!;
      }
      sums.set(top, (sums.get(top) ?? 0) + d);
      if (second >= 0) sums.set(second, (sums.get(second) ?? 0) + d);
    }
    const rows = [...sums].map(([n, d]) => [this.path(n).join(';'), d] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const out: Record<string, number> = {};
    for (const [k, d] of rows) out[k] = d;
    return out;
  }

  /** Folded stacks (flamegraph.pl, speedscope): one line per node with exclusive cycles. */
  folded(): string[] {
    const lines: string[] = [];
    const walk = (n: BreakdownNode, prefix: string): void => {
      const path = prefix ? `${prefix};${n.name}` : n.name;
      if (n.exclusive > 0) lines.push(`${path} ${Math.round(n.exclusive)}`);
      for (const c of n.children) walk(c, path);
    };
    for (const c of this.tree().children) walk(c, '');
    return lines;
  }
}
