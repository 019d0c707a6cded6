/**
 * Parser of syscall scripts (spec/syscall-script.md). Everything is checked
 * before anything runs: a bad script is rejected with one line naming the
 * file, the first offending op and field, and what was expected.
 */
import { loffOf, type loff_t } from '../../kernel/fs/loff.js';
import {
  DEFAULT_MKDIR_MODE, DEFAULT_OPEN_MODE, DUP3_FLAG_NAMES, F, FCNTL_CMD_NAMES, FD_FLAG_NAMES,
  INOTIFY_INIT_FLAG_NAMES, INOTIFY_MASK_NAMES, MADV, MMAP_FLAG_NAMES, OPEN_FLAG_NAMES, PROT,
  RLIMIT_NAMES, WHENCE_NAMES,
} from './constants.js';
import { RLIM_INFINITY, type Op, type OpName, type ParsedScript, type Ref } from './types.js';
import { CALL_FIELDS } from './calls/fields.js';
import { SEAL_NAMES } from './calls/uapi.js';

/** A script that is not valid: the CLI prints `message` and exits 2. */
export class ScriptError extends Error {
  constructor(
    readonly file: string,
    /** Where in the file, e.g. `ops[3].advice`; empty for the file as a whole. */
    readonly field: string,
    readonly detail: string,
  ) {
    super(field ? `${file}: ${field}: ${detail}` : `${file}: ${detail}`);
    this.name = 'ScriptError';
  }
}

export type Kind =
  | 'flagset' | 'named' | 'str'
  | 'ref' | 'int' | 'byte' | 'path' | 'as' | 'prot' | 'advice' | 'mode' | 'cmd' | 'whence'
  | 'resource' | 'rlim' | 'ops' | 'body' | 'thread_ops' | 'count' | 'cpu' | 'fcntl_arg'
  | 'open_flags' | 'mmap_flags' | 'dup3_flags' | 'init_flags' | 'fd_flags' | 'mask' | 'ints' | 'loff';

export interface FieldSpec {
  kind: Kind;
  required: boolean;
  default?: number;
  /** For 'flagset' (a flag list) and 'named' (one name or a number): the names and what they stand for. */
  table?: Readonly<Record<string, number>>;
  /** For 'flagset' and 'named': what one name is, for the error line. */
  what?: string;
}

export const req = (kind: Kind): FieldSpec => ({ kind, required: true });
export const opt = (kind: Kind, def?: number): FieldSpec => (def === undefined ? { kind, required: false } : { kind, required: false, default: def });

type FieldTable = Readonly<Record<string, Readonly<Record<string, FieldSpec>>>>;

/** The experiment ops (docs/scripts.md, Part 2): loops, threads, placement. */
const CONTROL_FIELDS: FieldTable = {
  repeat: { count: req('count'), ops: req('body') },
  thread: { as: req('as'), ops: req('thread_ops'), cpu: opt('cpu') },
  join: { thread: req('ref') },
  spin: {},
  pin: { cpu: req('cpu') },
};

