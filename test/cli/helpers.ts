/** Runs the CLI in-process with captured output. */
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/io.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliEnv {
  env?: Record<string, string | undefined>;
  /** stdout and stderr are terminals. */
  tty?: boolean;
  stdoutTty?: boolean;
  stderrTty?: boolean;
}

export async function cli(args: string[], opts: CliEnv = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: { write: (s: string) => (stdout += s), isTTY: opts.stdoutTty ?? opts.tty ?? false, columns: 120 },
    stderr: { write: (s: string) => (stderr += s), isTTY: opts.stderrTty ?? opts.tty ?? false, columns: 120 },
    env: opts.env ?? {},
  };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

/** A bad-input exit: status 2 and exactly one line on stderr, no stack. */
export function expectUsageError(r: CliRun): string {
  if (r.code !== 2) throw new Error(`expected exit 2, got ${r.code}; stderr: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  if (lines.length !== 1) throw new Error(`expected one line on stderr, got ${lines.length}: ${r.stderr}`);
  if (/\bat .*\.(ts|js):\d+/.test(r.stderr)) throw new Error(`stack trace on stderr: ${r.stderr}`);
  return lines[0]!;
}
