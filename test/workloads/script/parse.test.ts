import { describe, expect, it } from 'vitest';
import { parseScript, ScriptError, OP_NAMES } from '../../../src/workloads/script/parse.js';
import { CALL_NAMES, F, FD_CLOEXEC, IN, MADV, MAP, O, OPEN_FLAG_NAMES, PROT, RLIM_INFINITY, SEEK } from '../../../src/workloads/script/types.js';

function script(ops: unknown[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ kernsim_script: 1, name: 't', ops, ...extra });
}

function errorOf(text: string, file = 'bad.json'): string {
  try {
    parseScript(text, file);
  } catch (e) {
    expect(e).toBeInstanceOf(ScriptError);
    return (e as Error).message;
  }
  throw new Error('expected a ScriptError');
}

describe('parseScript: every op', () => {
  const ops = [
    { op: 'mmap', as: 'A', pages: 4, prot: 'rw', flags: ['private', 'anonymous'] },
    { op: 'open', path: 'f', flags: ['rdwr', 'creat'], as: 'F' },
    { op: 'mmap', as: 'M', pages: 1, prot: 'r', flags: ['shared'], fd: '$F', offset: 4096 },
    { op: 'mmap', as: 'X', pages: 1, prot: 'none', flags: ['private', 'anonymous', 'fixed'], addr: '$A+0x2000' },
    { op: 'munmap', addr: '$A+4096', len: 4096 },
    { op: 'mprotect', addr: '$A', len: 4096, prot: 'rwx' },
    { op: 'madvise', addr: '$A', len: 4096, advice: 'MADV_DONTNEED' },
    { op: 'mlock', addr: '$A', len: 4096 },
    { op: 'munlock', addr: '$A', len: 4096 },
    { op: 'fill', addr: '$A', len: 16384, byte: 7 },
    { op: 'load', addr: '$A-1' },
    { op: 'mincore', addr: '$A', len: 16384 },
    { op: 'close', fd: '$F' },
    { op: 'dup', fd: 0, as: 'D' },
    { op: 'dup2', fd: '$D', newfd: 10, as: 'E' },
    { op: 'dup3', fd: '$D', newfd: 11, flags: ['cloexec'] },
    { op: 'fcntl', fd: '$D', cmd: 'F_DUPFD', arg: 20, as: 'G' },
    { op: 'fcntl', fd: '$D', cmd: 'F_GETFL' },
    { op: 'write', fd: '$D', len: 10, byte: 255 },
    { op: 'read', fd: '$D', len: 10 },
    { op: 'lseek', fd: '$D', offset: -1, whence: 'END' },
    { op: 'ftruncate', fd: '$D', len: 0 },
    { op: 'unlink', path: 'f' },
    { op: 'mkdir', path: 'd' },
    { op: 'rmdir', path: 'd' },
    { op: 'rename', from: 'a', to: 'b' },
    { op: 'chmod', path: 'b', mode: '0600' },
    { op: 'setrlimit', resource: 'NOFILE', cur: 64, max: 'infinity' },
    { op: 'getrlimit', resource: 'NOFILE' },
    { op: 'inotify_init1', flags: ['nonblock', 'cloexec'], as: 'I' },
    { op: 'inotify_add_watch', fd: '$I', path: '.', mask: ['create', 'oneshot'], as: 'W' },
    { op: 'inotify_rm_watch', fd: '$I', wd: '$W' },
    { op: 'inotify_read', fd: '$I', bufsize: 4096 },
    { op: 'fionread', fd: '$I' },
    { op: 'fork', ops: [{ op: 'load', addr: '$A' }, { op: 'dup', fd: 0, as: 'C' }, { op: 'close', fd: '$C' }] },
    { op: 'membarrier', cmd: 1 },
    // Experiment ops (docs/scripts.md Part 2).
    { op: 'pin', cpu: 1 },
    { op: 'thread', as: 'T', cpu: 2, ops: [{ op: 'spin' }] },
    { op: 'repeat', count: 3, ops: [{ op: 'dup', fd: 0, as: 'R' }] },
    { op: 'close', fd: '$R' },
    { op: 'join', thread: '$T' },
    { op: 'execve', path: 'b' },
    { op: 'execve', ops: [{ op: 'load', addr: '$A' }] },
  ];
  const parsed = parseScript(script(ops), 'all.json');

  it('covers every op name', () => {
    const names = (list: { op: string; ops?: unknown }[]): string[] => list.flatMap((o) => [o.op, ...(Array.isArray(o.ops) ? names(o.ops as { op: string }[]) : [])]);
    expect(new Set(names(ops))).toEqual(new Set(OP_NAMES.filter((n) => !(CALL_NAMES as string[]).includes(n))));
  });

  it('normalises arguments to kernel numbers', () => {
    expect(parsed.name).toBe('t');
    expect(parsed.ops).toEqual([
      { op: 'mmap', as: 'A', pages: 4, prot: PROT.PROT_READ | PROT.PROT_WRITE, flags: MAP.MAP_PRIVATE | MAP.MAP_ANONYMOUS, offset: 0 },
      { op: 'open', path: 'f', flags: O.O_RDWR | O.O_CREAT, mode: 0o644, as: 'F' },
      { op: 'mmap', as: 'M', pages: 1, prot: PROT.PROT_READ, flags: MAP.MAP_SHARED, fd: { name: 'F', offset: 0 }, offset: 4096 },
      { op: 'mmap', as: 'X', pages: 1, prot: 0, flags: MAP.MAP_PRIVATE | MAP.MAP_ANONYMOUS | MAP.MAP_FIXED, offset: 0, addr: { name: 'A', offset: 0x2000 } },
      { op: 'munmap', addr: { name: 'A', offset: 4096 }, len: 4096 },
      { op: 'mprotect', addr: { name: 'A', offset: 0 }, len: 4096, prot: 7 },
      { op: 'madvise', addr: { name: 'A', offset: 0 }, len: 4096, advice: MADV.MADV_DONTNEED },
      { op: 'mlock', addr: { name: 'A', offset: 0 }, len: 4096 },
      { op: 'munlock', addr: { name: 'A', offset: 0 }, len: 4096 },
      { op: 'fill', addr: { name: 'A', offset: 0 }, len: 16384, byte: 7 },
      { op: 'load', addr: { name: 'A', offset: -1 } },
      { op: 'mincore', addr: { name: 'A', offset: 0 }, len: 16384 },
      { op: 'close', fd: { name: 'F', offset: 0 } },
      { op: 'dup', fd: { value: 0 }, as: 'D' },
      { op: 'dup2', fd: { name: 'D', offset: 0 }, newfd: { value: 10 }, as: 'E' },
      { op: 'dup3', fd: { name: 'D', offset: 0 }, newfd: { value: 11 }, flags: O.O_CLOEXEC },
      { op: 'fcntl', fd: { name: 'D', offset: 0 }, cmd: F.F_DUPFD, arg: 20, as: 'G' },
      { op: 'fcntl', fd: { name: 'D', offset: 0 }, cmd: F.F_GETFL, arg: 0 },
      { op: 'write', fd: { name: 'D', offset: 0 }, len: 10, byte: 255 },
      { op: 'read', fd: { name: 'D', offset: 0 }, len: 10 },
      { op: 'lseek', fd: { name: 'D', offset: 0 }, offset: -1, whence: SEEK.SEEK_END },
      { op: 'ftruncate', fd: { name: 'D', offset: 0 }, len: 0 },
      { op: 'unlink', path: 'f' },
      { op: 'mkdir', path: 'd', mode: 0o755 },
      { op: 'rmdir', path: 'd' },
      { op: 'rename', from: 'a', to: 'b' },
      { op: 'chmod', path: 'b', mode: 0o600 },
      { op: 'setrlimit', resource: 7, cur: 64, max: RLIM_INFINITY },
      { op: 'getrlimit', resource: 7 },
      { op: 'inotify_init1', flags: IN.IN_NONBLOCK | IN.IN_CLOEXEC, as: 'I' },
      { op: 'inotify_add_watch', fd: { name: 'I', offset: 0 }, path: '.', mask: IN.IN_CREATE + IN.IN_ONESHOT, as: 'W' },
      { op: 'inotify_rm_watch', fd: { name: 'I', offset: 0 }, wd: { name: 'W', offset: 0 } },
      { op: 'inotify_read', fd: { name: 'I', offset: 0 }, bufsize: 4096 },
      { op: 'fionread', fd: { name: 'I', offset: 0 } },
      {
        op: 'fork',
        ops: [
          { op: 'load', addr: { name: 'A', offset: 0 } },
          { op: 'dup', fd: { value: 0 }, as: 'C' },
          { op: 'close', fd: { name: 'C', offset: 0 } },
        ],
      },
      { op: 'membarrier', cmd: 1, flags: 0 },
      { op: 'pin', cpu: 1 },
      { op: 'thread', as: 'T', cpu: 2, ops: [{ op: 'spin' }] },
      { op: 'repeat', count: 3, ops: [{ op: 'dup', fd: { value: 0 }, as: 'R' }] },
      { op: 'close', fd: { name: 'R', offset: 0 } },
      { op: 'join', thread: { name: 'T', offset: 0 } },
      { op: 'execve', path: 'b' },
      { op: 'execve', ops: [{ op: 'load', addr: { name: 'A', offset: 0 } }] },
    ]);
  });

  it('keeps the machine block and ignores other top-level keys', () => {
    const p = parseScript(script([], { machine: { cpus: 2 }, extra: true }), 'x.json');
    expect(p).toEqual({ name: 't', ops: [], machine: { cpus: 2 }, timing: false, timingDependent: false });
  });

  it('names a script without a name after its file', () => {
    expect(parseScript('{"kernsim_script":1,"ops":[]}', 'dir/madvise-x.json').name).toBe('madvise-x');
  });
});

