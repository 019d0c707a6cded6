/**
 * execve(2), after fs/exec.c (6.18).
 *
 * Before the point of no return: do_open_execat() opens the file named by
 * the path (followed, as any execve follows links) with MAY_EXEC, refuses
 * anything but a regular file and one open for writing (ETXTBSY), with the
 * inotify events of an open, a read and a close as the host sends them; then
 * search_binary_handler() asks each binary format for a handler: a file
 * that begins with "#!" names an interpreter (binfmt_script), opened the
 * same way, at most five levels deep (ELOOP past them); a file that no
 * format takes is ENOEXEC. The simulated machine has no programs of its
 * own: an ELF file is not loaded (ENOEXEC here; see docs/script-calls.md).
 *
 * The point of no return, begin_new_exec(): de_thread() kills the other
 * threads of the process and waits for them to exit; exec_mmap() gives the
 * process a fresh, empty mm (keeping the MMF_INIT_MASK flags, among them
 * PR_SET_THP_DISABLE's) and releases the old one (mmput: its areas and
 * page tables torn down); do_close_on_exec() closes the fds marked
 * close-on-exec. What the process keeps: its pid, its fd table's other
 * fds with their open file descriptions (offsets, status flags), its
 * resource limits, umask, working directory and credentials.
 */
import { flush_signal_handlers, zap_thread } from '../signal.js';
import { PAGE_SIZE } from '../../hw/types.js';
import { intern } from '../../sim/attribution.js';
import { TaskState, type Blocking, type Task } from '../../sim/task.js';
import { EACCES, ELOOP, ENOEXEC, ENOMEM, ETXTBSY } from '../errno.js';
import { filemap_get_page, filemap_read_page } from '../mm/filemap.js';
import { mm_alloc, mm_release_user } from '../mm/fork.js';
import { put_page_testzero_free } from '../mm/page_alloc.js';
import { switch_mm_irqs_off } from '../mm/tlbflush.js';
import { current, TASK_COMM_LEN, type TaskStruct } from '../sched/task_struct.js';
import type { Path } from './dcache.js';
import { do_close_on_exec } from './file.js';
import { alloc_file, fput, type File } from './file_table.js';
import { FMODE_READ, O_LARGEFILE } from './uapi_fcntl.js';
import { fsnotify_access, fsnotify_close, fsnotify_open } from './notify/fsnotify.js';
import { MAY_EXEC, MAY_OPEN, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFMT, S_IFSOCK, S_ISREG, inode_permission } from './inode.js';
import { LOOKUP_FOLLOW, filename_lookup, path_put } from './namei.js';

const CAT_OPEN_EXEC = intern('do_open_execat');
const CAT_BINPRM = intern('search_binary_handler');
const CAT_DE_THREAD = intern('de_thread');
const CAT_EXEC_MMAP = intern('exec_mmap');

/** A file execve opened on its way (the program or an interpreter): its path and struct file. */
interface ExecFile {
  path: Path;
  file: File;
}

/** include/uapi/linux/binfmts.h: the bytes of the file the formats look at. */
export const BINPRM_BUF_SIZE = 256;
/** exec_binprm(): interpreters nest at most this deep. */
const MAX_INTERP_DEPTH = 5;

/**
 * do_open_execat(): the file execve would run, or -errno: the path's own
 * errors (ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG, EACCES of a directory on
 * the way), then may_open()'s for MAY_EXEC (a directory, a device, a FIFO
 * or a socket is EACCES; so is a file without the execute bit the caller
 * needs), then not a regular file (EACCES) and deny_write_access (ETXTBSY).
 * Once may_open() passed, the file is open: do_dentry_open() sends IN_OPEN
 * (as for any open), and a later failure closes it again (fput: IN_CLOSE_NOWRITE
 * when the call returns). The opened file goes on `held`.
 */
