/**
 * The execve op on the simulator: what the new image sees (exact result
 * lines), what the kernel does for it (de_thread, exec_mmap releasing the
 * old mm, do_close_on_exec, under syscall:execve), and binfmt_script's parse
 * of a "#!" line.
 */
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../src/config/machine.js';
import { script_interpreter, BINPRM_BUF_SIZE } from '../../../src/kernel/fs/exec.js';
import { TaskState } from '../../../src/sim/task.js';
import type { ResultLine } from '../../../src/workloads/script/format.js';
import { runScript } from '../../../src/workloads/script/interp.js';
import { parseScript } from '../../../src/workloads/script/parse.js';

function run(ops: unknown[], sim = false) {
  const c = defaultConfig();
  c.sim = { ...c.sim, checks: true };
  return runScript(parseScript(JSON.stringify({ kernsim_script: 1, name: 'exec', ops }), 'exec.json'), c, { sim });
}

const strip = (lines: ResultLine[]): unknown[] =>
  lines.map(({ sim: _sim, ...rest }) => (rest.image ? { ...rest, image: strip(rest.image) } : rest));

describe('execve: the new image', () => {
  it('closes close-on-exec fds, keeps the others with their offsets, and starts with no memory', () => {
    const r = run([
      { op: 'open', path: 'f', flags: ['creat', 'rdwr'], as: 'F' },
      { op: 'write', fd: '$F', len: 10, byte: 1 },
      { op: 'open', path: 'f', flags: ['rdonly', 'cloexec'], as: 'G' },
      { op: 'mmap', as: 'A', pages: 1, prot: 'rw', flags: ['private', 'anonymous'] },
      { op: 'fill', addr: '$A', len: 1, byte: 3 },
      { op: 'execve', ops: [
        { op: 'fcntl', fd: '$F', cmd: 'F_GETFD' },
        { op: 'read', fd: '$G', len: 1 },
        { op: 'lseek', fd: '$F', offset: 0, whence: 'CUR' },
        { op: 'load', addr: '$A' },
        { op: 'open', path: 'f', flags: ['rdonly'] },
      ] },
      { op: 'close', fd: '$F' },
    ]);
    expect(r.finished).toBe(true);
    expect(r.lines.slice(5)).toEqual([
      '{"i":5,"op":"execve","ret":0,"errno":null,"image":[{"i":0,"op":"fcntl","ret":0,"errno":null},{"i":1,"op":"read","ret":-1,"errno":"EBADF"},' +
        '{"i":2,"op":"lseek","ret":10,"errno":null},{"i":3,"op":"load","ret":-1,"errno":null,"signal":"SIGSEGV"},{"i":4,"op":"open","ret":4,"errno":null}]}',
    ]);
  });

  it('kills the other threads, frees the old mm and charges de_thread, exec_mmap and do_close_on_exec to syscall:execve', () => {
    const r = run(
      [
        { op: 'open', path: 'f', flags: ['creat', 'rdwr', 'cloexec'] },
        { op: 'mmap', as: 'A', pages: 16, prot: 'rw', flags: ['private', 'anonymous'] },
        { op: 'fill', addr: '$A', len: 65536, byte: 1 },
        { op: 'thread', as: 'T', cpu: 1, ops: [{ op: 'spin' }] },
        { op: 'execve', ops: [{ op: 'load', addr: '$A' }] },
        { op: 'join', thread: '$T' },
      ],
      true,
    );
    expect(r.finished).toBe(true);
    expect(r.results).toHaveLength(5);
    const line = r.results[4]!;
    expect(strip([line])).toEqual([{ i: 4, op: 'execve', ret: 0, errno: null, image: [{ i: 0, op: 'load', ret: -1, errno: null, signal: 'SIGSEGV' }] }]);
    const sim = line.sim as Record<string, unknown> & { functions: Record<string, number> };
    // The 16 pages of the old address space go back to the allocator; the execve is one system call.
    expect(sim['pgfree']).toBe(16);
    expect(sim['syscall_execve']).toBe(1);
    for (const f of ['de_thread', 'exec_mmap', 'do_close_on_exec']) expect(sim.functions[`syscall:execve;${f}`]).toBeGreaterThan(0);
    // Every task of the script has ended: the spinning thread was killed, not joined.
    for (const ts of r.kernel.tasks()) if (!ts.kernelThread) expect(ts.task.state).toBe(TaskState.Done);
  });

  it("gives a fork child's parent the new image's exit status or signal", () => {
    const r = run([
      { op: 'fork', ops: [{ op: 'execve', ops: [{ op: 'exit', status: 300 }] }] },
      { op: 'fork', ops: [{ op: 'execve', ops: [{ op: 'kill', sig: 'SIGTERM' }] }] },
      { op: 'fork', ops: [{ op: 'execve', path: 'missing' }, { op: 'exit', status: 4 }] },
    ]);
    expect(r.lines).toEqual([
      '{"i":0,"op":"fork","ret":0,"errno":null,"child":[{"i":0,"op":"execve","ret":0,"errno":null,"image":[]}],"exit":44}',
      '{"i":1,"op":"fork","ret":0,"errno":null,"child":[{"i":0,"op":"execve","ret":0,"errno":null,"image":[]}],"exit":"SIGTERM"}',
      '{"i":2,"op":"fork","ret":0,"errno":null,"child":[{"i":0,"op":"execve","ret":-1,"errno":"ENOENT"}],"exit":4}',
    ]);
  });

  it('leaves out time_ns on the execve line itself (it never returns); the image lines carry theirs', () => {
    const c = defaultConfig();
    const s = parseScript(JSON.stringify({ kernsim_script: 1, name: 'x', timing: true, ops: [{ op: 'execve', ops: [{ op: 'brk' }] }] }), 'x.json');
    const line = runScript(s, c).results[0]!;
    expect(line.time_ns).toBeUndefined();
    expect(typeof (line.image as ResultLine[])[0]!.time_ns).toBe('number');
  });
});

describe('execve: binfmt_script', () => {
  const buf = (text: string): Uint8Array => {
    const b = new Uint8Array(BINPRM_BUF_SIZE);
    b.set(Buffer.from(text, 'latin1').subarray(0, BINPRM_BUF_SIZE));
    return b;
  };
  it('parses the interpreter name as load_script does', () => {
    expect(script_interpreter(buf('#!a\n'))).toBe('a');
    expect(script_interpreter(buf('#!  /bin/x  arg more\n'))).toBe('/bin/x');
    expect(script_interpreter(buf('#!\tc'))).toBe('c');
    expect(script_interpreter(buf('#!   \n'))).toBeNull();
    expect(script_interpreter(buf('#!\n'))).toBeNull();
    // A NUL right after "#!": an empty name (open_exec("") then opens the working directory: EACCES).
    expect(script_interpreter(buf('#!'))).toBe('');
    // No newline and no terminator before the buffer's end: the name may be cut, so none.
    expect(script_interpreter(buf('#!' + 'x'.repeat(254)))).toBeNull();
    expect(script_interpreter(buf('#!' + ' '.repeat(254)))).toBeNull();
    expect(script_interpreter(buf('#!' + 'x'.repeat(10) + ' ' + 'y'.repeat(243)))).toBe('x'.repeat(10));
  });
});
