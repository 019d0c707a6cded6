/**
 * Helpers shared by the madvise workloads: reading cycles out of the
 * attribution tree by kernel function name.
 */
import { fillUser } from '../kernel/mm/uaccess.js';
import type { BreakdownNode } from '../sim/attribution.js';
import type { Blocking, Task } from '../sim/task.js';

/** Inclusive cycles of every node named `name` in the tree (not counting a named node inside another). */
export function cyclesNamed(node: BreakdownNode, name: string): number {
  if (node.name === name) return node.inclusive;
  let s = 0;
  for (const c of node.children) s += cyclesNamed(c, name);
  return s;
}

/** The subtree at `path` below `root` (null if absent). */
export function nodeAt(root: BreakdownNode, path: readonly string[]): BreakdownNode | null {
  let node: BreakdownNode | undefined = root;
  for (const p of path) {
    node = node.children.find((c) => c.name === p);
    if (!node) return null;
  }
  return node;
}

/** Rounds to two decimals for figures. */
export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/**
 * Writes `byte` to the first `touchBytes` bytes of each of `pages` pages
 * from `base` (the whole range when touchBytes is a page). Returns 0 or the
 * signal that stopped it.
 */
export function* touchChunk(t: Task, base: number, pages: number, touchBytes: number, byte: number): Blocking<number> {
  if (touchBytes >= 4096) return yield* fillUser(t, base, pages * 4096, byte);
  for (let i = 0; i < pages; i++) {
    const sig = yield* fillUser(t, base + i * 4096, touchBytes, byte);
    if (sig !== 0) return sig;
  }
  return 0;
}