function* do_open_execat(t: Task, name: string, held: ExecFile[]): Blocking<Path | number> {
  t.enter(CAT_OPEN_EXEC);
  const path = yield* filename_lookup(t, name, LOOKUP_FOLLOW);
  if (typeof path === 'number') {
    t.leave();
    return path;
  }
  const inode = path.dentry.d_inode!;
  let err = 0;
  switch (inode.i_mode & S_IFMT) {
    case S_IFDIR: case S_IFCHR: case S_IFBLK: case S_IFIFO: case S_IFSOCK:
      err = -EACCES;
      break;
    default:
      err = inode_permission(t, inode, MAY_OPEN | MAY_EXEC);
  }
  if (err) {
    yield* path_put(t, path);
    t.leave();
    return err;
  }
  // do_filp_open()'s struct file (open_exec_flags: O_RDONLY | O_LARGEFILE | __FMODE_EXEC), freed when the call is done.
  held.push({ path, file: alloc_file(t.k, t, name, O_LARGEFILE, FMODE_READ, {}) });
  yield* fsnotify_open(t, { dentry: path.dentry, writable: false });
  if (!S_ISREG(inode.i_mode)) err = -EACCES;
  // exe_file_deny_write_access(): a file open for writing cannot be run.
  else if (inode.i_writecount > 0) err = -ETXTBSY;
  t.leave();
  return err || path;
}

/**
 * prepare_binprm(): the file's first BINPRM_BUF_SIZE bytes (kernel_read
 * through the page cache), zero-padded; a read of any bytes sends
 * IN_ACCESS (__kernel_read's fsnotify_access), an empty file's none.
 */
function* read_binprm_buf(t: Task, path: Path): Blocking<Uint8Array | number> {
  const inode = path.dentry.d_inode!;
  const buf = new Uint8Array(BINPRM_BUF_SIZE);
  const mapping = inode.i_mapping;
  const size = Number(inode.i_size < BINPRM_BUF_SIZE ? inode.i_size : BINPRM_BUF_SIZE);
  if (!mapping || size === 0) return buf;
  let pfn = filemap_get_page(t, mapping, 0);
  let ref = false;
  if (pfn < 0) {
    const r = yield* filemap_read_page(t, mapping, 0);
    if (r.pfn < 0) return -ENOMEM;
    pfn = r.pfn;
    ref = true;
  }
  t.k.machine.mem.readInto(pfn, 0, buf, 0, Math.min(size, PAGE_SIZE));
  t.k.touchRange(t, pfn * PAGE_SIZE, size, false);
  if (ref) put_page_testzero_free(t, pfn);
  yield* fsnotify_access(t, { dentry: path.dentry, writable: false });
  return buf;
}

const isSpaceTab = (c: number): boolean => c === 0x20 || c === 0x09;

/** next_non_spacetab(): the first byte in [first, last] that is neither a space nor a tab, or -1. */
function nextNonSpacetab(buf: Uint8Array, first: number, last: number): number {
  for (let i = first; i <= last; i++) if (!isSpaceTab(buf[i]!)) return i;
  return -1;
}

/** next_terminator(): the first space, tab or NUL in [first, last], or -1. */
function nextTerminator(buf: Uint8Array, first: number, last: number): number {
  for (let i = first; i <= last; i++) if (isSpaceTab(buf[i]!) || buf[i] === 0) return i;
  return -1;
}

/**
 * load_script()'s parse of a "#!" line (fs/binfmt_script.c): the
 * interpreter's name, or null when the line names none (ENOEXEC). The line
 * ends at a newline (strnchr stops at a NUL); without one, the name must
 * end (space, tab or NUL) inside the buffer, or it may be truncated. The
 * name may be empty (a NUL right after "#!" and its spaces).
 */
export function script_interpreter(buf: Uint8Array): string | null {
  const bufEnd = buf.length - 1;
  let iEnd = -1;
  for (let i = 0; i < buf.length && buf[i] !== 0; i++) {
    if (buf[i] === 0x0a) {
      iEnd = i;
      break;
    }
  }
  if (iEnd < 0) {
    const first = nextNonSpacetab(buf, 2, bufEnd);
    if (first < 0 || nextTerminator(buf, first, bufEnd) < 0) return null;
    iEnd = bufEnd;
  }
  while (isSpaceTab(buf[iEnd - 1]!)) iEnd--;
  const iName = nextNonSpacetab(buf, 2, iEnd);
  if (iName < 0 || iName === iEnd) return null;
  let q = iName;
  while (q < iEnd && buf[q] !== 0 && !isSpaceTab(buf[q]!)) q++;
  return Buffer.from(buf.subarray(iName, q)).toString('latin1');
}

/**
 * bprm_execve()'s checks up to the point of no return for `name`: 0 when a
 * format would take the file, or -errno. The simulated machine has no
 * program a format could load, so every path ends in an error here; the
 * script interpreter's execve of the running program itself (no path)
 * does not come through this function.
 */
