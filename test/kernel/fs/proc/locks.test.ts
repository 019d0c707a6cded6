/**
 * /proc/locks (fs/locks.c locks_show): every lock on an inode's list, each
 * CPU's file_lock_list newest first, numbered from 1, with the requests
 * waiting behind a lock under it as `-> ` lines; the format is
 * lock_get_status's, as /proc/PID/fdinfo's lock lines (which the
 * conformance scripts compare with the host; /proc/locks lists every
 * process of a host, so no script can).
 */
import { describe, expect, it } from 'vitest';
import { bootKernel } from '../../../../src/kernel/boot.js';
import { sys_close, sys_fcntl, sys_fcntl_lock, sys_open } from '../../../../src/kernel/fs/fd_syscalls.js';
import { F_UNLCK, F_WRLCK } from '../../../../src/kernel/fs/locks.js';
import { SIG_IGN, SIGIO, sys_rt_sigaction } from '../../../../src/kernel/signal.js';
import { maskLocksLines } from '../../../../src/workloads/script/calls/procfile.js';
import { LOCK_EX, LOCK_SH, LOCK_UN, sys_flock } from '../../../../src/kernel/fs/locks_flock.js';
import { current } from '../../../../src/kernel/sched/task_struct.js';
import { O_CREAT, O_RDONLY, O_RDWR, readText, runProcess, testConfig } from '../helpers.js';

const F_SETLK = 6;
const F_SETLEASE = 1024;
const F_OFD_SETLK = 37;
const lk = (type: number, start: number, len: number) => ({ l_type: type, l_whence: 0, l_start: BigInt(start), l_len: BigInt(len), l_pid: 0 });

describe('/proc/locks', () => {
  it('lists POSIX, OFD and flock locks newest first with their owners and ranges, and drops them at close', () => {
    const seen: (string | number)[] = [];
    let pid = 0;
    runProcess(function* (t) {
      pid = current(t).tgid;
      seen.push(yield* readText(t, '/proc/locks'));
      const f = yield* sys_open(t, 'f', O_RDWR | O_CREAT, 0o644);
      const g = yield* sys_open(t, 'f', O_RDONLY, 0);
      expect(yield* sys_fcntl_lock(t, f, F_SETLK, lk(1, 10, 5))).toBe(0);
      expect(yield* sys_fcntl_lock(t, g, F_OFD_SETLK, lk(0, 100, 0))).toBe(0);
      expect(yield* sys_flock(t, g, LOCK_SH)).toBe(0);
      seen.push(yield* readText(t, '/proc/locks'));
      expect(yield* sys_close(t, g)).toBe(0);
      seen.push(yield* readText(t, '/proc/locks'));
    });
    expect(seen[0]).toBe('');
    const lines = String(seen[1]).trimEnd().split('\n').map((l) => l.replace(/ fe:00:\d+ /, ' DEV '));
    expect(lines).toEqual([
      `1: FLOCK  ADVISORY  READ ${pid} DEV 0 EOF`,
      '2: OFDLCK ADVISORY  READ -1 DEV 100 EOF',
      `3: POSIX  ADVISORY  WRITE ${pid} DEV 10 14`,
    ]);
    // Closing g drops the flock and OFD locks (its last reference) and the process's POSIX locks on the file.
    expect(seen[2]).toBe('');
  });

  it('shows a request waiting behind a lock as a -> line under it', () => {
    const cfg = testConfig();
    const k = bootKernel(cfg);
    const out: (string | number)[] = [];
    let holder = 0;
    let waiter = 0;
    k.spawnProcess('holder', function* (t) {
      holder = current(t).tgid;
      const f = yield* sys_open(t, '/tmp/lk', O_RDWR | O_CREAT, 0o644);
      expect(yield* sys_flock(t, f, LOCK_EX)).toBe(0);
      yield t.sleepFor(5_000_000);
      out.push(yield* readText(t, '/proc/locks'));
      expect(yield* sys_flock(t, f, LOCK_UN)).toBe(0);
      yield t.sleepFor(5_000_000);
      out.push(yield* readText(t, '/proc/locks'));
      yield* k.exit(t, current(t));
    }, { cpu: 0, pinned: true });
    k.spawnProcess('waiter', function* (t) {
      waiter = current(t).tgid;
      yield t.sleepFor(1_000_000);
      const f = yield* sys_open(t, '/tmp/lk', O_RDONLY, 0);
      expect(yield* sys_flock(t, f, LOCK_SH)).toBe(0);
      yield t.sleepFor(10_000_000);
      yield* k.exit(t, current(t));
    }, { cpu: 1, pinned: true });
    k.run();
    const norm = (s: string | number | undefined): string[] => String(s).trimEnd().split('\n').map((l) => l.replace(/ fe:00:\d+ /, ' DEV '));
    expect(norm(out[0])).toEqual([`1: FLOCK  ADVISORY  WRITE ${holder} DEV 0 EOF`, `1: -> FLOCK  ADVISORY  READ ${waiter} DEV 0 EOF`]);
    expect(norm(out[1])).toEqual([`1: FLOCK  ADVISORY  READ ${waiter} DEV 0 EOF`]);
  });
});

