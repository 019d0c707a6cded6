/**
 * --check: this run against a baseline. Counters of kernel events must
 * match exactly; cycle figures (the headline, all cycles charged, timing
 * counters, and the per-function split) may move by the scenario's tolerance_pct (default
 * 0: the simulation is deterministic, so any change is a change). Host time
 * fails the gate only when a host tolerance is given. --update writes the
 * run back as the baseline, keeping each scenario's stated tolerance.
 */
import { BENCH_VERSION, type BenchDoc, type ScenarioRecord } from './types.js';

export class BaselineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BaselineError';
  }
}

export interface FunctionDelta {
  name: string;
  old: number;
  new: number;
  delta: number;
}

export interface Moved {
  scenario: string;
  /** 'changed': figures moved; 'missing': in the baseline, not produced by this run; 'new': not in the baseline. */
  status: 'changed' | 'missing' | 'new';
  /** Headline cycles (old, new); 0 when one side is absent. */
  old: number;
  new: number;
  /** What moved beyond what the gate allows, one short phrase each ("cycles +3.2% > 0%", "pgfault 1 -> 2"). */
  reasons: string[];
  /** The functions whose cycles moved most (largest absolute change first). */
  functions: FunctionDelta[];
}

export interface CheckReport {
  baseline: string;
  compared: number;
  moved: Moved[];
  /** Scenarios whose figures moved within their tolerance (reported, not failing). */
  withinTolerance: string[];
  passed: boolean;
}

export interface CheckOptions {
  /** Fail when a scenario's host wall time grew by more than this percent (needs host figures in the baseline). */
  hostTolerancePct?: number;
  /** True when this run ran only some scenarios (--filter): baseline scenarios not run are not missing. */
  filtered?: boolean;
  /** Functions listed per moved scenario. */
  topFunctions?: number;
}

/** Parses and checks a bench document (the baseline file's text). */
export function parseBenchDoc(text: string, file: string): BenchDoc {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new BaselineError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const d = doc as Partial<BenchDoc>;
  if (typeof doc !== 'object' || doc === null || d.kernsim_bench === undefined) throw new BaselineError(`${file}: not a kernsim bench document (no "kernsim_bench" field)`);
  if (d.kernsim_bench !== BENCH_VERSION) throw new BaselineError(`${file}: field kernsim_bench: expected ${BENCH_VERSION}, got ${JSON.stringify(d.kernsim_bench)}`);
  if (typeof d.scenarios !== 'object' || d.scenarios === null) throw new BaselineError(`${file}: field scenarios: expected an object of scenario records`);
  for (const [name, r] of Object.entries(d.scenarios)) {
    const rec = r as Partial<ScenarioRecord>;
    const where = `${file}: scenarios["${name}"]`;
    if (typeof rec !== 'object' || rec === null || typeof rec.sim !== 'object' || rec.sim === null) throw new BaselineError(`${where}: expected an object with a "sim" object`);
    if (typeof rec.sim.cycles !== 'number' || typeof rec.sim.charged_cycles !== 'number') throw new BaselineError(`${where}.sim: expected numbers cycles and charged_cycles`);
    if (typeof rec.sim.counters !== 'object' || typeof rec.sim.functions !== 'object') throw new BaselineError(`${where}.sim: expected objects counters and functions`);
    if (rec.tolerance_pct !== undefined && !(typeof rec.tolerance_pct === 'number' && rec.tolerance_pct >= 0)) {
      throw new BaselineError(`${where}.tolerance_pct: expected a number >= 0, got ${JSON.stringify(rec.tolerance_pct)}`);
    }
  }
  return doc as BenchDoc;
}

function pct(oldV: number, newV: number): number {
  if (oldV === newV) return 0;
  if (oldV === 0) return Infinity;
  return ((newV - oldV) / Math.abs(oldV)) * 100;
}

export function fmtChangePct(oldV: number, newV: number): string {
  const p = pct(oldV, newV);
  if (p === 0) return '0%';
  if (!Number.isFinite(p)) return 'new';
  const digits = Math.abs(p) >= 10 ? 1 : Math.abs(p) >= 0.1 ? 2 : 4;
  return `${p > 0 ? '+' : ''}${p.toFixed(digits)}%`;
}

/**
 * Counters that measure time or follow from timing rather than from what the
 * kernel did: cycle totals, peaks, and the hardware's hit and miss events
 * (a spinning CPU runs more or fewer loads when a flush takes longer). They
 * move within the tolerance like cycles; every other counter (faults, IPIs,
 * flushes, grace periods, syscalls) must match exactly.
 */
export function isTimingCounter(counter: string): boolean {
  return /_cycles$|_peak|peak_|^(l1d|l2|llc|dtlb_l1|stlb)_(hit|miss)$|^page_walks$|^c2c_transfer$|^coherence_invalidations$|^llc_back_invalidations$/.test(counter);
}

export function functionDeltas(a: Record<string, number>, b: Record<string, number>): FunctionDelta[] {
  const names = new Set([...Object.keys(a), ...Object.keys(b)]);
  const out: FunctionDelta[] = [];
  for (const name of names) {
    const o = a[name] ?? 0;
    const n = b[name] ?? 0;
    if (o !== n) out.push({ name, old: o, new: n, delta: n - o });
  }
  return out.sort((x, y) => Math.abs(y.delta) - Math.abs(x.delta) || (x.name < y.name ? -1 : 1));
}

