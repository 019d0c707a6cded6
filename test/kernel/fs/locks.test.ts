/**
 * fcntl record locks (src/kernel/fs/locks.ts): exact returns and errno, the
 * lock list posix_lock_inode keeps (merged, split, one owner's locks in
 * order), release at close and exit, OFD locks' life with their open file
 * description, F_SETLKW's wait and wake-up, EDEADLK, costs and attribution,
 * and a property test of the range algebra against a byte map.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sys_close, sys_dup, sys_fcntl, sys_fcntl_lock, sys_open } from '../../../src/kernel/fs/fd_syscalls.js';
import { F_RDLCK, F_UNLCK, F_WRLCK, file_posix_locks, OFFSET_MAX } from '../../../src/kernel/fs/locks.js';
import { F_GETLK, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW, F_SETLK, F_SETLKW, type Flock } from '../../../src/kernel/fs/locks_fcntl.js';
import { fcheck_files, type FilesStruct } from '../../../src/kernel/fs/file.js';
import type { File } from '../../../src/kernel/fs/file_table.js';
import { current, type TaskStruct } from '../../../src/kernel/sched/task_struct.js';
import type { Blocking, Task } from '../../../src/sim/task.js';
import { O_CREAT, O_RDONLY, O_RDWR, O_WRONLY, runProcess } from './helpers.js';

const EBADF = -9;
const EAGAIN = -11;
const EINVAL = -22;
const EDEADLK = -35;
const EOVERFLOW = -75;
const SEEK_CUR = 1;
const SEEK_END = 2;

function flock(type: number, start: bigint | number, len: bigint | number, whence = 0, pid = 0): Flock {
  return { l_type: type, l_whence: whence, l_start: BigInt(start), l_len: BigInt(len), l_pid: pid };
}

function* lk(t: Task, fd: number, cmd: number, type: number, start: bigint | number, len: bigint | number, whence = 0, pid = 0): Blocking<number> {
  return yield* sys_fcntl_lock(t, fd, cmd, flock(type, start, len, whence, pid));
}

function fileOf(t: Task, fd: number): File {
  return fcheck_files(t, current(t).files as FilesStruct, fd)!;
}

/** The inode's locks as [type, start, end] (end -1 for OFFSET_MAX), in list order. */
function ranges(t: Task, fd: number): [number, number, number][] {
  return file_posix_locks(fileOf(t, fd)).map((l) => [l.type, Number(l.start), l.end === OFFSET_MAX ? -1 : Number(l.end)]);
}

/** Runs `body` in a fork child of ts and waits for it to exit. */
function* inChild(t: Task, ts: TaskStruct, body: (ct: Task) => Blocking<void>): Blocking<void> {
  const child = yield* t.k.fork(t, ts, function* (ct: Task) {
    yield* body(ct);
    yield* ct.k.exit(ct, current(ct));
  });
  if (typeof child === 'number') throw new Error(`fork: ${child}`);
  yield t.sleepOn(child.task.exited);
}

