/**
 * memfs: regular files' data in the page cache (sums read back, holes that
 * allocate nothing, SEEK_DATA/SEEK_HOLE, truncation zeroing the tail and
 * freeing pages, punch hole, the RAM store a dropped page is read back
 * from), inode eviction after the last close of an unlinked file, and the
 * copy cost of a read.
 */
import { describe, expect, it } from 'vitest';
import { PG_dirty } from '../../../src/kernel/mm/page_flags.js';
import { sys_close, sys_open } from '../../../src/kernel/fs/fd_syscalls.js';
import { fcheck_files, type FilesStruct } from '../../../src/kernel/fs/file.js';
import { MemfsInode } from '../../../src/kernel/fs/memfs.js';
import { sys_unlink } from '../../../src/kernel/fs/namei_ops.js';
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, sys_ftruncate, vfs_fallocate } from '../../../src/kernel/fs/open.js';
import { sys_lseek, sys_read, sys_write } from '../../../src/kernel/fs/read_write.js';
import { file_vfs, type VfsFile } from '../../../src/kernel/fs/vfs_file.js';
import { vfsOf } from '../../../src/kernel/fs/namespace.js';
import { free_frame } from '../../../src/kernel/mm/page_alloc.js';
import { current } from '../../../src/kernel/sched/task_struct.js';
import { sys_mmap } from '../../../src/kernel/mm/mmap.js';
import { fillUser, loadUser } from '../../../src/kernel/mm/uaccess.js';
import type { Blocking, Task } from '../../../src/sim/task.js';
import { O_CREAT, O_RDWR, runProcess } from './helpers.js';

const PAGE = 4096;
const SEEK_SET = 0;
const SEEK_DATA = 3;
const SEEK_HOLE = 4;

function vfile(t: Task, fd: number): VfsFile {
  return file_vfs(fcheck_files(t, current(t).files as FilesStruct, fd)!);
}

function* readAll(t: Task, fd: number): Blocking<{ n: number; sum: number }> {
  yield* sys_lseek(t, fd, 0, SEEK_SET);
  const buf = { sum: 0 };
  const n = yield* sys_read(t, fd, 1 << 24, buf);
  return { n, sum: buf.sum };
}

