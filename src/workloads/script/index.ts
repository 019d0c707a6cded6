/** Syscall scripts: parsed form, parser, result lines, comparison, files. */
export * from './types.js';
export { parseScript, ScriptError, OP_NAMES } from './parse.js';
export * from './format.js';
export { compareRuns, type CompareResult } from './compare.js';
export { listScriptFiles, loadScript, hostOutputPath } from './files.js';
