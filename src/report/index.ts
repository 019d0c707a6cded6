/** Reports: every format from one entry point, and the check that a JSON file is a kernsim result. */
import type { ChalkInstance } from 'chalk';
import { RESULT_VERSION, type AnyResult } from '../workloads/result.js';
import { checkResultSchema, SchemaViolation } from './schema.js';
import { foldedLines } from './summary.js';
import { renderRunHtml, renderSweepHtml } from './html.js';
import { renderRunMarkdown, renderSweepMarkdown } from './markdown.js';
import { renderPerfetto } from './perfetto.js';
import { renderRunTerminal, renderSweepTerminal } from './terminal.js';

export const FORMATS = ['terminal', 'json', 'markdown', 'html', 'perfetto', 'folded'] as const;
export type Format = (typeof FORMATS)[number];

/** A file that is not a result kernsim can read, or a format the result cannot give. */
export class ResultError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    readonly expected: string,
  ) {
    super(`${file}: ${field}: expected ${expected}`);
    this.name = 'ResultError';
  }
}

/** Parses a result file and checks it against the result schema (schema.ts, docs/results.md) before anything reads it. */
export function parseResult(text: string, file: string): AnyResult {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ResultError(file, '(file)', `a JSON result from kernsim run --out or sweep --out (${(e as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ResultError(file, '(top level)', 'an object');
  const o = v as Record<string, unknown>;
  if (o['kernsim_result'] === undefined) throw new ResultError(file, 'kernsim_result', 'a kernsim result (written by kernsim run --out or --json)');
  if (o['kernsim_result'] !== RESULT_VERSION) throw new ResultError(file, 'kernsim_result', `version ${RESULT_VERSION}, got ${JSON.stringify(o['kernsim_result'])}`);
  if (o['kind'] !== 'run' && o['kind'] !== 'sweep') throw new ResultError(file, 'kind', `"run" or "sweep", got ${JSON.stringify(o['kind'])}`);
  try {
    checkResultSchema(o);
  } catch (e) {
    if (e instanceof SchemaViolation) throw new ResultError(file, e.field, e.expected);
    throw e;
  }
  return v as AnyResult;
}

export interface RenderOptions {
  chalk: ChalkInstance;
  /** For sweeps in HTML: the metric to plot (figure:NAME, counter:NAME, simulated_cycles). */
  metric?: string;
  file?: string;
  /** The terminal's width in columns, for tables that must fit it (none: every column). */
  width?: number;
}

export function renderReport(r: AnyResult, format: Format, opts: RenderOptions): string {
  const file = opts.file ?? 'result';
  switch (format) {
    case 'json':
      return JSON.stringify(r, null, 2) + '\n';
    case 'terminal':
      return r.kind === 'run' ? renderRunTerminal(r, opts.chalk) : renderSweepTerminal(r, opts.chalk, opts.width);
    case 'markdown':
      return r.kind === 'run' ? renderRunMarkdown(r) : renderSweepMarkdown(r);
    case 'html':
      return r.kind === 'run' ? renderRunHtml(r) : renderSweepHtml(r, opts.metric);
    case 'perfetto': {
      if (r.kind !== 'run') throw new ResultError(file, 'kind', 'a single run for a Perfetto trace (this is a sweep)');
      const t = renderPerfetto(r);
      if (!t) throw new ResultError(file, 'trace', 'a run recorded with --trace (kernsim run W --trace --out FILE)');
      return JSON.stringify(t) + '\n';
    }
    case 'folded':
      if (r.kind !== 'run') throw new ResultError(file, 'kind', 'a single run for folded stacks (this is a sweep)');
      return foldedLines(r.breakdown).join('\n') + '\n';
  }
}