/** The system-call and memory ops of format v1, in the order their fields are checked and reported. */
const SYSCALL_FIELDS: FieldTable = {
  mmap: { as: req('as'), pages: req('int'), prot: req('prot'), flags: req('mmap_flags'), fd: opt('ref'), offset: opt('int', 0), addr: opt('ref') },
  munmap: { addr: req('ref'), len: req('int') },
  mprotect: { addr: req('ref'), len: req('int'), prot: req('prot') },
  madvise: { addr: req('ref'), len: req('int'), advice: req('advice') },
  mlock: { addr: req('ref'), len: req('int') },
  munlock: { addr: req('ref'), len: req('int') },
  fill: { addr: req('ref'), len: req('int'), byte: req('byte') },
  load: { addr: req('ref') },
  mincore: { addr: req('ref'), len: req('int') },
  open: { path: req('path'), flags: req('open_flags'), mode: opt('mode', DEFAULT_OPEN_MODE), as: opt('as') },
  close: { fd: req('ref') },
  dup: { fd: req('ref'), as: opt('as') },
  dup2: { fd: req('ref'), newfd: req('ref'), as: opt('as') },
  dup3: { fd: req('ref'), newfd: req('ref'), flags: req('dup3_flags'), as: opt('as') },
  fcntl: { fd: req('ref'), cmd: req('cmd'), arg: opt('fcntl_arg', 0), as: opt('as') },
  write: { fd: req('ref'), len: req('int'), byte: req('byte') },
  read: { fd: req('ref'), len: req('int') },
  lseek: { fd: req('ref'), offset: req('loff'), whence: req('whence') },
  ftruncate: { fd: req('ref'), len: req('loff') },
  unlink: { path: req('path') },
  mkdir: { path: req('path'), mode: opt('mode', DEFAULT_MKDIR_MODE) },
  rmdir: { path: req('path') },
  rename: { from: req('path'), to: req('path') },
  chmod: { path: req('path'), mode: req('mode') },
  setrlimit: { resource: req('resource'), cur: req('rlim'), max: req('rlim') },
  getrlimit: { resource: req('resource') },
  inotify_init1: { flags: req('init_flags'), as: opt('as') },
  inotify_add_watch: { fd: req('ref'), path: req('path'), mask: req('mask'), as: opt('as') },
  inotify_rm_watch: { fd: req('ref'), wd: req('ref') },
  inotify_read: { fd: req('ref'), bufsize: req('int') },
  fionread: { fd: req('ref') },
  fork: { ops: req('ops') },
  execve: { path: opt('path'), ops: opt('ops') },
  membarrier: { cmd: req('int'), flags: opt('int', 0) },
  ...CALL_FIELDS,
};

/** Every op's fields: one table per group of ops, so a new group is one more spread here. */
const OP_FIELDS = { ...SYSCALL_FIELDS, ...CONTROL_FIELDS } as Readonly<Record<OpName, Readonly<Record<string, FieldSpec>>>>;

export const OP_NAMES: readonly OpName[] = Object.keys(OP_FIELDS) as OpName[];

const FLAG_TABLES: Partial<Record<Kind, Readonly<Record<string, number>>>> = {
  open_flags: OPEN_FLAG_NAMES,
  mmap_flags: MMAP_FLAG_NAMES,
  dup3_flags: DUP3_FLAG_NAMES,
  init_flags: INOTIFY_INIT_FLAG_NAMES,
  fd_flags: FD_FLAG_NAMES,
  mask: INOTIFY_MASK_NAMES,
};

const FLAG_WHAT: Partial<Record<Kind, string>> = {
  open_flags: 'an open flag',
  mmap_flags: 'an mmap flag',
  dup3_flags: 'a dup3 flag',
  init_flags: 'an inotify_init1 flag',
  fd_flags: 'an fd flag',
  mask: 'an inotify mask name',
};

/** What a missing field should have held, for the error line. */
const KIND_WHAT: Readonly<Record<Kind, string>> = {
  ref: 'a "$NAME" reference or a number',
  int: 'an integer',
  byte: 'a byte value from 0 to 255',
  path: 'a path',
  as: 'a name to bind',
  prot: 'a protection: letters r, w, x, or "none"',
  advice: 'a madvise advice name or number',
  mode: 'a mode',
  cmd: 'an fcntl command',
  whence: 'a whence (SET, CUR, END, DATA, HOLE)',
  resource: 'a resource (NOFILE)',
  rlim: 'a limit: an integer or "infinity"',
  ops: 'a list of ops',
  body: 'a list of ops',
  thread_ops: 'a list of ops',
  count: 'a count from 0 to 2147483647',
  cpu: 'a CPU number from 0 to 1023',
  fcntl_arg: 'an integer or a flag list',
  open_flags: 'a list of open flags',
  mmap_flags: 'a list of mmap flags',
  dup3_flags: 'a list of dup3 flags',
  init_flags: 'a list of inotify_init1 flags',
  fd_flags: 'a list of fd flags',
  mask: 'a list of inotify mask names',
  flagset: 'a list of flag names or integers',
  named: 'a name or a number',
  str: 'a string',
  ints: 'a list of integers',
  loff: 'an offset (an integer, or a "0x..." string for any 64-bit value)',
};

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const REF_RE = /^\$([A-Za-z_][A-Za-z0-9_]*)(?:([+-])(0[xX][0-9a-fA-F]+|[0-9]+))?$/;
const HEX_RE = /^-?0[xX][0-9a-fA-F]+$/;

