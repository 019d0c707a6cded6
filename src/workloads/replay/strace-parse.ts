/**
 * A reader of `strace -f -ttt -T` output (with or without -yy, -s, -X):
 * one StraceCall per completed system call, `<unfinished ...>` and its
 * `<... NAME resumed>` joined per pid. Lines strace writes about signals
 * (`--- SIG... ---`) and exits (`+++ exited with N +++`) carry no call and
 * are passed over. Malformed input throws StraceParseError naming the line.
 */

export interface StraceCall {
  /** The thread id strace printed (0 without -f). */
  pid: number;
  /** Start, in seconds since the epoch (-ttt). */
  start: number;
  /** Time in the call (-T), in seconds; 0 when strace printed none (a call that never returned). */
  duration: number;
  name: string;
  /** The arguments as strace printed them, split at top-level commas, -yy decorations removed. */
  args: string[];
  /** The return value, or null when strace printed `?` (exit, execve in a lost thread). */
  ret: number | null;
  /** The errno name of a failed call (`-1 ENOENT (...)`), else null. */
  errno: string | null;
  /** 1-based line of the call's completion (its resumed line when it was split). */
  line: number;
}

export class StraceParseError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly expected: string,
  ) {
    super(`${file}:${line}: ${expected}`);
  }
}

const HEAD = /^(?:(\d+)\s+)?(\d+\.\d+)\s+(.*)$/;
const UNFINISHED = /^([A-Za-z_][\w]*)\((.*?)\s*<unfinished \.\.\.>$/;
const RESUMED = /^<\.\.\. ([A-Za-z_][\w]*) resumed>\s?(.*)$/;
// `) = RET [ERRNO (text)] [<dur>]`, RET being a number, a -yy-decorated fd, or `?`.
const TAIL = /\)\s+=\s+(\?|-?\d+|0x[0-9a-fA-F]+)(?:<[^>]*>)?(?:\s+([A-Z][A-Z0-9_]+)(?:\s+\([^)]*\))?)?(?:\s+\([^)]*\))?(?:\s+<(\d+\.\d+)>)?\s*$/;

/** Splits `a, "b,c", {x=1, y=2}, [3, 4]` at the commas outside quotes and brackets. */
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      cur += text.slice(i, j + 1);
      i = j;
      continue;
    }
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    if (c === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  if (cur.trim() !== '' || out.length > 0) out.push(cur.trim());
  return out.map(stripDecoration);
}

/** -yy prints an fd as `3</path>`, `3<socket:[1]>` or `AT_FDCWD</dir>`: keep the fd. */
function stripDecoration(arg: string): string {
  const m = /^(-?\w+)<.*>$/.exec(arg);
  return m ? m[1]! : arg;
}

/** Where a call's argument list ends: the `)` before ` = `, outside quotes. */
function splitCall(body: string): { args: string; tail: string } | null {
  let depth = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '"') {
      let j = i + 1;
      while (j < body.length && body[j] !== '"') j += body[j] === '\\' ? 2 : 1;
      i = j;
      continue;
    }
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') {
      if (depth === 0 && c === ')' && /^\)\s+=/.test(body.slice(i))) return { args: body.slice(0, i), tail: body.slice(i) };
      depth--;
    }
  }
  return null;
}

function parseRet(s: string): number | null {
  if (s === '?') return null;
  return s.startsWith('0x') ? Number.parseInt(s, 16) : Number(s);
}

/** Parses a whole log; the calls come back in the order they completed in the file. */
export function parseStrace(text: string, file: string): StraceCall[] {
  const calls: StraceCall[] = [];
  const pending = new Map<number, { name: string; args: string; start: number }>();
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n]!.trimEnd();
    if (raw === '') continue;
    const lineNo = n + 1;
    const h = HEAD.exec(raw);
    if (!h) throw new StraceParseError(file, lineNo, 'expected "[PID] SECONDS.MICROS CALL(...) = RET <DURATION>" (capture with strace -f -ttt -T)');
    const pid = h[1] === undefined ? 0 : Number(h[1]);
    const start = Number(h[2]);
    let rest = h[3]!;
    if (rest.startsWith('+++') || rest.startsWith('---')) continue;
    const un = UNFINISHED.exec(rest);
    if (un) {
      pending.set(pid, { name: un[1]!, args: un[2]!.replace(/,\s*$/, ''), start });
      continue;
    }
    let name: string;
    let callStart = start;
    let argsText: string;
    let tail: string;
    const re = RESUMED.exec(rest);
    if (re) {
      const p = pending.get(pid);
      if (!p || p.name !== re[1]) throw new StraceParseError(file, lineNo, `expected an earlier "${re[1]}(... <unfinished ...>" line of pid ${pid}`);
      pending.delete(pid);
      name = p.name;
      callStart = p.start;
      rest = re[2]!;
      // The resumed part holds the arguments strace had not printed yet (`"ab", 2) = 2`), or only the closing parenthesis.
      const close = splitCall(rest);
      if (!close) throw new StraceParseError(file, lineNo, 'expected ") = RET" after "resumed>"');
      const more = close.args.replace(/^\s*,\s*/, '').trim();
      argsText = p.args === '' ? more : more === '' ? p.args : `${p.args}, ${more}`;
      tail = close.tail;
    } else {
      const open = /^([A-Za-z_][\w]*)\(/.exec(rest);
      if (!open) throw new StraceParseError(file, lineNo, 'expected a system call "NAME(" after the timestamp');
      name = open[1]!;
      const sc = splitCall(rest.slice(open[0].length));
      if (!sc) throw new StraceParseError(file, lineNo, `expected "${name}(ARGS) = RET"`);
      argsText = sc.args;
      tail = sc.tail;
    }
    const t = TAIL.exec(tail);
    if (!t) throw new StraceParseError(file, lineNo, `expected ") = RET [ERRNO (text)] <DURATION>" after ${name}'s arguments`);
    calls.push({
      pid,
      start: callStart,
      duration: t[3] === undefined ? 0 : Number(t[3]),
      name,
      args: argsText.trim() === '' ? [] : splitArgs(argsText),
      ret: parseRet(t[1]!),
      errno: t[2] ?? null,
      line: lineNo,
    });
  }
  return calls;
}
