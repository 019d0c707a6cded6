/**
 * Runs a syscall script on the host's Linux kernel through a small C helper
 * (host-runner.c, host-runner-ops.c), built with the system `cc` on first use
 * and cached by the hash of its sources. TypeScript does everything but the
 * system calls: it encodes the parsed ops into a line form the C program
 * reads, and formats the raw numbers that come back with the same formatter
 * the simulator uses.
 */
import { loffOf } from '../kernel/fs/loff.js';
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CookieNames, formatLine, getflResult, inotifyMaskNames, rlimitValue, type ResultLine } from '../workloads/script/format.js';
import { CALL_FIELDS } from '../workloads/script/calls/fields.js';
import { F, PAGE_SIZE, type CallOp, type Op, type ParsedScript, type Ref } from '../workloads/script/types.js';

/** The host runner could not run a script (build failure, timeout, setup error). */
export class HostRunnerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HostRunnerError';
  }
}

export interface HostRunOptions {
  /** The runner kills a script that runs longer (default 10 s). */
  timeoutSeconds?: number;
}

const DEFAULT_TIMEOUT_S = 10;

/** The runner's sources under src/conform/; the first is the one with main(). */
const RUNNER_SOURCES = ['host-runner.c', 'host-runner-ops.c', 'host-runner-control.c', 'host-runner-calls.c', 'host-runner-exec.c', 'host-runner-mask.c', 'host-runner.h'];

/** The directory holding the package's package.json and src/conform (a checkout or an installed package). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'src', 'conform', RUNNER_SOURCES[0]!))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new HostRunnerError('cannot find src/conform/host-runner.c above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

let ccChecked: boolean | undefined;

/** True when the host can build and run the runner: Linux with a working `cc`. */
export function hostRunnerAvailable(): boolean {
  if (ccChecked === undefined) {
    ccChecked = process.platform === 'linux' && spawnSync('cc', ['--version'], { stdio: 'ignore' }).status === 0;
  }
  return ccChecked;
}

/**
 * Where built helpers are kept: the user's cache directory as the XDG base
 * directory specification puts it ($XDG_CACHE_HOME, else ~/.cache), so an
 * installed package, whose own directory may be read-only, can build them.
 * Without a home directory, the system's temporary directory.
 */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env['XDG_CACHE_HOME'];
  if (xdg && isAbsolute(xdg)) return join(xdg, 'kernsim');
  const home = env['HOME'];
  return home ? join(home, '.cache', 'kernsim') : join(tmpdir(), 'kernsim-cache');
}

/** Builds unused this long are removed when another is made (the cache is shared by every checkout and install of this user). */
const STALE_BUILD_MS = 7 * 24 * 3600 * 1000;

/**
 * Path of a small C helper built from `sources` (under src/conform/),
 * building it when its sources changed. Builds go to a private name first
 * and are renamed into place, so parallel test workers never run a
 * half-written binary. Builds of other sources are kept (another checkout
 * may be using them) until unused for a week.
 */
export function ensureHostTool(name: string, sources: readonly string[]): string {
  const root = packageRoot();
  const srcs = sources.map((f) => join(root, 'src', 'conform', f));
  const h = createHash('sha256');
  for (const f of srcs) h.update(f.slice(root.length)).update(readFileSync(f));
  const hash = h.digest('hex').slice(0, 16);
  const dir = cacheDir();
  const bin = join(dir, `${name}-${hash}`);
  if (existsSync(bin)) {
    touchUsed(bin);
    return bin;
  }
  if (!hostRunnerAvailable()) throw new HostRunnerError(`cannot build ${name}: no C compiler (cc) on this host`);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new HostRunnerError(`cannot build ${name}: cannot create the cache directory ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); set XDG_CACHE_HOME to a writable directory`);
  }
  const tmp = `${bin}.${process.pid}.tmp`;
  const cc = spawnSync('cc', ['-O2', '-std=gnu11', '-Wall', '-pthread', '-o', tmp, ...srcs.filter((f) => f.endsWith('.c'))], { encoding: 'utf8' });
  if (cc.status !== 0) {
    rmSync(tmp, { force: true });
    throw new HostRunnerError(`cannot build ${name}: cc: ${(cc.stderr || cc.error?.message || '').trim().split('\n')[0]}`);
  }
  renameSync(tmp, bin);
  // Age is measured against the build just written (the file system's time, not a clock read here).
  const builtAt = statSync(bin).mtimeMs;
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (!f.startsWith(`${name}-`) || f.endsWith('.tmp') || f.endsWith(USED_SUFFIX) || p === bin) continue;
    try {
      if (builtAt - lastUsed(p) > STALE_BUILD_MS) {
        rmSync(p, { force: true });
        rmSync(p + USED_SUFFIX, { force: true });
      }
    } catch {
      // removed by another process meanwhile
    }
  }
  return bin;
}

