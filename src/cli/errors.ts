/**
 * The CLI's two typed exits, caught once in main.ts: a UsageError is bad
 * input (exit 2, one line on stderr, never a stack trace); CheckFailed is a
 * run whose own checks failed (exit 1, after its output is printed).
 */

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export class CheckFailed extends Error {
  constructor(
    message: string,
    readonly failures: string[] = [],
  ) {
    super(message);
    this.name = 'CheckFailed';
  }
}

/** Exit statuses, as documented in `kernsim --help`. */
export const EXIT_OK = 0;
export const EXIT_CHECK_FAILED = 1;
export const EXIT_USAGE = 2;
