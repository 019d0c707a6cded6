/**
 * Line-by-line comparison of two runs of one script (host kernel vs
 * simulator). Only the measurements (`sim`, `time_ns`) are ignored, at every
 * level of nested lines (fork and join `child`, repeat `last`); everything
 * else, key order included, must match.
 */
import { MEASURED_FIELDS, NESTED_FIELDS, parseExact, stringifyExact } from './format.js';

export type CompareResult =
  | { agree: true }
  | {
      agree: false;
      /** Index of the first differing line. */
      index: number;
      /** That line on each side, as given; null where a side has no line there. */
      host: string | null;
      sim: string | null;
    };

function withoutSim(v: unknown): unknown {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (MEASURED_FIELDS.has(k)) continue;
    out[k] = NESTED_FIELDS.has(k) && Array.isArray(x) ? x.map(withoutSim) : x;
  }
  return out;
}

/** A line as compared: its JSON without `sim`; a line that is not JSON is compared as text. */
function canonical(line: string): string {
  try {
    return stringifyExact(withoutSim(parseExact(line)));
  } catch {
    return line;
  }
}

function contentLines(lines: string[]): string[] {
  const out = lines.slice();
  while (out.length > 0 && out[out.length - 1]!.trim() === '') out.pop();
  return out;
}

export function compareRuns(hostLines: string[], simLines: string[]): CompareResult {
  const host = contentLines(hostLines);
  const sim = contentLines(simLines);
  const n = Math.max(host.length, sim.length);
  for (let k = 0; k < n; k++) {
    const h = host[k];
    const s = sim[k];
    if (h !== undefined && s !== undefined && canonical(h) === canonical(s)) continue;
    return { agree: false, index: k, host: h ?? null, sim: s ?? null };
  }
  return { agree: true };
}