describe('fcntl record locks: returns and errno', () => {
  it('answers the argument checks in Linux\'s order', () => {
    const got: number[] = [];
    runProcess(function* (t) {
      const f = yield* sys_open(t, 'f', O_RDWR | O_CREAT, 0o644);
      const r = yield* sys_open(t, 'f', O_RDONLY, 0);
      const w = yield* sys_open(t, 'f', O_WRONLY, 0);
      got.push(yield* lk(t, 99, F_SETLK, F_RDLCK, 0, 0));
      got.push(yield* lk(t, r, F_SETLK, F_WRLCK, 0, 0));
      got.push(yield* lk(t, w, F_SETLK, F_RDLCK, 0, 0));
      // EBADF (the file's mode) before the OFD l_pid's EINVAL.
      got.push(yield* lk(t, r, F_OFD_SETLK, F_WRLCK, 0, 0, 0, 1));
      got.push(yield* lk(t, f, F_SETLK, 3, 0, 0));
      got.push(yield* lk(t, f, F_GETLK, F_UNLCK, 0, 0));
      got.push(yield* lk(t, f, F_SETLK, F_RDLCK, 0, 0, 3));
      got.push(yield* lk(t, f, F_OFD_SETLK, F_RDLCK, 0, 0, 0, 1));
      got.push(yield* lk(t, f, F_SETLK, F_RDLCK, -1, 0));
      got.push(yield* lk(t, f, F_SETLK, F_RDLCK, 5, -6));
      got.push(yield* lk(t, f, F_SETLK, F_RDLCK, 10, OFFSET_MAX));
      got.push(yield* lk(t, f, F_SETLK, F_RDLCK, OFFSET_MAX, 2));
      got.push(yield* lk(t, f, F_SETLK, F_RDLCK, OFFSET_MAX, 1));
      got.push(yield* lk(t, f, F_SETLK, F_RDLCK, -1, 0, SEEK_END));
      // The v1 fcntl op's number argument is a NULL struct pointer.
      got.push(yield* sys_fcntl(t, f, F_SETLK, 0));
    });
    expect(got).toEqual([EBADF, EBADF, EBADF, EBADF, EINVAL, EINVAL, EINVAL, EINVAL, EINVAL, EINVAL, EOVERFLOW, EOVERFLOW, 0, EINVAL, -14]);
  });

  it('F_GETLK reports the first conflicting lock (SEEK_SET, length 0 for one to EOF, the owner\'s pid, -1 for OFD) or F_UNLCK', () => {
    const seen: Flock[] = [];
    let parentPid = 0;
    runProcess(function* (t, ts) {
      parentPid = ts.tgid;
      const f = yield* sys_open(t, 'f', O_RDWR | O_CREAT, 0o644);
      const g = yield* sys_open(t, 'f', O_RDWR, 0);
      yield* lk(t, f, F_SETLK, F_WRLCK, 100, 0);
      yield* lk(t, g, F_OFD_SETLK, F_RDLCK, 10, 5);
      yield* inChild(t, ts, function* (ct) {
        for (const q of [flock(F_WRLCK, 0, 0), flock(F_RDLCK, 0, 0), flock(F_RDLCK, 50, 0, SEEK_CUR), flock(F_WRLCK, 0, 10), flock(F_WRLCK, 14, 1)]) {
          expect(yield* sys_fcntl_lock(ct, f, F_GETLK, q)).toBe(0);
          seen.push(q);
        }
      });
    });
    // The list holds the POSIX lock first (it came first), then the OFD lock's owner.
    expect(seen).toEqual([
      flock(F_WRLCK, 100, 0, 0, parentPid),
      flock(F_WRLCK, 100, 0, 0, parentPid),
      flock(F_WRLCK, 100, 0, 0, parentPid),
      flock(F_UNLCK, 0, 10),
      flock(F_RDLCK, 10, 5, 0, -1),
    ]);
  });
});

