/**
 * The built-in workloads. To add one: write src/workloads/NAME.ts exporting
 * a Workload (see types.ts and docs/workloads.md) and add it to the list
 * below. `kernsim list`, `kernsim run NAME --help`, sweeps and the docs pick
 * it up from here.
 */
import { tlbReach } from './demo.js';
import type { AnyWorkload } from './types.js';

export const WORKLOADS: readonly AnyWorkload[] = [
  tlbReach,
];

const byName = new Map<string, AnyWorkload>();
for (const w of WORKLOADS) {
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
