/**
 * eventfd2(2), after fs/eventfd.c: a 64-bit counter behind an anonymous
 * O_RDWR file. A write adds its 8-byte value (a script's write of 8 copies
 * of a byte adds that byte repeated: 0x0101...01 times the byte); the
 * value ULLONG_MAX is EINVAL, and a sum past ULLONG_MAX - 1 would block
 * (EAGAIN in non-blocking mode). A read returns the counter and resets it
 * (EFD_SEMAPHORE: returns 1 and decrements); an empty counter would block
 * (EAGAIN). A read buffer under 8 bytes, or a write of other than 8, is
 * EINVAL. The file seeks nowhere
 * (noop_llseek) and has no position for pread (ESPIPE).
 */
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import type { Kernel } from '../kernel.js';
import { EAGAIN, EINVAL } from '../errno.js';
import { syscall } from '../syscalls.js';
import { fd_install, get_unused_fd_flags } from './file.js';
import { alloc_file, type File, type FileOperations, type IoBuf } from './file_table.js';
import { FMODE_LSEEK, FMODE_READ, FMODE_WRITE, O_CLOEXEC, O_NONBLOCK, O_RDWR } from './uapi_fcntl.js';

export const EFD_SEMAPHORE = 1;
const ULLONG_MAX = (1n << 64n) - 1n;

interface EventfdCtx {
  count: bigint;
  semaphore: boolean;
  /** ctx->id, from eventfd_ida. */
  id: number;
}

const CAT_IDA_ALLOC = intern('ida_alloc');
const CAT_IDA_FREE = intern('ida_free');

/** eventfd_ida's ids in use, per kernel. */
const idas = new WeakMap<Kernel, Set<number>>();

/** ida_alloc(&eventfd_ida): the lowest free id from 0 (an xarray search under its lock). */
function ida_alloc(t: Task): number {
  const k = t.k;
  let used = idas.get(k);
  if (!used) idas.set(k, (used = new Set()));
  t.enter(CAT_IDA_ALLOC);
  t.charge(k.cfg.kernel.cost.kernel_op);
  t.leave();
  let id = 0;
  while (used.has(id)) id++;
  used.add(id);
  return id;
}

/** ida_free(&eventfd_ida, id). */
function ida_free(t: Task, id: number): void {
  const k = t.k;
  t.enter(CAT_IDA_FREE);
  t.charge(k.cfg.kernel.cost.kernel_op);
  t.leave();
  idas.get(k)?.delete(id);
}

const ctxOf = (f: File): EventfdCtx => f.private_data as EventfdCtx;

function byteSum(v: bigint): number {
  let s = 0;
  for (let i = 0n; i < 8n; i++) s += Number((v >> (8n * i)) & 0xffn);
  return s;
}

function* eventfd_read(_t: Task, f: File, len: number, buf: IoBuf | null): Blocking<number> {
  const ctx = ctxOf(f);
  if (len < 8) return -EINVAL;
  if (ctx.count === 0n) {
    if (f.f_flags & O_NONBLOCK) return -EAGAIN;
    throw new Error('eventfd read would block forever (counter 0): scripts must use O_NONBLOCK');
  }
  const v = ctx.semaphore ? 1n : ctx.count;
  ctx.count -= v;
  if (buf) buf.sum += byteSum(v);
  if (buf?.bytes) for (let b = 0n; b < 64n; b += 8n) buf.bytes.push(Number((v >> b) & 0xffn));
  return 8;
}

function* eventfd_write(_t: Task, f: File, len: number, byte: number): Blocking<number> {
  const ctx = ctxOf(f);
  // Exactly 8 bytes since Linux 6.7 (a longer buffer was read as its first 8 before).
  if (len !== 8) return -EINVAL;
  const v = BigInt(byte) * 0x0101010101010101n;
  if (v === ULLONG_MAX) return -EINVAL;
  if (ULLONG_MAX - ctx.count <= v) {
    if (f.f_flags & O_NONBLOCK) return -EAGAIN;
    throw new Error('eventfd write would block forever (counter full): scripts must use O_NONBLOCK');
  }
  ctx.count += v;
  return 8;
}

/** eventfd_show_fdinfo(): the count (hex, 16 wide), the id, the mode; nothing for another file. */
export function eventfd_fdinfo(f: File, m: { line(s: string): void }): void {
  if (f.f_op !== eventfd_fops) return;
  const ctx = ctxOf(f);
  m.line(`eventfd-count: ${ctx.count.toString(16).padStart(16)}`);
  // The lowest id free in the whole system's eventfd_ida when the eventfd was made: on a host, other processes' eventfds hold some.
  m.line(`eventfd-id: ${ctx.id}`);
  m.line(`eventfd-semaphore: ${ctx.semaphore ? 1 : 0}`);
}

export const eventfd_fops: FileOperations = {
  name: 'eventfd',
  read: eventfd_read,
  write: eventfd_write,
  // eventfd_read is a ->read_iter (one call for a readv), eventfd_write a plain ->write.
  noWriteIter: true,
  *llseek(_t, f) {
    return f.f_pos;
  },
  /** eventfd_release() -> eventfd_free_ctx(): the id goes back to the IDA. */
  *release(t, f) {
    ida_free(t, ctxOf(f).id);
    return 0;
  },
};

function* do_eventfd(t: Task, initval: number, flags: number): Blocking<number> {
  const k = t.k;
  if (flags & ~(EFD_SEMAPHORE | O_CLOEXEC | O_NONBLOCK)) return -EINVAL;
  const fd = yield* get_unused_fd_flags(t, flags);
  if (fd < 0) return fd;
  const f = alloc_file(k, t, 'anon_inode:[eventfd]', O_RDWR | (flags & O_NONBLOCK), FMODE_READ | FMODE_WRITE | FMODE_LSEEK, eventfd_fops);
  f.private_data = { count: BigInt(initval >>> 0), semaphore: (flags & EFD_SEMAPHORE) !== 0, id: ida_alloc(t) } satisfies EventfdCtx;
  yield* fd_install(t, fd, f);
  return fd;
}

/** eventfd2(2): `initval` is an unsigned int. */
export function sys_eventfd2(t: Task, initval: number, flags: number): Blocking<number> {
  return syscall(t, 'eventfd2', do_eventfd(t, initval, flags >>> 0));
}
