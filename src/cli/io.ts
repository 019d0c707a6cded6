/**
 * Where the CLI writes and how it colours: stdout for results, stderr for
 * logs and progress. Tests pass an Io that captures both.
 *
 * Colour: chalk's own detection ignores NO_COLOR, so the level is decided
 * here, in this order: --no-color, then --color, then NO_COLOR (set and not
 * empty), then FORCE_COLOR (0-3, or true/false), then whether the stream is
 * a terminal (TERM=dumb is not).
 */
import { Chalk, type ChalkInstance } from 'chalk';

export interface OutStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface Io {
  stdout: OutStream;
  stderr: OutStream;
  env: Readonly<Record<string, string | undefined>>;
}

export function processIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env };
}

export type ColorLevel = 0 | 1 | 2 | 3;

export function colorLevel(env: Io['env'], flag: boolean | undefined, isTTY: boolean | undefined): ColorLevel {
  if (flag === false) return 0;
  const force = forceLevel(env['FORCE_COLOR']);
  if (flag === true) return force && force > 0 ? force : Math.max(1, ttyLevel(env)) as ColorLevel;
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return 0;
  if (force !== undefined) return force;
  if (!isTTY) return 0;
  return ttyLevel(env);
}

function forceLevel(v: string | undefined): ColorLevel | undefined {
  if (v === undefined) return undefined;
  if (v === '' || v === 'true') return 1;
  if (v === 'false') return 0;
  const n = Number(v);
  if (Number.isInteger(n) && n >= 0 && n <= 3) return n as ColorLevel;
  return 1;
}

function ttyLevel(env: Io['env']): ColorLevel {
  if (env['TERM'] === 'dumb') return 0;
  if (env['COLORTERM'] === 'truecolor' || env['COLORTERM'] === '24bit') return 3;
  if (/-256(color)?$/.test(env['TERM'] ?? '')) return 2;
  return 1;
}

export function makeChalk(level: ColorLevel): ChalkInstance {
  return new Chalk({ level });
}

/** True when CI says so (CI=true, CI=1, any value but false/0/empty). */
export function isCi(env: Io['env']): boolean {
  const v = env['CI'];
  return v !== undefined && v !== '' && v !== '0' && v !== 'false';
}
