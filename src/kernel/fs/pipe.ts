/**
 * pipe2(2), after fs/pipe.c: two files on one pipe_inode_info, the read end
 * O_RDONLY and the write end O_WRONLY (plus O_NONBLOCK from the flags, and
 * on the write end O_DIRECT, the packet mode: each write a buffer of its
 * own, read back one buffer per read; O_CLOEXEC on both fds). The pipe holds 16
 * pages (65536 bytes; F_SETPIPE_SZ changes it, rounded up to a power of two
 * of pages, at most fs.pipe-max-size 1 MiB for a user, never below what it
 * holds: EBUSY). Space is counted in page buffers, as the kernel's ring
 * does: a small write fills the rest of the newest page or takes a new one,
 * so writes of at most PIPE_BUF (4096) bytes are atomic; a non-blocking
 * write of more writes what fits. A write with no reader left is EPIPE and sends its thread
 * SIGPIPE, whose default action ends the process; a read of an empty pipe is EAGAIN in
 * non-blocking mode, 0 once no writer is left. Neither end seeks (ESPIPE).
 * Contents are kept as runs of one byte value, enough for a script's
 * writes of `len` copies of a byte.
 *
 * A script must not block: a blocking read of an empty pipe with a writer,
 * or a blocking write to a full one, is refused with an error rather than
 * waiting forever.
 *
 * Opening /proc/PID/fd/N of a pipe (fifo_open on the pipe's pipefs inode)
 * makes a new open file description of the same pipe, a reader, a writer
 * or both by the open's access mode; for an anonymous pipe it never waits
 * for a partner and is never ENXIO, whatever O_NONBLOCK says (fifo_open's
 * is_pipe). The pipefs inode and dentry are made when a pipe is first
 * reopened (Linux's get_pipe_inode makes them in pipe2: a pipe nobody
 * reopens allocates nothing more here).
 */
import { send_signal, SIGPIPE } from '../signal.js';
import type { Blocking, Task } from '../../sim/task.js';
import { EAGAIN, EBUSY, EFAULT, EINVAL, EPERM, EPIPE } from '../errno.js';
import { current } from '../sched/task_struct.js';
import { syscall } from '../syscalls.js';
import { fd_install, get_unused_fd_flags, put_unused_fd } from './file.js';
import { alloc_file, io_push_fill, type File, type FileOperations, type IoBuf } from './file_table.js';
import { FMODE_LSEEK, FMODE_PATH, FMODE_PREAD, FMODE_PWRITE, FMODE_READ, FMODE_WRITE, O_CLOEXEC, O_DIRECT, O_NONBLOCK, O_RDONLY, O_WRONLY } from './uapi_fcntl.js';
import { d_make_root, Mount, type Path } from './dcache.js';
import { new_inode, S_IFDIR, S_IFIFO, SuperBlock, type Inode } from './inode.js';
import { file_vfs_or_null, type OpenableFileOperations, type VfsFile } from './vfs_file.js';
import { PAGE_SIZE } from '../../hw/types.js';

export const PIPE_BUF = 4096;
const PIPE_DEF_BUFFERS = 16;
/** fs.pipe-max-size. */
const PIPE_MAX_SIZE = 1048576;
/** O_NOTIFICATION_PIPE is O_EXCL's bit (a watch-queue pipe, which needs CONFIG_WATCH_QUEUE; not modelled). */
const O_NOTIFICATION_PIPE = 0o200;
const FIONREAD = 0x541b;

/** struct pipe_buffer: one page of the pipe, its contents as runs of [byte, count]. */
interface PipeBuffer {
  runs: [number, number][];
  len: number;
  /** PIPE_BUF_FLAG_CAN_MERGE: later small writes may fill the rest of the page (not in packet mode). */
  canMerge: boolean;
}

/** struct pipe_inode_info: a ring of page buffers, at most capacity / PAGE_SIZE of them (max_usage). */
export class PipeInodeInfo {
  readonly bufs: PipeBuffer[] = [];
  capacity = PIPE_DEF_BUFFERS * PAGE_SIZE;
  readers = 0;
  writers = 0;
  /** The creator's uid: the pipefs inode's owner (current_fsuid in get_pipe_inode). */
  uid = 0;
  /** The pipe's pipefs inode and dentry, made at its first reopen through /proc/PID/fd. */
  path: Path | null = null;

  constructor(
    /** cost.copy_page: what copying one page to or from the pipe costs. */
    readonly copyPage: number,
  ) {}

  get bytes(): number {
    let n = 0;
    for (const b of this.bufs) n += b.len;
    return n;
  }

  get full(): boolean {
    return this.bufs.length >= this.capacity / PAGE_SIZE;
  }
}