describe('fcntl record locks: the lock list', () => {
  it('merges one owner\'s adjacent ranges of a type, splits a range another type or an unlock cuts', () => {
    const steps: [number, number, number][][] = [];
    runProcess(function* (t) {
      const f = yield* sys_open(t, 'f', O_RDWR | O_CREAT, 0o644);
      yield* lk(t, f, F_SETLK, F_WRLCK, 10, 10);
      yield* lk(t, f, F_SETLK, F_WRLCK, 20, 10);
      steps.push(ranges(t, f));
      yield* lk(t, f, F_SETLK, F_RDLCK, 14, 2);
      steps.push(ranges(t, f));
      yield* lk(t, f, F_SETLK, F_UNLCK, 25, 0);
      steps.push(ranges(t, f));
      yield* lk(t, f, F_SETLK, F_WRLCK, 0, 0);
      steps.push(ranges(t, f));
    });
    expect(steps).toEqual([
      [[F_WRLCK, 10, 29]],
      [[F_WRLCK, 10, 13], [F_RDLCK, 14, 15], [F_WRLCK, 16, 29]],
      [[F_WRLCK, 10, 13], [F_RDLCK, 14, 15], [F_WRLCK, 16, 24]],
      [[F_WRLCK, 0, -1]],
    ]);
  });

  it('drops the process\'s POSIX locks at the close of any fd of the file, keeps OFD locks while their description lives', () => {
    const seen: number[][] = [];
    runProcess(function* (t) {
      const f = yield* sys_open(t, 'f', O_RDWR | O_CREAT, 0o644);
      const g = yield* sys_open(t, 'f', O_RDONLY, 0);
      yield* lk(t, f, F_SETLK, F_WRLCK, 0, 10);
      yield* lk(t, f, F_OFD_SETLK, F_RDLCK, 20, 10);
      const d = yield* sys_dup(t, f);
      seen.push(ranges(t, f).map((r) => r[1]));
      yield* sys_close(t, g);
      seen.push(ranges(t, f).map((r) => r[1]));
      yield* sys_close(t, f);
      seen.push(ranges(t, d).map((r) => r[1]));
      const file = fileOf(t, d);
      yield* sys_close(t, d);
      seen.push(file_posix_locks(file).map((l) => Number(l.start)));
    });
    expect(seen).toEqual([[0, 20], [20], [20], []]);
  });

  it('gives a fork child no locks and drops the child\'s at its exit', () => {
    const seen: unknown[] = [];
    runProcess(function* (t, ts) {
      const f = yield* sys_open(t, 'f', O_RDWR | O_CREAT, 0o644);
      yield* lk(t, f, F_SETLK, F_WRLCK, 0, 10);
      yield* inChild(t, ts, function* (ct) {
        seen.push(yield* lk(ct, f, F_SETLK, F_WRLCK, 5, 1));
        seen.push(yield* lk(ct, f, F_SETLK, F_WRLCK, 10, 10));
        seen.push(ranges(ct, f).length);
      });
      seen.push(ranges(t, f));
    });
    expect(seen).toEqual([EAGAIN, 0, 2, [[F_WRLCK, 0, 9]]]);
  });
});

describe('fcntl record locks: F_SETLKW', () => {
  it('sleeps until the holder releases, retrying after a partial release', () => {
    let released = 0;
    let granted = 0;
    runProcess(function* (t, ts) {
      const f = yield* sys_open(t, 'f', O_RDWR | O_CREAT, 0o644);
      yield* lk(t, f, F_SETLK, F_WRLCK, 0, 20);
      const child = yield* t.k.fork(t, ts, function* (ct: Task) {
        expect(yield* lk(ct, f, F_SETLKW, F_WRLCK, 5, 10)).toBe(0);
        granted = ct.now;
        yield* ct.k.exit(ct, current(ct));
      }, { cpu: 1 });
      if (typeof child === 'number') throw new Error('fork');
      yield t.sleepFor(1_000_000);
      yield* lk(t, f, F_SETLK, F_UNLCK, 0, 8);
      yield t.sleepFor(1_000_000);
      released = t.now;
      yield* lk(t, f, F_SETLK, F_UNLCK, 8, 0);
      yield t.sleepOn(child.task.exited);
    });
    expect(granted).toBeGreaterThanOrEqual(released);
    expect(granted - released).toBeLessThan(100_000);
  });

  it('fails with EDEADLK when the lock it would wait for belongs to a process waiting for the caller; OFD waits are never checked', () => {
    const seen: number[] = [];
    runProcess(function* (t, ts) {
      const f = yield* sys_open(t, 'f', O_RDWR | O_CREAT, 0o644);
      yield* lk(t, f, F_SETLK, F_WRLCK, 0, 1);
      const child = yield* t.k.fork(t, ts, function* (ct: Task) {
        seen.push(yield* lk(ct, f, F_SETLK, F_WRLCK, 1, 1));
        seen.push(yield* lk(ct, f, F_SETLKW, F_WRLCK, 0, 1));
        yield* ct.k.exit(ct, current(ct));
      }, { cpu: 1 });
      if (typeof child === 'number') throw new Error('fork');
      yield t.sleepFor(5_000_000);
      seen.push(yield* lk(t, f, F_SETLKW, F_WRLCK, 1, 1));
      seen.push(yield* lk(t, f, F_SETLK, F_UNLCK, 0, 1));
      yield t.sleepOn(child.task.exited);
      // Two descriptions in one process: an OFD wait is granted once the other releases.
      const a = yield* sys_open(t, 'f', O_RDWR, 0);
      const b = yield* sys_open(t, 'f', O_RDWR, 0);
      seen.push(yield* lk(t, a, F_OFD_SETLK, F_WRLCK, 0, 0));
      seen.push(yield* lk(t, b, F_OFD_SETLK, F_WRLCK, 0, 0));
      seen.push(yield* sys_fcntl_lock(t, b, F_OFD_GETLK, flock(F_WRLCK, 0, 0)));
      const th = t.k.spawnThread(ts, 'waiter', function* (tt: Task) {
        seen.push(yield* lk(tt, b, F_OFD_SETLKW, F_WRLCK, 0, 0));
      }, { cpu: 1 });
      yield t.sleepFor(1_000_000);
      seen.push(yield* sys_close(t, a));
      yield t.sleepOn(th.task.exited);
    });
    // The child's F_SETLKW returns (0) only after the parent's EDEADLK and unlock.
    expect(seen).toEqual([0, EDEADLK, 0, 0, 0, EAGAIN, 0, 0, 0]);
  });
});

