/**
 * /proc/PID/fdinfo values a conformance script masks because they name one
 * kernel's objects: eventfd-id comes from eventfd_ida (the lowest free id,
 * given back when the eventfd is released), and an inotify watch's sdev is
 * its super block's s_dev (the root file system's disk 254:0, procfs an
 * anonymous 0:N).
 */
import { describe, expect, it } from 'vitest';
import { sys_close } from '../../../../src/kernel/fs/fd_syscalls.js';
import { sys_eventfd2 } from '../../../../src/kernel/fs/eventfd.js';
import { sys_inotify_add_watch, sys_inotify_init1 } from '../../../../src/kernel/fs/notify/inotify_user.js';
import { readText, runProcess } from '../helpers.js';

const IN_OPEN = 0x20;

describe('fdinfo', () => {
  it('eventfd-id is the lowest id free, reused after a release', () => {
    const ids: (string | undefined)[] = [];
    runProcess(function* (t) {
      const id = function* (fd: number) {
        const text = yield* readText(t, `/proc/self/fdinfo/${fd}`);
        ids.push(/eventfd-id: (\d+)/.exec(String(text))?.[1]);
      };
      const a = yield* sys_eventfd2(t, 0, 0);
      const b = yield* sys_eventfd2(t, 0, 0);
      yield* id(a);
      yield* id(b);
      yield* sys_close(t, a);
      const c = yield* sys_eventfd2(t, 0, 0);
      yield* id(c);
      const d = yield* sys_eventfd2(t, 0, 0);
      yield* id(d);
    });
    expect(ids).toEqual(['0', '1', '0', '2']);
  });

  it("an inotify watch's sdev is its super block's device", () => {
    let text: string | number = '';
    runProcess(function* (t) {
      const fd = yield* sys_inotify_init1(t, 0);
      expect(yield* sys_inotify_add_watch(t, fd, '/tmp', IN_OPEN)).toBe(1);
      expect(yield* sys_inotify_add_watch(t, fd, '/proc', IN_OPEN)).toBe(2);
      text = yield* readText(t, `/proc/self/fdinfo/${fd}`);
    });
    const sdev = [...String(text).matchAll(/wd:(\d) ino:\S+ sdev:(\S+)/g)].map((m) => [m[1], m[2]]);
    expect(sdev).toHaveLength(2);
    expect(sdev[1]).toEqual(['1', 'fe00000']);
    expect(sdev[0]![0]).toBe('2');
    const proc = parseInt(sdev[0]![1]!, 16);
    expect(proc).toBeGreaterThan(0);
    expect(proc >> 20).toBe(0);
  });
});
