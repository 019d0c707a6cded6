/**
 * Shrinking a failing script to a minimal one (delta debugging over the raw
 * JSON form): remove chunks of ops, halving the chunk size down to single
 * ops, inside fork children and execve's new images too; then drop machine-block fields one at a
 * time. A candidate is kept when it is still a valid script and still fails
 * the same way (`stillFails`); an invalid candidate (one that uses a name
 * whose binding op was removed) is simply not kept.
 */
import type { RawOp, RawScript } from './generate.js';

export interface ShrinkResult {
  script: RawScript;
  /** Candidates tried. */
  tries: number;
}

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

/** A fork (its child's list) or an execve of the running program (its new image's list). */
const nests = (o: RawOp | undefined): boolean => o !== undefined && (o.op === 'fork' || o.op === 'execve') && Array.isArray(o['ops']);

/** Every op list of the script: the top level first, then each fork's children and execve's new image (as paths of op indices). */
function opLists(ops: RawOp[], path: number[] = []): number[][] {
  const out: number[][] = [path];
  ops.forEach((o, i) => {
    if (nests(o)) out.push(...opLists(o['ops'] as RawOp[], [...path, i]));
  });
  return out;
}

function listAt(s: RawScript, path: number[]): RawOp[] | undefined {
  let list: RawOp[] = s.ops;
  for (const i of path) {
    const o = list[i];
    if (!o || !nests(o)) return undefined;
    list = o['ops'] as RawOp[];
  }
  return list;
}

/**
 * The smallest script found that still fails. `stillFails` returns false for
 * a candidate that is not a valid script. At most `budget` candidates are tried.
 */
export function shrinkScript(script: RawScript, stillFails: (s: RawScript) => boolean, budget = 400): ShrinkResult {
  let best = clone(script);
  let tries = 0;
  const attempt = (cand: RawScript): boolean => {
    if (tries >= budget) return false;
    tries++;
    if (!stillFails(cand)) return false;
    best = cand;
    return true;
  };
  let progress = true;
  while (progress && tries < budget) {
    progress = false;
    for (const path of opLists(best.ops)) {
      let chunk = Math.max(1, (listAt(best, path)?.length ?? 0) >> 1);
      while (chunk >= 1 && tries < budget) {
        let removed = false;
        for (let at = 0; ; ) {
          const list = listAt(best, path);
          if (!list || at >= list.length) break;
          const cand = clone(best);
          listAt(cand, path)!.splice(at, chunk);
          if (attempt(cand)) {
            removed = true;
            progress = true;
          } else at += chunk;
        }
        if (!removed) chunk >>= 1;
      }
    }
    // A fork (or an execve) whose nested list is all that matters: try that list in its place.
    for (const path of opLists(best.ops).slice(1)) {
      const parentPath = path.slice(0, -1);
      const idx = path[path.length - 1]!;
      const cand = clone(best);
      const parent = listAt(cand, parentPath);
      const fork = parent?.[idx];
      if (!parent || !fork || !nests(fork)) continue;
      parent.splice(idx, 1, ...(fork['ops'] as RawOp[]));
      if (attempt(cand)) {
        progress = true;
        break;
      }
    }
  }
  if (best.machine) {
    for (const key of Object.keys(best.machine)) {
      const cand = clone(best);
      delete cand.machine![key];
      if (key === 'sim') cand.machine!['sim'] = { checks: true };
      if (JSON.stringify(cand.machine) !== JSON.stringify(best.machine)) attempt(cand);
    }
  }
  return { script: best, tries };
}
