/**
 * A one-line progress bar on stderr, redrawn in place. Shown only when
 * stderr is a terminal, CI is not set and the output is not --json; in
 * every other case a Progress does nothing. Redraws are throttled by host
 * time (this is display, not simulation).
 */
import type { ChalkInstance } from 'chalk';
import { performance } from 'node:perf_hooks';
import { isCi, type Io } from './io.js';

export interface ProgressOptions {
  /** Force on or off (tests); by default decided from the Io. */
  enabled?: boolean;
  json?: boolean;
  /** Minimum host milliseconds between redraws. */
  throttleMs?: number;
}

export function progressEnabled(io: Io, json: boolean): boolean {
  return !json && io.stderr.isTTY === true && !isCi(io.env);
}

export class Progress {
  readonly enabled: boolean;
  private last = -Infinity;
  private started = NaN;
  private drawn = false;
  private readonly throttleMs: number;

  constructor(
    private readonly io: Io,
    private readonly c: ChalkInstance,
    private readonly label: string,
    opts: ProgressOptions = {},
  ) {
    this.enabled = opts.enabled ?? progressEnabled(io, opts.json ?? false);
    this.throttleMs = opts.throttleMs ?? 80;
  }

  /** fraction in [0, 1], or NaN when unknown (an indeterminate bar); `detail` follows the bar. */
  update(fraction: number, detail = '', force = false): void {
    if (!this.enabled) return;
    const now = performance.now();
    if (Number.isNaN(this.started)) this.started = now;
    if (!force && now - this.last < this.throttleMs) return;
    this.last = now;
    this.io.stderr.write(`\r${this.render(fraction, detail, now - this.started)}\x1b[K`);
    this.drawn = true;
  }

  /**
   * The line for `fraction` done after `elapsedMs` of host time: with a
   * second or more elapsed and some of the work done, the time left at the
   * rate so far (`~12s left`).
   */
  render(fraction: number, detail: string, elapsedMs = NaN): string {
    const width = Math.max(10, Math.min(30, (this.io.stderr.columns ?? 80) - 50));
    let bar: string;
    let pct: string;
    if (Number.isFinite(fraction)) {
      const f = Math.min(1, Math.max(0, fraction));
      const n = Math.round(f * width);
      bar = this.c.cyan('█'.repeat(n)) + this.c.dim('░'.repeat(width - n));
      pct = `${Math.floor(f * 100)}%`.padStart(4);
    } else {
      bar = this.c.dim('░'.repeat(width));
      pct = '   ?';
    }
    const left = etaText(fraction, elapsedMs);
    return `${this.label} ${bar} ${pct} ${this.c.dim(left ? `${detail}, ${left}` : detail)}`;
  }

  /** Clears the line so what follows starts clean. */
  done(): void {
    if (this.enabled && this.drawn) this.io.stderr.write('\r\x1b[K');
    this.drawn = false;
  }
}

/** Host time left at the rate so far, as `~Ns left` / `~Mm Ss left`; '' before a second has passed or while nothing is done. */
export function etaText(fraction: number, elapsedMs: number): string {
  if (!Number.isFinite(fraction) || !(elapsedMs >= 1000) || fraction <= 0 || fraction >= 1) return '';
  const s = Math.ceil((elapsedMs * (1 - fraction)) / fraction / 1000);
  return s < 60 ? `~${s}s left` : `~${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s left`;
}
