/**
 * memfd_create(2) and file sealing, after mm/memfd.c: an anonymous shmem
 * file (the name is only for /proc: "memfd:NAME"), sealable unless created
 * without MFD_ALLOW_SEALING (then F_SEAL_SEAL is set from the start);
 * MFD_NOEXEC_SEAL clears the exec bits and seals them. F_ADD_SEALS needs a
 * writable fd, refuses after F_SEAL_SEAL, and F_SEAL_WRITE is EBUSY while a
 * shared writable mapping exists; with the exec bits set, F_SEAL_EXEC
 * brings the write seals along. The seals act in memfs's write and setattr
 * and in mmap (a write-sealed file maps shared only read-only, without
 * VM_MAYWRITE).
 */
import type { Blocking, Task } from '../../sim/task.js';
import { EBUSY, EFAULT, EINVAL, EPERM } from '../errno.js';
import { fd_install, get_unused_fd_flags } from '../fs/file.js';
import { alloc_file, type File } from '../fs/file_table.js';
import { open_f_flags, open_f_mode } from '../fs/fd_syscalls.js';
import {
  F_SEAL_EXEC, F_SEAL_FUTURE_WRITE, F_SEAL_GROW, F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_WRITE, memfs_file_operations, memfs_new_unlinked_shmem, MemfsInode,
} from '../fs/memfs.js';
import { vfsOf } from '../fs/namespace.js';
import { FMODE_WRITE, O_CLOEXEC, O_RDWR } from '../fs/uapi_fcntl.js';
import { file_vfs_or_null, vfs_fops, VfsFile } from '../fs/vfs_file.js';
import { current } from '../sched/task_struct.js';
import { syscall } from '../syscalls.js';
import { VM_MAYWRITE, VM_SHARED } from './mm_types.js';

export const MFD_CLOEXEC = 0x1;
export const MFD_ALLOW_SEALING = 0x2;
export const MFD_HUGETLB = 0x4;
export const MFD_NOEXEC_SEAL = 0x8;
export const MFD_EXEC = 0x10;
const MFD_ALL_FLAGS = MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC;
/** MFD_HUGE_MASK << MFD_HUGE_SHIFT: the huge page size bits MFD_HUGETLB allows. */
const MFD_HUGE_BITS = 0x3f << 26;
/** NAME_MAX minus "memfd:". */
const MFD_NAME_MAX_LEN = 255 - 6;
const F_ALL_SEALS = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE | F_SEAL_EXEC;

function memfdInode(f: File): MemfsInode | null {
  const v = file_vfs_or_null(f);
  return v && v.inode instanceof MemfsInode && v.inode.memfd ? v.inode : null;
}

/** memfd_add_seals(). */
function* memfd_add_seals(_t: Task, f: File, sealsIn: number): Blocking<number | null> {
  const inode = memfdInode(f);
  if (!inode) return null;
  let seals = sealsIn;
  if (!(f.f_mode & FMODE_WRITE)) return -EPERM;
  if (seals & ~F_ALL_SEALS) return -EINVAL;
  if (inode.seals & F_SEAL_SEAL) return -EPERM;
  if (seals & F_SEAL_WRITE && !(inode.seals & F_SEAL_WRITE)) {
    // mapping_deny_writable(): no shared mapping that may write.
    const mapping = inode.i_mapping!;
    if (mapping.iMmap.some((v) => (v.vmFlags & (VM_SHARED | VM_MAYWRITE)) === (VM_SHARED | VM_MAYWRITE))) return -EBUSY;
  }
  if (seals & F_SEAL_EXEC && inode.i_mode & 0o111) seals |= F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE;
  inode.seals |= seals;
  return 0;
}

/** memfd_fcntl(): F_ADD_SEALS and F_GET_SEALS; null for a file without seals (fcntl answers EINVAL). */
export function* memfd_fcntl(t: Task, f: File, add: boolean, arg: number): Blocking<number | null> {
  if (add) {
    // memfd_add_seals() checks the fd's mode and the seal bits before whether the file can be sealed at all.
    if (!(f.f_mode & FMODE_WRITE)) return -EPERM;
    if (arg & ~F_ALL_SEALS) return -EINVAL;
    return yield* memfd_add_seals(t, f, arg);
  }
  return memfdInode(f)?.seals ?? null;
}

function* do_memfd_create(t: Task, name: string | null, flags: number): Blocking<number> {
  const k = t.k;
  if (!(flags & MFD_HUGETLB)) {
    if (flags & ~MFD_ALL_FLAGS) return -EINVAL;
  } else if (flags & ~(MFD_ALL_FLAGS | MFD_HUGE_BITS)) return -EINVAL;
  if (flags & MFD_EXEC && flags & MFD_NOEXEC_SEAL) return -EINVAL;
  // vm.memfd_noexec = 0: neither flag means MFD_EXEC.
  if (!(flags & (MFD_EXEC | MFD_NOEXEC_SEAL))) flags |= MFD_EXEC;
  if (name === null) return -EFAULT;
  if (Buffer.byteLength(name, 'utf8') > MFD_NAME_MAX_LEN) return -EINVAL;
  const fd = yield* get_unused_fd_flags(t, flags & MFD_CLOEXEC ? O_CLOEXEC : 0);
  if (fd < 0) return fd;
  const ts = current(t);
  const v = vfsOf(k);
  const mode = flags & MFD_NOEXEC_SEAL ? 0o666 : 0o777;
  const dentry = memfs_new_unlinked_shmem(t, v.rootMnt.mnt_root, `memfd:${name}`, mode, ts.cred.uid, ts.cred.uid);
  const inode = dentry.d_inode as MemfsInode;
  inode.memfd = true;
  inode.seals = F_SEAL_SEAL;
  if (flags & MFD_NOEXEC_SEAL) inode.seals = F_SEAL_EXEC;
  else if (flags & MFD_ALLOW_SEALING) inode.seals = 0;
  const file = alloc_file(k, t, `/memfd:${name} (deleted)`, open_f_flags(O_RDWR), open_f_mode(O_RDWR), vfs_fops(memfs_file_operations));
  file.f_inode = inode;
  file.ownerUid = inode.i_uid;
  file.private_data = new VfsFile(k, file, { mnt: v.rootMnt, dentry }, inode, ts.cred);
  // alloc_file_pseudo() takes no write access: a memfd does not count in i_writecount (a read lease is granted, a
  // write lease refused, exec is not ETXTBSY), though a reopen through /proc/PID/fd for writing does.
  yield* fd_install(t, fd, file);
  return fd;
}

/** memfd_create(2); `name` null stands for a bad pointer. */
export function sys_memfd_create(t: Task, name: string | null, flags: number): Blocking<number> {
  return syscall(t, 'memfd_create', do_memfd_create(t, name, flags >>> 0));
}
