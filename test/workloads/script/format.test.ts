import { describe, expect, it } from 'vitest';
import { CookieNames, formatLine, getflResult, inotifyMaskNames, parseExact, rlimitValue, stringifyExact, type ResultLine } from '../../../src/workloads/script/format.js';
import { IN, O } from '../../../src/workloads/script/types.js';

describe('formatLine', () => {
  it('prints the spec example lines exactly', () => {
    expect(formatLine({ i: 0, op: 'mmap', ret: 0, errno: null })).toBe('{"i":0,"op":"mmap","ret":0,"errno":null}');
    expect(formatLine({ i: 3, op: 'load', ret: 0, errno: null, value: 0 })).toBe('{"i":3,"op":"load","ret":0,"errno":null,"value":0}');
    expect(formatLine({ i: 4, op: 'mincore', ret: 0, errno: null, vec: '1111' })).toBe('{"i":4,"op":"mincore","ret":0,"errno":null,"vec":"1111"}');
  });

  it('orders keys i, op, ret, errno, extras, sim whatever order they were given in', () => {
    const r = { sim: { cycles: 5 }, exit: 0, child: [{ sim: 1, vec: '1', errno: null, ret: 0, op: 'mincore', i: 0 }], errno: null, ret: 0, op: 'fork', i: 2 } as ResultLine;
    expect(formatLine(r)).toBe(
      '{"i":2,"op":"fork","ret":0,"errno":null,"child":[{"i":0,"op":"mincore","ret":0,"errno":null,"vec":"1","sim":1}],"exit":0,"sim":{"cycles":5}}',
    );
  });

  it('prints faults, errors, rlimits and events', () => {
    expect(formatLine({ i: 1, op: 'fill', ret: -1, errno: null, signal: 'SIGSEGV' })).toBe('{"i":1,"op":"fill","ret":-1,"errno":null,"signal":"SIGSEGV"}');
    expect(formatLine({ i: 1, op: 'close', ret: -1, errno: 'EBADF' })).toBe('{"i":1,"op":"close","ret":-1,"errno":"EBADF"}');
    expect(formatLine({ i: 0, op: 'getrlimit', ret: 0, errno: null, max: 'infinity', cur: 1024 })).toBe('{"i":0,"op":"getrlimit","ret":0,"errno":null,"cur":1024,"max":"infinity"}');
    expect(
      formatLine({ i: 5, op: 'inotify_read', ret: 32, errno: null, events: [{ name: 'a', cookie: 'c1', mask: ['moved_from'], wd: 1 }] }),
    ).toBe('{"i":5,"op":"inotify_read","ret":32,"errno":null,"events":[{"wd":1,"mask":["moved_from"],"cookie":"c1","name":"a"}]}');
  });
});

describe('64-bit values in result lines', () => {
  it('prints a bigint ret or size with all its digits', () => {
    expect(formatLine({ i: 1, op: 'lseek', ret: (1n << 63n) - 1n, errno: null })).toBe('{"i":1,"op":"lseek","ret":9223372036854775807,"errno":null}');
    expect(formatLine({ i: 2, op: 'fstat', ret: 0, errno: null, size: 2n ** 53n + 3n } as ResultLine)).toContain('"size":9007199254740995');
  });

  it('parses an integer past 2^53 as a bigint, leaves strings, floats and safe integers alone', () => {
    const v = parseExact('{"a":9223372036854775807,"b":"12345678901234567890","c":-9007199254740993,"d":1.5e300,"e":123,"f":0.12345678901234567}') as Record<string, unknown>;
    expect(v).toEqual({ a: (1n << 63n) - 1n, b: '12345678901234567890', c: -(2n ** 53n) - 1n, d: 1.5e300, e: 123, f: 0.12345678901234567 });
    expect(stringifyExact(v)).toBe('{"a":9223372036854775807,"b":"12345678901234567890","c":-9007199254740993,"d":1.5e+300,"e":123,"f":0.12345678901234566}');
  });
});

describe('F_GETFL flags', () => {
  it('splits the access mode, drops O_LARGEFILE, names in ascending bit order', () => {
    expect(getflResult(O.O_RDWR | O.O_LARGEFILE)).toEqual({ ret: 2, flags: [] });
    expect(getflResult(O.O_WRONLY | O.O_LARGEFILE | O.O_CLOEXEC | O.O_APPEND | O.O_NONBLOCK)).toEqual({ ret: 1, flags: ['append', 'nonblock', 'cloexec'] });
    expect(getflResult(O.O_RDONLY | O.O_DIRECTORY | O.O_LARGEFILE)).toEqual({ ret: 0, flags: ['directory'] });
  });
  it('prints bits without a contract name as hex strings', () => {
    expect(getflResult(O.O_RDONLY | O.O_NOATIME | O.O_APPEND | O.O_DIRECT)).toEqual({ ret: 0, flags: ['append', '0x4000', '0x40000'] });
  });
});

describe('inotify masks', () => {
  it('single-bit names, ascending, never close/move/all_events', () => {
    expect(inotifyMaskNames(IN.IN_CREATE | IN.IN_ISDIR)).toEqual(['create', 'isdir']);
    expect(inotifyMaskNames(IN.IN_CLOSE)).toEqual(['close_write', 'close_nowrite']);
    expect(inotifyMaskNames(IN.IN_IGNORED)).toEqual(['ignored']);
    expect(inotifyMaskNames(IN.IN_Q_OVERFLOW)).toEqual(['q_overflow']);
  });
  it('handles bit 31 from either a positive or a signed 32-bit value, and unnamed bits', () => {
    expect(inotifyMaskNames(IN.IN_ONESHOT | IN.IN_MODIFY)).toEqual(['modify', 'oneshot']);
    expect(inotifyMaskNames(-0x80000000 | IN.IN_ACCESS)).toEqual(['access', 'oneshot']);
    expect(inotifyMaskNames(0x1000)).toEqual(['0x1000']);
  });
});

describe('cookies and rlimits', () => {
  it('numbers cookies by first appearance; 0 stays 0', () => {
    const c = new CookieNames();
    expect([c.name(917), c.name(0), c.name(12), c.name(917), c.name(5)]).toEqual(['c1', 0, 'c2', 'c1', 'c3']);
  });
  it('prints RLIM_INFINITY as "infinity"', () => {
    expect(rlimitValue(0xffffffffffffffffn)).toBe('infinity');
    expect(rlimitValue(Infinity)).toBe('infinity');
    expect(rlimitValue(4096n)).toBe(4096);
    expect(rlimitValue(1024)).toBe(1024);
  });
});
