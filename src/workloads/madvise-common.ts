/**
 * Helpers shared by the madvise workloads: reading cycles out of the
 * attribution tree by kernel function name.
 */
import type { BreakdownNode } from '../sim/attribution.js';

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
