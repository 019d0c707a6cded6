import { describe, expect, it } from 'vitest';
import { decodeResults, encodeScript, hostRunnerAvailable, HostRunnerError, runOnHost } from '../../src/conform/host.js';
import { parseScript } from '../../src/workloads/script/parse.js';

const script = (ops: unknown[]) => parseScript(JSON.stringify({ kernsim_script: 1, name: 't', ops }), 't.json');

describe('encoding for the C runner', () => {
  it('gives each name a slot, passes numbers as unsigned 64-bit and strings as hex', () => {
    const s = script([
      { op: 'mmap', as: 'A', pages: 2, prot: 'rw', flags: ['private', 'anonymous'] },
      { op: 'madvise', addr: '$A-4096', len: -1, advice: 'MADV_DONTNEED' },
      { op: 'open', path: 'a b', flags: ['creat'], as: 'F' },
      { op: 'fork', ops: [{ op: 'close', fd: '$F' }, { op: 'setrlimit', resource: 'NOFILE', cur: 'infinity', max: 5 }] },
    ]);
    expect(encodeScript(s).split('\n')).toEqual([
      'kernsim-host-ops 1',
      'slots 2',
      'timing 0',
      'ops 4',
      'mmap 0 v8192 v3 v34 v18446744073709551615 v0 -',
      'madvise -1 s0+18446744073709547520 v18446744073709551615 v4',
      'open 1 h612062 v64 v420',
      'fork -1 n2',
      'close -1 s1+0',
      'setrlimit -1 v7 v18446744073709551615 v5',
      '',
    ]);
  });
});

describe('decoding raw records', () => {
  it('builds result lines: faults, errno, F_GETFL, events with cookies in order, fork children', () => {
    const s = script([
      { op: 'fcntl', fd: 0, cmd: 'F_GETFL' },
      { op: 'load', addr: 0 },
      { op: 'close', fd: 99 },
      { op: 'inotify_read', fd: 3, bufsize: 100 },
      { op: 'fork', ops: [{ op: 'inotify_read', fd: 3, bufsize: 100 }, { op: 'getrlimit', resource: 'NOFILE' }] },
    ]);
    const raw = [
      'R 0 32770 -',
      'S 1 SIGSEGV',
      'R 2 -1 EBADF',
      'R 3 64 - 2 1 64 777 h61 1 128 777 h62',
      'B 4',
      'R 0 16 - 1 -1 16384 0 h',
      'R 1 0 - 1024 18446744073709551615',
      'E',
      'R 4 0 - 0',
      '',
    ].join('\n');
    expect(decodeResults(s, raw)).toEqual([
      { i: 0, op: 'fcntl', ret: 2, errno: null, flags: [] },
      { i: 1, op: 'load', ret: -1, errno: null, signal: 'SIGSEGV' },
      { i: 2, op: 'close', ret: -1, errno: 'EBADF' },
      {
        i: 3, op: 'inotify_read', ret: 64, errno: null,
        events: [
          { wd: 1, mask: ['moved_from'], cookie: 'c1', name: 'a' },
          { wd: 1, mask: ['moved_to'], cookie: 'c1', name: 'b' },
        ],
      },
      {
        i: 4, op: 'fork', ret: 0, errno: null, exit: 0,
        child: [
          { i: 0, op: 'inotify_read', ret: 16, errno: null, events: [{ wd: -1, mask: ['q_overflow'], cookie: 0, name: '' }] },
          { i: 1, op: 'getrlimit', ret: 0, errno: null, cur: 1024, max: 'infinity' },
        ],
      },
    ]);
  });

  it('a child that died early has fewer lines; its exit is the signal', () => {
    const s = script([{ op: 'fork', ops: [{ op: 'load', addr: 0 }, { op: 'load', addr: 0 }] }]);
    expect(decodeResults(s, 'B 0\nR 0 0 - 5\nE\nR 0 0 - SIGKILL\n')).toEqual([
      { i: 0, op: 'fork', ret: 0, errno: null, child: [{ i: 0, op: 'load', ret: 0, errno: null, value: 5 }], exit: 'SIGKILL' },
    ]);
  });

  it('rejects output that does not match the script', () => {
    expect(() => decodeResults(script([{ op: 'close', fd: 1 }]), 'R 1 0 -\n')).toThrow(HostRunnerError);
    expect(() => decodeResults(script([{ op: 'close', fd: 1 }]), 'R 0 0 -\nR 1 0 -\n')).toThrow(/unexpected record/);
  });
});

