import type { AccessOutcome } from '../../src/hw/access.js';

/** A run of one access as the single number tests pin: its cycles, or its fault code. */
export function single(o: AccessOutcome): number {
  return o.fault !== 0 ? o.fault : o.cycles;
}
