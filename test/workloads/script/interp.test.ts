/**
 * The script interpreter: result lines for the memory ops and fork, the
 * `sim` figures, names and the mmap hint carried into a fork child, and the
 * invariant checks after every op.
 */
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../src/config/machine.js';
import { runScript } from '../../../src/workloads/script/interp.js';
import { parseScript } from '../../../src/workloads/script/parse.js';

function script(ops: unknown[]): ReturnType<typeof parseScript> {
  return parseScript(JSON.stringify({ kernsim_script: 1, name: 'test', ops }), 'test.json');
}

function checked() {
  const c = defaultConfig();
  c.sim = { ...c.sim, checks: true };
  return c;
}

describe('runScript', () => {
  it('runs the spec example and prints its lines', () => {
    const run = runScript(
      script([
        { op: 'mmap', as: 'A', pages: 4, prot: 'rw', flags: ['private', 'anonymous'] },
        { op: 'fill', addr: '$A', len: 16384, byte: 7 },
        { op: 'madvise', addr: '$A+4096', len: 4096, advice: 'MADV_DONTNEED' },
        { op: 'load', addr: '$A+4096' },
        { op: 'load', addr: '$A+8192' },
        { op: 'mincore', addr: '$A', len: 16384 },
      ]),
      checked(),
    );
    expect(run.lines).toEqual([
      '{"i":0,"op":"mmap","ret":0,"errno":null}',
      '{"i":1,"op":"fill","ret":0,"errno":null}',
      '{"i":2,"op":"madvise","ret":0,"errno":null}',
      '{"i":3,"op":"load","ret":0,"errno":null,"value":0}',
      '{"i":4,"op":"load","ret":0,"errno":null,"value":7}',
      '{"i":5,"op":"mincore","ret":0,"errno":null,"vec":"1111"}',
    ]);
  });

  it("places mappings at the host runner's hints, so each has a hole on both sides", () => {
    const run = runScript(
      script([
        { op: 'mmap', as: 'A', pages: 1, prot: 'rw', flags: ['private', 'anonymous'] },
        { op: 'mmap', as: 'B', pages: 1, prot: 'rw', flags: ['private', 'anonymous'] },
        { op: 'load', addr: '$A-4096' },
        { op: 'load', addr: '$B-4096' },
        { op: 'load', addr: '$A+4096' },
        { op: 'load', addr: '$B+1073741824' },
      ]),
      checked(),
    );
    // B starts 2 GiB above A (1 GiB gap after A's end, rounded to a gigabyte, plus 1 GiB): $B-2 GiB is A.
    expect(run.results.slice(2).map((r) => r.signal ?? r.value)).toEqual(['SIGSEGV', 'SIGSEGV', 'SIGSEGV', 'SIGSEGV']);
    const again = runScript(
      script([
        { op: 'mmap', as: 'A', pages: 1, prot: 'rw', flags: ['private', 'anonymous'] },
        { op: 'mmap', as: 'B', pages: 1, prot: 'rw', flags: ['private', 'anonymous'] },
        { op: 'fill', addr: '$A', len: 1, byte: 9 },
        { op: 'load', addr: '$B-2147483648' },
      ]),
      checked(),
    );
    expect(again.results[3]).toMatchObject({ value: 9 });
  });

  it('reports faults as signals and goes on', () => {
    const run = runScript(
      script([
        { op: 'mmap', as: 'A', pages: 1, prot: 'r', flags: ['private', 'anonymous'] },
        { op: 'fill', addr: '$A', len: 1, byte: 1 },
        { op: 'load', addr: '$A+4096' },
        { op: 'load', addr: '$A' },
      ]),
      checked(),
    );
    expect(run.lines).toEqual([
      '{"i":0,"op":"mmap","ret":0,"errno":null}',
      '{"i":1,"op":"fill","ret":-1,"errno":null,"signal":"SIGSEGV"}',
      '{"i":2,"op":"load","ret":-1,"errno":null,"signal":"SIGSEGV"}',
      '{"i":3,"op":"load","ret":0,"errno":null,"value":0}',
    ]);
  });

  it('runs a fork child with the parent\'s names; its bindings stay its own', () => {
    const run = runScript(
      script([
        { op: 'mmap', as: 'A', pages: 1, prot: 'rw', flags: ['private', 'anonymous'] },
        { op: 'fill', addr: '$A', len: 4096, byte: 3 },
        {
          op: 'fork',
          ops: [
            { op: 'load', addr: '$A' },
            { op: 'fill', addr: '$A', len: 1, byte: 4 },
            { op: 'mmap', as: 'B', pages: 1, prot: 'rw', flags: ['private', 'anonymous'] },
            { op: 'load', addr: '$B' },
          ],
        },
        { op: 'load', addr: '$A' },
      ]),
      checked(),
    );
    expect(run.results[2]).toEqual({
      i: 2,
      op: 'fork',
      ret: 0,
      errno: null,
      child: [
        { i: 0, op: 'load', ret: 0, errno: null, value: 3 },
        { i: 1, op: 'fill', ret: 0, errno: null },
        { i: 2, op: 'mmap', ret: 0, errno: null },
        { i: 3, op: 'load', ret: 0, errno: null, value: 0 },
      ],
      exit: 0,
    });
    expect(run.results[3]).toMatchObject({ value: 3 });
  });

  it('with sim: true, each line carries its cycles and the counters that moved', () => {
    const run = runScript(
      script([
        { op: 'mmap', as: 'A', pages: 2, prot: 'rw', flags: ['private', 'anonymous'] },
        { op: 'fill', addr: '$A', len: 8192, byte: 1 },
      ]),
      defaultConfig(),
      { sim: true },
    );
    const [mmap, fill] = run.results.map((r) => r.sim as Record<string, number>);
    expect(mmap!['cycles']).toBeGreaterThan(0);
    expect(mmap!['syscall_mmap']).toBe(1);
    expect(fill!['pgfault']).toBe(2);
    expect(fill!['pgalloc_normal']).toBeGreaterThanOrEqual(2);
    expect(fill!['syscall_mmap']).toBeUndefined();
    expect(JSON.parse(run.lines[1]!).sim.cycles).toBe(fill!['cycles']);
  });
});
