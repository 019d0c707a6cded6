/**
 * The engine picks the running CPU with the lowest clock (ties to the lower
 * number) at every step, as a scan over the CPUs in order would, while other
 * CPUs' clocks move under it: IPI handlers charged to them, CPUs that idle
 * and wake, tasks that spin. The pick is kept in a sorted ring of CPUs, so every
 * such change must reach it; these runs check each pick against the clocks.
 */
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/machine.js';
import { intern } from '../../src/sim/attribution.js';
import { Engine } from '../../src/sim/engine.js';
import { Rng } from '../../src/sim/random.js';
import type { Task, TaskBody } from '../../src/sim/task.js';
import { Completion } from '../../src/sim/wait.js';

const WORK = intern('work');
const HANDLER = intern('test_handler');

function engine(cpus: number, quantum: number): Engine {
  const c = defaultConfig();
  c.cpus = cpus;
  c.sim = { ...c.sim, quantum };
  return new Engine(c);
}

describe('engine pick', () => {
  for (const [cpus, quantum] of [
    [64, 0],
    [64, 1000],
    [5, 0],
    [33, 200],
  ] as const) {
    it(`steps the running CPU with the lowest clock, ties to the lower number (${cpus} CPUs, quantum ${quantum})`, () => {
      const e = engine(cpus, quantum);
      const running = new Set<number>();
      let picks = 0;
      const bad: string[] = [];
      /** At a task's resumption no other CPU has moved since the pick: check it was the right one. */
      const check = (t: Task): void => {
        picks++;
        const c = t.cpu;
        for (const o of running) {
          if (o === c) continue;
          const co = e.clock[o]!;
          const cc = e.clock[c]!;
          if (co < cc || (co === cc && o < c)) bad.push(`CPU ${c} at ${cc} stepped while CPU ${o} ran at ${co}`);
        }
      };
      const body = (seed: number) =>
        function* (t: Task): TaskBody {
          const rng = new Rng(seed);
          running.add(t.cpu);
          t.enter(WORK);
          check(t);
          for (let i = 0; i < 300; i++) {
            t.charge(1 + rng.int(400));
            const r = rng.int(20);
            if (r === 0) {
              // IPIs to a few other CPUs: their clocks move in event callbacks, outside their steps.
              const targets = [rng.int(cpus), rng.int(cpus)].filter((x) => x !== t.cpu);
              const done = e.sendIpi(t, targets, HANDLER, () => rng.int(3000));
              running.delete(t.cpu);
              yield t.spinOn(done);
              running.add(t.cpu);
              check(t);
            } else if (r === 1) {
              // Sleep: the CPU idles (its clock stands) and wakes later.
              const c = new Completion(e, 1);
              e.at(t.now + rng.int(5000), (time) => c.complete(time));
              running.delete(t.cpu);
              yield t.sleepOn(c);
              running.add(t.cpu);
              check(t);
            } else if (t.shouldYield()) {
              yield;
              check(t);
            }
          }
          running.delete(t.cpu);
        };
      for (let c = 0; c < cpus; c++) e.spawn(`w${c}`, body(c + 1), { cpu: c, pinned: true });
      e.run();
      expect(bad.slice(0, 5)).toEqual([]);
      expect(picks).toBeGreaterThan(cpus * 20);
    });
  }
});