/** The pipe of a pipe2 file (private_data) or of one reopened through /proc (the VFS file's per-open data). */
function pipeOf(f: File): PipeInodeInfo {
  const d = f.private_data;
  return d instanceof PipeInodeInfo ? d : ((d as VfsFile).priv as PipeInodeInfo);
}

function append(b: PipeBuffer, byte: number, n: number): void {
  const last = b.runs[b.runs.length - 1];
  if (last && last[0] === byte) last[1] += n;
  else b.runs.push([byte, n]);
  b.len += n;
}

/** pipe_read(): from the oldest buffer on; an emptied buffer is released. A packet-mode read takes one buffer at most. */
function* pipe_read(t: Task, f: File, len: number, buf: IoBuf | null): Blocking<number> {
  const pipe = pipeOf(f);
  if (len === 0) return 0;
  if (pipe.bufs.length === 0) {
    if (pipe.writers === 0) return 0;
    if (f.f_flags & O_NONBLOCK) return -EAGAIN;
    throw new Error('pipe read would block forever (no data, a writer left): scripts must use O_NONBLOCK');
  }
  let done = 0;
  while (done < len && pipe.bufs.length > 0) {
    const b = pipe.bufs[0]!;
    // PIPE_BUF_FLAG_PACKET: the writer was in packet mode (whatever the reader's flags).
    const packet = !b.canMerge;
    while (done < len && b.runs.length > 0) {
      const run = b.runs[0]!;
      const n = Math.min(run[1], len - done);
      if (buf) buf.sum += run[0] * n;
      io_push_fill(buf, run[0], n);
      run[1] -= n;
      b.len -= n;
      done += n;
      if (run[1] === 0) b.runs.shift();
    }
    if (b.len === 0 || packet) pipe.bufs.shift();
    if (packet) break;
  }
  t.charge(Math.ceil((pipe.copyPage * done) / PAGE_SIZE));
  return done;
}

/**
 * pipe_write(): the part of the write past its last page boundary merges
 * into the newest buffer when it fits there; the rest goes to new buffers
 * of a page each while the ring has room. Non-blocking: what fits, or
 * EAGAIN when nothing did.
 */
function* pipe_write(t: Task, f: File, len: number, byte: number): Blocking<number> {
  const pipe = pipeOf(f);
  // An empty write returns before the readers are counted: no EPIPE, no signal.
  if (len === 0) return 0;
  if (pipe.readers === 0) {
    // send_sig(SIGPIPE, current, 0): the default action ends the process; ignored, it is dropped; blocked, it waits.
    send_signal(current(t), SIGPIPE, false, t.now);
    return -EPIPE;
  }
  const packet = (f.f_flags & O_DIRECT) !== 0;
  let left = len;
  const chars = len % PAGE_SIZE;
  const last = pipe.bufs[pipe.bufs.length - 1];
  if (chars && last && last.canMerge && last.len + chars <= PAGE_SIZE) {
    append(last, byte, chars);
    left -= chars;
  }
  while (left > 0) {
    if (pipe.full) {
      if (f.f_flags & O_NONBLOCK) break;
      throw new Error('pipe write would block forever (pipe full): scripts must use O_NONBLOCK');
    }
    const b: PipeBuffer = { runs: [], len: 0, canMerge: !packet };
    const n = Math.min(PAGE_SIZE, left);
    append(b, byte, n);
    pipe.bufs.push(b);
    left -= n;
  }
  const done = len - left;
  t.charge(Math.ceil((pipe.copyPage * done) / PAGE_SIZE));
  return done > 0 ? done : -EAGAIN;
}

function* pipe_ioctl(_t: Task, f: File, cmd: number): Blocking<number> {
  if (cmd === FIONREAD) return pipeOf(f).bytes;
  return -EINVAL;
}

function* pipe_release(_t: Task, f: File): Blocking<number> {
  const pipe = pipeOf(f);
  if (f.f_mode & FMODE_READ) pipe.readers--;
  if (f.f_mode & FMODE_WRITE) pipe.writers--;
  return 0;
}

export const pipefifo_fops: FileOperations = {
  name: 'pipe',
  read: pipe_read,
  write: pipe_write,
  ioctl: pipe_ioctl,
  release: pipe_release,
};

/** The pipe behind a file, or null. */
export function get_pipe_info(f: File): PipeInodeInfo | null {
  if (f.f_op === pipefifo_fops) return pipeOf(f);
  const v = file_vfs_or_null(f);
  return v && v.inode.i_private instanceof PipeInodeInfo && !(f.f_mode & FMODE_PATH) ? v.inode.i_private : null;
}

