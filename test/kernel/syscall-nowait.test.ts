/**
 * syscallNoWait, the boundary's fast path for bodies that never wait, gives
 * every figure syscall() gives for the same body: the CPU's cycles, the
 * attribution tree, the call counter and the latency histogram.
 */
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/machine.js';
import { bootKernel } from '../../src/kernel/boot.js';
import { syscall, syscallNoWait } from '../../src/kernel/syscalls.js';
import { intern } from '../../src/sim/attribution.js';
import type { Blocking, Task, TaskBody } from '../../src/sim/task.js';

const WORK = intern('test_nowait_work');

function body(t: Task, a: number, b: number, c: number): number {
  t.chargeAs(WORK, a + b + c);
  return a * b - c;
}

function* bodyGen(t: Task, a: number, b: number, c: number): Blocking<number> {
  return body(t, a, b, c);
}

function run(fast: boolean) {
  const cfg = defaultConfig();
  cfg.cpus = 1;
  const k = bootKernel(cfg);
  const rets: number[] = [];
  k.engine.spawn('caller', (t: Task): TaskBody =>
    (function* () {
      for (let i = 1; i <= 50; i++) {
        t.charge(100);
        rets.push(fast ? syscallNoWait(t, 'getpid', body, i, 3, 7) : yield* syscall(t, 'getpid', bodyGen(t, i, 3, 7)));
        if (t.shouldYield()) yield;
      }
    })(),
  );
  k.engine.run();
  const e = k.engine;
  return {
    rets,
    clock: e.clock[0],
    calls: e.counters.get('syscall_getpid'),
    latency: e.samples.of('getpid').percentiles(),
    work: e.attribution.exclusiveOf(e.attribution.pathNode(['syscall:getpid', 'test_nowait_work'])),
    entry: e.attribution.exclusiveOf(e.attribution.pathNode(['syscall:getpid', 'entry_SYSCALL_64'])),
  };
}

describe('syscallNoWait', () => {
  it('charges, attributes, counts and records as syscall() does for the same body', () => {
    const slow = run(false);
    const fast = run(true);
    expect(fast).toEqual(slow);
    expect(fast.calls).toBe(50);
    expect(fast.rets[4]).toBe(5 * 3 - 7);
    expect(fast.work).toBe(50 * 10 + (50 * 51) / 2);
    expect(fast.entry).toBeGreaterThan(0);
  });
});
