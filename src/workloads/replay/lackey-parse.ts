/**
 * A streaming reader of valgrind lackey's memory trace
 * (`valgrind --tool=lackey --trace-mem=yes --log-file=FILE PROGRAM`):
 *
 *   I  0401ab70,3       an instruction fetch (address, bytes)
 *    L 1fff000698,8     a data load
 *    S 1fff000690,8     a data store
 *    M 0025747c,4       a data modify (load and store of one location: one
 *                       access that needs write permission, as the CPU's
 *                       read-modify-write is one translation)
 *
 * The file is read in chunks (readSync into one buffer) and parsed byte by
 * byte into batches of data accesses (MemBatch): a multi-gigabyte trace
 * never sits in memory. An access that crosses a cache line is two accesses
 * (the second at the next line's start, size 0), as the CPU splits it;
 * counted as `split`. Lines valgrind writes about itself (`==PID== ...`) are passed
 * over. With `--trace-syscalls=yes`, valgrind's `SYSCALL[pid,tid](nr)
 * sys_NAME ( args ) --> ... Success(0xRET)` lines of the memory calls
 * (mmap, munmap, mremap, brk, madvise, mprotect) end a batch as a marker:
 * they align the trace with an strace log of the program (lackey-replay.ts).
 * Anything else stops the reader with LackeyParseError (file:line, what was
 * expected).
 */
import { closeSync, openSync, readSync } from 'node:fs';

/** The memory calls whose valgrind SYSCALL lines are markers. */
export const MARKER_CALLS = new Set(['mmap', 'munmap', 'mremap', 'brk', 'madvise', 'mprotect']);

/** A memory call valgrind traced (--trace-syscalls=yes) between two runs of records. */
export interface LackeyMarker {
  /** 1-based line in the trace. */
  line: number;
  /** Thread id valgrind printed (its own numbering: 1 is the main thread). */
  tid: number;
  name: string;
  args: number[];
  /** The result, or -errno on failure. */
  ret: number;
}

export class LackeyParseError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly expected: string,
  ) {
    super(`${file}:${line}: ${expected}`);
  }
}

/** One batch of a memory trace: data accesses in order (address, write flag), and the records they came from. */
export class MemBatch {
  readonly addrs: Float64Array;
  /** Per access: 0 a load, 1 a store, 2 a modify (non-zero: a write). */
  readonly writes: Uint8Array;
  /** Per access: the record's size in bytes (255 for 255 and more). */
  readonly sizes: Uint8Array;
  /** Accesses in the batch. */
  n = 0;
  /** Records in the batch, by kind. */
  instructions = 0;
  loads = 0;
  stores = 0;
  modifies = 0;
  /** Accesses added for records that crossed a cache line. */
  splits = 0;
  /** Set when the batch ended at a marker. */
  marker: LackeyMarker | null = null;

  constructor(readonly capacity = 1 << 16) {
    this.addrs = new Float64Array(capacity);
    this.writes = new Uint8Array(capacity);
    this.sizes = new Uint8Array(capacity);
  }

  reset(): void {
    this.n = this.instructions = this.loads = this.stores = this.modifies = this.splits = 0;
    this.marker = null;
  }
}

/** fill()'s outcomes: the batch is full, it ended at a marker, or the trace ended. */
export const FILL_FULL = 0;
export const FILL_MARKER = 1;
export const FILL_END = 2;
export type FillResult = typeof FILL_FULL | typeof FILL_MARKER | typeof FILL_END;

/** A source of memory-trace batches (lackey text, or the compact format of trace-format.ts). */
export interface MemSource {
  readonly file: string;
  /** Fills `b` (reset first) from the current position. */
  fill(b: MemBatch): FillResult;
  close(): void;
}

