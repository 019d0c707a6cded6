/**
 * Syscall-script op handlers for memory: mmap, munmap, mprotect, madvise,
 * mlock, munlock, fill, load, mincore. Each runs in the script's process and
 * returns the op's result line (without `i` and `op`).
 *
 * Arguments are passed as the host runner passes them (src/conform/host-runner-ops.c):
 * 64-bit values as their two's complement, `int` ones (fd, advice) by their
 * low 32 bits. An mmap without `fixed` and without an address gets the same
 * hint the host runner gives (from 16 TiB up, each MAP_GAP past the last
 * mapping's end), so scripts that reach next to a mapping find a hole on
 * both sides.
 */
import { errnoName } from '../../../kernel/errno.js';
import { signame } from '../../../kernel/mm/fault.js';
import { sys_madvise } from '../../../kernel/mm/madvise.js';
import { sys_mincore } from '../../../kernel/mm/mincore.js';
import { sys_mlock, sys_munlock } from '../../../kernel/mm/mlock.js';
import { MAP_FIXED, MAP_FIXED_NOREPLACE, sys_mmap, sys_munmap } from '../../../kernel/mm/mmap.js';
import { sys_mprotect } from '../../../kernel/mm/mprotect.js';
import { fillUser, loadUser } from '../../../kernel/mm/uaccess.js';
import type { Blocking } from '../../../sim/task.js';
import type { FillOp, LoadOp, MadviseOp, MincoreOp, MlockOp, MmapOp, MprotectOp, MunmapOp, Op } from '../types.js';
import type { OpEnv, OpHandler, OpOutcome } from './fd.js';

/** The host runner's first hint (16 TiB) and the gap it leaves after each mapping (1 GiB). */
export const MAP_HINT_BASE = 0x100000000000n;
export const MAP_GAP = 0x40000000n;

/** Per-process state the memory ops keep: the next mmap hint (copied into a fork child, as the runner's variable is). */
export interface MmOpState {
  nextHint: bigint;
}

/** The environment the interpreter gives handlers; memory ops also need the process's hint. */
export interface MmOpEnv extends OpEnv {
  mm: MmOpState;
}

function outcome(ret: number): OpOutcome {
  return ret < 0 ? { ret: -1, errno: errnoName(-ret) } : { ret, errno: null };
}

/** C `int` conversion. */
function int32(v: number): number {
  return Number(BigInt.asIntN(32, BigInt(v)));
}

const U64 = (1n << 64n) - 1n;

/** The 64-bit address a script value stands for, as a number if it is a user address, else as a bigint. */
function addr64(v: number): bigint {
  return BigInt.asUintN(64, BigInt(v));
}

/** An address the MMU can be asked about: user addresses as they are, anything past 2^48 clamped there (it faults either way). */
function vaddrOf(v: number): number {
  const a = addr64(v);
  return a >= 1n << 48n ? 2 ** 48 : Number(a);
}

function signalled(sig: number): OpOutcome {
  return { ret: -1, errno: null, signal: signame(sig) };
}

function* mmap(env: OpEnv, op: Op): Blocking<OpOutcome> {
  const o = op as MmapOp;
  const st = (env as MmOpEnv).mm;
  const len = BigInt(o.pages) * 4096n;
  let addr: bigint;
  if (o.addr) addr = addr64(env.ref(o.addr));
  else if (o.flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) addr = 0n;
  else {
    addr = st.nextHint;
    st.nextHint = ((((st.nextHint + len + MAP_GAP - 1n) & U64) & ~(MAP_GAP - 1n)) + MAP_GAP) & U64;
  }
  const fd = o.fd ? int32(env.ref(o.fd)) : -1;
  const ret = yield* sys_mmap(env.t, addr, len, o.prot, o.flags, fd, BigInt.asUintN(64, BigInt(o.offset)));
  env.bind(o.as, ret < 0 ? -1 : ret);
  return ret < 0 ? outcome(ret) : { ret: 0, errno: null };
}

function* munmap(env: OpEnv, op: Op): Blocking<OpOutcome> {
  const o = op as MunmapOp;
  return outcome(yield* sys_munmap(env.t, addr64(env.ref(o.addr)), addr64(o.len)));
}

function* mprotect(env: OpEnv, op: Op): Blocking<OpOutcome> {
  const o = op as MprotectOp;
  return outcome(yield* sys_mprotect(env.t, addr64(env.ref(o.addr)), addr64(o.len), addr64(o.prot)));
}

function* madvise(env: OpEnv, op: Op): Blocking<OpOutcome> {
  const o = op as MadviseOp;
  return outcome(yield* sys_madvise(env.t, addr64(env.ref(o.addr)), addr64(o.len), int32(o.advice)));
}

function* mlock(env: OpEnv, op: Op): Blocking<OpOutcome> {
  const o = op as MlockOp;
  const a = addr64(env.ref(o.addr));
  const l = addr64(o.len);
  return outcome(o.op === 'mlock' ? yield* sys_mlock(env.t, a, l) : yield* sys_munlock(env.t, a, l));
}

function* fill(env: OpEnv, op: Op): Blocking<OpOutcome> {
  const o = op as FillOp;
  if (addr64(o.len) === 0n) return { ret: 0, errno: null }; // the runner's memset of no bytes touches nothing
  const start = vaddrOf(env.ref(o.addr));
  // The runner's memset stops at the top of the address space when start + len wraps.
  const endB = addr64(env.ref(o.addr)) + addr64(o.len);
  const end = endB >= 1n << 48n ? 2 ** 48 + 4096 : Number(endB);
  if (end <= start) return { ret: 0, errno: null };
  const sig = yield* fillUser(env.t, start, end - start, o.byte & 0xff);
  return sig ? signalled(sig) : { ret: 0, errno: null };
}

function* load(env: OpEnv, op: Op): Blocking<OpOutcome> {
  const o = op as LoadOp;
  const r = yield* loadUser(env.t, vaddrOf(env.ref(o.addr)));
  return r.sig ? signalled(r.sig) : { ret: 0, errno: null, value: r.value };
}

function* mincore(env: OpEnv, op: Op): Blocking<OpOutcome> {
  const o = op as MincoreOp;
  const out: { out: Uint8Array | null } = { out: null };
  const ret = yield* sys_mincore(env.t, addr64(env.ref(o.addr)), addr64(o.len), out);
  if (ret < 0) return outcome(ret);
  let vec = '';
  for (const b of out.out ?? []) vec += b & 1 ? '1' : '0';
  return { ret, errno: null, vec };
}

export const mmOps: Readonly<Record<string, OpHandler>> = { mmap, munmap, mprotect, madvise, mlock, munlock: mlock, fill, load, mincore };
