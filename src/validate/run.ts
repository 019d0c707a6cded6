/** Runs validation experiments and judges each point and each curve's shape against its tolerance. */
import type { MachineConfig } from '../config/machine.js';
import type { CurveResult, Experiment, ExperimentResult, PublishedCurve, Tolerance, ValidateResult } from './types.js';

export const DEFAULT_SHAPE_TOLERANCE = 0.3;

/** Loads a profile by name with a partial config merged over it (the CLI's loader: profiles/NAME.json). */
export type ProfileLoader = (profile: string, overrides?: Record<string, unknown>) => MachineConfig;

/** Compares one curve's simulated values with its published points. */
export function judgeCurve(curve: PublishedCurve, simulated: readonly number[], tol: Tolerance, id = ''): CurveResult {
  if (simulated.length !== curve.points.length) {
    throw new Error(`validate ${id}: curve "${curve.label}" has ${curve.points.length} published points but simulate() gave ${simulated.length}`);
  }
  const shapeTol = tol.shape ?? DEFAULT_SHAPE_TOLERANCE;
  const pub0 = curve.points[0]!.value;
  const sim0 = simulated[0]!;
  const points = curve.points.map((p, i) => {
    const sim = simulated[i]!;
    const deviation = sim / p.value - 1;
    const shape = i === 0 ? null : sim / sim0 / (p.value / pub0) - 1;
    return {
      x: p.x,
      published: p.value,
      simulated: sim,
      deviation,
      shape_deviation: shape,
      point_ok: tol.point === undefined ? null : Math.abs(deviation) <= tol.point,
      shape_ok: shape === null ? null : Math.abs(shape) <= shapeTol,
    };
  });
  return { label: curve.label, points };
}

function curvePassed(c: CurveResult): boolean {
  return c.points.every((p) => p.point_ok !== false && p.shape_ok !== false && Number.isFinite(p.simulated));
}

export function runExperiment(e: Experiment, load: ProfileLoader): ExperimentResult {
  const sims = e.simulate({ machine: (over) => load(e.profile.split(',')[0]!.trim(), over), profile: (name, over) => load(name, over) });
  if (sims.length !== e.curves.length) throw new Error(`validate ${e.id}: ${e.curves.length} curves published but simulate() gave ${sims.length}`);
  const curves = e.curves.map((c, i) => judgeCurve(c, sims[i]!, e.tolerance, e.id));
  return {
    id: e.id,
    title: e.title,
    source: e.source,
    hardware: e.hardware,
    profile: e.profile,
    unit: e.unit,
    x: e.x,
    tolerance: e.tolerance,
    notes: e.notes,
    curves,
    passed: curves.every(curvePassed),
  };
}

/** Experiments whose id contains any of the `filters` (all when none given). */
export function selectExperiments(all: readonly Experiment[], filters: readonly string[]): Experiment[] {
  if (filters.length === 0) return [...all];
  return all.filter((e) => filters.some((f) => e.id.includes(f)));
}

export function runValidation(experiments: readonly Experiment[], load: ProfileLoader): ValidateResult {
  const results = experiments.map((e) => runExperiment(e, load));
  return { kernsim_validate: 1, passed: results.every((r) => r.passed), experiments: results };
}