/** fifo_open() for an anonymous pipe: a reader, a writer or both, at once (no partner wait, no ENXIO); stream_open. */
function* fifo_open(_t: Task, inode: Inode, file: File): Blocking<number> {
  const pipe = inode.i_private as PipeInodeInfo;
  (file.private_data as VfsFile).priv = pipe;
  file.f_mode &= ~(FMODE_LSEEK | FMODE_PREAD | FMODE_PWRITE);
  if (file.f_mode & FMODE_READ) pipe.readers++;
  if (file.f_mode & FMODE_WRITE) pipe.writers++;
  return 0;
}

/** The pipefs inode's file operations: the pipe's own, opened by fifo_open. */
const pipefs_fops: OpenableFileOperations = { ...pipefifo_fops, open: fifo_open };

/** PIPEFS_MAGIC. */
const PIPEFS_MAGIC = 0x50495045;

/**
 * The pipe's pipefs path (its inode: S_IFIFO, mode 0600, the creator's; a
 * dentry on pipefs's internal mount), made at first use: the target an
 * open of /proc/PID/fd/N follows to.
 */
export function pipe_inode_path(t: Task, pipe: PipeInodeInfo): Path {
  if (pipe.path) return pipe.path;
  const k = t.k;
  let fs = k.pipeFs;
  if (!fs) {
    const sb = new SuperBlock(k, 'pipefs', {}, PIPEFS_MAGIC, 0);
    const root = new_inode(k, t, sb);
    root.i_mode = S_IFDIR | 0o755;
    sb.s_root = d_make_root(k, root);
    fs = { sb, mnt: new Mount(sb, sb.s_root, null, null) };
    fs.mnt.mnt_id = k.vfs.nextMntId++;
    k.pipeFs = fs;
  }
  const inode = new_inode(k, t, fs.sb);
  inode.i_mode = S_IFIFO | 0o600;
  inode.i_uid = pipe.uid;
  inode.i_fop = pipefs_fops;
  inode.i_private = pipe;
  pipe.path = { mnt: fs.mnt, dentry: d_make_root(k, inode) };
  return pipe.path;
}

/** pipe_set_size(): F_SETPIPE_SZ. */
export function pipe_set_size(t: Task, pipe: PipeInodeInfo, arg: number): number {
  if (arg < 0) return -EINVAL;
  let pages = Math.max(1, Math.ceil(arg / PAGE_SIZE));
  pages = 2 ** Math.ceil(Math.log2(pages));
  const size = pages * PAGE_SIZE;
  if (size > PIPE_MAX_SIZE && current(t).cred.uid !== 0) return -EPERM;
  if (pages < pipe.bufs.length) return -EBUSY;
  pipe.capacity = size;
  return size;
}

/** do_pipe2(): two fds on a new pipe. `out` receives [read fd, write fd]. */
function* do_pipe2(t: Task, flags: number, out: number[]): Blocking<number> {
  const k = t.k;
  if (flags & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT | O_NOTIFICATION_PIPE)) return -EINVAL;
  if (flags & O_NOTIFICATION_PIPE) return -EINVAL;
  const rfd = yield* get_unused_fd_flags(t, flags);
  if (rfd < 0) return rfd;
  const wfd = yield* get_unused_fd_flags(t, flags);
  if (wfd < 0) {
    yield* put_unused_fd(t, rfd);
    return wfd;
  }
  const pipe = new PipeInodeInfo(k.cfg.cost.copy_page);
  // create_pipe_files(): no O_LARGEFILE on either end (fdinfo and F_GETFL show none); O_DIRECT on the write end only
  // (packet mode is the writer's: a reader sees it in the buffers).
  const r = alloc_file(k, t, 'pipe:', O_RDONLY | (flags & O_NONBLOCK), FMODE_READ, pipefifo_fops);
  const w = alloc_file(k, t, 'pipe:', O_WRONLY | (flags & (O_NONBLOCK | O_DIRECT)), FMODE_WRITE, pipefifo_fops);
  r.private_data = pipe;
  w.private_data = pipe;
  // get_pipe_inode(): the pipe's inode belongs to its creator (F_SETLEASE and F_SETFL O_NOATIME test the owner).
  r.ownerUid = w.ownerUid = current(t).cred.uid;
  pipe.uid = current(t).cred.uid;
  pipe.readers = 1;
  pipe.writers = 1;
  yield* fd_install(t, rfd, r);
  yield* fd_install(t, wfd, w);
  out.push(rfd, wfd);
  return 0;
}

/** pipe2(2); `fds` null stands for a bad pointer (EFAULT). */
export function sys_pipe2(t: Task, flags: number, out: number[] | null): Blocking<number> {
  return syscall(t, 'pipe2', pipe2Body(t, flags, out));
}

/** A module-level generator, not a closure per call (a generator function made afresh costs the host microseconds per call). */
function* pipe2Body(t: Task, flags: number, out: number[] | null): Blocking<number> {
  if (!out) return -EFAULT;
  return yield* do_pipe2(t, flags, out);
}
