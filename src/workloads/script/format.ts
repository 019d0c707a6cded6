/**
 * Result lines of a syscall script (spec/syscall-script.md, "Result lines").
 * The simulator and the host runner both print through this module, so the
 * two outputs can differ only where the kernels differ.
 */
import { IN, O } from './constants.js';

export interface InotifyEventLine {
  wd: number;
  /** Single-bit names in ascending bit order; a bit without a name as a hex string. */
  mask: string[];
  /** 0, or "c1", "c2", ... by first appearance in the run (see CookieNames). */
  cookie: 0 | string;
  name: string;
}

export type RlimitValue = number | 'infinity';

/** A result line without its place (`i`, `op`): what an op's handler returns. */
export interface ResultBody {
  /** A number, or a bigint for a 64-bit value past 2^53 (lseek's; printed exactly). */
  ret: number | bigint;
  errno: string | null;
  /** A memory access that faulted: "SIGSEGV" or "SIGBUS". */
  signal?: string;
  value?: number;
  vec?: string;
  sum?: number;
  cur?: RlimitValue;
  max?: RlimitValue;
  events?: InotifyEventLine[];
  flags?: string[];
  child?: ResultLine[];
  /** The child's exit status (0 unless an `exit` op gave one), or the name of the signal that ended it. */
  exit?: number | string;
  /** A repeat's final iteration. */
  last?: ResultLine[];
  /** An execve's new image: the lines of its op list. */
  image?: ResultLine[];
  /** With the script's `timing` switch: the op's time (host: wall; simulator: simulated). Comparisons ignore it. */
  time_ns?: number;
  /** Simulated figures; comparisons ignore it. */
  sim?: unknown;
  /** Fields of the later ops (CALL_EXTRA_FIELDS). */
  [field: string]: unknown;
}

export interface ResultLine extends ResultBody {
  i: number;
  op: string;
}

/** The extra fields in the order they are printed, after i, op, ret, errno. */
export const EXTRA_FIELDS = ['signal', 'value', 'vec', 'sum', 'cur', 'max', 'events', 'flags', 'child', 'exit', 'last', 'image'] as const;

/** Fields of a line that hold nested result lines (a fork or join's `child`, a repeat's `last`, an execve's `image`). */
export const NESTED_FIELDS: ReadonlySet<string> = new Set(['child', 'last', 'image']);

/** Fields that are measurements, not semantics: comparisons ignore them at every level. */
export const MEASURED_FIELDS: ReadonlySet<string> = new Set(['time_ns', 'sim']);

/**
 * Extra fields of the ops added after v1 (docs/scripts.md), printed after
 * v1's in this order. The host runner sends each as `key=` and a typed value.
 */
export const CALL_EXTRA_FIELDS = [
  'offset', 'size', 'blocks', 'mode', 'type', 'nlink', 'same', 'target', 'names', 'seals', 'status', 'fields', 'lines', 'fds', 'entries',
  'l_type', 'l_whence', 'l_start', 'l_len', 'l_pid', 'owner',
] as const;

function ordered(r: ResultLine): Record<string, unknown> {
  const out: Record<string, unknown> = { i: r.i, op: r.op, ret: r.ret, errno: r.errno };
  for (const k of EXTRA_FIELDS) {
    const v = r[k];
    if (v === undefined) continue;
    if (NESTED_FIELDS.has(k)) out[k] = (v as ResultLine[]).map(ordered);
    else if (k === 'events') out[k] = (v as InotifyEventLine[]).map((e) => ({ wd: e.wd, mask: e.mask, cookie: e.cookie, name: e.name }));
    else out[k] = v;
  }
  if (r.time_ns !== undefined) out['time_ns'] = r.time_ns;
  for (const k of CALL_EXTRA_FIELDS) if (r[k] !== undefined) out[k] = r[k];
  if (r.sim !== undefined) out['sim'] = r.sim;
  return out;
}

/** One result line: JSON with keys i, op, ret, errno, then the extra fields, then sim. */
export function formatLine(r: ResultLine): string {
  return stringifyExact(ordered(r));
}

/** Stands for a bigint inside JSON text while it is being written or read (a string no script value holds: NUL). */
const BIG = '\u0000big:';
const BIG_RE = /"\\u0000big:(-?[0-9]+)"/g;

/** JSON.stringify that writes a bigint as an integer with all its digits (a 64-bit file position). */
export function stringifyExact(v: unknown, indent?: number): string {
  let big = false;
  const s = JSON.stringify(v, (_k, x: unknown) => {
    if (typeof x !== 'bigint') return x;
    big = true;
    return BIG + x.toString();
  }, indent);
  return big ? s.replace(BIG_RE, '$1') : s;
}

/** A JSON string, or an integer a double cannot hold (more than 15 digits: checked exactly below). */
const TOKEN_RE = /"(?:[^"\\]|\\.)*"|(?<![0-9.eE+-])-?[0-9]{16,}(?![0-9.eE])/g;