const USED_SUFFIX = '.used';

/** Marks a build as used (the mtime of a marker beside it), so a build in use is never taken for stale. */
function touchUsed(bin: string): void {
  try {
    writeFileSync(bin + USED_SUFFIX, '');
  } catch {
    // best effort (a read-only cache still runs the build it has)
  }
}

/** When a build was last used: its marker's mtime, or the build's own when it has none. */
function lastUsed(bin: string): number {
  return existsSync(bin + USED_SUFFIX) ? statSync(bin + USED_SUFFIX).mtimeMs : statSync(bin).mtimeMs;
}

/** Path of the runner binary, built from its sources when they changed. */
export function ensureHostRunner(): string {
  return ensureHostTool('host-runner', RUNNER_SOURCES);
}

// ---- encoding the parsed script for the C side ----

function u64(n: number | bigint): string {
  if (n === Infinity) return '18446744073709551615';
  return BigInt.asUintN(64, BigInt(n)).toString();
}

const str = (s: string): string => 'h' + Buffer.from(s, 'utf8').toString('hex');

class Encoder {
  private readonly slots = new Map<string, number>();
  readonly lines: string[] = [];

  get slotCount(): number {
    return this.slots.size;
  }

  private slot(name: string): number {
    let s = this.slots.get(name);
    if (s === undefined) {
      s = this.slots.size;
      this.slots.set(name, s);
    }
    return s;
  }

  private ref(r: Ref): string {
    return 'name' in r ? `s${this.slot(r.name)}+${u64(r.offset)}` : `v${u64(r.value)}`;
  }

  ops(list: Op[]): void {
    for (const o of list) this.op(o);
  }

  /** A later op's arguments: each field of CALL_FIELDS in order (`as` is the slot, not an argument). */
  private callArgs(o: CallOp): string[] {
    const args: string[] = [];
    for (const [key, f] of Object.entries(CALL_FIELDS[o.op])) {
      if (key === 'as') continue;
      const x = o[key];
      if (x === undefined) args.push('-');
      else if (f.kind === 'as') args.push(`v${this.slot(x as string)}`);
      else if (f.kind === 'ref') args.push(this.ref(x as Ref));
      else if (f.kind === 'path' || f.kind === 'str') args.push(str(x as string));
      else if (f.kind === 'ints') args.push(str((x as number[]).map((n) => u64(n)).join(',')));
      else args.push(`v${u64(x as number)}`);
    }
    return args;
  }

