import { describe, expect, it } from 'vitest';
import { defaultConfig, type MachineConfig } from '../../src/config/machine.js';
import { intern } from '../../src/sim/attribution.js';
import { Engine } from '../../src/sim/engine.js';
import type { Task, TaskBody } from '../../src/sim/task.js';
import { Completion } from '../../src/sim/wait.js';

function cfg(over: Partial<MachineConfig> & { quantum?: number } = {}): MachineConfig {
  const c = defaultConfig();
  const { quantum, ...rest } = over;
  Object.assign(c, rest);
  if (quantum !== undefined) c.sim = { ...c.sim, quantum };
  return c;
}

const WORK = intern('work');
const FLUSH = intern('test_flush');

/** A task body that charges `n` steps of `cycles` each, yielding at its window's end. */
function worker(n: number, cycles: number, log?: string[]) {
  return function* (t: Task): TaskBody {
    t.enter(WORK);
    for (let i = 0; i < n; i++) {
      t.charge(cycles);
      log?.push(`${t.name}@${t.now}`);
      if (t.shouldYield()) yield;
    }
    t.leave();
  };
}

describe('engine', () => {
  it('runs tasks on their CPUs and accounts busy and idle cycles', () => {
    const e = new Engine(cfg({ cpus: 2 }));
    e.spawn('a', worker(10, 100), { cpu: 0, pinned: true });
    e.spawn('b', worker(5, 100), { cpu: 1, pinned: true });
    const end = e.run();
    expect(end).toBe(1000);
    expect(e.clock[0]).toBe(1000);
    expect(e.clock[1]).toBe(500);
    expect(e.cpuSummary()).toEqual([
      { cpu: 0, busy: 1000, idle: 0 },
      { cpu: 1, busy: 500, idle: 500 },
    ]);
    const tree = e.attribution.tree();
    expect(tree.inclusive).toBe(1500);
    expect(tree.children[0]).toMatchObject({ name: 'work', exclusive: 1500 });
  });

  it('with quantum 0 runs operations in the order they start', () => {
    const log: string[] = [];
    const e = new Engine(cfg({ cpus: 2, quantum: 0 }));
    e.spawn('a', worker(3, 100, log), { cpu: 0, pinned: true });
    e.spawn('b', worker(3, 150, log), { cpu: 1, pinned: true });
    e.run();
    // Each entry is an operation's end time; b's second operation starts at 150, before a's third at 200.
    expect(log).toEqual(['a@100', 'b@150', 'a@200', 'b@300', 'a@300', 'b@450']);
  });

  it('a CPU runs ahead of the slowest busy CPU by at most the quantum', () => {
    const log: string[] = [];
    const e = new Engine(cfg({ cpus: 2, quantum: 250 }));
    e.spawn('a', worker(6, 100, log), { cpu: 0, pinned: true });
    e.spawn('b', worker(6, 100, log), { cpu: 1, pinned: true });
    e.run();
    // a runs to 300 (>= 0 + 250), then b to 300, and so on.
    expect(log.slice(0, 6)).toEqual(['a@100', 'a@200', 'a@300', 'b@100', 'b@200', 'b@300']);
  });

  it('a sleeping task frees its CPU; the CPU idles and jumps to the wake-up', () => {
    const e = new Engine(cfg({ cpus: 1 }));
    const seen: number[] = [];
    e.spawn('sleeper', function* (t) {
      t.charge(100);
      yield t.sleepFor(10_000);
      seen.push(t.now);
      t.charge(50);
    }, { cpu: 0 });
    e.run();
    expect(seen).toEqual([10_100]);
    expect(e.clock[0]).toBe(10_150);
    expect(e.busy[0]).toBe(150);
    expect(e.idle[0]).toBe(10_000);
  });

  it('runs another task while one sleeps, charging the context switch hook', () => {
    const e = new Engine(cfg({ cpus: 1 }));
    const switches: string[] = [];
    e.addHooks({
      contextSwitch: (_c, prev, next) => {
        switches.push(`${prev?.name ?? 'idle'}->${next.name}`);
        return 7;
      },
    });
    const done = new Completion(e, 1);
    e.spawn('waiter', function* (t) {
      t.charge(10);
      yield t.sleepOn(done);
      t.charge(10);
    }, { cpu: 0 });
    e.spawn('worker', function* (t) {
      t.charge(1000);
      done.complete(t.now);
      t.charge(5);
    }, { cpu: 0 });
    e.run();
    expect(switches).toEqual(['idle->waiter', 'waiter->worker', 'worker->waiter']);
    // 7 + 10 + 7 + 1000 + 5 + 7 + 10
    expect(e.clock[0]).toBe(1046);
  });

  it('a task spawned by a running task starts at its parent\'s time, not at an idle CPU\'s older clock', () => {
    const e = new Engine(cfg({ cpus: 2 }));
    let childStart = -1;
    let parentAtSpawn = -1;
    e.spawn('parent', function* (t) {
      t.charge(1_000_000);
      parentAtSpawn = t.now;
      e.spawn('child', function* (c) {
        childStart = c.now;
        c.charge(10);
      }, { cpu: 1, pinned: true });
      t.charge(10);
    }, { cpu: 0, pinned: true });
    e.run();
    expect(parentAtSpawn).toBe(1_000_000);
    // CPU 1 idled at 0 until then: the child starts when it was created.
    expect(childStart).toBe(1_000_000);
    expect(e.clock[1]).toBe(1_000_010);
  });

  it('a task that wakes another onto an idle CPU stops within a quantum of the wake-up, not at the end of its window', () => {
    // The waker is the only running task, so its window reaches the next tick; the woken task must still run
    // its first cycles before the waker runs on much past the wake-up (in host order), or a lock the waker
    // releases later in simulated time would be seen as held by the woken task's earlier attempt.
    const c = cfg({ cpus: 2, quantum: 1000 });
    const e = new Engine(c);
    const done = new Completion(e, 1);
    const log: string[] = [];
    let wokeAt = -1;
    let waiterRanAt = -1;
    let wakerClockThen = -1;
    e.spawn('waiter', function* (t) {
      yield t.sleepOn(done);
      waiterRanAt = t.now;
      wakerClockThen = e.clock[0]!;
      t.charge(10);
    }, { cpu: 1, pinned: true });
    e.spawn('waker', function* (t) {
      // Asleep while the waiter goes to sleep; then the only running task.
      yield t.sleepFor(1000);
      t.charge(4000);
      wokeAt = t.now;
      done.complete(t.now);
      for (let i = 0; i < 200; i++) {
        t.charge(100);
        log.push(`${t.now}`);
        if (t.shouldYield()) yield;
      }
    }, { cpu: 0, pinned: true });
    e.run();
    expect(wokeAt).toBe(5000);
    expect(waiterRanAt).toBe(5000);
    // The waker ran at most a quantum (and one chunk of 100) past the wake-up before the woken task ran.
    expect(wakerClockThen).toBeLessThanOrEqual(5000 + c.sim.quantum + 100);
    expect(e.tickPeriod).toBeGreaterThan(25_000);
  });

  it('an event queued during a step ends the step a quantum past the event', () => {
    const c = cfg({ cpus: 1, quantum: 1000 });
    const e = new Engine(c);
    let firedWith = -1;
    e.spawn('a', function* (t) {
      t.charge(100);
      e.at(600, () => {
        firedWith = e.clock[0]!;
      });
      for (let i = 0; i < 100; i++) {
        t.charge(100);
        if (t.shouldYield()) yield;
      }
    }, { cpu: 0, pinned: true });
    e.run();
    // Without the window's end at 600 + 1000 the task ran on to its tick before the event fired.
    expect(firedWith).toBe(1600);
  });

  it('calls every context-switch hook and adds their costs', () => {
    const e = new Engine(cfg({ cpus: 1 }));
    const seen: string[] = [];
    e.addHooks({ contextSwitch: (_c, _p, next) => (seen.push(`mm:${next.name}`), 100) });
    e.addHooks({ contextSwitch: (_c, _p, next) => (seen.push(`rcu:${next.name}`), 0) });
    e.spawn('a', worker(1, 10), { cpu: 0 });
    e.run();
    expect(seen).toEqual(['mm:a', 'rcu:a']);
    expect(e.clock[0]).toBe(110);
  });

  it('an IPI to an idle CPU: the sender spins until the acknowledgement is in', () => {
    const c = cfg({ cpus: 2 });
    const e = new Engine(c);
    const handled: number[] = [];
    let resumedAt = -1;
    e.spawn('sender', function* (t) {
      t.charge(1000);
      const done = e.sendIpi(t, [1], FLUSH, (cpu, time) => {
        handled.push(cpu, time);
        return 260;
      });
      yield t.spinOn(done);
      resumedAt = t.now;
    }, { cpu: 0, pinned: true });
    e.run();
    const sentAt = 1000 + c.cost.ipi_send;
    expect(handled).toEqual([1, sentAt + c.cost.ipi_latency]);
    expect(resumedAt).toBe(sentAt + c.cost.ipi_latency + c.cost.ipi_handler + 260 + c.cost.ipi_ack);
    expect(e.clock[1]).toBe(sentAt + c.cost.ipi_latency + c.cost.ipi_handler + 260);
    expect(e.busy[1]).toBe(c.cost.ipi_handler + 260);
    // The sender's wait is busy time under spin_wait.
    expect(e.busy[0]).toBe(resumedAt);
    expect(e.ipi.counters()).toEqual({ ipi_sent: 1, ipi_received: 1 });
  });

  it('a target already past the delivery time takes the IPI retroactively', () => {
    const c = cfg({ cpus: 2, quantum: 100_000 });
    const e = new Engine(c);
    let resumedAt = -1;
    e.spawn('busy', worker(1, 50_000), { cpu: 1, pinned: true });
    e.spawn('sender', function* (t) {
      t.charge(100);
      const done = e.sendIpi(t, [1], FLUSH, () => 0);
      yield t.spinOn(done);
      resumedAt = t.now;
    }, { cpu: 0, pinned: true });
    e.run();
    const deliver = 100 + c.cost.ipi_send + c.cost.ipi_latency;
    // The ack leaves at delivery + handler, not at the target's (later) clock.
    expect(resumedAt).toBe(deliver + c.cost.ipi_handler + c.cost.ipi_ack);
    expect(e.clock[1]).toBe(50_000 + c.cost.ipi_handler);
  });

  it('the initiator of a multi-target IPI waits for the last acknowledgement', () => {
    const c = cfg({ cpus: 8 });
    const e = new Engine(c);
    let resumedAt = -1;
    e.spawn('sender', function* (t) {
      const done = e.sendIpi(t, [1, 2, 3, 4, 5, 6, 7], FLUSH, () => 0);
      yield t.spinOn(done);
      resumedAt = t.now;
    }, { cpu: 0, pinned: true });
    e.run();
    const lastSent = 7 * c.cost.ipi_send;
    expect(resumedAt).toBe(lastSent + c.cost.ipi_latency + c.cost.ipi_handler + c.cost.ipi_ack);
  });

  it('a CPU runs one IPI handler at a time: a second IPI waits for the first handler to end', () => {
    const c = cfg({ cpus: 3 });
    const e = new Engine(c);
    const handledAt: number[] = [];
    const resumed: number[] = [];
    for (const cpu of [0, 1]) {
      e.spawn(`sender${cpu}`, function* (t) {
        const done = e.sendIpi(t, [2], FLUSH, (_cpu, time) => (handledAt.push(time), 400));
        yield t.spinOn(done);
        resumed.push(t.now);
      }, { cpu, pinned: true });
    }
    e.run();
    const deliver = c.cost.ipi_send + c.cost.ipi_latency;
    const work = c.cost.ipi_handler + 400;
    // Both arrive at the same time; the second handler starts when the first returns.
    expect(handledAt).toEqual([deliver, deliver + work]);
    expect(resumed.sort((a, b) => a - b)).toEqual([deliver + work + c.cost.ipi_ack, deliver + 2 * work + c.cost.ipi_ack]);
    expect(e.busy[2]).toBe(2 * work);
    expect(e.counters.get('ipi_delayed')).toBe(1);
  });

  it('an IPI arriving while its target has interrupts off is handled when they are back on', () => {
    const c = cfg({ cpus: 2, quantum: 0 });
    const e = new Engine(c);
    const deliver = 100 + c.cost.ipi_send + c.cost.ipi_latency;
    let handledAt = -1;
    let resumedAt = -1;
    e.spawn('irqoff', function* (t) {
      // A spin_lock_irq section from 0 to deliver + 5000, recorded when it ends (as SpinLock's unlock does).
      t.charge(deliver + 5000);
      e.irqsOffDuring(t.cpu, 0, t.now);
      t.charge(10);
    }, { cpu: 1, pinned: true });
    e.spawn('sender', function* (t) {
      t.charge(100);
      const done = e.sendIpi(t, [1], FLUSH, (_cpu, time) => ((handledAt = time), 0));
      yield t.spinOn(done);
      resumedAt = t.now;
    }, { cpu: 0, pinned: true });
    e.run();
    expect(handledAt).toBe(deliver + 5000);
    expect(resumedAt).toBe(deliver + 5000 + c.cost.ipi_handler + c.cost.ipi_ack);
  });

  it('takes scheduler ticks only on busy CPUs', () => {
    const c = cfg({ cpus: 2 });
    const e = new Engine(c);
    const ticks = [0, 0];
    e.addHooks({ tick: (cpu) => void ticks[cpu]!++ });
    const period = Math.round((c.clock_ghz * 1e9) / c.kernel.hz);
    e.spawn('spin', worker(100, period / 10), { cpu: 0, pinned: true });
    e.run();
    expect(ticks).toEqual([10, 0]);
  });

  it('preempts on a tick when another task is queued (round robin)', () => {
    const c = cfg({ cpus: 1 });
    const e = new Engine(c);
    const period = e.tickPeriod;
    const log: string[] = [];
    e.spawn('a', worker(4, period / 2, log), { cpu: 0 });
    e.spawn('b', worker(4, period / 2, log), { cpu: 0 });
    e.run();
    expect(log.map((s) => s.split('@')[0]).join('')).toBe('aabbaabb');
  });

  it('is deterministic: the same run twice gives identical results', () => {
    const once = () => {
      const e = new Engine(cfg({ cpus: 4, quantum: 300 }));
      for (let i = 0; i < 8; i++) {
        e.spawn(`t${i}`, function* (t) {
          for (let k = 0; k < 50; k++) {
            t.charge(1 + e.rng.int(500));
            if (e.rng.next() < 0.1) yield t.sleepFor(e.rng.int(5000));
            else if (t.shouldYield()) yield;
          }
        });
      }
      e.run();
      return JSON.stringify({ c: [...e.clock], b: [...e.busy], i: [...e.idle], k: e.counters.snapshot(), t: e.attribution.tree() });
    };
    expect(once()).toBe(once());
  });

  it('reports tasks still blocked when nothing else can happen', () => {
    const e = new Engine(cfg({ cpus: 1 }));
    const never = new Completion(e, 1);
    e.spawn('stuck', function* (t) {
      yield t.sleepOn(never);
    });
    e.run();
    expect(e.blockedTasks().map((t) => t.name)).toEqual(['stuck']);
  });
});

