/** What every command gets: where to write, how to colour, and the shared file helpers. */
import { stringifyExact } from '../workloads/script/format.js';
import type { ChalkInstance } from 'chalk';
import { cannotRead } from '../workloads/read-error.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseResult } from '../report/index.js';
import type { AnyResult } from '../workloads/result.js';
import { UsageError } from './errors.js';
import type { Io } from './io.js';

export interface Ctx {
  io: Io;
  /** Colours for stdout. */
  c: ChalkInstance;
  /** Colours for stderr. */
  ce: ChalkInstance;
}

export function out(ctx: Ctx, text: string): void {
  ctx.io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** A log line: always stderr, so stdout stays machine-readable. */
export function log(ctx: Ctx, text: string): void {
  ctx.io.stderr.write(`${text}\n`);
}

export function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${file}: ${cannotRead(e)}`);
  }
}

export function readResult(file: string): AnyResult {
  return parseResult(readText(file), file);
}

export function writeText(file: string, text: string): void {
  try {
    writeFileSync(file, text);
  } catch (e) {
    throw new UsageError(`${file}: cannot write (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** The terminal's width when stdout is one (tables fit it), else undefined (a pipe or a file gets every column). */
export function termWidth(ctx: Ctx): number | undefined {
  return ctx.io.stdout.isTTY && ctx.io.stdout.columns ? ctx.io.stdout.columns : undefined;
}

/** JSON of a value, bigints (64-bit file positions) written with all their digits. */
export function toJson(v: unknown): string {
  return stringifyExact(v, 2) + '\n';
}