  private op(o: Op): void {
    const v = (n: number | bigint) => `v${u64(n)}`;
    let args: string[];
    switch (o.op) {
      case 'mmap':
        args = [v(BigInt(o.pages) * BigInt(PAGE_SIZE)), v(o.prot), v(o.flags), o.fd ? this.ref(o.fd) : v(-1), v(o.offset), o.addr ? this.ref(o.addr) : '-'];
        break;
      case 'munmap': case 'mlock': case 'munlock': case 'mincore':
        args = [this.ref(o.addr), v(o.len)];
        break;
      case 'mprotect': args = [this.ref(o.addr), v(o.len), v(o.prot)]; break;
      case 'madvise': args = [this.ref(o.addr), v(o.len), v(o.advice)]; break;
      case 'fill': args = [this.ref(o.addr), v(o.len), v(o.byte)]; break;
      case 'load': args = [this.ref(o.addr)]; break;
      case 'open': args = [str(o.path), v(o.flags), v(o.mode)]; break;
      case 'close': case 'dup': case 'fionread': args = [this.ref(o.fd)]; break;
      case 'dup2': args = [this.ref(o.fd), this.ref(o.newfd)]; break;
      case 'dup3': args = [this.ref(o.fd), this.ref(o.newfd), v(o.flags)]; break;
      case 'fcntl': args = [this.ref(o.fd), v(o.cmd), typeof o.arg === 'number' ? v(o.arg) : this.ref(o.arg)]; break;
      case 'write': args = [this.ref(o.fd), v(o.len), v(o.byte)]; break;
      case 'read': case 'ftruncate': args = [this.ref(o.fd), v(o.len)]; break;
      case 'lseek': args = [this.ref(o.fd), v(o.offset), v(o.whence)]; break;
      case 'unlink': case 'rmdir': args = [str(o.path)]; break;
      case 'mkdir': case 'chmod': args = [str(o.path), v(o.mode)]; break;
      case 'rename': args = [str(o.from), str(o.to)]; break;
      case 'setrlimit': args = [v(o.resource), v(o.cur), v(o.max)]; break;
      case 'getrlimit': args = [v(o.resource)]; break;
      case 'inotify_init1': args = [v(o.flags)]; break;
      case 'inotify_add_watch': args = [this.ref(o.fd), str(o.path), v(o.mask)]; break;
      case 'inotify_rm_watch': args = [this.ref(o.fd), this.ref(o.wd)]; break;
      case 'inotify_read': args = [this.ref(o.fd), v(o.bufsize)]; break;
      case 'fork': case 'repeat': case 'thread':
        this.nested(o);
        return;
      case 'execve':
        // With a path, a plain call; with ops, the new image's list follows as a nested list.
        if (o.ops === undefined) args = [str(o.path!)];
        else {
          this.line(o, ['-', `n${o.ops.length}`]);
          this.ops(o.ops);
          return;
        }
        break;
      case 'membarrier': args = [v(o.cmd), v(o.flags)]; break;
      case 'join': args = [this.ref(o.thread)]; break;
      case 'spin': args = []; break;
      case 'pin': args = [v(o.cpu)]; break;
      default:
        args = this.callArgs(o);
    }
    this.line(o, args);
  }

  private line(o: Op, args: string[]): void {
    const as = 'as' in o && o.as !== undefined ? this.slot(o.as) : -1;
    this.lines.push([o.op, String(as), ...args].join(' '));
  }

  /** An op with a nested list: its line ends with `n<count>`, and the nested ops' lines follow. */
  private nested(o: Extract<Op, { ops: Op[] }>): void {
    const v = (n: number) => `v${u64(n)}`;
    const args = o.op === 'repeat' ? [v(o.count)] : o.op === 'thread' ? [o.cpu !== undefined ? v(o.cpu) : '-'] : [];
    this.line(o, [...args, `n${o.ops.length}`]);
    this.ops(o.ops);
  }
}

/** The line form host-runner.c reads. */
export function encodeScript(script: ParsedScript): string {
  const e = new Encoder();
  e.ops(script.ops);
  return ['kernsim-host-ops 1', `slots ${e.slotCount}`, `timing ${script.timing ? 1 : 0}`, `ops ${script.ops.length}`, ...e.lines, ''].join('\n');
}

// ---- decoding the runner's raw records ----

class Records {
  private k = 0;
  constructor(private readonly rows: string[][]) {}
  peek(): string[] | undefined {
    return this.rows[this.k];
  }
  next(what: string): string[] {
    const r = this.rows[this.k++];
    if (r === undefined) throw new HostRunnerError(`runner output ends early (expected ${what})`);
    return r;
  }
  get done(): boolean {
    return this.k >= this.rows.length;
  }
}