const EXPECTED = 'expected a lackey record ("I  ADDR,SIZE", " L ADDR,SIZE", " S ADDR,SIZE" or " M ADDR,SIZE"; capture with valgrind --tool=lackey --trace-mem=yes --log-file=FILE)';
const SYSCALL = /^SYSCALL\[(\d+),(\d+)\]\(\d+\) sys_(\w+) ?\( ?(.*?) ?\)\s*(?:\[sync\])?\s*-->\s*(?:\[[\w-]+\]\s*)?(Success|Failure)\(0x([0-9a-fA-F]+)\)/;
/** A call valgrind runs asynchronously is two lines: `sys_NAME ( args ) --> [async] ...`, then `... [async] --> Success(0xRET)`. */
const ASYNC_START = /^SYSCALL\[(\d+),(\d+)\]\(\d+\) sys_(\w+) ?\( ?(.*?) ?\)\s*-->\s*\[async\] \.\.\./;
const ASYNC_END = /^SYSCALL\[(\d+),(\d+)\]\(\d+\) \.\.\. \[async\] -->\s*(Success|Failure)\(0x([0-9a-fA-F]+)\)/;

const CH_NL = 10;
const CH_SP = 32;
const CH_COMMA = 44;
const CH_EQ = 61;
const CH_I = 73;
const CH_L = 76;
const CH_M = 77;
const CH_S = 83;

/** Hex digit value of a byte, or -1. */
const HEX = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) HEX[48 + c] = c;
for (let c = 0; c < 6; c++) HEX[65 + c] = HEX[97 + c] = 10 + c;

/** Reads a lackey log in chunks. */
export class LackeyReader implements MemSource {
  private fd: number;
  private buf: Buffer;
  /** Parsed up to here; bytes [pos, end) are read but not parsed. */
  private pos = 0;
  private end = 0;
  private eof = false;
  /** 1-based number of the line at pos. */
  private line = 1;
  private readonly lineMask: number;

