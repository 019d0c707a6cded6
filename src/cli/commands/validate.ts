/** `kernsim validate`: published measurements rebuilt on the simulator, simulated beside published; exit 1 when one is outside its tolerance. */
import { EXPERIMENTS } from '../../validate/registry.js';
import { renderText } from '../../validate/render.js';
import { runValidation, selectExperiments, type ProfileLoader } from '../../validate/run.js';
import type { Experiment } from '../../validate/types.js';
import { out, toJson, type Ctx } from '../context.js';
import { CheckFailed, UsageError } from '../errors.js';
import { loadMachineConfig } from '../machine.js';

export interface ValidateArgs {
  json?: boolean;
  filter?: string[];
  list?: boolean;
}

/** A profile by name with `overrides` merged (validated like a profile). */
export const loadProfile: ProfileLoader = (profile, overrides) => loadMachineConfig(profile, overrides, `validate (${profile})`);

export function cmdValidate(ctx: Ctx, a: ValidateArgs, all: readonly Experiment[] = EXPERIMENTS): number {
  const filters = (a.filter ?? []).map(String);
  const chosen = selectExperiments(all, filters);
  if (chosen.length === 0) throw new UsageError(`validate: --filter ${filters.join(' ')} matches no experiment (known: ${all.map((e) => e.id).join(', ')})`);
  if (a.list) {
    if (a.json) out(ctx, toJson(chosen.map((e) => ({ id: e.id, title: e.title, source: e.source, profile: e.profile }))));
    else out(ctx, chosen.map((e) => `${e.id.padEnd(32)} ${e.title}`).join('\n'));
    return 0;
  }
  const v = runValidation(chosen, loadProfile);
  out(ctx, a.json ? toJson(v) : renderText(v, ctx.c));
  if (!v.passed) {
    const bad = v.experiments.filter((r) => !r.passed).map((r) => r.id);
    throw new CheckFailed(`validate: outside tolerance: ${bad.join(', ')}`, bad);
  }
  return 0;
}