function decodeList(ops: Op[], rec: Records, cookies: CookieNames, top: boolean): ResultLine[] {
  const out: ResultLine[] = [];
  // A join's records are those of the thread op (in the same list) that bound its name.
  const threadOps = new Map<string, Op[]>();
  for (let i = 0; i < ops.length; i++) {
    const o = ops[i]!;
    if (o.op === 'thread') threadOps.set(o.as, o.ops);
    const head = rec.peek();
    // A child that died early has fewer records than ops; its list ends at E.
    if (!top && (head === undefined || head[0] === 'E')) break;
    const line = decodeOne(o, i, rec, cookies, threadOps, top);
    // With timing, the op's time follows its record (none inside a repeat).
    if (rec.peek()?.[0] === 'T') line.time_ns = Number(rec.next('time')[1]);
    out.push(line);
    // An execve that succeeded never returns: the rest of this list belonged to the old image.
    if (line.image !== undefined) break;
  }
  return out;
}

/** Ops whose records are framed by B <i> ... E: a fork's child, a join's thread, a repeat's last iteration. */
const FRAMED: ReadonlySet<string> = new Set(['fork', 'join', 'repeat']);

function nestedOps(op: Op, threadOps: Map<string, Op[]>): Op[] {
  if (op.op === 'fork' || op.op === 'repeat') return op.ops;
  if (op.op === 'join' && 'name' in op.thread) return threadOps.get(op.thread.name) ?? [];
  return [];
}

function decodeOne(op: Op, i: number, rec: Records, cookies: CookieNames, threadOps: Map<string, Op[]>, top: boolean): ResultLine {
  let child: ResultLine[] | undefined;
  // The new image of an execve starts with X <i>; its records run to the end of the enclosing list (E, or the end).
  if (op.op === 'execve' && rec.peek()?.[0] === 'X') {
    const x = rec.next(`execve ${i}`);
    if (Number(x[1]) !== i) throw new HostRunnerError(`runner output: expected the new image of execve ${i}, got "${x.join(' ')}"`);
    return { i, op: op.op, ret: 0, errno: null, image: decodeList(op.ops ?? [], rec, cookies, top) };
  }
  // A failed join or fork has no frame: only its R record.
  if (FRAMED.has(op.op) && rec.peek()?.[0] === 'B') {
    const b = rec.next(`${op.op} ${i}`);
    if (Number(b[1]) !== i) throw new HostRunnerError(`runner output: expected the start of ${op.op} ${i}, got "${b.join(' ')}"`);
    child = decodeList(nestedOps(op, threadOps), rec, cookies, false);
    const e = rec.next('end of nested records');
    if (e[0] !== 'E') throw new HostRunnerError(`runner output: expected the end of ${op.op} ${i}'s nested records, got "${e.join(' ')}"`);
  }
  const t = rec.next(`op ${i}`);
  if (Number(t[1]) !== i || (t[0] !== 'R' && t[0] !== 'S')) throw new HostRunnerError(`runner output: expected op ${i}, got "${t.join(' ')}"`);
  if (t[0] === 'S') return { i, op: op.op, ret: -1, errno: null, signal: t[2]! };
  const ret = loffOf(BigInt(t[2]!));
  const errno = t[3] === '-' ? null : t[3]!;
  const r: ResultLine = { i, op: op.op, ret, errno };
  if (errno !== null) return r;
  const x = t.slice(4);
  switch (op.op) {
    case 'load': case 'fionread': r.value = Number(x[0]); break;
    case 'mincore': r.vec = x[0] ?? ''; break;
    case 'read': r.sum = Number(x[0]); break;
    case 'getrlimit':
      r.cur = rlimitValue(BigInt(x[0]!));
      r.max = rlimitValue(BigInt(x[1]!));
      break;
    case 'fcntl':
      if (op.cmd === F.F_GETFL) {
        const g = getflResult(Number(ret));
        r.ret = g.ret;
        r.flags = g.flags;
      }
      break;
    case 'inotify_read': {
      const n = Number(x[0]);
      r.events = [];
      for (let k = 0; k < n; k++) {
        const [wd, mask, cookie, name] = x.slice(1 + 4 * k, 5 + 4 * k);
        r.events.push({
          wd: Number(wd),
          mask: inotifyMaskNames(Number(mask)),
          cookie: cookies.name(Number(cookie)),
          name: Buffer.from(name!.slice(1), 'hex').toString('utf8'),
        });
      }
      break;
    }
    case 'fork':
      r.child = child!;
      r.exit = /^[0-9]+$/.test(x[0]!) ? Number(x[0]) : x[0]!;
      break;
    case 'join':
      r.child = child ?? [];
      break;
    case 'repeat':
      r.last = child ?? [];
      break;
    default:
      for (const tok of x) decodeCallField(r, tok);
  }
  return r;
}

