/** Finding and loading script files (`kernsim script`, `kernsim conform`). */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { cannotRead } from '../read-error.js';
import { parseScript, ScriptError } from './parse.js';
import type { ParsedScript } from './types.js';

/**
 * Script files named by `paths`: a file is taken as given; a directory gives
 * its `*.json` files (not its subdirectories), sorted by name so runs are in
 * the same order everywhere. Throws ScriptError for a path that does not exist.
 */
export function listScriptFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch (e) {
      throw new ScriptError(p, '', cannotRead(e));
    }
    if (!isDir) {
      out.push(p);
      continue;
    }
    const names = readdirSync(p)
      .filter((n) => n.endsWith('.json'))
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const n of names) out.push(join(p, n));
  }
  return out;
}

/** Reads and parses one script file. */
export function loadScript(file: string): ParsedScript {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ScriptError(file, '', cannotRead(e));
  }
  return parseScript(text, file);
}

/** Where the host kernel's recorded output of a script lives: NAME.json -> NAME.host.jsonl. */
export function hostOutputPath(scriptFile: string): string {
  return scriptFile.replace(/\.json$/, '') + '.host.jsonl';
}
