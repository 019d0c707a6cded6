/**
 * Lease breaks that time out (fs/locks.c time_out_leases): what the host
 * shows only after /proc/sys/fs/lease-break-time seconds (45 by default),
 * too long for a conformance script. Checked on the host with the sysctl
 * set to 1 s (a C program: a read lease broken by an O_WRONLY open is
 * removed when the opener's wait ends, F_SETLEASE F_UNLCK then EAGAIN; a
 * write lease broken by a reader is downgraded to F_RDLCK; an opener
 * restarted under SA_RESTART waits out the same break time). Here with
 * the default 45 s, on the simulated clock.
 */
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../src/config/machine.js';
import { runScript } from '../../../src/workloads/script/interp.js';
import { parseScript } from '../../../src/workloads/script/parse.js';
import type { ResultLine } from '../../../src/workloads/script/format.js';

function run(ops: unknown[]): ResultLine[] {
  const r = runScript(parseScript(JSON.stringify({ kernsim_script: 1, timing: true, ops }), 'lease.json'), defaultConfig());
  expect(r.finished).toBe(true);
  return r.results;
}

const SETUP = [
  { op: 'open', path: 'f', flags: ['rdwr', 'creat'], as: 'C' },
  { op: 'close', fd: '$C' },
  { op: 'sigaction', sig: 'SIGIO', handler: 'count' },
  { op: 'open', path: 'f', flags: ['rdonly'], as: 'A' },
];

/** The opener's open got fd 4 once lease-break-time (45 s) had passed, plus at most two jiffies (the wait's timer, then past_time's "after"). */
function expectOpenedAtBreakTime(open: ResultLine): void {
  expect(open.ret).toBe(4);
  const s = Number(open.time_ns) / 1e9;
  expect(s).toBeGreaterThanOrEqual(45);
  expect(s).toBeLessThan(45.01);
}

describe('lease breaks that time out', () => {
  it('a read lease broken by a writer the holder ignores is removed after lease-break-time (45 s); the open then succeeds', () => {
    const lines = run([
      ...SETUP,
      { op: 'fcntl', fd: '$A', cmd: 'F_SETLEASE', arg: 0 },
      { op: 'thread', as: 'T', ops: [{ op: 'open', path: 'f', flags: ['wronly'] }] },
      { op: 'join', thread: '$T' },
      { op: 'caught', sig: 'SIGIO' },
      { op: 'fcntl', fd: '$A', cmd: 'F_GETLEASE' },
      { op: 'fcntl', fd: '$A', cmd: 'F_SETLEASE', arg: 2 },
    ]);
    expectOpenedAtBreakTime((lines[6]!.child as ResultLine[])[0]!);
    expect(lines[7]!['value']).toBe(1);
    expect(lines[8]!.ret).toBe(2);
    expect(lines[9]!.errno).toBe('EAGAIN');
  });

  it('a write lease broken by a reader is downgraded to a read lease at the break time (the opener looks every jiffy)', () => {
    const lines = run([
      ...SETUP,
      { op: 'fcntl', fd: '$A', cmd: 'F_SETLEASE', arg: 1 },
      { op: 'thread', as: 'T', ops: [{ op: 'open', path: 'f', flags: ['rdonly'] }] },
      { op: 'join', thread: '$T' },
      { op: 'fcntl', fd: '$A', cmd: 'F_GETLEASE' },
      { op: 'fcntl', fd: '$A', cmd: 'F_SETLEASE', arg: 2 },
    ]);
    expectOpenedAtBreakTime((lines[6]!.child as ResultLine[])[0]!);
    expect(lines[7]!.ret).toBe(0);
    expect(lines[8]!.ret).toBe(0);
  });

  it('an opener restarted under SA_RESTART waits out the same break time, not a new one', () => {
    const lines = run([
      ...SETUP,
      { op: 'fcntl', fd: '$A', cmd: 'F_SETLEASE', arg: 0 },
      {
        op: 'fork',
        ops: [
          { op: 'sigaction', sig: 'SIGALRM', handler: 'count', flags: ['restart'] },
          { op: 'setitimer', usec: 10_000_000 },
          { op: 'open', path: 'f', flags: ['wronly'] },
          { op: 'caught', sig: 'SIGALRM' },
        ],
      },
      { op: 'fcntl', fd: '$A', cmd: 'F_GETLEASE' },
    ]);
    const child = lines[5]!.child as ResultLine[];
    expectOpenedAtBreakTime(child[2]!);
    expect(child[3]!['value']).toBe(1);
    expect(lines[6]!.ret).toBe(2);
  });
});
