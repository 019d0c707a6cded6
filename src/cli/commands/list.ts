/** `kernsim list`: the workloads and machine profiles, one line each; `--params` the machine schema. */
import Table from 'cli-table3';
import { configSections } from '../../config/machine.js';
import { describeSchema, isParam, shownDefault } from '../../params/schema.js';
import { WORKLOADS } from '../../workloads/registry.js';
import { out, toJson, type Ctx } from '../context.js';
import { listProfiles } from '../machine.js';
import { flagName, specType } from '../options.js';

export interface ListArgs {
  params?: boolean;
  json?: boolean;
}

export function cmdList(ctx: Ctx, a: ListArgs): number {
  const { c } = ctx;
  if (a.params) {
    const sections = configSections();
    if (a.json) {
      out(ctx, toJson(sections.flatMap((s) => describeSchema(s.schema, s.prefix).map((r) => ({ ...r, section: s.title })))));
      return 0;
    }
    const parts = [`${c.bold('Machine parameters')} ${c.dim('(set any with --set PATH=VALUE, or in a profile JSON given to --machine)')}`];
    for (const s of sections) {
      const t = new Table({
        head: ['field', 'default', 'unit', 'meaning', 'source'].map((h) => c.bold(h)),
        style: { head: [], border: [] },
        colWidths: [34, 14, 8, 46, 40],
        wordWrap: true,
      });
      for (const r of describeSchema(s.schema, s.prefix)) t.push([r.path, shownDefault(r), r.unit, r.help, c.dim(r.source)]);
      parts.push(`\n${c.bold(s.title)} ${c.dim(`(${s.file})`)}\n${t.toString()}`);
    }
    out(ctx, parts.join('\n'));
    return 0;
  }
  const profiles = listProfiles();
  if (a.json) {
    const workloads = WORKLOADS.map((w) => ({
      name: w.name,
      summary: w.summary,
      params: Object.entries(w.params).filter(([, s]) => isParam(s)).map(([k, s]) => ({ name: k, flag: `--${flagName(k)}`, type: isParam(s) ? specType(s) : '', default: isParam(s) ? s.default : undefined, help: isParam(s) ? s.help : '' })),
    }));
    out(ctx, toJson({ workloads, profiles }));
    return 0;
  }
  const lines: string[] = [c.bold('Workloads') + c.dim('  (kernsim run NAME --help for parameters)')];
  const wn = Math.max(...WORKLOADS.map((w) => w.name.length), 4);
  for (const w of WORKLOADS) lines.push(`  ${c.cyan(w.name.padEnd(wn))}  ${w.summary}`);
  lines.push('', c.bold('Machine profiles') + c.dim('  (--machine NAME, or --machine FILE.json)'));
  const pn = Math.max(...profiles.map((p) => p.name.length), 4);
  for (const p of profiles) lines.push(`  ${c.cyan(p.name.padEnd(pn))}  ${String(p.cpus).padStart(3)} CPUs  ${p.description}`);
  lines.push('', c.dim('kernsim list --params prints every machine parameter with its default and source.'));
  out(ctx, lines.join('\n'));
  return 0;
}
