/**
 * Path walks and directory operations beyond what the conformance scripts
 * reach: name and path length limits, search permission on the way (and
 * root's override), crossing the /proc mount both ways, EXDEV and EBUSY at
 * mount boundaries, and no dentry or inode left behind by a create-unlink
 * cycle.
 */
import { describe, expect, it } from 'vitest';
import { EACCES, EBUSY, ENAMETOOLONG, EPERM, EXDEV } from '../../../src/kernel/errno.js';
import { bootKernel } from '../../../src/kernel/boot.js';
import { sys_close, sys_open } from '../../../src/kernel/fs/fd_syscalls.js';
import { sys_chmod } from '../../../src/kernel/fs/open.js';
import { sys_mkdir, sys_rename, sys_rmdir, sys_unlink } from '../../../src/kernel/fs/namei_ops.js';
import { vfsOf } from '../../../src/kernel/fs/namespace.js';
import { fs_of } from '../../../src/kernel/fs/fs_struct.js';
import { filename_lookup, path_put } from '../../../src/kernel/fs/namei.js';
import { current } from '../../../src/kernel/sched/task_struct.js';
import { O_CREAT, O_RDONLY, O_WRONLY, runProcess, testConfig } from './helpers.js';

const O_DIRECTORY = 0o200000;

describe('path walk', () => {
  it('a component of 256 bytes or a path of 4096 bytes is ENAMETOOLONG; 255 and 4095 are fine', () => {
    const seen: number[] = [];
    runProcess(function* (t) {
      seen.push(yield* sys_open(t, 'a'.repeat(256), O_WRONLY | O_CREAT, 0o644));
      const fd = yield* sys_open(t, 'a'.repeat(255), O_WRONLY | O_CREAT, 0o644);
      seen.push(fd);
      yield* sys_close(t, fd);
      seen.push(yield* sys_mkdir(t, `x/${'b'.repeat(256)}`, 0o755));
      const fd2 = yield* sys_open(t, './'.repeat(2045) + 'a'.repeat(5), O_WRONLY | O_CREAT, 0o644);
      seen.push(fd2 >= 0 ? 0 : fd2);
      seen.push(yield* sys_open(t, './'.repeat(2046) + 'a'.repeat(4), O_WRONLY | O_CREAT, 0o644));
    });
    // x does not exist: the missing directory is found before the long name is looked at.
    expect(seen).toEqual([-ENAMETOOLONG, 3, -2, 0, -ENAMETOOLONG]);
  });

  it('a directory without search permission stops the walk for its owner but not for root', () => {
    const seen: number[] = [];
    runProcess(function* (t) {
      yield* sys_mkdir(t, 'd', 0o755);
      yield* sys_close(t, yield* sys_open(t, 'd/f', O_WRONLY | O_CREAT, 0o644));
      yield* sys_chmod(t, 'd', 0o600);
      seen.push(yield* sys_open(t, 'd/f', O_RDONLY, 0));
      seen.push(yield* sys_unlink(t, 'd/f'));
    });
    runProcess(
      function* (t) {
        yield* sys_mkdir(t, 'd', 0o755);
        yield* sys_close(t, yield* sys_open(t, 'd/f', O_WRONLY | O_CREAT, 0o644));
        yield* sys_chmod(t, 'd', 0o000);
        const fd = yield* sys_open(t, 'd/f', O_RDONLY, 0);
        seen.push(fd >= 0 ? 0 : fd);
      },
      undefined,
      { uid: 0 },
    );
    expect(seen).toEqual([-EACCES, -EACCES, 0]);
  });

  it('crosses the /proc mount down and back up through ".."; renames across it are EXDEV; its mount point is busy', () => {
    const seen: number[] = [];
    runProcess(function* (t) {
      const pid = fs_of(current(t)).pwd.dentry.d_name;
      seen.push(yield* sys_mkdir(t, `/proc/../tmp/${pid}/sub`, 0o755));
      seen.push(yield* sys_rmdir(t, 'sub'));
      const fd = yield* sys_open(t, '/proc/self/..', O_RDONLY | O_DIRECTORY, 0);
      seen.push(fd >= 0 ? 0 : fd);
      yield* sys_close(t, fd);
      seen.push(yield* sys_rename(t, '/proc/meminfo', 'm'));
      yield* sys_close(t, yield* sys_open(t, 'f', O_WRONLY | O_CREAT, 0o644));
      seen.push(yield* sys_rename(t, 'f', '/proc/f'));
      seen.push(yield* sys_rmdir(t, '/proc'));
    });
    runProcess(
      function* (t) {
        seen.push(yield* sys_rmdir(t, '/proc'));
        seen.push(yield* sys_unlink(t, '/proc/meminfo'));
      },
      undefined,
      { uid: 0 },
    );
    expect(seen).toEqual([0, 0, 0, -EXDEV, -EXDEV, -EACCES, -EBUSY, -1]);
  });

  it('a kernel thread walks from the root (init_fs); relative paths start there too', () => {
    const seen: number[] = [];
    const k = bootKernel(testConfig());
    k.spawnKernelThread('kthread', function* (t) {
      const p = yield* filename_lookup(t, '/proc/meminfo', 0);
      seen.push(typeof p === 'number' ? p : 0);
      if (typeof p !== 'number') yield* path_put(t, p);
      seen.push(yield* sys_mkdir(t, 'tmp/kdir', 0o755));
      seen.push(yield* sys_rmdir(t, '/tmp/kdir'));
    });
    k.run();
    expect(seen).toEqual([0, 0, 0]);
  });

  it('chmod by someone other than the owner is EPERM; root may', () => {
    const seen: number[] = [];
    const k = bootKernel(testConfig());
    let made = false;
    k.spawnProcess('owner', function* (t) {
      yield* sys_close(t, yield* sys_open(t, '/tmp/shared', O_WRONLY | O_CREAT, 0o644));
      made = true;
    }, { cpu: 0, cred: { uid: 1000 } });
    for (const uid of [1001, 0]) {
      k.spawnProcess(`u${uid}`, function* (t) {
        while (!made) yield t.sleepFor(1000);
        seen.push(yield* sys_chmod(t, '/tmp/shared', 0o600));
      }, { cpu: 1, cred: { uid } });
    }
    k.run();
    expect(seen).toEqual([-EPERM, 0]);
  });

  it('creating and removing files and directories leaves no dentry or inode behind', () => {
    const counts: number[] = [];
    runProcess(function* (t) {
      const k = t.k;
      const sb = vfsOf(k).supers.get('memfs')!;
      const cwd = fs_of(current(t)).pwd.dentry;
      counts.push(sb.s_inodes.size, cwd.d_children.size, cwd.d_count);
      for (let i = 0; i < 5; i++) {
        yield* sys_mkdir(t, `d${i}`, 0o755);
        const fd = yield* sys_open(t, `d${i}/f`, O_WRONLY | O_CREAT, 0o644);
        yield* sys_rename(t, `d${i}/f`, `g${i}`);
        yield* sys_close(t, fd);
      }
      for (let i = 0; i < 5; i++) {
        yield* sys_unlink(t, `g${i}`);
        yield* sys_rmdir(t, `d${i}`);
      }
      counts.push(sb.s_inodes.size, cwd.d_children.size, cwd.d_count);
    });
    expect(counts.slice(3)).toEqual(counts.slice(0, 3));
  });
});
