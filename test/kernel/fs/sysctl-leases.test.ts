/**
 * fs.lease-break-time and fs.leases-enable (fs/locks.c, kernel/sysctl.c
 * proc_dointvec), checked on the host as root with a C program (the
 * sysctls are global: each written for a moment and set back): the
 * writes' answers below, a break that times out after lease-break-time
 * (1 s: the opener got its fd after 1.03 s), one with 0 that never does
 * (the opener still waiting 2 s later), and leases-enable 0 refusing a new
 * lease (EINVAL) while the holder of one may re-set it or give it up.
 * A script's user cannot write them (proc-sys-fs-leases agrees with the
 * host there); these run as root on the simulator.
 */
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../src/config/machine.js';
import { sys_close, sys_fcntl, sys_open } from '../../../src/kernel/fs/fd_syscalls.js';
import { F_SETLEASE } from '../../../src/kernel/fs/fcntl.js';
import { proc_dointvec_write } from '../../../src/kernel/fs/proc/root.js';
import { sys_lseek, sys_write } from '../../../src/kernel/fs/read_write.js';
import { runScript } from '../../../src/workloads/script/interp.js';
import { parseScript } from '../../../src/workloads/script/parse.js';
import type { ResultLine } from '../../../src/workloads/script/format.js';
import { O_CREAT, O_RDONLY, O_RDWR, O_WRONLY, readText, runProcess } from './helpers.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('proc_dointvec writes (as the host answered them)', () => {
  const cases: [string, number, number | null][] = [
    [' 7\n', 3, 7],
    ['7x', -22, null],
    ['-3', 2, -3],
    ['99999999999', -22, null],
    ['0x10', 4, 16],
    ['010', 3, 8],
    ['8 9', 2, 8],
    ['\n', -22, null],
    [' ', -22, null],
    ['+5', -22, null],
    ['2147483647', 10, 2147483647],
    ['-2147483648', 11, -2147483648],
    ['', 0, null],
  ];
  for (const [text, ret, value] of cases) {
    it(`${JSON.stringify(text)} -> ${ret}`, () => {
      const out = { value: 12345 };
      expect(proc_dointvec_write(enc(text), 0, out)).toBe(ret);
      expect(out.value).toBe(value ?? 12345);
    });
  }
  it('a write past position 0 takes the whole count and sets nothing', () => {
    const out = { value: 12345 };
    expect(proc_dointvec_write(enc('9'), 1, out)).toBe(1);
    expect(out.value).toBe(12345);
  });
});