describe('fcntl record locks: costs', () => {
  it('charges the syscall, the file_lock allocations and the inode\'s flc_lock under fcntl_setlk and posix_lock_inode', () => {
    const k = runProcess(function* (t) {
      const f = yield* sys_open(t, 'f', O_RDWR | O_CREAT, 0o644);
      yield* lk(t, f, F_SETLK, F_WRLCK, 0, 10);
      yield* lk(t, f, F_GETLK, F_WRLCK, 0, 10);
    });
    const keys = k.engine.attribution.folded().join('\n');
    expect(keys).toMatch(/syscall:fcntl;fcntl_setlk;posix_lock_inode/);
    expect(keys).toMatch(/syscall:fcntl;fcntl_setlk;locks_alloc_lock/);
    expect(keys).toMatch(/syscall:fcntl;fcntl_getlk/);
    expect(k.engine.counters.snapshot()['lock_acquired:file_lock_context.flc_lock']).toBeGreaterThanOrEqual(1);
  });
});

// ---- the range algebra against a byte map ----

/** Bytes 0..SPAN-1 as themselves; TAIL stands for every byte from SPAN on (reached only by locks to EOF: bounded ones end by 58). */
const SPAN = 64;
const TAIL = SPAN;

type Req = { type: number; start: number; len: number };

function applyRef(map: number[], r: Req): void {
  const end = r.len === 0 ? TAIL : r.start + r.len - 1;
  for (let i = r.start; i <= end; i++) map[i] = r.type;
}

describe('fcntl record locks: property', () => {
  it('one owner\'s locks after any sequence of sets and unlocks are the byte map\'s runs, sorted, disjoint and merged', () => {
    const reqArb = fc.record({
      type: fc.constantFrom(F_RDLCK, F_WRLCK, F_UNLCK),
      start: fc.integer({ min: 0, max: 47 }),
      len: fc.integer({ min: 0, max: 12 }),
    });
    fc.assert(
      fc.property(fc.array(reqArb, { minLength: 1, maxLength: 25 }), (reqs: Req[]) => {
        const map = new Array<number>(TAIL + 1).fill(F_UNLCK);
        let got: [number, number, number][] = [];
        runProcess(function* (t) {
          const f = yield* sys_open(t, 'f', O_RDWR | O_CREAT, 0o644);
          for (const r of reqs) {
            expect(yield* lk(t, f, F_SETLK, r.type, r.start, r.len)).toBe(0);
            applyRef(map, r);
          }
          got = ranges(t, f);
        });
        // The map's runs of one lock type, as posix_lock_inode should keep them.
        const want: [number, number, number][] = [];
        for (let i = 0; i <= TAIL; ) {
          let j = i;
          while (j + 1 <= TAIL && map[j + 1] === map[i]) j++;
          if (map[i] !== F_UNLCK) want.push([map[i]!, i, j === TAIL ? -1 : j]);
          i = j + 1;
        }
        // A lock to EOF is one range from its start; a bounded one never reaches TAIL.
        expect(got).toEqual(want);
      }),
      { numRuns: 150, seed: 16 },
    );
  });
});

