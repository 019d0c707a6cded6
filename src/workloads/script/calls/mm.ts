/**
 * Simulator handlers of the later memory ops (calls/fields.ts): mlock2,
 * mlockall, munlockall, msync. Arguments are passed as the host runner
 * passes them: 64-bit values as their two's complement, `int` ones by
 * their low 32 bits.
 */
import type { loff_t } from '../../../kernel/fs/loff.js';
import { sys_brk } from '../../../kernel/mm/brk.js';
import { BRK_BASE } from '../../../kernel/mm/mm_types.js';
import { sys_mlock2, sys_mlockall, sys_munlockall } from '../../../kernel/mm/mlock.js';
import { sys_memfd_create } from '../../../kernel/mm/memfd.js';
import { sys_msync } from '../../../kernel/mm/msync.js';
import { sys_mremap } from '../../../kernel/mm/mremap.js';
import { sys_mseal } from '../../../kernel/mm/mseal.js';
import { sys_close, sys_open } from '../../../kernel/fs/fd_syscalls.js';
import { sys_pread64, sys_read } from '../../../kernel/fs/read_write.js';
import type { TextBuf } from '../../../kernel/fs/seq_file.js';
import type { PagemapBuf } from '../../../kernel/fs/proc/task_mmu.js';
import type { Blocking } from '../../../sim/task.js';
import type { CallOp, Ref } from '../types.js';
import { outcome, type OpEnv, type OpHandler, type OpOutcome } from '../ops/fd.js';

/** The 64-bit value of a script number. */
export function u64(v: number): bigint {
  return BigInt.asUintN(64, BigInt(v));
}

/** C `int` of a script number. */
export function int32(v: number): number {
  return Number(BigInt.asIntN(32, BigInt(v)));
}

/** The op's field `key` as a number (resolving a reference). */
/** An off_t field ('loff': a number, or a bigint past 2^53). */
export function loffArg(o: CallOp, key: string): loff_t {
  return o[key] as loff_t;
}

export function num(env: OpEnv, o: CallOp, key: string): number {
  const v = o[key];
  if (typeof v === 'object' && v !== null) return env.ref(v as Ref);
  return v as number;
}

/**
 * brk: the returned break is bound to `as` and printed as `offset`, its
 * distance from the break the process started with (addresses differ
 * between kernels; distances do not).
 */
function* brk(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  const addr = op['addr'] === undefined ? 0 : num(env, op, 'addr');
  const ret = yield* sys_brk(env.t, u64(addr));
  env.bind(op.as, ret);
  return { ret: 0, errno: null, offset: ret - BRK_BASE };
}

function* mlock2(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  return outcome(yield* sys_mlock2(env.t, u64(num(env, op, 'addr')), u64(num(env, op, 'len')), u64(num(env, op, 'flags'))));
}

function* mlockall(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  return outcome(yield* sys_mlockall(env.t, int32(num(env, op, 'flags'))));
}

function* munlockall(env: OpEnv): Blocking<OpOutcome> {
  return outcome(yield* sys_munlockall(env.t));
}

function* memfd_create(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  const ret = yield* sys_memfd_create(env.t, op['name'] as string, num(env, op, 'flags'));
  env.bind(op.as, ret < 0 ? -1 : ret);
  return outcome(ret);
}

function* msync(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  return outcome(yield* sys_msync(env.t, u64(num(env, op, 'addr')), u64(num(env, op, 'len')), u64(num(env, op, 'flags'))));
}

/**
 * mremap: the new address is bound to `as` (never printed: addresses differ
 * between kernels); `same` says whether the area stayed where it was.
 */
function* mremap(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  const addr = num(env, op, 'addr');
  const newAddr = op['new_addr'] === undefined ? 0 : num(env, op, 'new_addr');
  const ret = yield* sys_mremap(env.t, u64(addr), u64(num(env, op, 'old_len')), u64(num(env, op, 'new_len')), u64(num(env, op, 'flags')), u64(newAddr));
  env.bind(op.as, ret < 0 ? -1 : ret);
  return ret < 0 ? outcome(ret) : { ret: 0, errno: null, same: BigInt(ret) === u64(addr) };
}

function* mseal(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  return outcome(yield* sys_mseal(env.t, u64(num(env, op, 'addr')), u64(num(env, op, 'len')), u64(num(env, op, 'flags'))));
}

/**
 * What a program does to read a text file whole (open, read to the end,
 * close), as the ops that print a /proc file do: its text, or the failing
 * call's negative errno.
 */
export function* readWholeFile(env: OpEnv, path: string): Blocking<string | number> {
  const fd = yield* sys_open(env.t, path, 0, 0);
  if (fd < 0) return fd;
  const buf: TextBuf = { sum: 0, text: '' };
  let r: number;
  do r = yield* sys_read(env.t, fd, 1 << 20, buf);
  while (r > 0);
  yield* sys_close(env.t, fd);
  return r < 0 ? r : buf.text!;
}

/** Whether a /proc/PID/smaps line starts an area (its "start-end perms ..." header). */
const SMAPS_HEADER = /^([0-9a-f]+)-([0-9a-f]+) /;

/**
 * smaps: the process reads /proc/self/smaps (open, read to the end, close)
 * and prints the lines of the area holding addr, its header line left out
 * (addresses differ between kernels); `lines` is empty when no area holds it.
 */
function* smaps(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  const addr = BigInt.asUintN(64, BigInt(num(env, op, 'addr')));
  const text = yield* readWholeFile(env, '/proc/self/smaps');
  if (typeof text === 'number') return outcome(text);
  const lines: string[] = [];
  let inArea = false;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const h = SMAPS_HEADER.exec(line);
    if (h) inArea = addr >= BigInt('0x' + h[1]) && addr < BigInt('0x' + h[2]);
    else if (inArea) lines.push(line);
  }
  return { ret: 0, errno: null, lines };
}

/**
 * pagemap: the process opens /proc/self/pagemap, preads the entries of
 * `pages` pages from addr's page and closes it; `entries` are the 64-bit
 * entries in hex (16 digits).
 */
function* pagemap(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  const addr = BigInt.asUintN(64, BigInt(num(env, op, 'addr')));
  const pages = num(env, op, 'pages');
  const fd = yield* sys_open(env.t, '/proc/self/pagemap', 0, 0);
  if (fd < 0) return outcome(fd);
  const buf: PagemapBuf = { sum: 0, entries: [] };
  const count = BigInt.asUintN(64, BigInt(pages) * 8n);
  const ret = yield* sys_pread64(env.t, fd, Number(count), Number((addr / 4096n) * 8n), buf);
  yield* sys_close(env.t, fd);
  if (ret < 0) return outcome(ret);
  return { ret, errno: null, entries: buf.entries!.map((e) => e.toString(16).padStart(16, '0')) };
}

export const mmCalls: Readonly<Record<string, OpHandler>> = { brk, mlock2, mlockall, munlockall, memfd_create, msync, mremap, mseal, smaps, pagemap } as Record<string, OpHandler>;