describe('memfs data', () => {
  it('reads back what was written, across pages, with holes as zeroes that stay holes', () => {
    const seen: unknown[] = [];
    runProcess(function* (t) {
      const fd = yield* sys_open(t, 'f', O_RDWR | O_CREAT, 0o644);
      expect(yield* sys_write(t, fd, 5000, 7)).toBe(5000);
      expect(yield* sys_write(t, fd, 10, 9)).toBe(10);
      seen.push(yield* readAll(t, fd));
      const v = vfile(t, fd);
      seen.push(v.inode.i_mapping!.nrpages);
      expect(yield* sys_ftruncate(t, fd, 1 << 20)).toBe(0);
      seen.push(yield* readAll(t, fd));
      seen.push(v.inode.i_mapping!.nrpages);
      seen.push(yield* sys_lseek(t, fd, 0, SEEK_HOLE));
      seen.push(yield* sys_lseek(t, fd, 3 * PAGE, SEEK_DATA));
      yield* sys_close(t, fd);
    });
    // Reading the holes cached zeroed pages (as ext4 does); they are still holes for SEEK_DATA/SEEK_HOLE.
    expect(seen).toEqual([{ n: 5010, sum: 5000 * 7 + 10 * 9 }, 2, { n: 1 << 20, sum: 5000 * 7 + 10 * 9 }, 256, 2 * PAGE, -6]);
  });

  it('a shrinking ftruncate zeroes the tail of the last page and frees the pages past it', () => {
    const seen: unknown[] = [];
    runProcess(function* (t) {
      const k = t.k;
      const fd = yield* sys_open(t, 'f', O_RDWR | O_CREAT, 0o644);
      yield* sys_write(t, fd, 3 * PAGE, 7);
      const used = k.mem_map.usedCount;
      expect(yield* sys_ftruncate(t, fd, PAGE + 4)).toBe(0);
      seen.push(used - k.mem_map.usedCount);
      // Growing again shows zeroes where the old data was.
      expect(yield* sys_ftruncate(t, fd, 3 * PAGE)).toBe(0);
      seen.push(yield* readAll(t, fd));
      yield* sys_close(t, fd);
    });
    expect(seen).toEqual([1, { n: 3 * PAGE, sum: (PAGE + 4) * 7 }]);
  });

  it('punching a hole frees whole pages, zeroes partial ones and keeps the size', () => {
    const seen: unknown[] = [];
    runProcess(function* (t) {
      const fd = yield* sys_open(t, 'f', O_RDWR | O_CREAT, 0o644);
      yield* sys_write(t, fd, 3 * PAGE, 7);
      const v = vfile(t, fd);
      seen.push(yield* vfs_fallocate(t, v, FALLOC_FL_PUNCH_HOLE, 1000, 2 * PAGE));
      seen.push(yield* vfs_fallocate(t, v, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 1000, 2 * PAGE));
      seen.push(v.inode.i_mapping!.nrpages, v.inode.i_size);
      seen.push(yield* readAll(t, fd));
      seen.push(yield* sys_lseek(t, fd, 0, SEEK_HOLE));
      yield* sys_close(t, fd);
    });
    // EOPNOTSUPP without KEEP_SIZE; the page in the middle is gone.
    expect(seen).toEqual([-95, 0, 2, 3 * PAGE, { n: 3 * PAGE, sum: (1000 + (3 * PAGE - 1000 - 2 * PAGE)) * 7 }, PAGE]);
  });

  it('a hole running past the end of file ends at the end of its page; one starting there does nothing', () => {
    const seen: unknown[] = [];
    runProcess(function* (t) {
      const fd = yield* sys_open(t, 'f', O_RDWR | O_CREAT, 0o644);
      yield* sys_write(t, fd, 5000, 7);
      const v = vfile(t, fd);
      seen.push(yield* vfs_fallocate(t, v, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 5000, PAGE));
      seen.push(v.inode.i_mapping!.nrpages);
      seen.push(yield* vfs_fallocate(t, v, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, PAGE, 2 * PAGE));
      seen.push(v.inode.i_mapping!.nrpages);
      seen.push(yield* readAll(t, fd));
      yield* sys_close(t, fd);
    });
    expect(seen).toEqual([0, 2, 0, 1, { n: 5000, sum: PAGE * 7 }]);
  });

  it('a dirty page written to the store and dropped by reclaim is read back from it', () => {
    const seen: unknown[] = [];
    runProcess(function* (t) {
      const k = t.k;
      const fd = yield* sys_open(t, 'f', O_RDWR | O_CREAT, 0o644);
      yield* sys_write(t, fd, PAGE, 3);
      const inode = vfile(t, fd).inode as MemfsInode;
      const mapping = inode.i_mapping!;
      const pfn = mapping.pages.get(0)!;
      const memmap = k.mem_map;
      seen.push((memmap.flags[pfn]! & PG_dirty) !== 0);
      // What reclaim does with a dirty file page: write it back, then drop it.
      inode.store!.writePage(0, pfn, t.now);
      mapping.pages.delete(0);
      memmap.flags[pfn] = 0;
      memmap.refcount[pfn] = 0;
      free_frame(k, pfn);
      const before = t.now;
      seen.push(yield* readAll(t, fd));
      seen.push(t.now - before >= k.cfg.cost.copy_page, k.engine.counters.get('memfs_page_read'), mapping.nrpages);
      seen.push(yield* sys_lseek(t, fd, 0, SEEK_DATA));
      yield* sys_close(t, fd);
    });
    expect(seen).toEqual([true, { n: PAGE, sum: PAGE * 3 }, true, 1, 1, 0]);
  });

  it('an unlinked file keeps its data while open; the last close evicts the inode and frees its pages', () => {
    const seen: unknown[] = [];
    runProcess(function* (t) {
      const k = t.k;
      const sb = vfsOf(k).supers.get('memfs')!;
      const inodes = sb.s_inodes.size;
      const fd = yield* sys_open(t, 'f', O_RDWR | O_CREAT, 0o644);
      yield* sys_write(t, fd, 2 * PAGE, 5);
      const used = k.mem_map.usedCount;
      seen.push(yield* sys_unlink(t, 'f'));
      seen.push(yield* readAll(t, fd));
      seen.push(sb.s_inodes.size - inodes);
      yield* sys_close(t, fd);
      seen.push(sb.s_inodes.size - inodes, used - k.mem_map.usedCount);
      seen.push(yield* sys_open(t, 'f', 0, 0));
    });
    expect(seen).toEqual([0, { n: 2 * PAGE, sum: 2 * PAGE * 5 }, 1, 0, 2, -2]);
  });

  it('growing the file zeroes what a shared mapping stored past the old end (ext4 semantics, as the conformance host)', () => {
    const seen: unknown[] = [];
    runProcess(function* (t) {
      const fd = yield* sys_open(t, 'f', O_RDWR | O_CREAT, 0o644);
      yield* sys_ftruncate(t, fd, 100);
      const m = yield* sys_mmap(t, 0, PAGE, 3, 0x01, fd, 0);
      yield* fillUser(t, m, PAGE, 9);
      seen.push((yield* loadUser(t, m + 200)).value);
      yield* sys_ftruncate(t, fd, PAGE);
      seen.push((yield* loadUser(t, m + 200)).value);
      yield* sys_ftruncate(t, fd, 100);
      yield* fillUser(t, m, PAGE, 9);
      yield* sys_lseek(t, fd, 2 * PAGE, SEEK_SET);
      yield* sys_write(t, fd, 1, 1);
      seen.push((yield* loadUser(t, m + 200)).value);
      seen.push(yield* readAll(t, fd));
      yield* sys_close(t, fd);
    });
    expect(seen).toEqual([9, 0, 0, { n: 2 * PAGE + 1, sum: 100 * 9 + 1 }]);
  });

  it('a write past the end zeroes only the gap it leaves; one at the end zeroes nothing', () => {
    const seen: unknown[] = [];
    runProcess(function* (t) {
      const fd = yield* sys_open(t, 'f', O_RDWR | O_CREAT, 0o644);
      yield* sys_ftruncate(t, fd, 100);
      const m = yield* sys_mmap(t, 0, PAGE, 3, 0x01, fd, 0);
      yield* fillUser(t, m, PAGE, 9);
      yield* sys_lseek(t, fd, 100, SEEK_SET);
      yield* sys_write(t, fd, 10, 1);
      seen.push((yield* loadUser(t, m + 200)).value);
      yield* sys_lseek(t, fd, 300, SEEK_SET);
      yield* sys_write(t, fd, 10, 2);
      seen.push((yield* loadUser(t, m + 150)).value, (yield* loadUser(t, m + 400)).value);
      seen.push(yield* readAll(t, fd));
      yield* sys_close(t, fd);
    });
    expect(seen).toEqual([9, 0, 9, { n: 310, sum: 100 * 9 + 10 * 1 + 10 * 2 }]);
  });

  it('copying a cached page to the reader costs copy_page', () => {
    let copy = -1;
    const k = runProcess(function* (t) {
      const fd = yield* sys_open(t, 'f', O_RDWR | O_CREAT, 0o644);
      yield* sys_write(t, fd, PAGE, 1);
      yield* readAll(t, fd);
      yield* sys_close(t, fd);
    });
    const a = k.engine.attribution;
    copy = a.exclusiveOf(a.pathNode(['syscall:read', 'shmem_file_read_iter', 'copy_page_to_iter']));
    expect(copy).toBe(k.cfg.cost.copy_page);
  });
});