describe('parseScript: also accepted', () => {
  const one = (op: Record<string, unknown>, pre: unknown[] = []) => parseScript(script([...pre, op]), 'a.json').ops[pre.length];
  const mapA = { op: 'mmap', as: 'A', pages: 1, prot: 'rw', flags: ['private', 'anonymous'] };

  it('numbers as 0x strings, including values past 2^53 that a double holds', () => {
    expect(one({ op: 'munmap', addr: '0x1000', len: '0xfffffffffffff000' })).toEqual({ op: 'munmap', addr: { value: 4096 }, len: 2 ** 64 - 4096 });
    expect(one({ op: 'load', addr: '$A+0x10' }, [mapA])).toEqual({ op: 'load', addr: { name: 'A', offset: 16 } });
    expect(one({ op: 'lseek', fd: 0, offset: '-0x10', whence: 'SET' })).toMatchObject({ offset: -16 });
  });

  it('offsets (lseek, pread, pwrite, ftruncate, fallocate) as exact 64-bit values: a bigint past 2^53, wrapped as off_t', () => {
    expect(one({ op: 'lseek', fd: 0, offset: '0x7ffffffffffffffe', whence: 'SET' })).toMatchObject({ offset: (1n << 63n) - 2n });
    expect(one({ op: 'lseek', fd: 0, offset: '0x20000000000001', whence: 'SET' })).toMatchObject({ offset: 2n ** 53n + 1n });
    expect(one({ op: 'lseek', fd: 0, offset: '0x1fffffffffffff', whence: 'SET' })).toMatchObject({ offset: 2 ** 53 - 1 });
    expect(one({ op: 'lseek', fd: 0, offset: '0xffffffffffffffff', whence: 'SET' })).toMatchObject({ offset: -1 });
    expect(one({ op: 'lseek', fd: 0, offset: '-0x8000000000000000', whence: 'SET' })).toMatchObject({ offset: -(2n ** 63n) });
    expect(one({ op: 'ftruncate', fd: 0, len: '0x20000000000003' })).toMatchObject({ len: 2n ** 53n + 3n });
    expect(one({ op: 'pwrite', fd: 0, len: 1, byte: 1, offset: '0x4000000000000001' })).toMatchObject({ offset: 2n ** 62n + 1n });
    expect(one({ op: 'fallocate', fd: 0, mode: [], offset: '0x7ffffffffffffffe', len: '0x20000000000001' })).toMatchObject({ offset: (1n << 63n) - 2n, len: 2n ** 53n + 1n });
  });

  it('refuses an offset past 64 bits and a JSON number past 2^53 (which JSON.parse would round)', () => {
    expect(errorOf(script([{ op: 'lseek', fd: 0, offset: '0x10000000000000000', whence: 'SET' }]))).toMatch(/ops\[0\]\.offset: expected a 64-bit offset/);
    expect(errorOf(script([{ op: 'pread', fd: 0, len: 1, offset: 2 ** 60 }]))).toMatch(/ops\[0\]\.offset: expected an offset \(write integers past 2\^53 as a "0x\.\.\." string\)/);
  });

  it('integers inside or instead of flag lists', () => {
    expect(one({ op: 'dup3', fd: 0, newfd: 5, flags: [1] })).toMatchObject({ flags: 1 });
    expect(one({ op: 'dup3', fd: 0, newfd: 5, flags: 0x80001 })).toMatchObject({ flags: 0x80001 });
    expect(one({ op: 'open', path: 'f', flags: ['rdonly', '0x40000'] })).toMatchObject({ flags: O.O_NOATIME });
    expect(one({ op: 'inotify_add_watch', fd: 3, path: '.', mask: ['create', 0x100] })).toMatchObject({ mask: IN.IN_CREATE });
    expect(one({ op: 'mmap', as: 'B', pages: 1, prot: 3, flags: 0x22 })).toMatchObject({ prot: 3, flags: 0x22 });
  });

  it('fcntl arg as a flag list', () => {
    expect(one({ op: 'fcntl', fd: 0, cmd: 'F_SETFD', arg: ['cloexec'] })).toMatchObject({ cmd: F.F_SETFD, arg: FD_CLOEXEC });
    expect(one({ op: 'fcntl', fd: 0, cmd: 'F_SETFL', arg: ['nonblock', 'append'] })).toMatchObject({ arg: O.O_NONBLOCK | O.O_APPEND });
    expect(one({ op: 'fcntl', fd: 0, cmd: 1030, arg: 7 })).toMatchObject({ cmd: F.F_DUPFD_CLOEXEC, arg: 7 });
  });

  it('mode as an integer or an octal string; mkdir mode', () => {
    expect(one({ op: 'open', path: 'f', flags: ['creat'], mode: 420 })).toMatchObject({ mode: 0o644 });
    expect(one({ op: 'open', path: 'f', flags: ['creat'], mode: '0644' })).toMatchObject({ mode: 0o644 });
    expect(one({ op: 'chmod', path: 'f', mode: '0o4755' })).toMatchObject({ mode: 0o4755 });
    expect(one({ op: 'mkdir', path: 'd', mode: '0700' })).toMatchObject({ mode: 0o700 });
  });

  it('whence DATA and HOLE; mmap fixed_noreplace and shared_validate; rlimit infinity', () => {
    expect(one({ op: 'lseek', fd: 3, offset: 0, whence: 'DATA' })).toMatchObject({ whence: SEEK.SEEK_DATA });
    expect(one({ op: 'lseek', fd: 3, offset: 0, whence: 'HOLE' })).toMatchObject({ whence: SEEK.SEEK_HOLE });
    expect(one({ op: 'mmap', as: 'B', pages: 1, prot: 'r', flags: ['shared_validate', 'fixed_noreplace'], fd: 3, addr: 0x10000 })).toMatchObject({
      flags: MAP.MAP_SHARED_VALIDATE | MAP.MAP_FIXED_NOREPLACE,
      addr: { value: 0x10000 },
    });
    expect(one({ op: 'setrlimit', resource: 'NOFILE', cur: 'infinity', max: 'infinity' })).toMatchObject({ cur: Infinity, max: Infinity });
  });

  it('unknown advice numbers pass through; every MADV name is known', () => {
    expect(one({ op: 'madvise', addr: 0, len: 0, advice: 999 })).toMatchObject({ advice: 999 });
    for (const [name, n] of Object.entries(MADV)) expect(one({ op: 'madvise', addr: 0, len: 0, advice: name })).toMatchObject({ advice: n });
    expect(MADV.MADV_GUARD_INSTALL).toBe(102);
    expect(MADV.MADV_GUARD_REMOVE).toBe(103);
  });

  it('comment keys in ops', () => {
    expect(one({ op: 'close', fd: 3, comment: 'why' })).toEqual({ op: 'close', fd: { value: 3 } });
  });

  it('names: latest binding, fork children start with a copy', () => {
    const p = parseScript(
      script([mapA, { op: 'fork', ops: [{ op: 'load', addr: '$A' }] }, { op: 'mmap', as: 'A', pages: 1, prot: 'r', flags: ['private', 'anonymous'] }, { op: 'load', addr: '$A' }]),
      'a.json',
    );
    expect(p.ops.length).toBe(4);
  });
});