const available = hostRunnerAvailable();
if (!available) console.warn('host runner tests skipped: no C compiler (cc) on this host');

describe('running on the host kernel', () => {
  it.skipIf(!available)('gives the environment the spec promises', async () => {
    const lines = await runOnHost(
      script([
        { op: 'fcntl', fd: 0, cmd: 'F_GETFL' },
        { op: 'fcntl', fd: 2, cmd: 'F_GETFD' },
        { op: 'fcntl', fd: 3, cmd: 'F_GETFD' },
        { op: 'getrlimit', resource: 'NOFILE' },
        { op: 'read', fd: 0, len: 10 },
        { op: 'write', fd: 1, len: 10, byte: 1 },
        { op: 'open', path: '.', flags: ['rdonly', 'directory'], as: 'D' },
        { op: 'rmdir', path: 'x' },
        { op: 'dup2', fd: 0, newfd: 1023 },
        { op: 'dup2', fd: 0, newfd: 1024 },
        { op: 'setrlimit', resource: 'NOFILE', cur: 1024, max: 8192 },
      ]),
    );
    expect(lines).toEqual([
      '{"i":0,"op":"fcntl","ret":2,"errno":null,"flags":[]}',
      '{"i":1,"op":"fcntl","ret":0,"errno":null}',
      '{"i":2,"op":"fcntl","ret":-1,"errno":"EBADF"}',
      '{"i":3,"op":"getrlimit","ret":0,"errno":null,"cur":1024,"max":4096}',
      '{"i":4,"op":"read","ret":0,"errno":null,"sum":0}',
      '{"i":5,"op":"write","ret":10,"errno":null}',
      '{"i":6,"op":"open","ret":3,"errno":null}',
      '{"i":7,"op":"rmdir","ret":-1,"errno":"ENOENT"}',
      '{"i":8,"op":"dup2","ret":1023,"errno":null}',
      '{"i":9,"op":"dup2","ret":-1,"errno":"EBADF"}',
      // Raising the hard limit needs CAP_SYS_RESOURCE: the script runs unprivileged.
      '{"i":10,"op":"setrlimit","ret":-1,"errno":"EPERM"}',
    ]);
  });

  it.skipIf(!available)('reports faults and goes on; fill writes the pages below a fault', async () => {
    const lines = await runOnHost(
      script([
        { op: 'mmap', as: 'A', pages: 3, prot: 'rw', flags: ['private', 'anonymous'] },
        { op: 'mprotect', addr: '$A+8192', len: 4096, prot: 'r' },
        { op: 'fill', addr: '$A', len: 12288, byte: 9 },
        { op: 'load', addr: '$A+4096' },
        { op: 'load', addr: '$A+8192' },
        { op: 'load', addr: '$A+12288' },
      ]),
    );
    expect(lines).toEqual([
      '{"i":0,"op":"mmap","ret":0,"errno":null}',
      '{"i":1,"op":"mprotect","ret":0,"errno":null}',
      '{"i":2,"op":"fill","ret":-1,"errno":null,"signal":"SIGSEGV"}',
      '{"i":3,"op":"load","ret":0,"errno":null,"value":9}',
      '{"i":4,"op":"load","ret":0,"errno":null,"value":0}',
      '{"i":5,"op":"load","ret":-1,"errno":null,"signal":"SIGSEGV"}',
    ]);
  });

  it.skipIf(!available)('kills a script that blocks and says so', async () => {
    const s = script([
      { op: 'inotify_init1', flags: [], as: 'I' },
      { op: 'inotify_read', fd: '$I', bufsize: 4096 },
    ]);
    await expect(runOnHost(s, { timeoutSeconds: 1 })).rejects.toThrow(/t: .*did not finish within 1 s and was killed/);
  });
});
