/**
 * A file's owner (fs/fcntl.c fown_struct) and send_sigio: who a lease
 * break signals. The conformance script lock-lease-owner-pgrp checks the
 * same against the host; these pin the model's answers.
 */
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../src/config/machine.js';
import { runScript } from '../../../src/workloads/script/interp.js';
import { parseScript } from '../../../src/workloads/script/parse.js';
import type { ResultLine } from '../../../src/workloads/script/format.js';

function run(ops: unknown[]): ResultLine[] {
  const r = runScript(parseScript(JSON.stringify({ kernsim_script: 1, ops }), 'fown.json'), defaultConfig());
  expect(r.finished).toBe(true);
  return r.results;
}

const SETUP = [
  { op: 'open', path: 'f', flags: ['rdwr', 'creat'], as: 'C' },
  { op: 'close', fd: '$C' },
  { op: 'sigaction', sig: 'SIGIO', handler: 'count' },
  { op: 'sigprocmask', how: 'SIG_BLOCK', set: ['SIGIO'] },
  { op: 'open', path: 'f', flags: ['rdonly'], as: 'A' },
  { op: 'fcntl', fd: '$A', cmd: 'F_SETLEASE', arg: 0 },
];

const BREAK_IN_CHILD = {
  op: 'fork',
  ops: [
    { op: 'open', path: 'f', flags: ['wronly', 'nonblock'] },
    { op: 'sigprocmask', how: 'SIG_UNBLOCK', set: ['SIGIO'] },
    { op: 'caught', sig: 'SIGIO' },
  ],
};

describe('send_sigio to a lease owner', () => {
  it('a process group owner signals every process of the group: the breaking child and the holder', () => {
    const lines = run([
      ...SETUP,
      { op: 'setown', fd: '$A', who: 'pgrp' },
      { op: 'getown', fd: '$A' },
      BREAK_IN_CHILD,
      { op: 'sigprocmask', how: 'SIG_UNBLOCK', set: ['SIGIO'] },
      { op: 'caught', sig: 'SIGIO' },
    ]);
    expect(lines[6]).toMatchObject({ ret: 0, errno: null });
    expect(lines[7]).toMatchObject({ ret: 0, type: 2, owner: 'self' });
    const child = lines[8]!.child as ResultLine[];
    expect(child[0]).toMatchObject({ ret: -1, errno: 'EAGAIN' });
    expect(child[2]!['value']).toBe(1);
    expect(lines[10]!['value']).toBe(1);
  });

  it('the owner the lease sets is the holder\'s process alone; an owner set before the lease stays', () => {
    const lines = run([
      ...SETUP,
      { op: 'getown', fd: '$A' },
      BREAK_IN_CHILD,
      { op: 'sigprocmask', how: 'SIG_UNBLOCK', set: ['SIGIO'] },
      { op: 'caught', sig: 'SIGIO' },
      { op: 'fcntl', fd: '$A', cmd: 'F_SETLEASE', arg: 2 },
      { op: 'getown', fd: '$A' },
      { op: 'setown', fd: '$A', who: 'pgrp', type: 'pgrp' },
      { op: 'fcntl', fd: '$A', cmd: 'F_SETLEASE', arg: 0 },
      { op: 'getown', fd: '$A' },
    ]);
    expect(lines[6]).toMatchObject({ type: 1, owner: 'self' });
    expect((lines[7]!.child as ResultLine[])[2]!['value']).toBe(0);
    expect(lines[9]!['value']).toBe(1);
    expect(lines[11]).toMatchObject({ type: 1, owner: 0 });
    expect(lines[14]).toMatchObject({ type: 2, owner: 'self' });
  });

  it('F_SETOWN_EX refuses an unknown type (EINVAL) and a pid that does not exist (ESRCH); F_SETOWN of INT_MIN is EINVAL', () => {
    const lines = run([
      { op: 'open', path: 'f', flags: ['rdwr', 'creat'], as: 'A' },
      { op: 'setown', fd: '$A', who: 'self', type: 3 },
      { op: 'fcntl', fd: '$A', cmd: 'F_SETOWN', arg: -2147483648 },
      { op: 'fcntl', fd: '$A', cmd: 'F_SETOWN', arg: -4000000 },
      { op: 'setown', fd: 99, who: 'self', type: 'pid' },
    ]);
    expect(lines.slice(1).map((l) => l.errno)).toEqual(['EINVAL', 'EINVAL', 'ESRCH', 'EBADF']);
  });
});