describe('fcntl record locks: property, several owners', () => {
  it('a request conflicts exactly where another owner holds an overlapping byte and either side writes; each owner\'s list stays its byte map', () => {
    // Three owners in one process: its POSIX locks (through fd a) and the OFD locks of two open file descriptions (b, c).
    const reqArb = fc.record({
      who: fc.integer({ min: 0, max: 2 }),
      type: fc.constantFrom(F_RDLCK, F_WRLCK, F_UNLCK),
      start: fc.integer({ min: 0, max: 47 }),
      len: fc.integer({ min: 0, max: 12 }),
    });
    fc.assert(
      fc.property(fc.array(reqArb, { minLength: 1, maxLength: 30 }), (reqs) => {
        const maps = [0, 1, 2].map(() => new Array<number>(TAIL + 1).fill(F_UNLCK));
        const runs = (map: number[]): [number, number, number][] => {
          const out: [number, number, number][] = [];
          for (let i = 0; i <= TAIL; ) {
            let j = i;
            while (j + 1 <= TAIL && map[j + 1] === map[i]) j++;
            if (map[i] !== F_UNLCK) out.push([map[i]!, i, j === TAIL ? -1 : j]);
            i = j + 1;
          }
          return out;
        };
        let got: [number, number, number][][] = [];
        runProcess(function* (t) {
          const fds = [yield* sys_open(t, 'f', O_RDWR | O_CREAT, 0o644), yield* sys_open(t, 'f', O_RDWR, 0), yield* sys_open(t, 'f', O_RDWR, 0)];
          for (const r of reqs) {
            const end = r.len === 0 ? TAIL : r.start + r.len - 1;
            let conflict = false;
            if (r.type !== F_UNLCK) {
              for (let o = 0; o < 3 && !conflict; o++) {
                if (o === r.who) continue;
                for (let i = r.start; i <= end; i++) {
                  const held = maps[o]![i]!;
                  if (held !== F_UNLCK && (held === F_WRLCK || r.type === F_WRLCK)) conflict = true;
                }
              }
            }
            const cmd = r.who === 0 ? F_SETLK : F_OFD_SETLK;
            expect(yield* lk(t, fds[r.who]!, cmd, r.type, r.start, r.len)).toBe(conflict ? EAGAIN : 0);
            if (!conflict) for (let i = r.start; i <= end; i++) maps[r.who]![i] = r.type;
          }
          const owners = [current(t).files as object, fileOf(t, fds[1]!), fileOf(t, fds[2]!)];
          const all = file_posix_locks(fileOf(t, fds[0]!));
          // posix_lock_inode keeps each owner's locks together in the list.
          const order = all.map((l) => owners.indexOf(l.owner)).filter((o, i, a) => i === 0 || a[i - 1] !== o);
          expect(new Set(order).size).toBe(order.length);
          got = owners.map((o) => all.filter((l) => l.owner === o).map((l): [number, number, number] => [l.type, Number(l.start), l.end === OFFSET_MAX ? -1 : Number(l.end)]));
        });
        expect(got).toEqual(maps.map(runs));
      }),
      { numRuns: 100, seed: 1616 },
    );
  });
});