describe('/proc/sys/fs/lease-break-time and leases-enable', () => {
  it('read the machine settings; root writes them (an unprivileged open for writing is EACCES) (a script writes len bytes of one byte: "77"), a second write on the fd is taken and ignored, EINVAL leaves the value', () => {
    const seen: (string | number)[] = [];
    const cfg = defaultConfig();
    cfg.kernel.lease_break_time = 30;
    runProcess(function* (t) {
      seen.push(yield* readText(t, '/proc/sys/fs/lease-break-time'));
      seen.push(yield* readText(t, '/proc/sys/fs/leases-enable'));
      const fd = yield* sys_open(t, '/proc/sys/fs/lease-break-time', O_WRONLY, 0);
      seen.push(yield* sys_write(t, fd, 2, 0x37));
      seen.push(yield* sys_write(t, fd, 1, 0x31));
      seen.push(Number(yield* sys_lseek(t, fd, 0, 0)));
      seen.push(yield* sys_write(t, fd, 3, 0x78));
      yield* sys_close(t, fd);
      seen.push(yield* readText(t, '/proc/sys/fs/lease-break-time'));
      const e = yield* sys_open(t, '/proc/sys/fs/leases-enable', O_RDWR, 0);
      seen.push(yield* sys_write(t, e, 1, 0x30));
      yield* sys_close(t, e);
      seen.push(yield* readText(t, '/proc/sys/fs/leases-enable'));
    }, cfg, { uid: 0 });
    expect(seen).toEqual(['30\n', '1\n', 2, 1, 0, -22, '77\n', 1, '0\n']);
  });

  function run(cfgOver: (c: ReturnType<typeof defaultConfig>) => void, ops: unknown[]): ResultLine[] {
    const cfg = defaultConfig();
    cfgOver(cfg);
    const r = runScript(parseScript(JSON.stringify({ kernsim_script: 1, timing: true, ops }), 'sysctl.json'), cfg);
    expect(r.finished).toBe(true);
    return r.results;
  }

  const SETUP = [
    { op: 'open', path: 'f', flags: ['rdwr', 'creat'], as: 'C' },
    { op: 'close', fd: '$C' },
    { op: 'sigaction', sig: 'SIGIO', handler: 'count' },
    { op: 'open', path: 'f', flags: ['rdonly'], as: 'A' },
    { op: 'fcntl', fd: '$A', cmd: 'F_SETLEASE', arg: 0 },
  ];

  it('a break times out after lease-break-time: 2 s here', () => {
    const lines = run((c) => (c.kernel.lease_break_time = 2), [
      ...SETUP,
      { op: 'thread', as: 'T', ops: [{ op: 'open', path: 'f', flags: ['wronly'] }] },
      { op: 'join', thread: '$T' },
      { op: 'fcntl', fd: '$A', cmd: 'F_GETLEASE' },
    ]);
    const open = (lines[6]!.child as ResultLine[])[0]!;
    expect(open.ret).toBe(4);
    const s = Number(open.time_ns) / 1e9;
    expect(s).toBeGreaterThanOrEqual(2);
    expect(s).toBeLessThan(2.01);
    expect(lines[7]!.ret).toBe(2);
  });

  it('with lease-break-time 0 a break never times out: the opener waits for the holder (here its F_UNLCK after 60 s)', () => {
    const lines = run((c) => (c.kernel.lease_break_time = 0), [
      ...SETUP,
      { op: 'sigprocmask', how: 'SIG_BLOCK', set: ['SIGIO'] },
      { op: 'thread', as: 'T', ops: [{ op: 'open', path: 'f', flags: ['wronly'] }] },
      { op: 'nanosleep', ns: 60_000_000_000 },
      { op: 'fcntl', fd: '$A', cmd: 'F_GETLEASE' },
      { op: 'fcntl', fd: '$A', cmd: 'F_SETLEASE', arg: 2 },
      { op: 'join', thread: '$T' },
    ]);
    expect(lines[8]!.ret).toBe(2);
    expect(lines[9]!.ret).toBe(0);
    const open = (lines[10]!.child as ResultLine[])[0]!;
    expect(open.ret).toBe(4);
    expect(Number(open.time_ns) / 1e9).toBeGreaterThanOrEqual(60);
  });

  it('leases-enable 0: a new lease is EINVAL (after the conflict checks: a writer still makes it EAGAIN); the holder of one may change it and give it up', () => {
    const lines = run((c) => (c.kernel.leases_enable = 0), [
      { op: 'open', path: 'f', flags: ['rdwr', 'creat'], as: 'W' },
      { op: 'open', path: 'f', flags: ['rdonly'], as: 'A' },
      { op: 'fcntl', fd: '$A', cmd: 'F_SETLEASE', arg: 0 },
      { op: 'close', fd: '$W' },
      { op: 'fcntl', fd: '$A', cmd: 'F_SETLEASE', arg: 0 },
      { op: 'fcntl', fd: '$A', cmd: 'F_SETLEASE', arg: 2 },
      { op: 'fcntl', fd: '$A', cmd: 'F_GETLEASE' },
    ]);
    expect(lines.slice(2).map((l) => [l.ret, l.errno])).toEqual([[-1, 'EAGAIN'], [0, null], [-1, 'EINVAL'], [-1, 'EAGAIN'], [2, null]]);
  });

  it('leases-enable set to 0 through /proc/sys after a lease was taken: its holder re-sets it (0) and unlocks it (0); a new lease is EINVAL', () => {
    const r: number[] = [];
    runProcess(function* (t) {
      yield* sys_close(t, yield* sys_open(t, '/tmp/le', O_RDWR | O_CREAT, 0o644));
      const a = yield* sys_open(t, '/tmp/le', O_RDONLY, 0);
      const b = yield* sys_open(t, '/tmp/le', O_RDONLY, 0);
      r.push(yield* sys_fcntl(t, a, F_SETLEASE, 0));
      const e = yield* sys_open(t, '/proc/sys/fs/leases-enable', O_WRONLY, 0);
      r.push(yield* sys_write(t, e, 1, 0x30));
      yield* sys_close(t, e);
      r.push(yield* sys_fcntl(t, b, F_SETLEASE, 0));
      r.push(yield* sys_fcntl(t, a, F_SETLEASE, 0));
      r.push(yield* sys_fcntl(t, a, F_SETLEASE, 2));
      r.push(yield* sys_fcntl(t, b, F_SETLEASE, 0));
    }, undefined, { uid: 0 });
    expect(r).toEqual([0, 1, -22, 0, 0, -22]);
  });
});