/**
 * One extra field of a later op: `key=` and a typed value: `n` a decimal
 * number (possibly negative), `h` a string in hex, `l` a comma-separated
 * list of hex strings, `i` a comma-separated list of numbers, `s` a bare word.
 */
function decodeCallField(r: ResultLine, tok: string): void {
  const eq = tok.indexOf('=');
  if (eq <= 0) throw new HostRunnerError(`runner output: bad field "${tok}"`);
  const key = tok.slice(0, eq);
  const type = tok[eq + 1];
  const v = tok.slice(eq + 2);
  const hex = (h: string): string => Buffer.from(h, 'hex').toString('utf8');
  switch (type) {
    case 'n': r[key] = loffOf(BigInt(v)); break;
    case 'h': r[key] = hex(v); break;
    case 'l': r[key] = v === '' ? [] : v.split(',').map(hex); break;
    case 'i': r[key] = v === '' ? [] : v.split(',').map(Number); break;
    case 's': r[key] = v; break;
    case 'b': r[key] = v === '1'; break;
    default: throw new HostRunnerError(`runner output: bad field "${tok}"`);
  }
}

/** Result objects from the runner's raw output, in the spec's form. */
export function decodeResults(script: ParsedScript, raw: string): ResultLine[] {
  const rows = raw.split('\n').filter((l) => l !== '').map((l) => l.split(' '));
  const rec = new Records(rows);
  const lines = decodeList(script.ops, rec, new CookieNames(), true);
  if (!rec.done) throw new HostRunnerError(`runner output: unexpected record "${rec.peek()!.join(' ')}"`);
  return lines;
}

/** Removes a run's directory even if the script left it unreadable (chmod 0 on a subdirectory). */
function removeTree(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
    return;
  } catch {
    // fall through: make every directory writable and searchable, then retry
  }
  const open = (d: string): void => {
    try {
      chmodSync(d, 0o700);
      for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) open(join(d, e.name));
    } catch {
      // best effort; the retry below reports what is left
    }
  };
  open(dir);
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Runs the script on the host kernel as the spec says (fresh empty working
 * directory, fds 0-2 on /dev/null, RLIMIT_NOFILE 1024/4096, umask 022, THP
 * off, unprivileged) and returns its result lines.
 */
export async function runOnHost(script: ParsedScript, opts: HostRunOptions = {}): Promise<string[]> {
  const bin = ensureHostRunner();
  const timeout = opts.timeoutSeconds ?? DEFAULT_TIMEOUT_S;
  const base = mkdtempSync(join(tmpdir(), 'kernsim-host-'));
  try {
    const opsFile = join(base, 'ops');
    const workdir = join(base, 'wd');
    mkdirSync(workdir, { mode: 0o700 });
    writeFileSync(opsFile, encodeScript(script));
    const raw = await new Promise<string>((resolve, reject) => {
      execFile(bin, [opsFile, workdir, String(timeout)], { maxBuffer: 512 << 20, encoding: 'utf8', timeout: (timeout + 5) * 1000 }, (err, stdout, stderr) => {
        if (err) {
          const why = stderr.trim().split('\n')[0] || err.message;
          reject(new HostRunnerError(`${script.name}: ${why}`));
        } else resolve(stdout);
      });
    });
    return decodeResults(script, raw).map(formatLine);
  } finally {
    removeTree(base);
  }
}
