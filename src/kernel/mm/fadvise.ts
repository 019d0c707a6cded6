/**
 * posix_fadvise(2) (fadvise64), after mm/fadvise.c generic_fadvise: EBADF
 * for a bad fd, ESPIPE for a pipe, EINVAL for a negative length or an
 * unknown advice; a file without a page cache of its own (a device) takes
 * every valid advice as a no-op. WILLNEED starts reading the range into
 * the page cache and returns; DONTNEED drops the range's clean, unmapped
 * pages that lie wholly inside it and writes its dirty pages back (which
 * stay cached, as pages under writeback do in the kernel).
 * NORMAL, RANDOM, SEQUENTIAL and NOREUSE change only readahead, which
 * read(2) does not do here.
 */
import { loffPages, type loff_t } from '../fs/loff.js';
import type { Blocking, Task } from '../../sim/task.js';
import { EBADF, EINVAL, ESPIPE } from '../errno.js';
import { fget_light, fput_light } from '../fs/file.js';
import { get_pipe_info } from '../fs/pipe.js';
import { file_vfs_or_null } from '../fs/vfs_file.js';
import { syscall } from '../syscalls.js';
import { filemap_start_read, filemap_write_and_wait_range, invalidate_mapping_pages, type AddressSpace } from './filemap.js';
import { PAGE_SIZE } from './mm_types.js';

export const POSIX_FADV_NORMAL = 0;
export const POSIX_FADV_RANDOM = 1;
export const POSIX_FADV_SEQUENTIAL = 2;
export const POSIX_FADV_WILLNEED = 3;
export const POSIX_FADV_DONTNEED = 4;
export const POSIX_FADV_NOREUSE = 5;

const LLONG_MAX = 2 ** 63 - 1;

function* generic_fadvise(t: Task, mapping: AddressSpace | null, size: loff_t, offset: number, len: number, advice: number): Blocking<number> {
  if (len < 0) return -EINVAL;
  if (advice < POSIX_FADV_NORMAL || advice > POSIX_FADV_NOREUSE) return -EINVAL;
  if (!mapping || !mapping.backing) return 0;
  const endbyte = len === 0 || offset + len > LLONG_MAX ? LLONG_MAX : offset + len - 1;
  switch (advice) {
    case POSIX_FADV_WILLNEED: {
      // force_page_cache_readahead(): pages of the range within the file.
      const first = Math.floor(offset / PAGE_SIZE);
      const last = Math.min(Math.floor(endbyte / PAGE_SIZE), loffPages(size) - 1);
      for (let i = first; i <= last; i++) {
        if (mapping.pages.has(i)) continue;
        if (!(yield* filemap_start_read(t, mapping, i))) break;
      }
      return 0;
    }
    case POSIX_FADV_DONTNEED: {
      // The kernel starts writeback of the dirty pages (without waiting) and then drops clean pages; pages still
      // under that writeback stay. Dropping the clean ones first and then writing the dirty ones back leaves the same cache.
      const start = Math.ceil(offset / PAGE_SIZE);
      let end = Math.floor(endbyte / PAGE_SIZE);
      // Only whole pages: a partial last page stays.
      if (endbyte !== LLONG_MAX && (endbyte % PAGE_SIZE) !== PAGE_SIZE - 1) {
        if (end === 0) return 0;
        end--;
      }
      if (end >= start) invalidate_mapping_pages(t, mapping, start, end);
      yield* filemap_write_and_wait_range(t, mapping, offset, endbyte);
      return 0;
    }
    default:
      return 0;
  }
}

function* ksys_fadvise64_64(t: Task, fd: number, offset: number, len: number, advice: number): Blocking<number> {
  const f = fget_light(t, fd >>> 0);
  if (!f.file) return -EBADF;
  let r: number;
  if (get_pipe_info(f.file)) r = -ESPIPE;
  else {
    const v = file_vfs_or_null(f.file);
    r = yield* generic_fadvise(t, v ? (v.inode.i_mapping as AddressSpace | null) : null, v ? v.inode.i_size : 0, offset, len, advice);
  }
  yield* fput_light(t, f);
  return r;
}

/** fadvise64(2): offset and len are loff_t, advice an int. */
export function sys_fadvise64(t: Task, fd: number, offset: number, len: number, advice: number): Blocking<number> {
  return syscall(t, 'fadvise64', ksys_fadvise64_64(t, fd, offset, len, advice));
}
