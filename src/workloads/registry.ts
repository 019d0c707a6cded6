/**
 * The built-in workloads. To add one: write src/workloads/NAME.ts exporting
 * a Workload (see types.ts and docs/workloads.md) and add it to the list
 * below. `kernsim list`, `kernsim run NAME --help`, sweeps and the docs pick
 * it up from here.
 */
import { isParam } from '../params/schema.js';
import { allocChurn } from './alloc-churn.js';
import { dbDiscard } from './db-discard.js';
import { ebizzy } from './ebizzy.js';
import { tlbReach } from './demo.js';
import { fdServer } from './fd-server.js';
import { inotifyChurn } from './inotify-churn.js';
import { procUnload } from './proc-unload.js';
import { rcuFlood } from './rcu-flood.js';
import { swapPressure } from './swap-pressure.js';
import { tlbShootdown } from './tlb-shootdown.js';
import { replay } from './replay/workload.js';
import type { AnyWorkload } from './types.js';

export const WORKLOADS: readonly AnyWorkload[] = [
  tlbReach,
  fdServer,
  inotifyChurn,
  procUnload,
  swapPressure,
  allocChurn,
  tlbShootdown,
  dbDiscard,
  rcuFlood,
  ebizzy,
];

/** Found by name (run, sweep) but not listed: replay needs the user's files, so it has no default run, golden result or docs table. */
const BY_NAME_ONLY: readonly AnyWorkload[] = [replay as unknown as AnyWorkload];

const byName = new Map<string, AnyWorkload>();
for (const w of [...WORKLOADS, ...BY_NAME_ONLY]) {
  if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(w.name)) throw new Error(`workload name "${w.name}": use lower-case words joined by hyphens`);
  if (byName.has(w.name)) throw new Error(`two workloads are named "${w.name}"`);
  byName.set(w.name, w);
}

export function findWorkload(name: string): AnyWorkload | undefined {
  return byName.get(name);
}

/** Names in registry order. */
export function workloadNames(): string[] {
  return WORKLOADS.map((w) => w.name);
}

/** The built-in workloads as Markdown (docs/workloads.md holds this text between its markers; a test fails on drift). */
export function workloadsMarkdown(): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  const out: string[] = [];
  for (const w of WORKLOADS) {
    out.push(`### \`${w.name}\``, '', w.summary.charAt(0).toUpperCase() + w.summary.slice(1) + '.', '', w.description, '');
    out.push('| flag | default | unit | meaning |', '| --- | --- | --- | --- |');
    for (const [k, spec] of Object.entries(w.params)) {
      if (!isParam(spec)) continue;
      const values = spec.kind === 'enum' ? ` (one of ${spec.values!.join(', ')})` : '';
      out.push(`| \`--${k.replace(/_/g, '-')}\` | ${esc(String(spec.default))} | ${spec.unit ?? ''} | ${esc(spec.help)}${values} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

/**
 * Every workload's figures as Markdown: name, unit and definition, the
 * headline marked (docs/results.md holds this text between its markers; a
 * test fails on drift).
 */
export function figuresMarkdown(): string {
  const esc = (x: string): string => x.replace(/\|/g, '\\|');
  const out: string[] = [];
  for (const w of WORKLOADS) {
    out.push(`### \`${w.name}\``, '', '| figure | unit | definition |', '| --- | --- | --- |');
    for (const [name, d] of Object.entries(w.figureDefs ?? {})) {
      const head = name === w.headline ? ' (headline)' : '';
      out.push(`| \`${name}\`${head} | ${esc(d.unit)} | ${esc(d.definition)} |`);
    }
    out.push('');
  }
  return out.join('\n');
}
