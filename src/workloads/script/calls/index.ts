/** The simulator's handlers of the ops added after format v1, merged into the interpreter's table. */
import type { OpHandler } from '../ops/fd.js';
import { fsCalls } from './fs.js';
import { mmCalls } from './mm.js';
import { procCalls } from './proc.js';
import { procfileCalls } from './procfile.js';

export const callOps: Readonly<Record<string, OpHandler>> = { ...mmCalls, ...fsCalls, ...procCalls, ...procfileCalls };
