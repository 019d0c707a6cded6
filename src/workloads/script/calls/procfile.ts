/**
 * The procfile op: the process reads a /proc file (open, read to the end,
 * close) and prints its lines, with the values that belong to one machine
 * or one run masked the same way on both sides (the host runner's
 * mask_proc_line in src/conform/host-runner-mask.c), by the file's name:
 *
 * - stat: the pid, ppid and process group as `self` (the caller's pid),
 *   `thread` (its tid, when not the pid), `parent` (its parent's pid) or
 *   `other`; `*` for the session, tty, flags, fault counts, times,
 *   priority and nice (a runner started under nice differs), start time,
 *   sizes, RLIMIT_RSS, addresses, caught signals (the host runner catches
 *   SIGSEGV and SIGBUS), CPU and I/O delay; the rest as read: comm, state,
 *   threads, itrealvalue, esp/eip, pending, blocked and ignored signals,
 *   wchan, exit_signal, rt_priority, policy, guest times and exit_code.
 * - statm: `*` for every count but the two fields that are always 0.
 * - limits: values `*` (padded to their columns) but Max open files's,
 *   which the runner sets (1024/4096); the others are the host's.
 * - smaps_rollup: the header's addresses `*` and its padding one space;
 *   every size `*` at its column (the runner's own mappings count).
 * - cmdline, environ: no lines (the runner's own arguments and environment;
 *   the model has none).
 * - /proc/locks (`locks`): only the locks on files of the working directory
 *   (a host lists every process's), each with the requests waiting behind
 *   it; ids renumbered from 1 in order of appearance; the pid as a lock's
 *   l_pid prints (`self`, `parent`, `other`, or the number when 0 or
 *   below); MAJOR:MINOR:INO as the file's name in the working directory
 *   (the smallest of its names), a lease breaker's `<none>:0` as read.
 * - any other file: its lines as read.
 *
 * Values the host cannot be compared on are checked against the model's
 * counters by unit tests (test/kernel/fs/proc-pid.test.ts).
 */
import { current } from '../../../kernel/sched/task_struct.js';
import type { Blocking } from '../../../sim/task.js';
import type { CallOp } from '../types.js';
import { outcome, type OpEnv, type OpHandler, type OpOutcome } from '../ops/fd.js';
import { readWholeFile } from './mm.js';
import { lockPidName } from './fs.js';
import { lock_dev_ino } from '../../../kernel/fs/locks_show.js';
import { fs_of } from '../../../kernel/fs/fs_struct.js';

/** The caller's own ids a pid field is named by. */
export interface OwnIds {
  pid: number;
  tid: number;
  ppid: number;
}

export function pidName(v: number, ids: OwnIds): string {
  if (v === ids.pid) return 'self';
  if (v === ids.tid) return 'thread';
  if (v === ids.ppid) return 'parent';
  return 'other';
}

/** stat's fields (numbered from 1) printed as read; 1, 4 and 5 are named; the others are `*`. */
const STAT_KEEP = new Set([2, 3, 20, 21, 29, 30, 31, 32, 33, 35, 36, 37, 38, 40, 41, 43, 44, 52]);
const STAT_PIDS = new Set([1, 4, 5]);

function maskStat(line: string, ids: OwnIds): string {
  const close = line.lastIndexOf(')');
  const open = line.indexOf(' (');
  if (close < 0 || open < 0) return line;
  const fields = [line.slice(0, open), line.slice(open + 1, close + 1), ...line.slice(close + 2).split(' ')];
  return fields.map((f, i) => (STAT_PIDS.has(i + 1) ? pidName(Number(f), ids) : STAT_KEEP.has(i + 1) ? f : '*')).join(' ');
}

/** A run of spaces and digits as `*` right-aligned in the same width. */
function maskNumbers(s: string): string {
  return s.replace(/ *\d+/g, (m) => '*'.padStart(m.length));
}

/** One /proc/locks line: `ID: ` then (for a waiting request) spaces and `-> `, then the status with PID MAJ:MIN:INO START END last. */
const LOCKS_LINE = /^(\d+): ( *-> )?(.*) (-?\d+) (\S+) (\S+ \S+)$/;

/**
 * /proc/locks as the procfile op prints it: the lines of locks on files
 * named in `names` (MAJ:MIN:INO -> the working directory's name for it)
 * and the requests listed under them, renumbered by first appearance.
 */
export function maskLocksLines(lines: string[], ids: OwnIds, names: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  const renum = new Map<string, number>();
  let kept = false;
  for (const l of lines) {
    const m = LOCKS_LINE.exec(l);
    if (!m) continue;
    const [, id, arrow, status, pid, dev, range] = m as unknown as string[];
    if (!arrow) kept = names.has(dev!);
    if (!kept) continue;
    let n = renum.get(id!);
    if (n === undefined) renum.set(id!, (n = renum.size + 1));
    const where = dev === '<none>:0' ? dev : (names.get(dev!) ?? '*');
    out.push(`${n}: ${arrow ?? ''}${status} ${lockPidName(Number(pid), ids.pid, ids.ppid || undefined)} ${where} ${range}`);
  }
  return out;
}

export function maskProcLines(name: string, text: string, ids: OwnIds, names?: ReadonlyMap<string, string>): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  switch (name) {
    case 'cmdline':
    case 'environ':
      return [];
    case 'stat':
      return lines.map((l) => maskStat(l, ids));
    case 'statm':
      return lines.map((l) => l.split(' ').map((f, i) => (i === 4 || i === 6 ? f : '*')).join(' '));
    case 'limits':
      return lines.map((l, i) => (i === 0 || l.startsWith('Max open files') || l.length < 68 ? l : l.slice(0, 26) + '*'.padEnd(20) + ' ' + '*'.padEnd(20) + l.slice(67)));
    case 'locks':
      return maskLocksLines(lines, ids, names ?? new Map());
    case 'smaps_rollup':
      return lines.map((l) => (l.endsWith('[rollup]') ? l.replace(/^[0-9a-f]+-[0-9a-f]+ /, '*-* ').replace(/ +/g, ' ') : maskNumbers(l)));
    default:
      return lines;
  }
}

/** The working directory's files by the MAJ:MIN:INO /proc/locks prints for them (the smallest name of a file with several). */
function workdirInodes(env: OpEnv): Map<string, string> {
  const names = new Map<string, string>();
  const pwd = fs_of(current(env.t)).pwd.dentry;
  for (const [name, d] of [...pwd.d_children].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!d.hashed || !d.d_inode) continue;
    const key = lock_dev_ino(d.d_inode);
    if (!names.has(key)) names.set(key, name);
  }
  return names;
}

/** procfile: the process reads the file at `path`; `lines` are its lines, masked by the file's name. */
function* procfile(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  const path = op['path'] as string;
  const text = yield* readWholeFile(env, path);
  if (typeof text === 'number') return outcome(text);
  const ts = current(env.t);
  const ids: OwnIds = { pid: ts.tgid, tid: ts.pid, ppid: ts.parent ? ts.parent.tgid : (env.ppid ?? 0) };
  const name = path.slice(path.lastIndexOf('/') + 1);
  const lines = maskProcLines(name, text, ids, name === 'locks' ? workdirInodes(env) : undefined);
  // The host runner's record cannot tell one empty line from none (a comm set to ""): both print [].
  return { ret: 0, errno: null, lines: lines.length === 1 && lines[0] === '' ? [] : lines };
}

export const procfileCalls: Readonly<Record<string, OpHandler>> = { procfile } as Record<string, OpHandler>;