export function* exec_checks(t: Task, name: string): Blocking<number> {
  // The files opened on the way (the program, then each interpreter) stay open until the call returns; their
  // fput()s run then, as task work, the last opened first.
  const held: ExecFile[] = [];
  const r = yield* exec_search(t, name, held);
  for (let i = held.length - 1; i >= 0; i--) {
    const { path, file } = held[i]!;
    yield* fsnotify_close(t, { dentry: path.dentry, writable: false });
    yield* fput(t, file);
    yield* path_put(t, path);
  }
  return r;
}

function* exec_search(t: Task, name: string, held: ExecFile[]): Blocking<number> {
  let path = yield* do_open_execat(t, name, held);
  // exec_binprm(): each level's handler opens the next interpreter before the depth is checked.
  for (let depth = 0; ; depth++) {
    if (typeof path === 'number') return path;
    if (depth > MAX_INTERP_DEPTH) return -ELOOP;
    t.enter(CAT_BINPRM);
    const buf = yield* read_binprm_buf(t, path);
    t.leave();
    if (typeof buf === 'number') return buf;
    // binfmt_script: "#!" and an interpreter, which is opened and searched in turn.
    if (buf[0] === 0x23 && buf[1] === 0x21) {
      const interp = script_interpreter(buf);
      if (interp === null) return -ENOEXEC;
      // open_exec() takes the name through getname_kernel(), which allows an empty one: the walk ends at the working
      // directory (LAST_ROOT), which may_open() refuses to execute (EACCES), as ".".
      path = yield* do_open_execat(t, interp === '' ? '.' : interp, held);
      continue;
    }
    // binfmt_elf would take "\x7fELF"; nothing here can be loaded as a program.
    return -ENOEXEC;
  }
}

/**
 * de_thread(): every other thread of the process is sent SIGKILL
 * (zap_other_threads) and the caller waits until they have exited.
 */
function* de_thread(t: Task, ts: TaskStruct): Blocking<void> {
  t.enter(CAT_DE_THREAD);
  const others = ts.group.filter((th) => th !== ts && th.task && th.task.state !== TaskState.Done);
  for (const th of others) {
    zap_thread(th, t.now);
    // zap_other_threads(): a signal queued and the thread woken, one kernel step each.
    t.charge(t.k.cfg.kernel.cost.kernel_op);
  }
  for (const th of others) if (th.task.state !== TaskState.Done) yield t.sleepOn(th.task.exited);
  t.leave();
}

/** exec_mmap(): switch to a fresh, empty mm and release the old one. */
function* exec_mmap(t: Task, ts: TaskStruct): Blocking<void> {
  const k = t.k;
  t.enter(CAT_EXEC_MMAP);
  const old = ts.mm;
  const mm = mm_alloc(k);
  if (!mm) throw new Error(`exec: no memory for ${ts.comm}'s address space`);
  // mm_init(): the MMF_INIT_MASK flags carry over (MMF_DISABLE_THP among them); def_flags (mlockall's MCL_FUTURE) do not.
  if (old) mm.thpDisabled = old.thpDisabled;
  ts.mm = mm;
  ts.activeMm = mm;
  t.charge(switch_mm_irqs_off(k, t.cpu, mm));
  if (old) yield* mm_release_user(t, ts, old);
  t.leave();
}

export function* begin_new_exec(t: Task, ts: TaskStruct, filename = '/proc/self/exe'): Blocking<void> {
  yield* de_thread(t, ts);
  yield* exec_mmap(t, ts);
  // PF_FORKNOEXEC cleared; the name is the executed path's last component (__set_task_comm(kbasename(bprm->filename))).
  ts.forkNoExec = false;
  ts.comm = (filename.slice(filename.lastIndexOf('/') + 1)).slice(0, TASK_COMM_LEN - 1);
  if (ts.files) yield* do_close_on_exec(t, ts.files);
  // setup_new_exec() -> flush_signal_handlers(): handlers back to default; the new image's handler counters are its own.
  flush_signal_handlers(ts);
}

/**
 * execve() of the running program (the script interpreter's new image):
 * past the point of no return at once, since the program is known to load.
 * `name` given: execve of that file, which fails before the point of no
 * return (see exec_checks). Returns 0 or -errno.
 */
export function* do_execve(t: Task, name: string | null): Blocking<number> {
  if (name !== null) return yield* exec_checks(t, name);
  yield* begin_new_exec(t, current(t));
  return 0;
}