describe('/proc/locks leases', () => {
  it('lists a lease ACTIVE, BREAKING with the type it is to become, a blocking opener as BREAKER under it, and drops it at F_UNLCK', () => {
    const cfg = testConfig();
    const k = bootKernel(cfg);
    const out: string[] = [];
    let holder = 0;
    let opener = 0;
    let openRet = 0;
    k.spawnProcess('holder', function* (t) {
      holder = current(t).tgid;
      // The opener's break sends SIGIO: ignored here, so it ends nobody.
      expect(yield* sys_rt_sigaction(t, SIGIO, SIG_IGN, 0)).toBe(0);
      const f = yield* sys_open(t, '/tmp/ls', O_RDWR | O_CREAT, 0o644);
      expect(yield* sys_fcntl(t, f, F_SETLEASE, F_WRLCK)).toBe(0);
      out.push(String(yield* readText(t, '/proc/locks')));
      yield t.sleepFor(5_000_000);
      out.push(String(yield* readText(t, '/proc/locks')));
      expect(yield* sys_fcntl(t, f, F_SETLEASE, F_UNLCK)).toBe(0);
      out.push(String(yield* readText(t, '/proc/locks')));
      yield t.sleepFor(5_000_000);
      yield* k.exit(t, current(t));
    }, { cpu: 0, pinned: true });
    k.spawnProcess('opener', function* (t) {
      opener = current(t).tgid;
      yield t.sleepFor(1_000_000);
      openRet = yield* sys_open(t, '/tmp/ls', O_RDONLY, 0);
      yield* k.exit(t, current(t));
    }, { cpu: 1, pinned: true });
    k.run();
    const norm = (s: string): string[] => s.trimEnd().split('\n').map((l) => l.replace(/ fe:00:\d+ /, ' DEV '));
    expect(norm(out[0]!)).toEqual([`1: LEASE  ACTIVE    WRITE ${holder} DEV 0 EOF`]);
    expect(norm(out[1]!)).toEqual([`1: LEASE  BREAKING  READ ${holder} DEV 0 EOF`, `1: -> LEASE  BREAKER   READ ${opener} <none>:0 0 EOF`]);
    expect(out[2]).toBe('');
    expect(openRet).toBeGreaterThanOrEqual(0);
  });
});

describe('procfile masking of /proc/locks', () => {
  it('keeps the working directory\'s files and the requests under them, renumbered, names their inodes and pids', () => {
    const names = new Map([['fe:00:12', 'f']]);
    const lines = [
      '1: POSIX  ADVISORY  WRITE 77 fe:00:99 0 EOF',
      '1: -> POSIX  ADVISORY  WRITE 78 fe:00:99 0 EOF',
      '2: LEASE  BREAKING  UNLCK 10 fe:00:12 0 EOF',
      '2: -> LEASE  BREAKER   READ 11 <none>:0 0 EOF',
      '2:  -> LEASE  BREAKER   WRITE 10 <none>:0 0 EOF',
      '3: OFDLCK ADVISORY  READ -1 fe:00:12 5 9',
    ];
    expect(maskLocksLines(lines, { pid: 10, tid: 10, ppid: 11 }, names)).toEqual([
      '1: LEASE  BREAKING  UNLCK self f 0 EOF',
      '1: -> LEASE  BREAKER   READ parent <none>:0 0 EOF',
      '1:  -> LEASE  BREAKER   WRITE self <none>:0 0 EOF',
      '2: OFDLCK ADVISORY  READ -1 f 5 9',
    ]);
  });
});