describe('engine: load balancing', () => {
  it('a CPU about to idle pulls a task waiting behind another CPU\'s (newidle_balance), so none runs two in turn while another idles', () => {
    const e = new Engine(cfg({ cpus: 2, quantum: 0 }));
    const log: string[] = [];
    const tick = e.tickPeriod;
    // a runs for 3 ticks on CPU 0; b for 1000 cycles on CPU 1; c wakes while both are busy and queues on CPU 0.
    e.spawn('a', worker(30, tick / 10), { cpu: 0 });
    e.spawn('b', worker(10, 100), { cpu: 1 });
    const c = e.spawn('c', worker(5, 100, log), { cpu: 0 });
    expect(c.cpu).toBe(0);
    e.run();
    // When b ends at 1000, CPU 1 takes c: it runs there from 1000, and a is never switched out for it.
    expect(log).toEqual([1100, 1200, 1300, 1400, 1500].map((t) => `c@${t}`));
    expect(c.cpu).toBe(1);
    expect(e.counters.get('sched_migrations')).toBe(1);
    expect(e.clock[0]).toBe(3 * tick);
    expect(e.idle[1]).toBe(0);
  });

  it('leaves a pinned task where it is', () => {
    const e = new Engine(cfg({ cpus: 2, quantum: 0 }));
    const log: string[] = [];
    e.spawn('a', worker(10, 1000), { cpu: 0, pinned: true });
    e.spawn('b', worker(1, 100), { cpu: 1 });
    e.spawn('c', worker(1, 100, log), { cpu: 0, pinned: true });
    e.run();
    expect(e.counters.get('sched_migrations')).toBe(0);
    // c waits for a's CPU: a's 10,000 cycles fit inside one tick, so c runs after a ends.
    expect(log).toEqual(['c@10100']);
  });
});

describe('run delay (sched_info.run_delay)', () => {
  it('counts the cycles a runnable task waited for its CPU, and nothing for one that had a CPU to itself', () => {
    const e = new Engine(cfg({ cpus: 1, quantum: 0 }));
    // b cannot start before a ends (no tick preempts a 1000-cycle task): its wait is exactly a's run.
    const a = e.spawn('a', worker(1, 1000), { cpu: 0, pinned: true });
    const b = e.spawn('b', worker(1, 1000), { cpu: 0, pinned: true });
    e.run();
    expect(a.runDelay).toBe(0);
    expect(b.runDelay).toBe(1000);
    expect(a.cpuTime).toBe(1000);
    expect(b.cpuTime).toBe(1000);
    const alone = new Engine(cfg({ cpus: 2, quantum: 0 }));
    const c = alone.spawn('c', worker(1, 1000), { cpu: 0, pinned: true });
    const d = alone.spawn('d', worker(1, 1000), { cpu: 1, pinned: true });
    alone.run();
    expect([c.runDelay, d.runDelay]).toEqual([0, 0]);
  });
});
