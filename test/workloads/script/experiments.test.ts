/**
 * The experiment ops of docs/scripts.md Part 2 (repeat, thread, join, spin,
 * pin, timing, sim by function) on the simulator with exact results, and the
 * same scripts on the host kernel where a C compiler exists: the semantic
 * lines must agree, and the host's lines carry time_ns where the script asks.
 */
import { cpus } from 'node:os';
import { describe, expect, it } from 'vitest';
import { hostRunnerAvailable, runOnHost } from '../../../src/conform/host.js';
import { defaultConfig, type MachineConfig } from '../../../src/config/machine.js';
import { compareRuns } from '../../../src/workloads/script/compare.js';
import type { ResultLine } from '../../../src/workloads/script/format.js';
import { runScript } from '../../../src/workloads/script/interp.js';
import { parseScript, ScriptError } from '../../../src/workloads/script/parse.js';

type Sim = { cycles: number; functions: Record<string, number> } & Record<string, unknown>;

function script(ops: unknown[], top: Record<string, unknown> = {}): ReturnType<typeof parseScript> {
  return parseScript(JSON.stringify({ kernsim_script: 1, name: 'test', ...top, ops }), 'test.json');
}

function checked(): MachineConfig {
  const c = defaultConfig();
  c.sim = { ...c.sim, checks: true };
  return c;
}

const ANON = { prot: 'rw', flags: ['private', 'anonymous'] };
const simOf = (l: ResultLine): Sim => l.sim as Sim;

/** Scripts whose lines do not depend on timing: the host and the simulator must print the same. */
const SHARED: Record<string, unknown[]> = {
  'repeat keeps the last iteration and its bindings': [
    { op: 'repeat', count: 3, ops: [{ op: 'mmap', as: 'B', pages: 1, ...ANON }, { op: 'fill', addr: '$B', len: 1, byte: 5 }] },
    { op: 'load', addr: '$B' },
    { op: 'repeat', count: 0, ops: [{ op: 'load', addr: 0 }] },
    { op: 'repeat', count: 2, ops: [{ op: 'load', addr: 0 }, { op: 'dup', fd: 0 }] },
  ],
  'a thread shares the mm and the fd table; its names stay its own': [
    { op: 'mmap', as: 'A', pages: 2, ...ANON },
    { op: 'thread', as: 'T', ops: [{ op: 'fill', addr: '$A', len: 8192, byte: 9 }, { op: 'dup', fd: 0, as: 'D' }, { op: 'load', addr: '$A+4096' }] },
    { op: 'join', thread: '$T' },
    { op: 'load', addr: '$A+100' },
    { op: 'dup', fd: 0 },
    { op: 'mincore', addr: '$A', len: 8192 },
  ],
  'pin and a pinned spinning thread; bad CPUs are EINVAL, joining a thread that never started ESRCH': [
    { op: 'pin', cpu: 0 },
    { op: 'mmap', as: 'A', pages: 1, ...ANON },
    { op: 'fill', addr: '$A', len: 1, byte: 1 },
    { op: 'thread', as: 'T', cpu: 1, ops: [{ op: 'pin', cpu: 1 }, { op: 'spin' }, { op: 'load', addr: '$A' }] },
    { op: 'repeat', count: 20, ops: [{ op: 'madvise', addr: '$A', len: 4096, advice: 'MADV_DONTNEED' }, { op: 'fill', addr: '$A', len: 1, byte: 2 }] },
    { op: 'join', thread: '$T' },
    { op: 'pin', cpu: 1023 },
    { op: 'thread', as: 'U', cpu: 1023, ops: [] },
    { op: 'join', thread: '$U' },
  ],
  'membarrier(MEMBARRIER_CMD_GLOBAL) waits for a grace period and returns 0, also from a thread': [
    { op: 'membarrier', cmd: 1 },
    { op: 'thread', as: 'T', ops: [{ op: 'membarrier', cmd: 1 }] },
    { op: 'join', thread: '$T' },
    { op: 'membarrier', cmd: 1, flags: 1 },
  ],
  'threads inside a repeat, a fork inside a thread': [
    { op: 'repeat', count: 3, ops: [{ op: 'thread', as: 'T', ops: [{ op: 'fork', ops: [{ op: 'dup', fd: 1 }] }] }, { op: 'join', thread: '$T' }] },
  ],
};