/** Op lists (fork, thread and repeat bodies) nest at most this deep: deeper scripts are refused rather than exhausting the stack of a parser or runner. */
export const MAX_NESTING = 64;

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  let s: string;
  try {
    s = JSON.stringify(v);
  } catch {
    // Nested too deep to print (a list of lists of lists ...): say what it is.
    s = Array.isArray(v) ? '[[...]]' : '{...}';
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** A 64-bit value as a double, only when the double holds it exactly. */
function exactNumber(b: bigint): number | undefined {
  const n = Number(b);
  return BigInt(n) === b ? n : undefined;
}

/** Where an op list runs: a process's main list (top level, fork child), a thread's own list, or a repeat's body. */
type ListKind = 'process' | 'thread' | 'body';

class Parser {
  /** How many op lists (fork, thread, repeat) enclose the one being parsed. */
  private depth = 0;
  /** How many thread op lists enclose the one being parsed (execve is refused inside one). */
  private inThread = 0;

  constructor(private readonly file: string) {}

  /** Parses a nested op list, refusing nesting past MAX_NESTING. */
  nested<T>(field: string, parse: () => T): T {
    if (this.depth >= MAX_NESTING) this.fail(field, `op lists nested at most ${MAX_NESTING} deep (fork, thread, repeat)`, `one at depth ${this.depth + 1}`);
    this.depth++;
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  fail(field: string, expected: string, got: unknown): never {
    throw new ScriptError(this.file, field, `expected ${expected}, got ${show(got)}`);
  }

  /** A JSON integer, or a "0x..." string (for values past 2^53 that a double holds exactly). */
  integer(v: unknown, field: string, what = 'an integer'): number | undefined {
    if (typeof v === 'number') {
      if (Number.isSafeInteger(v)) return v;
      if (Number.isInteger(v)) this.fail(field, `${what} (write integers past 2^53 as a "0x..." string)`, v);
      return undefined;
    }
    if (typeof v === 'string' && HEX_RE.test(v)) {
      const neg = v.startsWith('-');
      const b = BigInt(neg ? v.slice(1) : v);
      const n = exactNumber(neg ? -b : b);
      if (n === undefined) this.fail(field, `${what} that a double holds exactly (use a negative number for values near 2^64)`, v);
      return n;
    }
    return undefined;
  }

  /**
   * An off_t (a file position, offset or length): any 64-bit value, exact: a
   * number up to 2^53, a bigint past it ("0x..." strings; from 2^63 up it
   * wraps negative, as the C runner's off_t takes it).
   */
  loff(v: unknown, field: string): loff_t {
    if (typeof v === 'string' && HEX_RE.test(v)) {
      const neg = v.startsWith('-');
      const b = neg ? -BigInt(v.slice(1)) : BigInt(v);
      if (b < -(1n << 63n) || b >= 1n << 64n) this.fail(field, 'a 64-bit offset', v);
      return loffOf(BigInt.asIntN(64, b));
    }
    return this.needInt(v, field, 'an offset');
  }

  needInt(v: unknown, field: string, what = 'an integer'): number {
    const n = this.integer(v, field, what);
    if (n === undefined) this.fail(field, `${what} (a number or a "0x..." string)`, v);
    return n;
  }

  ref(v: unknown, field: string, scope: Set<string>): Ref {
    if (typeof v === 'string' && v.startsWith('$')) {
      const m = REF_RE.exec(v);
      if (!m) this.fail(field, 'a reference "$NAME", "$NAME+N" or "$NAME-N"', v);
      const [, name, sign, off] = m;
      if (!scope.has(name!)) this.fail(field, 'a name bound by an earlier op in this process', v);
      let offset = 0;
      if (off !== undefined) {
        const n = exactNumber(BigInt(off));
        if (n === undefined) this.fail(field, 'an offset that a double holds exactly', v);
        offset = sign === '-' ? -n : n;
      }
      return { name: name!, offset };
    }
    const n = this.integer(v, field, 'a "$NAME" reference or a number');
    if (n === undefined) this.fail(field, 'a "$NAME" reference or a number', v);
    return { value: n };
  }

  flags(v: unknown, field: string, kind: Kind, spec?: FieldSpec): number {
    const table = spec?.table ?? FLAG_TABLES[kind]!;
    const what = spec?.what ?? FLAG_WHAT[kind]!;
    const single = this.integer(v, field);
    if (single !== undefined) return single;
    if (!Array.isArray(v)) this.fail(field, KIND_WHAT[kind], v);
    let mask = 0n;
    v.forEach((item, k) => {
      const at = `${field}[${k}]`;
      if (typeof item === 'string' && !HEX_RE.test(item)) {
        const bit = table[item];
        if (bit === undefined) this.fail(at, `${what} (one of ${Object.keys(table).join(', ')}) or an integer`, item);
        mask |= BigInt(bit);
        return;
      }
      const n = this.integer(item, at, `${what} or an integer`);
      if (n === undefined || n < 0) this.fail(at, `${what} or a non-negative integer`, item);
      mask |= BigInt(n);
    });
    return Number(mask);
  }

  prot(v: unknown, field: string): number {
    const n = this.integer(v, field);
    if (n !== undefined) return n;
    const expected = 'a protection: letters r, w, x, or "none"';
    if (typeof v !== 'string') this.fail(field, expected, v);
    if (v === 'none') return PROT.PROT_NONE;
    const bits: Record<string, number> = { r: PROT.PROT_READ, w: PROT.PROT_WRITE, x: PROT.PROT_EXEC };
    let prot = 0;
    if (v.length === 0) this.fail(field, expected, v);
    for (const c of v) {
      const bit = bits[c];
      if (bit === undefined || prot & bit) this.fail(field, expected, v);
      prot |= bit;
    }
    return prot;
  }

  named(v: unknown, field: string, table: Readonly<Record<string, number>>, what: string): number {
    if (typeof v === 'string' && table[v] !== undefined) return table[v]!;
    if (typeof v === 'string' && !HEX_RE.test(v)) this.fail(field, what, v);
    const n = this.integer(v, field, what);
    if (n === undefined) this.fail(field, what, v);
    return n;
  }

  mode(v: unknown, field: string): number {
    if (typeof v === 'string' && /^(0[oO])?[0-7]+$/.test(v)) {
      return parseInt(v.replace(/^0[oO]/, ''), 8);
    }
    const n = this.integer(v, field);
    if (n === undefined) this.fail(field, 'a mode: an integer or an octal string ("0644", "0o644")', v);
    return n;
  }

  path(v: unknown, field: string): string {
    if (typeof v !== 'string' || v.includes('\0')) this.fail(field, 'a path (a string without NUL)', v);
    return v;
  }

  value(kind: Kind, v: unknown, field: string, scope: Set<string>, fields: Record<string, unknown>, spec?: FieldSpec): unknown {
    switch (kind) {
      case 'named':
        return this.named(v, field, spec!.table!, `${spec!.what!} (${Object.keys(spec!.table!).join(', ')}) or number`);
      case 'str':
        if (typeof v !== 'string' || v.includes('\0')) this.fail(field, 'a string without NUL', v);
        return v;
      case 'ref':
        return this.ref(v, field, scope);
      case 'int':
        return this.needInt(v, field);
      case 'loff':
        return this.loff(v, field);
      case 'ints': {
        // An iovec's lengths: at most 2000 (past UIO_MAXIOV, so its EINVAL can be shown).
        if (!Array.isArray(v) || v.length > 2000) this.fail(field, 'a list of at most 2000 integers', v);
        return (v as unknown[]).map((x) => this.needInt(x, field));
      }
      case 'byte': {
        const n = this.integer(v, field);
        if (n === undefined || n < 0 || n > 255) this.fail(field, 'a byte value from 0 to 255', v);
        return n;
      }
      case 'path':
        return this.path(v, field);
      case 'as':
        if (typeof v !== 'string' || !NAME_RE.test(v)) this.fail(field, 'a name (letters, digits, _; not starting with a digit)', v);
        return v;
      case 'prot':
        return this.prot(v, field);
      case 'advice':
        return this.named(v, field, MADV, 'a madvise advice name or number');
      case 'mode':
        return this.mode(v, field);
      case 'cmd':
        return this.named(v, field, FCNTL_CMD_NAMES, `an fcntl command (${Object.keys(FCNTL_CMD_NAMES).join(', ')}) or number`);
      case 'whence':
        return this.named(v, field, WHENCE_NAMES, `a whence (${Object.keys(WHENCE_NAMES).join(', ')}) or number`);
      case 'resource':
        return this.named(v, field, RLIMIT_NAMES, `a resource (${Object.keys(RLIMIT_NAMES).join(', ')}) or number`);
      case 'rlim':
        if (v === 'infinity') return RLIM_INFINITY;
        return this.needInt(v, field, 'a limit: an integer or "infinity"');
      case 'fcntl_arg': {
        // F_DUPFD_QUERY's argument is an fd: a "$NAME" reference works there (and anywhere else an integer does).
        if (typeof v === 'string' && v.startsWith('$')) return this.ref(v, field, scope);
        if (!Array.isArray(v)) return this.needInt(v, field, 'an integer or a flag list');
        const cmd = fields['cmd'];
        if (cmd === F.F_SETFD) return this.flags(v, field, 'fd_flags');
        if (cmd === F.F_SETFL) return this.flags(v, field, 'open_flags');
        if (cmd === F.F_ADD_SEALS) return this.flags(v, field, 'flagset', { kind: 'flagset', required: true, table: SEAL_NAMES, what: 'a seal' });
        return this.fail(field, 'an integer (a flag list only with F_SETFD, F_SETFL or F_ADD_SEALS)', v);
      }
      case 'ops':
        if (!Array.isArray(v)) this.fail(field, 'a list of ops', v);
        return this.nested(field, () => this.ops(v, field, new Set(scope), 'process'));
      case 'thread_ops':
        if (!Array.isArray(v)) this.fail(field, 'a list of ops', v);
        this.inThread++;
        try {
          return this.nested(field, () => this.ops(v, field, new Set(scope), 'thread'));
        } finally {
          this.inThread--;
        }
      case 'body':
        // A repeat runs in the same thread: what it binds stays bound after it.
        if (!Array.isArray(v)) this.fail(field, 'a list of ops', v);
        return this.nested(field, () => this.ops(v, field, scope, 'body'));
      case 'count': {
        const n = this.integer(v, field);
        if (n === undefined || n < 0 || n > 0x7fffffff) this.fail(field, KIND_WHAT.count, v);
        return n;
      }
      case 'cpu': {
        const n = this.integer(v, field);
        if (n === undefined || n < 0 || n > 1023) this.fail(field, KIND_WHAT.cpu, v);
        return n;
      }
      default:
        return this.flags(v, field, kind, spec);
    }
  }

  op(raw: unknown, at: string, scope: Set<string>, list: ListKind): Op {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) this.fail(at, 'an op object', raw);
    const o = raw as Record<string, unknown>;
    const name = o['op'];
    if (typeof name !== 'string' || !Object.hasOwn(OP_FIELDS, name)) {
      this.fail(`${at}.op`, `one of ${OP_NAMES.join(', ')}`, name);
    }
    if (name === 'spin' && list !== 'thread') this.fail(`${at}.op`, 'spin only directly in a thread\'s op list', name);
    // The new image continues the process's own list: a thread's list (at any depth) or a repeat's body has none to continue.
    if (name === 'execve' && (list === 'body' || this.inThread > 0)) {
      this.fail(`${at}.op`, 'execve only in a process\'s own op list (the top level or a fork child\'s, not in a thread or directly in a repeat)', name);
    }
    const spec = OP_FIELDS[name as OpName];
    for (const key of Object.keys(o)) {
      if (key === 'op' || key === 'comment' || Object.hasOwn(spec, key)) continue;
      throw new ScriptError(this.file, `${at}.${key}`, `unknown field for ${name}; expected one of ${[...Object.keys(spec), 'comment'].join(', ')}`);
    }
    const out: Record<string, unknown> = { op: name };
    for (const [key, f] of Object.entries(spec)) {
      const field = `${at}.${key}`;
      const v = o[key];
      if (v === undefined) {
        if (f.required) this.fail(field, f.what ?? KIND_WHAT[f.kind], undefined);
        if (f.default !== undefined) out[key] = f.kind === 'ref' ? { value: f.default } : f.default;
        continue;
      }
      out[key] = this.value(f.kind, v, field, scope, out, f);
    }
    if (name === 'execve' && (out['path'] === undefined) === (out['ops'] === undefined)) {
      this.fail(`${at}.ops`, 'either ops (the new image\'s op list) or path (a file that is not a program), not both', o['ops'] ?? o['path']);
    }
    // A name is bound only after the op that binds it, so an op cannot use its own.
    for (const [key, f] of Object.entries(spec)) if (f.kind === 'as' && typeof out[key] === 'string') scope.add(out[key]);
    return out as unknown as Op;
  }

  ops(list: unknown[], at: string, scope: Set<string>, kind: ListKind): Op[] {
    const ops = list.map((raw, k) => this.op(raw, `${at}[${k}]`, scope, kind));
    this.threadsJoined(ops, at);
    return ops;
  }

  /** Each thread is joined later in the list that started it, once, so none outlives that list. */
  threadsJoined(ops: Op[], at: string): void {
    const running = new Map<string, number>();
    ops.forEach((o, k) => {
      if (o.op === 'thread') {
        if (running.has(o.as)) this.fail(`${at}[${k}].as`, `a name whose thread was joined (thread ${at}[${running.get(o.as)}] is not)`, o.as);
        running.set(o.as, k);
      } else if (o.op === 'join') {
        const r = o.thread;
        if (!('name' in r) || r.offset !== 0 || !running.has(r.name)) {
          this.fail(`${at}[${k}].thread`, 'the name of a thread started earlier in this op list and not yet joined', 'name' in r ? `$${r.name}` : r.value);
        }
        running.delete(r.name);
      }
    });
    for (const [name, k] of running) this.fail(`${at}[${k}].as`, `a thread joined later in the same op list (no join of $${name})`, name);
  }
}

/** Parses and checks a script; throws ScriptError naming `file` on the first problem. */
export function parseScript(text: string, file: string): ParsedScript {
  const p: Parser = new Parser(file);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ScriptError(file, '', `not valid JSON: ${(e as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) p.fail('(top level)', 'a JSON object', doc);
  const top = doc as Record<string, unknown>;
  if (top['kernsim_script'] !== 1) p.fail('kernsim_script', '1', top['kernsim_script']);
  let name = top['name'];
  if (name === undefined) name = file.replace(/^.*[\\/]/, '').replace(/\.json$/, '');
  if (typeof name !== 'string') p.fail('name', 'a string', name);
  if (!Array.isArray(top['ops'])) p.fail('ops', 'a list of ops', top['ops']);
  const flag = (key: string): boolean => {
    const v = top[key];
    if (v !== undefined && typeof v !== 'boolean') p.fail(key, 'true or false', v);
    return v === true;
  };
  const timing = flag('timing');
  const timingDependent = flag('timing_dependent');
  const script: ParsedScript = { name, ops: p.ops(top['ops'], 'ops', new Set(), 'process'), timing, timingDependent };
  if (top['machine'] !== undefined) script.machine = top['machine'];
  return script;
}