describe('parseScript: errors are one line naming file, op index and field', () => {
  const cases: [string, unknown, string][] = [
    ['bad advice', [{ op: 'madvise', addr: 0, len: 0, advice: 'MADV_FOO' }], 'bad.json: ops[0].advice: expected a madvise advice name or number, got "MADV_FOO"'],
    ['unknown op', [{ op: 'mmap2' }], `bad.json: ops[0].op: expected one of ${OP_NAMES.join(', ')}, got "mmap2"`],
    ['unknown key', [{ op: 'close', fd: 3, len: 1 }], 'bad.json: ops[0].len: unknown field for close; expected one of fd, comment'],
    ['missing field', [{ op: 'madvise', addr: 0, len: 0 }], 'bad.json: ops[0].advice: expected a madvise advice name or number, got nothing'],
    ['unbound name', [{ op: 'load', addr: '$B' }], 'bad.json: ops[0].addr: expected a name bound by an earlier op in this process, got "$B"'],
    ['own binding', [{ op: 'dup', fd: '$D', as: 'D' }], 'bad.json: ops[0].fd: expected a name bound by an earlier op in this process, got "$D"'],
    [
      'name bound in a child',
      [{ op: 'fork', ops: [{ op: 'dup', fd: 0, as: 'C' }] }, { op: 'close', fd: '$C' }],
      'bad.json: ops[1].fd: expected a name bound by an earlier op in this process, got "$C"',
    ],
    ['nested error', [{ op: 'fork', ops: [{ op: 'load', addr: 1 }, { op: 'fill', addr: 1, len: 1, byte: 256 }] }], 'bad.json: ops[0].ops[1].byte: expected a byte value from 0 to 255, got 256'],
    ['bad flag name', [{ op: 'open', path: 'f', flags: ['rdwr', 'synced'] }], `bad.json: ops[0].flags[1]: expected an open flag (one of ${Object.keys(OPEN_FLAG_NAMES).join(', ')}) or an integer, got "synced"`],
    ['bad prot', [{ op: 'mprotect', addr: 0, len: 0, prot: 'rww' }], 'bad.json: ops[0].prot: expected a protection: letters r, w, x, or "none", got "rww"'],
    ['bad ref syntax', [{ op: 'load', addr: '$A*2' }], 'bad.json: ops[0].addr: expected a reference "$NAME", "$NAME+N" or "$NAME-N", got "$A*2"'],
    ['unsafe integer', [{ op: 'munmap', addr: 0, len: 18446744073709551615 }], 'bad.json: ops[0].len: expected an integer (write integers past 2^53 as a "0x..." string), got 18446744073709552000'],
    ['inexact hex', [{ op: 'munmap', addr: 0, len: '0xffffffffffffffff' }], 'bad.json: ops[0].len: expected an integer that a double holds exactly (use a negative number for values near 2^64), got "0xffffffffffffffff"'],
    ['fcntl list arg', [{ op: 'fcntl', fd: 0, cmd: 'F_DUPFD', arg: ['cloexec'] }], 'bad.json: ops[0].arg: expected an integer (a flag list only with F_SETFD, F_SETFL or F_ADD_SEALS), got ["cloexec"]'],
    ['bad as', [{ op: 'dup', fd: 0, as: '1x' }], 'bad.json: ops[0].as: expected a name (letters, digits, _; not starting with a digit), got "1x"'],
    ['op not an object', [3], 'bad.json: ops[0]: expected an op object, got 3'],
    ['mmap needs as', [{ op: 'mmap', pages: 1, prot: 'r', flags: ['private', 'anonymous'] }], 'bad.json: ops[0].as: expected a name to bind, got nothing'],
    ['float', [{ op: 'read', fd: 0, len: 1.5 }], 'bad.json: ops[0].len: expected an integer (a number or a "0x..." string), got 1.5'],
  ];
  for (const [what, ops, msg] of cases) {
    it(what, () => {
      const m = errorOf(script(ops as unknown[]));
      expect(m).toBe(msg);
      expect(m).not.toContain('\n');
    });
  }

  it('kernsim_script must be 1', () => {
    expect(errorOf('{"kernsim_script":2,"ops":[]}')).toBe('bad.json: kernsim_script: expected 1, got 2');
    expect(errorOf('{"ops":[]}')).toBe('bad.json: kernsim_script: expected 1, got nothing');
  });

  it('ops must be a list; the file must be a JSON object', () => {
    expect(errorOf('{"kernsim_script":1,"ops":{}}')).toBe('bad.json: ops: expected a list of ops, got {}');
    expect(errorOf('[1]')).toBe('bad.json: (top level): expected a JSON object, got [1]');
    expect(errorOf('{"kernsim_script":1,')).toMatch(/^bad\.json: not valid JSON: /);
  });

  it('reports the first offending op', () => {
    const m = errorOf(script([{ op: 'close', fd: 1 }, { op: 'close' }, { op: 'nope' }]));
    expect(m).toBe('bad.json: ops[1].fd: expected a "$NAME" reference or a number, got nothing');
  });

  it('carries file and field on the error', () => {
    try {
      parseScript(script([{ op: 'close', fd: 'x' }]), 'f.json');
    } catch (e) {
      expect(e).toMatchObject({ file: 'f.json', field: 'ops[0].fd' });
      return;
    }
    throw new Error('no error');
  });
});

