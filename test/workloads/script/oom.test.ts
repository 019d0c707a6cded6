/**
 * A process the OOM killer chose dies: SIGKILL is delivered on its return to
 * user mode, so the op that ran out of memory prints no line, no later op
 * runs, and a fork child's parent sees it end by SIGKILL (the host's wait
 * status: WIFSIGNALED, WTERMSIG == SIGKILL). A populate of far more than
 * RAM stops at the kill instead of faulting in the rest.
 */
import { describe, expect, it } from 'vitest';
import { defaultConfig, type MachineConfig } from '../../../src/config/machine.js';
import { runScript } from '../../../src/workloads/script/interp.js';
import { parseScript } from '../../../src/workloads/script/parse.js';

function tiny(): MachineConfig {
  const c = defaultConfig();
  c.ram_mib = 64;
  c.kernel.min_free_kbytes = 1024;
  c.kernel.swapon = false;
  c.sim.checks = true;
  return c;
}

function run(ops: unknown[], cfg = tiny()) {
  return runScript(parseScript(JSON.stringify({ kernsim_script: 1, ops }), 'oom.json'), cfg);
}

describe('the OOM killer ends the process it chose', () => {
  it('a fork child that faults in more than RAM ends by SIGKILL; its later ops never run', () => {
    const pages = (tiny().ram_mib * 256) * 2;
    const r = run([
      { op: 'fork', ops: [
        { op: 'mmap', as: 'A', pages, prot: 'rw', flags: ['private', 'anonymous', 'noreserve'] },
        { op: 'fill', addr: '$A', len: pages * 4096, byte: 1 },
        { op: 'open', path: 'after-kill', flags: ['creat', 'wronly'] },
      ] },
      { op: 'open', path: 'after-kill', flags: ['rdonly'] },
    ]);
    expect(r.finished).toBe(true);
    expect(r.lines).toEqual([
      '{"i":0,"op":"fork","ret":0,"errno":null,"child":[{"i":0,"op":"mmap","ret":0,"errno":null}],"exit":"SIGKILL"}',
      '{"i":1,"op":"open","ret":-1,"errno":"ENOENT"}',
    ]);
  });
  it('a terabyte MAP_POPULATE|MAP_NORESERVE mapping ends in the OOM kill, not after faulting in the whole range', () => {
    const r = run([
      { op: 'fork', ops: [
        { op: 'mmap', as: 'A', pages: 2 ** 28, prot: 'rw', flags: ['private', 'anonymous', 'populate', 'noreserve'] },
        { op: 'getrlimit', resource: 'NOFILE' },
      ] },
      { op: 'getrlimit', resource: 'NOFILE' },
    ]);
    expect(r.lines).toEqual([
      '{"i":0,"op":"fork","ret":0,"errno":null,"child":[],"exit":"SIGKILL"}',
      '{"i":1,"op":"getrlimit","ret":0,"errno":null,"cur":1024,"max":4096}',
    ]);
    // Faulted in: at most RAM's worth of pages, not 2^28.
    expect(r.kernel.engine.counters.get('pgfault')).toBeLessThan(tiny().ram_mib * 256);
  });
});