describe('experiment ops on the simulator', () => {
  it('repeat: the last iteration in `last`, names bound inside kept, a fault does not stop it', () => {
    const run = runScript(script(SHARED['repeat keeps the last iteration and its bindings']!), checked());
    expect(run.lines).toEqual([
      '{"i":0,"op":"repeat","ret":0,"errno":null,"last":[{"i":0,"op":"mmap","ret":0,"errno":null},{"i":1,"op":"fill","ret":0,"errno":null}]}',
      '{"i":1,"op":"load","ret":0,"errno":null,"value":5}',
      '{"i":2,"op":"repeat","ret":0,"errno":null,"last":[]}',
      '{"i":3,"op":"repeat","ret":0,"errno":null,"last":[{"i":0,"op":"load","ret":-1,"errno":null,"signal":"SIGSEGV"},{"i":1,"op":"dup","ret":4,"errno":null}]}',
    ]);
  });

  it('repeat: sim covers every iteration; each line of `last` has the final iteration\'s own', () => {
    const run = runScript(script([{ op: 'repeat', count: 4, ops: [{ op: 'mmap', as: 'B', pages: 1, ...ANON }, { op: 'fill', addr: '$B', len: 1, byte: 5 }] }]), defaultConfig(), { sim: true });
    const r = run.results[0]!;
    expect(simOf(r)['pgfault']).toBe(4);
    expect(simOf(r.last![1]!)['pgfault']).toBe(1);
    expect(simOf(r.last![0]!)['syscall_mmap']).toBe(1);
  });

  it('thread: shares memory and fds with its creator, lines printed at the join', () => {
    const run = runScript(script(SHARED['a thread shares the mm and the fd table; its names stay its own']!), checked());
    expect(run.lines).toEqual([
      '{"i":0,"op":"mmap","ret":0,"errno":null}',
      '{"i":1,"op":"thread","ret":0,"errno":null}',
      '{"i":2,"op":"join","ret":0,"errno":null,"child":[{"i":0,"op":"fill","ret":0,"errno":null},{"i":1,"op":"dup","ret":3,"errno":null},{"i":2,"op":"load","ret":0,"errno":null,"value":9}]}',
      '{"i":3,"op":"load","ret":0,"errno":null,"value":9}',
      '{"i":4,"op":"dup","ret":4,"errno":null}',
      '{"i":5,"op":"mincore","ret":0,"errno":null,"vec":"11"}',
    ]);
    // The thread was a task of the same thread group.
    const tasks = run.kernel.tasks().filter((t) => t.comm.startsWith('script'));
    expect(tasks.length).toBe(2);
    expect(tasks[1]!.tgid).toBe(tasks[0]!.pid);
  });

  it('spin keeps the mm live on its CPU: every DONTNEED of a present page sends one IPI there; without the thread none', () => {
    const zap = (withThread: boolean) => {
      const ops: unknown[] = [
        { op: 'pin', cpu: 0 },
        { op: 'mmap', as: 'A', pages: 1, ...ANON },
        { op: 'fill', addr: '$A', len: 1, byte: 1 },
        ...(withThread ? [{ op: 'thread', as: 'T', cpu: 1, ops: [{ op: 'spin' }] }] : []),
        { op: 'repeat', count: 10, ops: [{ op: 'madvise', addr: '$A', len: 4096, advice: 'MADV_DONTNEED' }, { op: 'fill', addr: '$A', len: 1, byte: 2 }] },
        ...(withThread ? [{ op: 'join', thread: '$T' }] : []),
      ];
      const run = runScript(script(ops), checked(), { sim: true });
      return run.results.find((l) => l.op === 'repeat')!;
    };
    const two = zap(true);
    const one = zap(false);
    expect(simOf(two)['ipi_sent']).toBe(10);
    expect(simOf(two)['nr_tlb_remote_flush_received']).toBe(10);
    expect(simOf(one)['ipi_sent']).toBeUndefined();
    // The IPI's latency, the handler and the acknowledgement are waited for on every call.
    const cfg = defaultConfig();
    const madvise = (r: ResultLine) => simOf(r.last![0]!).cycles;
    expect(madvise(two) - madvise(one)).toBeGreaterThanOrEqual(cfg.cost.ipi_send + cfg.cost.ipi_latency + cfg.cost.ipi_handler + cfg.cost.ipi_ack);
    // The remote CPU's handler appears in the op's breakdown.
    expect(simOf(two.last![0]!).functions['irq;ipi_handler']).toBeGreaterThanOrEqual(cfg.cost.ipi_handler);
  });

  it('pin moves the main thread; bad CPUs are EINVAL and a thread that never started is ESRCH at its join', () => {
    const run = runScript(script(SHARED['pin and a pinned spinning thread; bad CPUs are EINVAL, joining a thread that never started ESRCH']!), checked());
    expect(run.lines.slice(5)).toEqual([
      '{"i":5,"op":"join","ret":0,"errno":null,"child":[{"i":0,"op":"pin","ret":0,"errno":null},{"i":1,"op":"spin","ret":0,"errno":null},{"i":2,"op":"load","ret":0,"errno":null,"value":2}]}',
      '{"i":6,"op":"pin","ret":-1,"errno":"EINVAL"}',
      '{"i":7,"op":"thread","ret":-1,"errno":"EINVAL"}',
      '{"i":8,"op":"join","ret":-1,"errno":"ESRCH"}',
    ]);
    const moved = runScript(script([{ op: 'pin', cpu: 3 }, { op: 'dup', fd: 0 }]), checked());
    const main = moved.kernel.tasks().find((t) => t.comm === 'script')!;
    expect(main.task.cpu).toBe(3);
    expect(main.task.affinity).toBe(3);
  });

  it('timing: time_ns is the op\'s simulated cycles at the machine clock; none inside `last`', () => {
    const cfg = defaultConfig();
    cfg.clock_ghz = 2.5;
    const run = runScript(
      script([{ op: 'mmap', as: 'A', pages: 2, ...ANON }, { op: 'repeat', count: 2, ops: [{ op: 'fill', addr: '$A', len: 8192, byte: 1 }] }, { op: 'fork', ops: [{ op: 'load', addr: '$A' }] }], { timing: true }),
      cfg,
      { sim: true },
    );
    for (const l of run.results) expect(l.time_ns).toBe(Math.round(simOf(l).cycles / 2.5));
    expect(run.results[1]!.last![0]!.time_ns).toBeUndefined();
    expect(run.results[2]!.child![0]!.time_ns).toBe(Math.round(simOf(run.results[2]!.child![0]!).cycles / 2.5));
    expect(Object.keys(JSON.parse(run.lines[0]!) as object)).toEqual(['i', 'op', 'ret', 'errno', 'time_ns', 'sim']);
  });

  it('sim.functions: the top two levels of the attribution tree; with one busy CPU the syscall\'s entry is the op\'s cycles', () => {
    const run = runScript(script([{ op: 'mmap', as: 'A', pages: 4, ...ANON }, { op: 'fill', addr: '$A', len: 16384, byte: 1 }, { op: 'madvise', addr: '$A', len: 16384, advice: 'MADV_DONTNEED' }]), defaultConfig(), { sim: true });
    const s = simOf(run.results[2]!);
    expect(s.functions['syscall:madvise']).toBe(s.cycles);
    const children = Object.entries(s.functions).filter(([k]) => k.startsWith('syscall:madvise;'));
    expect(children.reduce((a, [, v]) => a + v, 0)).toBeLessThanOrEqual(s.cycles);
    expect(children.length).toBeGreaterThan(1);
    expect(Object.keys(s.functions)).toEqual(Object.keys(s.functions).sort());
  });

  it('fork is the runner\'s three system calls: clone in the parent, exit_group in the child, wait4 in the parent, each paying the entry cost', () => {
    const cfg = defaultConfig();
    const run = runScript(script([{ op: 'fork', ops: [] }]), cfg, { sim: true });
    const f = simOf(run.results[0]!).functions;
    const entry = cfg.cost.syscall + (cfg.kernel.pti ? cfg.cost.pti_syscall_extra : 0);
    for (const call of ['clone', 'exit_group', 'wait4']) expect(f[`syscall:${call};entry_SYSCALL_64`], call).toBe(entry);
    expect(f['syscall:clone;dup_mmap']).toBeGreaterThan(0);
    expect(f['syscall:exit_group;exit_mmap']).toBeGreaterThan(0);
  });

  it('under shadow paging (virt.shadow_root) a fork pays the child\'s new root once; threads of the same mm do not', () => {
    const ops = [{ op: 'fork', ops: [] }, { op: 'thread', as: 'T', ops: [] }, { op: 'join', thread: '$T' }];
    const cycles = (shadow: number) => {
      const cfg = defaultConfig();
      cfg.virt.enabled = true;
      cfg.virt.shadow_root = shadow;
      return runScript(script(ops), cfg, { sim: true }).results.map((l) => simOf(l).cycles);
    };
    const [fork0, thread0] = cycles(0);
    const [fork1, thread1] = cycles(100_000);
    expect(fork1! - fork0!).toBe(100_000);
    expect(thread1).toBe(thread0);
  });

  it('membarrier GLOBAL is one synchronize_rcu: a grace period passes during the call', () => {
    const run = runScript(script(SHARED['membarrier(MEMBARRIER_CMD_GLOBAL) waits for a grace period and returns 0, also from a thread']!), checked(), { sim: true });
    expect(run.results.map((r) => [r.ret, r.errno])).toEqual([[0, null], [0, null], [0, null], [-1, 'EINVAL']]);
    const s = simOf(run.results[0]!);
    expect(s['rcu_grace_periods']).toBeGreaterThanOrEqual(1);
    // At least one tick passes before the grace period can end.
    expect(s.cycles).toBeGreaterThan(Math.round((defaultConfig().clock_ghz * 1e9) / defaultConfig().kernel.hz));
  });

  it('rejects scripts that misuse the new ops, naming op and field', () => {
    const bad = (ops: unknown[]) => {
      try {
        script(ops);
      } catch (e) {
        expect(e).toBeInstanceOf(ScriptError);
        return (e as ScriptError).field;
      }
      throw new Error('accepted');
    };
    expect(bad([{ op: 'spin' }])).toBe('ops[0].op');
    expect(bad([{ op: 'thread', as: 'T', ops: [] }])).toBe('ops[0].as');
    expect(bad([{ op: 'thread', as: 'T', ops: [] }, { op: 'repeat', count: 1, ops: [{ op: 'join', thread: '$T' }] }])).toBe('ops[1].ops[0].thread');
    expect(bad([{ op: 'mmap', as: 'T', pages: 1, ...ANON }, { op: 'join', thread: '$T' }])).toBe('ops[1].thread');
    expect(bad([{ op: 'thread', as: 'T', ops: [{ op: 'dup', fd: 0, as: 'D' }] }, { op: 'join', thread: '$T' }, { op: 'close', fd: '$D' }])).toBe('ops[2].fd');
    expect(bad([{ op: 'repeat', count: -1, ops: [] }])).toBe('ops[0].count');
    expect(bad([{ op: 'pin', cpu: 1024 }])).toBe('ops[0].cpu');
    expect(bad([{ op: 'fork', ops: [{ op: 'spin' }] }])).toBe('ops[0].ops[0].op');
    expect(() => parseScript('{"kernsim_script":1,"timing":"yes","ops":[]}', 'x.json')).toThrow(/timing/);
  });

  it('comparisons ignore time_ns at every level, as they ignore sim', () => {
    const host = ['{"i":0,"op":"repeat","ret":0,"errno":null,"last":[{"i":0,"op":"load","ret":0,"errno":null,"value":1}],"time_ns":900}'];
    const sim = ['{"i":0,"op":"repeat","ret":0,"errno":null,"last":[{"i":0,"op":"load","ret":0,"errno":null,"value":1,"sim":{"cycles":3}}],"time_ns":12,"sim":{"cycles":36}}'];
    expect(compareRuns(host, sim)).toEqual({ agree: true });
    expect(compareRuns(host, [sim[0]!.replace('"value":1', '"value":2')]).agree).toBe(false);
  });
});