describe('parseScript: the later ops (calls/fields.ts)', () => {
  it('parses their flag lists with any name of the field and passes numbers through', () => {
    const s = parseScript(
      script([
        { op: 'mmap', as: 'A', pages: 1, prot: 'rw', flags: ['private', 'anonymous', 'droppable'] },
        { op: 'msync', addr: '$A', len: 4096, flags: ['sync', 'invalidate'] },
        { op: 'mlockall', flags: ['future', 64] },
        { op: 'close_range', fd: 3, max: -1, flags: ['cloexec'] },
        { op: 'dup3', fd: 0, newfd: 5, flags: ['nonblock'] },
      ]),
      'c.json',
    );
    expect(s.ops.slice(1)).toEqual([
      { op: 'msync', addr: { name: 'A', offset: 0 }, len: 4096, flags: 6 },
      { op: 'mlockall', flags: 2 | 64 },
      { op: 'close_range', fd: { value: 3 }, max: { value: -1 }, flags: 4 },
      { op: 'dup3', fd: { value: 0 }, newfd: { value: 5 }, flags: O.O_NONBLOCK },
    ]);
    expect((s.ops[0] as { flags: number }).flags).toBe(MAP.MAP_PRIVATE | MAP.MAP_ANONYMOUS | MAP.MAP_DROPPABLE);
  });

  it('names the field and the names it takes when one is wrong', () => {
    expect(errorOf(script([{ op: 'msync', addr: 0, len: 0, flags: ['sync', 'flush'] }]))).toBe(
      'bad.json: ops[0].flags[1]: expected an msync flag (one of async, invalidate, sync) or an integer, got "flush"',
    );
    expect(errorOf(script([{ op: 'munlockall', flags: [] }]))).toBe('bad.json: ops[0].flags: unknown field for munlockall; expected one of comment');
  });
});