/** Compares one scenario; returns why it fails the gate (empty: it passes) and whether anything moved at all. */
function compareScenario(base: ScenarioRecord, cur: ScenarioRecord, opts: CheckOptions): { reasons: string[]; movedAtAll: boolean } {
  const tol = base.tolerance_pct ?? 0;
  const reasons: string[] = [];
  let movedAtAll = false;
  const cycles = (label: string, o: number, n: number): void => {
    if (o === n) return;
    movedAtAll = true;
    if (Math.abs(pct(o, n)) > tol) reasons.push(`${label} ${fmtChangePct(o, n)} (tolerance ${tol}%)`);
  };
  cycles('cycles', base.sim.cycles, cur.sim.cycles);
  cycles('charged cycles', base.sim.charged_cycles, cur.sim.charged_cycles);
  const counters = new Set([...Object.keys(base.sim.counters), ...Object.keys(cur.sim.counters)]);
  for (const name of [...counters].sort()) {
    const o = base.sim.counters[name] ?? 0;
    const n = cur.sim.counters[name] ?? 0;
    if (o === n) continue;
    if (isTimingCounter(name)) cycles(name, o, n);
    else {
      movedAtAll = true;
      reasons.push(`${name} ${o} -> ${n}`);
    }
  }
  // The split between functions may shift within the tolerance of all cycles charged.
  const fd = functionDeltas(base.sim.functions, cur.sim.functions);
  if (fd.length > 0) {
    movedAtAll = true;
    const shifted = fd.reduce((s, f) => s + Math.abs(f.delta), 0);
    if (shifted > (tol / 100) * Math.abs(base.sim.charged_cycles) && !reasons.some((r) => r.startsWith('cycles') || r.startsWith('charged'))) {
      reasons.push(`${fd.length} function${fd.length > 1 ? 's' : ''} moved ${shifted} cycles`);
    }
  }
  if (opts.hostTolerancePct !== undefined && base.host && cur.host && base.host.wall_ms > 0) {
    const p = pct(base.host.wall_ms, cur.host.wall_ms);
    if (p > opts.hostTolerancePct) reasons.push(`host wall time ${fmtChangePct(base.host.wall_ms, cur.host.wall_ms)} (host tolerance ${opts.hostTolerancePct}%)`);
  }
  return { reasons, movedAtAll };
}

export function checkBench(baseline: BenchDoc, current: BenchDoc, baselineLabel: string, opts: CheckOptions = {}): CheckReport {
  if (opts.hostTolerancePct !== undefined && !Object.values(baseline.scenarios).some((s) => s.host)) {
    throw new BaselineError(`${baselineLabel}: --host-tolerance needs host figures in the baseline (write one with kernsim bench --format json --out FILE on the same host)`);
  }
  const top = opts.topFunctions ?? 3;
  const moved: Moved[] = [];
  const withinTolerance: string[] = [];
  let compared = 0;
  for (const [name, cur] of Object.entries(current.scenarios)) {
    const base = baseline.scenarios[name];
    if (!base) {
      moved.push({ scenario: name, status: 'new', old: 0, new: cur.sim.cycles, reasons: ['not in the baseline'], functions: [] });
      continue;
    }
    compared++;
    const { reasons, movedAtAll } = compareScenario(base, cur, opts);
    if (reasons.length > 0) {
      moved.push({ scenario: name, status: 'changed', old: base.sim.cycles, new: cur.sim.cycles, reasons, functions: functionDeltas(base.sim.functions, cur.sim.functions).slice(0, top) });
    } else if (movedAtAll) withinTolerance.push(name);
  }
  if (!opts.filtered) {
    for (const [name, base] of Object.entries(baseline.scenarios)) {
      if (!(name in current.scenarios)) moved.push({ scenario: name, status: 'missing', old: base.sim.cycles, new: 0, reasons: ['in the baseline but not run'], functions: [] });
    }
  }
  return { baseline: baselineLabel, compared, moved, withinTolerance, passed: moved.length === 0 };
}

/**
 * The new baseline: this run's sim figures (never host figures, so the file
 * is the same on every machine), each scenario keeping the tolerance the old
 * baseline stated. With a filter, scenarios not run keep their old records.
 */
export function updatedBaseline(old: BenchDoc | null, current: BenchDoc, filtered: boolean): BenchDoc {
  const scenarios: Record<string, ScenarioRecord> = {};
  const fresh = (name: string, rec: ScenarioRecord): ScenarioRecord => {
    const tol = old?.scenarios[name]?.tolerance_pct;
    return { summary: rec.summary, ...(tol !== undefined ? { tolerance_pct: tol } : {}), sim: rec.sim };
  };
  // Keep the old file's order where the run filtered; then the run's own order.
  if (old && filtered) for (const [name, rec] of Object.entries(old.scenarios)) scenarios[name] = current.scenarios[name] ? fresh(name, current.scenarios[name]) : rec;
  for (const [name, rec] of Object.entries(current.scenarios)) if (!(name in scenarios)) scenarios[name] = fresh(name, rec);
  const doc: BenchDoc = { kernsim_bench: BENCH_VERSION, machine: current.machine, scenarios };
  if (current.overrides) doc.overrides = current.overrides;
  return doc;
}