  constructor(
    readonly file: string,
    lineBytes = 64,
    chunkBytes = 1 << 20,
  ) {
    this.fd = openSync(file, 'r');
    this.buf = Buffer.allocUnsafe(chunkBytes);
    this.lineMask = lineBytes;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  /** Moves the unparsed tail to the front and reads more; false at the end of the file. */
  private refill(): boolean {
    if (this.eof) return false;
    const rest = this.end - this.pos;
    if (rest > 0 && this.pos > 0) this.buf.copyWithin(0, this.pos, this.end);
    if (rest === this.buf.length) {
      // A line longer than the buffer (a long SYSCALL line): grow.
      const bigger = Buffer.allocUnsafe(this.buf.length * 2);
      this.buf.copy(bigger, 0, 0, rest);
      this.buf = bigger;
    }
    this.pos = 0;
    this.end = rest;
    const got = readSync(this.fd, this.buf, rest, this.buf.length - rest, null);
    if (got === 0) {
      this.eof = true;
      return false;
    }
    this.end += got;
    return true;
  }

  fill(b: MemBatch): FillResult {
    b.reset();
    const cap = b.capacity - 1; // room for a split access
    const addrs = b.addrs;
    const writes = b.writes;
    const sizes = b.sizes;
    const lineBytes = this.lineMask;
    let n = 0;
    let instructions = 0;
    let loads = 0;
    let stores = 0;
    let modifies = 0;
    let splits = 0;
    let result: FillResult = FILL_FULL;
    outer: while (n < cap) {
      const buf = this.buf;
      let i = this.pos;
      const end = this.end;
      // Find a whole line [i, nl); at the end of the file the last line may lack its newline.
      const nl = buf.indexOf(CH_NL, i);
      if (nl < 0 || nl >= end) {
        if (this.refill()) continue;
        if (this.pos >= this.end) {
          result = FILL_END;
          break;
        }
        // The last line lacks its newline: give it one.
        if (this.end === this.buf.length) {
          const bigger = Buffer.allocUnsafe(this.buf.length + 1);
          this.buf.copy(bigger, 0, 0, this.end);
          this.buf = bigger;
        }
        this.buf[this.end++] = CH_NL;
        continue;
      }
      const lineNo = this.line;
      this.pos = nl + 1;
      this.line++;
      const c0 = buf[i]!;
      let kind: number;
      if (c0 === CH_SP) {
        kind = buf[i + 1]!;
        if ((kind !== CH_L && kind !== CH_S && kind !== CH_M) || buf[i + 2] !== CH_SP) {
          // The second half of valgrind's line for an unimplemented call (" --> [pre-fail] Failure(0x26)").
          if (buf.toString('latin1', i, Math.min(nl, i + 5)) === ' --> ') continue;
          this.bad(lineNo);
        }
        i += 3;
      } else if (c0 === CH_I) {
        if (buf[i + 1] !== CH_SP || buf[i + 2] !== CH_SP || HEX[buf[i + 3]!]! < 0) this.bad(lineNo);
        instructions++;
        continue;
      } else if (c0 === CH_EQ || nl === i || (c0 === 13 && nl === i + 1)) {
        continue; // valgrind's own lines, empty lines
      } else if (c0 === CH_S && buf.toString('latin1', i, Math.min(nl, i + 8)) === 'SYSCALL[') {
        const m = this.marker(buf.toString('latin1', i, nl), lineNo);
        if (m) {
          b.marker = m;
          result = FILL_MARKER;
          break outer;
        }
        continue;
      } else {
        this.bad(lineNo);
      }
      // ADDR,SIZE
      let addr = 0;
      let digits = 0;
      let d: number;
      while ((d = HEX[buf[i]!]!) >= 0) {
        addr = addr * 16 + d;
        i++;
        digits++;
      }
      if (digits === 0 || buf[i] !== CH_COMMA) this.bad(lineNo, 'an address in hex, then ",SIZE"');
      i++;
      let size = 0;
      let sd = 0;
      let c: number;
      while ((c = buf[i]! - 48) >= 0 && c <= 9 && i < nl) {
        size = size * 10 + c;
        i++;
        sd++;
      }
      if (sd === 0 || (i < nl && buf[i] !== 13)) this.bad(lineNo, 'a size in bytes after the comma');
      let w: number;
      if (kind === CH_L) {
        loads++;
        w = 0;
      } else if (kind === CH_S) {
        stores++;
        w = 1;
      } else {
        modifies++;
        w = 2;
      }
      addrs[n] = addr;
      writes[n] = w;
      sizes[n] = size > 255 ? 255 : size;
      n++;
      // An access that crosses a cache line touches the next line too.
      const next = (Math.floor(addr / lineBytes) + 1) * lineBytes;
      if (size > 1 && addr + size > next) {
        addrs[n] = next;
        writes[n] = w;
        sizes[n] = 0;
        n++;
        splits++;
      }
    }
    b.n = n;
    b.instructions = instructions;
    b.loads = loads;
    b.stores = stores;
    b.modifies = modifies;
    b.splits = splits;
    return result;
  }

  /** Async calls whose result line is still to come, by valgrind thread. */
  private async = new Map<number, { name: string; args: string }>();

  /** A SYSCALL line of a memory call as a marker; null for other calls (and for the first half of an async call). */
  private marker(text: string, line: number): LackeyMarker | null {
    let tid: number;
    let name: string;
    let args: string;
    let ok: boolean;
    let hex: string;
    const m = SYSCALL.exec(text);
    if (m) {
      [tid, name, args, ok, hex] = [Number(m[2]), m[3]!, m[4]!, m[5] === 'Success', m[6]!];
    } else {
      const a = ASYNC_START.exec(text);
      if (a) {
        this.async.set(Number(a[2]), { name: a[3]!, args: a[4]! });
        return null;
      }
      const e = ASYNC_END.exec(text);
      const started = e ? this.async.get(Number(e[2])) : undefined;
      if (!e || !started) return null;
      this.async.delete(Number(e[2]));
      [tid, name, args, ok, hex] = [Number(e[2]), started.name, started.args, e[3] === 'Success', e[4]!];
    }
    if (!MARKER_CALLS.has(name)) return null;
    const nums = args.split(',').map((s) => {
      const t = s.trim().replace(/\(.*$/, '');
      return t.startsWith('0x') ? Number.parseInt(t, 16) : Number(t);
    });
    const v = Number.parseInt(hex, 16);
    return { line, tid, name, args: nums, ret: ok ? v : -v };
  }

  private bad(line: number, what?: string): never {
    this.close();
    throw new LackeyParseError(this.file, line, what === undefined ? EXPECTED : `expected ${what}`);
  }
}