const hostSkip = !hostRunnerAvailable() ? 'no C compiler (cc) on this host' : cpus().length < 2 ? 'the host has one CPU (the scripts pin to CPU 1)' : '';

describe.skipIf(hostSkip !== '')(`experiment ops on the host kernel${hostSkip ? ` (skipped: ${hostSkip})` : ''}`, () => {
  for (const [name, ops] of Object.entries(SHARED)) {
    it(`${name}: host and simulator print the same lines`, async () => {
      const s = script(ops);
      const host = await runOnHost(s);
      expect(compareRuns(host, runScript(s, defaultConfig()).lines)).toEqual({ agree: true });
    });
  }

  it('timing: every line outside `last` has a non-negative integer time_ns, the repeat at least its iterations\' worth', async () => {
    const s = script([{ op: 'mmap', as: 'A', pages: 1, ...ANON }, { op: 'repeat', count: 100, ops: [{ op: 'fill', addr: '$A', len: 1, byte: 1 }] }, { op: 'fork', ops: [{ op: 'load', addr: '$A' }] }], { timing: true });
    const lines = (await runOnHost(s)).map((l) => JSON.parse(l) as ResultLine);
    for (const l of lines) expect(Number.isInteger(l.time_ns) && l.time_ns! >= 0).toBe(true);
    expect(lines[1]!.last![0]!.time_ns).toBeUndefined();
    expect(Number.isInteger(lines[2]!.child![0]!.time_ns)).toBe(true);
    expect(lines[1]!.time_ns).toBeGreaterThan(0);
  });
});
