/** `kernsim trace convert IN OUT`: an strace log or a lackey trace into kernsim's compact trace format (docs/trace-format.md). */
import { statSync } from 'node:fs';
import { cannotRead } from '../../workloads/read-error.js';
import { LackeyParseError, parseStrace, sniff, StraceParseError, TraceFormatError, writeLackeyTrace, writeStraceTrace } from '../../workloads/replay/index.js';
import { log, out, readText, type Ctx } from '../context.js';
import { UsageError } from '../errors.js';

export function cmdTraceConvert(ctx: Ctx, input: string, output: string): number {
  let kind;
  try {
    kind = sniff(input);
  } catch (e) {
    throw new UsageError(`${input}: ${cannotRead(e)}`);
  }
  if (kind === 'kst') throw new UsageError(`${input}:1: expected an strace log or a lackey trace, found a file already converted`);
  if (kind === null) throw new UsageError(`${input}:1: expected an strace log (strace -f -ttt -T) or a lackey trace (valgrind --tool=lackey --trace-mem=yes)`);
  let h;
  try {
    if (kind === 'strace') {
      const text = readText(input);
      h = writeStraceTrace(output, parseStrace(text, input), { file: input, bytes: Buffer.byteLength(text) });
    } else h = writeLackeyTrace(output, input);
  } catch (e) {
    if (e instanceof StraceParseError || e instanceof LackeyParseError || e instanceof TraceFormatError) throw new UsageError(e.message);
    const err = e as NodeJS.ErrnoException;
    if (err.code && err.syscall === 'open') throw new UsageError(`${err.path ?? output}: cannot write: ${err.code}`);
    throw e;
  }
  const r = h.records;
  const bytes = statSync(output).size;
  const what = kind === 'strace' ? `${r.calls} calls of ${h.threads.length} threads` : `${r.instructions} instructions, ${r.loads} loads, ${r.stores} stores, ${r.modifies} modifies, ${r.markers} markers`;
  out(ctx, `${output}: ${what}; ${h.source.bytes} bytes -> ${bytes} (${(h.source.bytes / Math.max(1, bytes)).toFixed(1)}x), ${h.frames} frames, CRC-32 ${h.crc32.toString(16).padStart(8, '0')}`);
  void log;
  return 0;
}