describe('parseScript: execve', () => {
  it('takes either ops (the new image) or path, not both, not neither', () => {
    expect(errorOf(script([{ op: 'execve' }]))).toBe("bad.json: ops[0].ops: expected either ops (the new image's op list) or path (a file that is not a program), not both, got nothing");
    expect(errorOf(script([{ op: 'execve', path: 'x', ops: [] }]))).toMatch(/ops\[0\]\.ops: expected either ops/);
  });

  it('is refused in a thread (at any depth) and directly in a repeat, allowed in a fork child anywhere', () => {
    const spin = { op: 'spin' };
    expect(errorOf(script([{ op: 'thread', as: 'T', ops: [{ op: 'execve', ops: [] }, spin] }, { op: 'join', thread: '$T' }]))).toMatch(
      /ops\[0\]\.ops\[0\]\.op: expected execve only in a process's own op list/,
    );
    expect(errorOf(script([{ op: 'thread', as: 'T', ops: [{ op: 'fork', ops: [{ op: 'execve', ops: [] }] }] }, { op: 'join', thread: '$T' }]))).toMatch(
      /ops\[0\]\.ops\[0\]\.ops\[0\]\.op: expected execve only/,
    );
    expect(errorOf(script([{ op: 'repeat', count: 2, ops: [{ op: 'execve', path: 'x' }] }]))).toMatch(/ops\[0\]\.ops\[0\]\.op: expected execve only/);
    const ok = parseScript(script([{ op: 'repeat', count: 2, ops: [{ op: 'fork', ops: [{ op: 'execve', ops: [] }] }] }]), 'ok.json');
    expect(ok.ops).toHaveLength(1);
  });

  it("starts the new image with the old image's names, and binds nothing in the old one", () => {
    expect(errorOf(script([{ op: 'execve', ops: [{ op: 'open', path: 'f', flags: ['rdonly'], as: 'F' }] }, { op: 'close', fd: '$F' }]))).toMatch(/\$F/);
  });
});
