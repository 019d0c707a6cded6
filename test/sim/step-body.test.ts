/**
 * A task body made of a step function (StepBody) runs exactly as the same
 * loop written as a generator: same clocks, attribution, counters and
 * blocking, step for step.
 */
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/machine.js';
import { intern } from '../../src/sim/attribution.js';
import { Engine } from '../../src/sim/engine.js';
import { STEP_DONE, StepBody, type Task, type TaskBody, type Yield } from '../../src/sim/task.js';
import { Completion } from '../../src/sim/wait.js';

const WORK = intern('work');

function run(kind: 'step' | 'generator'): unknown {
  const c = defaultConfig();
  c.cpus = 8;
  const e = new Engine(c);
  const gate = new Completion(e, 1);
  const until = 2_000_000;
  const order: string[] = [];
  // Each task works in bursts of different lengths; task 3 sleeps once on a completion another task fires.
  const step = (t: Task, st: { n: number; slept: boolean }): Yield | typeof STEP_DONE => {
    while (t.now < until) {
      t.chargeAs(WORK, 700 + 97 * t.id);
      st.n++;
      if (t.id === 3 && !st.slept && st.n === 40) {
        st.slept = true;
        return t.sleepOn(gate);
      }
      if (t.id === 5 && st.n === 100) gate.complete(t.now);
      if (t.shouldYield()) {
        order.push(`${t.id}@${t.now}`);
        return undefined;
      }
    }
    return STEP_DONE;
  };
  for (let i = 0; i < 8; i++) {
    e.spawn(
      `t${i}`,
      (t): TaskBody => {
        const st = { n: 0, slept: false };
        if (kind === 'step') return new StepBody(t, (tt) => step(tt, st));
        return (function* () {
          for (;;) {
            const r = step(t, st);
            if (r === STEP_DONE) return;
            yield r;
          }
        })();
      },
      { cpu: i, pinned: true },
    );
  }
  e.run();
  return { clocks: [...e.clock], busy: [...e.busy], idle: [...e.idle], counters: e.counters.snapshot(), order, tree: e.attribution.tree() };
}

describe('StepBody', () => {
  it('runs as the same loop written as a generator', () => {
    const a = run('step');
    expect(a).toEqual(run('generator'));
    expect((a as { order: string[] }).order.length).toBeGreaterThan(100);
  });
});
