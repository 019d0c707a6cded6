/**
 * `kernsim validate`: experiments that rebuild a published measurement on
 * the simulator, on a profile of the hardware it was measured on, and compare
 * the simulated figures with the published ones.
 *
 * An experiment is one small module in ./experiments/ exporting an
 * `Experiment` (its source, profile, published points and tolerance, and a
 * `simulate` that produces the matching figures), plus one line in
 * ./registry.ts. Nothing here is fitted: an experiment that disagrees says
 * why in `notes`, and the parameters it exercises keep their own sources.
 */
import type { MachineConfig } from '../config/machine.js';

/** One published figure: the x value it was measured at (pages, threads, "PTI+PCID") and the value. */
export interface PublishedPoint {
  x: number | string;
  value: number;
}

/** A series of published figures whose shape is compared point by point with its first point. */
export interface PublishedCurve {
  label: string;
  points: PublishedPoint[];
}

export interface Tolerance {
  /** Largest |simulated / published - 1| allowed for each point; undefined: points are shown, not judged. */
  point?: number;
  /** Largest |(sim_i / sim_0) / (pub_i / pub_0) - 1| allowed for each point after a curve's first; default 0.3. */
  shape?: number;
  /** Why these bounds (the source's own noise, or why points are not judged). */
  why: string;
}

/** What an experiment's simulate() gets: the machine of its profile, with overrides merged and checked. */
export interface SimContext {
  machine(overrides?: Record<string, unknown>): MachineConfig;
  /** Another profile's machine, for an experiment whose points were measured on more than one machine. */
  profile(name: string, overrides?: Record<string, unknown>): MachineConfig;
}

export interface Experiment {
  /** Name for --filter and the docs: lower-case words joined by hyphens, author and year first. */
  id: string;
  /** One line: what is measured. */
  title: string;
  /** The citation: author, title or thread, year, where it was published. */
  source: string;
  /** The hardware the source measured on. */
  hardware: string;
  /** The machine profile the experiment runs on (a name kernsim list shows); several, comma-separated, when its points were measured on several machines. */
  profile: string;
  /** Unit of every value (the published and the simulated ones alike). */
  unit: string;
  /** What the x values are (pages flushed, threads, configuration). */
  x: string;
  curves: PublishedCurve[];
  tolerance: Tolerance;
  /** What the simulation does to measure it, and what agrees or does not and why. */
  notes: string;
  /** The simulated values: one array per curve, one value per published point, in the same order. */
  simulate(ctx: SimContext): number[][];
}

/** Identity helper: `export const experiment = defineExperiment({...})`. */
export function defineExperiment(e: Experiment): Experiment {
  return e;
}

export interface PointResult {
  x: number | string;
  published: number;
  simulated: number;
  /** simulated / published - 1. */
  deviation: number;
  /** (sim_i / sim_0) / (pub_i / pub_0) - 1; null for a curve's first point. */
  shape_deviation: number | null;
  /** Whether the point is within tolerance.point (null when points are not judged). */
  point_ok: boolean | null;
  /** Whether the shape is within tolerance.shape (null for a curve's first point). */
  shape_ok: boolean | null;
}

export interface CurveResult {
  label: string;
  points: PointResult[];
}

export interface ExperimentResult {
  id: string;
  title: string;
  source: string;
  hardware: string;
  profile: string;
  unit: string;
  x: string;
  tolerance: Tolerance;
  notes: string;
  curves: CurveResult[];
  passed: boolean;
}

export interface ValidateResult {
  kernsim_validate: 1;
  passed: boolean;
  experiments: ExperimentResult[];
}