/** JSON.parse that keeps an integer past 2^53 exact, as a bigint (a result line's 64-bit values). */
export function parseExact(text: string): unknown {
  let big = false;
  const marked = text.replace(TOKEN_RE, (tok) => {
    if (tok.startsWith('"') || Number.isSafeInteger(Number(tok))) return tok;
    big = true;
    return `"\\u0000big:${tok}"`;
  });
  if (!big) return JSON.parse(text) as unknown;
  return JSON.parse(marked, (_k, x: unknown) => (typeof x === 'string' && x.startsWith(BIG) ? BigInt(x.slice(BIG.length)) : x)) as unknown;
}

/** Names of single bits in ascending order; bits without a name as hex strings. */
function bitNames(mask: bigint, names: ReadonlyMap<number, string>): string[] {
  const out: string[] = [];
  let m = BigInt.asUintN(64, mask);
  for (let bit = 1n; m !== 0n; bit <<= 1n) {
    if ((m & bit) === 0n) continue;
    m ^= bit;
    out.push(names.get(Number(bit)) ?? `0x${bit.toString(16)}`);
  }
  return out;
}

/** F_GETFL bits named as the contract's open flags (access mode and O_LARGEFILE excluded). */
const GETFL_NAMES: ReadonlyMap<number, string> = new Map([
  [O.O_CREAT, 'creat'],
  [O.O_EXCL, 'excl'],
  [O.O_TRUNC, 'trunc'],
  [O.O_APPEND, 'append'],
  [O.O_NONBLOCK, 'nonblock'],
  [O.O_DIRECTORY, 'directory'],
  [O.O_CLOEXEC, 'cloexec'],
]);

/** The F_GETFL result split as the spec prints it: `ret` is the access mode, `flags` the rest. */
export function getflResult(fileFlags: number): { ret: number; flags: string[] } {
  const f = BigInt(fileFlags);
  const rest = f & ~BigInt(O.O_ACCMODE | O.O_LARGEFILE);
  return { ret: Number(f & BigInt(O.O_ACCMODE)), flags: bitNames(rest, GETFL_NAMES) };
}

const MASK_NAMES: ReadonlyMap<number, string> = new Map([
  [IN.IN_ACCESS, 'access'],
  [IN.IN_MODIFY, 'modify'],
  [IN.IN_ATTRIB, 'attrib'],
  [IN.IN_CLOSE_WRITE, 'close_write'],
  [IN.IN_CLOSE_NOWRITE, 'close_nowrite'],
  [IN.IN_OPEN, 'open'],
  [IN.IN_MOVED_FROM, 'moved_from'],
  [IN.IN_MOVED_TO, 'moved_to'],
  [IN.IN_CREATE, 'create'],
  [IN.IN_DELETE, 'delete'],
  [IN.IN_DELETE_SELF, 'delete_self'],
  [IN.IN_MOVE_SELF, 'move_self'],
  [IN.IN_UNMOUNT, 'unmount'],
  [IN.IN_Q_OVERFLOW, 'q_overflow'],
  [IN.IN_IGNORED, 'ignored'],
  [IN.IN_ONLYDIR, 'onlydir'],
  [IN.IN_DONT_FOLLOW, 'dont_follow'],
  [IN.IN_EXCL_UNLINK, 'excl_unlink'],
  [IN.IN_MASK_CREATE, 'mask_create'],
  [IN.IN_MASK_ADD, 'mask_add'],
  [IN.IN_ISDIR, 'isdir'],
  [IN.IN_ONESHOT, 'oneshot'],
]);

/** An inotify event mask as single-bit names, ascending (never close, move or all_events). */
export function inotifyMaskNames(mask: number): string[] {
  return bitNames(BigInt.asUintN(32, BigInt(mask)), MASK_NAMES);
}

/**
 * Cookies as the spec prints them: raw values differ between kernels, so the
 * n-th distinct non-zero cookie of a run is "cN". Use one instance per run,
 * naming events in the order their lines are printed (a fork's child lines
 * come at the fork's place).
 */
export class CookieNames {
  private readonly seen = new Map<number, string>();

  name(raw: number): 0 | string {
    if (raw === 0) return 0;
    let n = this.seen.get(raw);
    if (n === undefined) {
      n = `c${this.seen.size + 1}`;
      this.seen.set(raw, n);
    }
    return n;
  }
}

/** RLIM_INFINITY (2^64-1 from the kernel, Infinity in the parsed form) prints as "infinity". */
export function rlimitValue(v: number | bigint): RlimitValue {
  if (typeof v === 'bigint') return v >= 0xffffffffffffffffn ? 'infinity' : Number(v);
  return v === Infinity || v >= 2 ** 64 - 1 ? 'infinity' : v;
}
