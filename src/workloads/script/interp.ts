/**
 * The syscall-script interpreter: runs a ParsedScript (spec/syscall-script.md)
 * on a freshly booted simulated kernel, one op at a time in one simulated
 * process, and returns the result lines. A `fork` op runs its nested ops in
 * a child process (with a copy of the parent's names and mmap hint) and
 * waits for it to exit.
 *
 * Op handlers come from the tables in ./ops/ (merged below); an op with no
 * handler answers ENOSYS. With `sim: true` each line gets a `sim` field: the
 * op's cycles on its CPU and every counter that changed during it. With
 * cfg.sim.checks on, checkInvariants runs after every op.
 */
import { type MachineConfig, machineSchema } from '../../hw/config.js';
import { mergeChecked } from '../../hw/params.js';
import { bootKernel } from '../../kernel/boot.js';
import { errnoName } from '../../kernel/errno.js';
import type { Kernel } from '../../kernel/kernel.js';
import { checkInvariants } from '../../kernel/mm/invariants.js';
import { current, type TaskStruct } from '../../kernel/sched/task_struct.js';
import type { Blocking, Task } from '../../sim/task.js';
import { formatLine, type ResultLine } from './format.js';
import { fdOps, type OpHandler, type OpOutcome } from './ops/fd.js';
import { fsOps } from './ops/fs.js';
import { MAP_HINT_BASE, mmOps, type MmOpEnv } from './ops/mm.js';
import type { ForkOp, Op, ParsedScript, Ref } from './types.js';

export interface ScriptRun {
  /** The result lines, formatted (one JSON object each). */
  lines: string[];
  /** The same, as objects. */
  results: ResultLine[];
  kernel: Kernel;
}

export interface RunOptions {
  /** Add each line's simulated figures (`sim`). */
  sim?: boolean;
}

const handlers: Readonly<Record<string, OpHandler>> = { ...fdOps, ...mmOps, ...fsOps };

/** What one simulated process of the script knows: its names and its next mmap hint. */
interface Proc {
  names: Map<string, number>;
  nextHint: bigint;
}

function resolve(p: Proc, r: Ref): number {
  if ('value' in r) return r.value;
  const v = p.names.get(r.name);
  if (v === undefined) throw new Error(`script: $${r.name} is not bound in this process`);
  return v + r.offset;
}

/** Every counter the kernel and hardware keep, flattened (for the per-op `sim` deltas). */
function counterSnapshot(k: Kernel): Record<string, number> {
  return { ...k.engine.counters.snapshot(), ...k.machine.tlb.counters(), ...k.engine.ipi.counters() };
}

function simFigures(k: Kernel, before: Record<string, number>, cycles: number): Record<string, number> {
  const after = counterSnapshot(k);
  const out: Record<string, number> = { cycles };
  for (const key of Object.keys(after).sort()) {
    const d = after[key]! - (before[key] ?? 0);
    if (d !== 0) out[key] = d;
  }
  return out;
}

class Interpreter {
  constructor(
    readonly k: Kernel,
    readonly sim: boolean,
    readonly checks: boolean,
  ) {}

  /** Runs `ops` in the process of task `t`; returns their result lines. */
  *runOps(t: Task, p: Proc, ops: Op[]): Blocking<ResultLine[]> {
    const lines: ResultLine[] = [];
    const env: MmOpEnv = {
      k: this.k,
      t,
      ref: (r) => resolve(p, r),
      bind: (name, v) => {
        if (name !== undefined) p.names.set(name, v);
      },
      mm: {
        get nextHint() {
          return p.nextHint;
        },
        set nextHint(v: bigint) {
          p.nextHint = v;
        },
      },
    };
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      const start = t.now;
      const before = this.sim ? counterSnapshot(this.k) : undefined;
      let out: OpOutcome;
      if (op.op === 'fork') out = yield* this.fork(t, p, op);
      else {
        const h = handlers[op.op];
        out = h ? yield* h(env, op) : { ret: -1, errno: 'ENOSYS' };
      }
      const line: ResultLine = { i, op: op.op, ...out };
      if (this.sim) line.sim = simFigures(this.k, before!, t.now - start);
      lines.push(line);
      if (this.checks) checkInvariants(this.k);
      if (current(t).exitSignal) break;
    }
    return lines;
  }

  /** fork: the child runs the nested ops and exits; the parent waits for it. */
  *fork(t: Task, p: Proc, op: ForkOp): Blocking<OpOutcome> {
    const k = this.k;
    const parent = current(t);
    let childLines: ResultLine[] = [];
    const childProc: Proc = { names: new Map(p.names), nextHint: p.nextHint };
    const self = this;
    const child = yield* k.fork(t, parent, function* (ct: Task) {
      childLines = yield* self.runOps(ct, childProc, op.ops);
      yield* k.exit(ct, current(ct));
    });
    if (typeof child === 'number') return { ret: -1, errno: errnoName(-child) };
    yield t.sleepOn((child as TaskStruct).task.exited);
    const sig = (child as TaskStruct).exitSignal;
    return { ret: 0, errno: null, child: childLines, exit: sig ?? 0 };
  }
}

function scriptSetsThp(machine: unknown): boolean {
  if (typeof machine !== 'object' || machine === null) return false;
  const kernel = (machine as { kernel?: unknown }).kernel;
  return typeof kernel === 'object' && kernel !== null && (kernel as { thp?: unknown }).thp !== undefined;
}

/**
 * Runs a script on a kernel booted from `cfg` (with the script's `machine`
 * block, if any, applied on top) and returns its result lines.
 */
export function runScript(script: ParsedScript, cfg: MachineConfig, opts: RunOptions = {}): ScriptRun {
  const c = script.machine !== undefined ? mergeChecked(machineSchema, cfg, script.machine, script.name) : cfg;
  const k = bootKernel(c);
  const interp = new Interpreter(k, opts.sim ?? false, c.sim.checks);
  let results: ResultLine[] = [];
  k.spawnProcess(
    'script',
    function* (t) {
      const p: Proc = { names: new Map(), nextHint: MAP_HINT_BASE };
      // The host runner sets PR_SET_THP_DISABLE; a script whose machine block names kernel.thp runs with THP as configured.
      current(t).mm!.thpDisabled = !scriptSetsThp(script.machine);
      results = yield* interp.runOps(t, p, script.ops);
      yield* k.exit(t, current(t));
    },
    { cpu: 0 },
  );
  k.run();
  if (c.sim.checks) checkInvariants(k);
  return { lines: results.map(formatLine), results, kernel: k };
}
