/**
 * kernsim's compact trace format (docs/trace-format.md): what `kernsim trace
 * convert` writes from an strace log or a lackey trace, and what replay reads
 * fastest. A header (format version, page size, thread ids, source, counts,
 * checksum), then frames of records, each compressed with deflate (Node's
 * zlib) and carrying the CRC-32 of its records; the header holds the CRC-32
 * of all of them. Frames are inflated one at a time: a trace never sits in
 * memory, written or read.
 */
import { closeSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';
import { PAGE_SIZE } from '../../kernel/mm/mm_types.js';
import { FILL_END, FILL_FULL, FILL_MARKER, LackeyReader, MemBatch, type FillResult, type LackeyMarker, type MemSource } from './lackey-parse.js';
import type { StraceCall } from './strace-parse.js';

export const TRACE_MAGIC = 'kernsim-trace';
export const TRACE_VERSION = 1;
/** Bytes of the first line: `kernsim-trace VERSION HEADER_BYTES`, padded. */
const LEAD_BYTES = 40;
const FRAME_HEAD = 12;
/** Records per frame before it is compressed and written. */
const FRAME_RAW_BYTES = 1 << 20;

const BLOCK_ACCESSES = 1;
const BLOCK_MARKER = 2;
const BLOCK_CALL = 3;
const SIZE_ESCAPE = 63;

export interface TraceHeader {
  format: typeof TRACE_MAGIC;
  version: number;
  page_size: number;
  /** What was converted: 'strace' or 'lackey', its file name and size. */
  source: { kind: 'strace' | 'lackey'; file: string; bytes: number };
  /** Thread ids: the log's pids (strace), valgrind's thread ids of the markers (lackey; 1 is the main thread). */
  threads: number[];
  compression: 'deflate-raw';
  records: { calls: number; instructions: number; loads: number; stores: number; modifies: number; markers: number };
  frames: number;
  /** CRC-32 of every frame's uncompressed records, in order (zlib.crc32, chained). */
  crc32: number;
}

export class TraceFormatError extends Error {
  constructor(
    readonly file: string,
    readonly where: string,
    readonly expected: string,
  ) {
    super(`${file}:${where}: ${expected}`);
  }
}

/** 'kst' for our format, else a guess from the first line that is not valgrind's: 'strace', 'lackey', or null. */
export function sniff(file: string): 'kst' | 'strace' | 'lackey' | null {
  const fd = openSync(file, 'r');
  const buf = Buffer.alloc(65536);
  const n = readSync(fd, buf, 0, buf.length, 0);
  closeSync(fd);
  const text = buf.toString('latin1', 0, n);
  if (text.startsWith(`${TRACE_MAGIC} `)) return 'kst';
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('==')) continue;
    if (/^(I {2}| [LSM] )[0-9a-fA-F]+,\d+/.test(line) || line.startsWith('SYSCALL[')) return 'lackey';
    if (/^(\d+\s+)?\d+\.\d+\s+/.test(line)) return 'strace';
    return null;
  }
  return null;
}

/** Appends records to a growing buffer and writes it out a frame at a time. */
class FrameWriter {
  private buf = Buffer.allocUnsafe(FRAME_RAW_BYTES + 65536);
  private len = 0;
  frames = 0;
  crc = 0;
  private pos: number;

  constructor(
    private readonly fd: number,
    start: number,
  ) {
    this.pos = start;
  }

  private room(bytes: number): void {
    if (this.len + bytes <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + bytes));
    this.buf.copy(bigger, 0, 0, this.len);
    this.buf = bigger;
  }

  byte(v: number): void {
    this.room(1);
    this.buf[this.len++] = v;
  }

  /** An unsigned LEB128 varint (exact up to 2^53). */
  varint(v: number): void {
    this.room(8);
    const b = this.buf;
    while (v >= 128) {
      b[this.len++] = (v % 128) | 128;
      v = Math.floor(v / 128);
    }
    b[this.len++] = v;
  }

  bytes(data: Buffer): void {
    this.varint(data.length);
    this.room(data.length);
    data.copy(this.buf, this.len);
    this.len += data.length;
  }

  /** Writes the frame if it is full enough (or `force`, at the end). */
  flush(force = false): void {
    if (this.len === 0 || (!force && this.len < FRAME_RAW_BYTES)) return;
    const raw = this.buf.subarray(0, this.len);
    const frameCrc = crc32(raw);
    this.crc = crc32(raw, this.crc);
    // A frame deflate would not shrink by a quarter (random addresses) is stored as is: inflating it would cost more than reading the bytes saved.
    const deflated = deflateRawSync(raw, { level: 6 });
    const packed = deflated.length < raw.length * 0.75 ? deflated : raw;
    const head = Buffer.alloc(FRAME_HEAD);
    head.writeUInt32LE(this.len, 0);
    head.writeUInt32LE(packed.length, 4);
    head.writeUInt32LE(frameCrc, 8);
    this.pos += writeSync(this.fd, head, 0, FRAME_HEAD, this.pos);
    this.pos += writeSync(this.fd, packed, 0, packed.length, this.pos);
    this.frames++;
    this.len = 0;
  }

  /** The end frame (all zero). */
  end(): void {
    this.flush(true);
    this.pos += writeSync(this.fd, Buffer.alloc(FRAME_HEAD), 0, FRAME_HEAD, this.pos);
  }
}

function headerBytesFor(threads: number): number {
  return Math.ceil((1024 + threads * 12) / 4096) * 4096;
}

function writeHeader(fd: number, h: TraceHeader, headerBytes: number, file: string): void {
  const json = JSON.stringify(h);
  const lead = `${TRACE_MAGIC} ${TRACE_VERSION} ${headerBytes}`.padEnd(LEAD_BYTES - 1) + '\n';
  const text = lead + json + '\n';
  if (text.length > headerBytes) throw new Error(`${file}: header of ${text.length} bytes does not fit ${headerBytes}`);
  writeSync(fd, text.padEnd(headerBytes, ' '), 0, 'latin1');
}

/** Converts an strace log (already parsed) into the format. */
export function writeStraceTrace(out: string, calls: readonly StraceCall[], source: { file: string; bytes: number }): TraceHeader {
  const threads = [...new Set(calls.map((c) => c.pid))];
  const headerBytes = headerBytesFor(threads.length);
  const fd = openSync(out, 'w');
  try {
    const w = new FrameWriter(fd, headerBytes);
    for (const c of calls) {
      w.byte(BLOCK_CALL);
      w.bytes(Buffer.from(JSON.stringify(c)));
      w.flush();
    }
    w.end();
    const h: TraceHeader = {
      format: TRACE_MAGIC, version: TRACE_VERSION, page_size: PAGE_SIZE, source: { kind: 'strace', ...source }, threads, compression: 'deflate-raw',
      records: { calls: calls.length, instructions: 0, loads: 0, stores: 0, modifies: 0, markers: 0 }, frames: w.frames, crc32: w.crc,
    };
    writeHeader(fd, h, headerBytes, out);
    return h;
  } finally {
    closeSync(fd);
  }
}

/** Converts a lackey trace into the format, streaming. Throws LackeyParseError on a malformed trace. */
export function writeLackeyTrace(out: string, lackeyFile: string): TraceHeader {
  const headerBytes = 4096;
  // No line size: records keep their own address and size; the reader splits them for the machine it replays on.
  const reader = new LackeyReader(lackeyFile, 2 ** 52);
  const fd = openSync(out, 'w');
  const rec = { calls: 0, instructions: 0, loads: 0, stores: 0, modifies: 0, markers: 0 };
  const tids = new Set<number>();
  try {
    const w = new FrameWriter(fd, headerBytes);
    const b = new MemBatch();
    let prev = 0;
    for (;;) {
      const r = reader.fill(b);
      rec.instructions += b.instructions;
      rec.loads += b.loads;
      rec.stores += b.stores;
      rec.modifies += b.modifies;
      if (b.n > 0 || b.instructions > 0) {
        w.byte(BLOCK_ACCESSES);
        w.varint(b.instructions);
        w.varint(b.n);
        const { addrs, writes, sizes } = b;
        for (let i = 0; i < b.n; i++) {
          const size = sizes[i]!;
          w.byte(writes[i]! | ((size < SIZE_ESCAPE ? size : SIZE_ESCAPE) << 2));
          if (size >= SIZE_ESCAPE) w.varint(size);
          const a = addrs[i]!;
          const d = a - prev;
          w.varint(d >= 0 ? d * 2 : -d * 2 - 1);
          prev = a;
        }
      }
      if (r === FILL_MARKER && b.marker) {
        rec.markers++;
        tids.add(b.marker.tid);
        w.byte(BLOCK_MARKER);
        w.bytes(Buffer.from(JSON.stringify(b.marker)));
      }
      w.flush();
      if (r === FILL_END) break;
    }
    w.end();
    const h: TraceHeader = {
      format: TRACE_MAGIC, version: TRACE_VERSION, page_size: PAGE_SIZE, source: { kind: 'lackey', file: lackeyFile, bytes: statSync(lackeyFile).size },
      threads: tids.size > 0 ? [...tids].sort((x, y) => x - y) : [1], compression: 'deflate-raw', records: rec, frames: w.frames, crc32: w.crc,
    };
    writeHeader(fd, h, headerBytes, out);
    return h;
  } finally {
    reader.close();
    closeSync(fd);
  }
}

/** Reads the header; throws TraceFormatError unless the file is this format's version. */
export function readHeader(file: string): { header: TraceHeader; bytes: number } {
  const fd = openSync(file, 'r');
  try {
    const lead = Buffer.alloc(LEAD_BYTES);
    readSync(fd, lead, 0, LEAD_BYTES, 0);
    const m = /^kernsim-trace (\d+) (\d+)\s*\n$/.exec(lead.toString('latin1'));
    if (!m) throw new TraceFormatError(file, '1', `expected "${TRACE_MAGIC} VERSION BYTES" (a file of kernsim trace convert)`);
    if (Number(m[1]) !== TRACE_VERSION) throw new TraceFormatError(file, '1', `expected format version ${TRACE_VERSION}, found ${m[1]} (convert the source again)`);
    const bytes = Number(m[2]);
    const rest = Buffer.alloc(bytes - LEAD_BYTES);
    readSync(fd, rest, 0, rest.length, LEAD_BYTES);
    let header: TraceHeader;
    try {
      header = JSON.parse(rest.toString('utf8').trimEnd()) as TraceHeader;
    } catch {
      throw new TraceFormatError(file, '2', 'expected the header as one line of JSON');
    }
    if (header.page_size !== PAGE_SIZE) throw new TraceFormatError(file, '2', `expected page_size ${PAGE_SIZE}, found ${header.page_size}`);
    return { header, bytes };
  } finally {
    closeSync(fd);
  }
}

/** Reads the frames in order, checking each one's CRC-32 and, at the end, the header's. */
class FrameReader {
  private fd: number;
  private pos: number;
  private crc = 0;
  private frame = 0;
  private done = false;
  private readonly head = Buffer.alloc(FRAME_HEAD);

  constructor(
    readonly file: string,
    readonly header: TraceHeader,
    start: number,
  ) {
    this.fd = openSync(file, 'r');
    this.pos = start;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  private damaged(what: string): never {
    this.close();
    throw new TraceFormatError(this.file, `frame ${this.frame}`, `${what} (the file is damaged or cut short: convert it again)`);
  }

  /** The next frame's records, or null after the end frame. */
  next(): Buffer | null {
    if (this.done) return null;
    this.frame++;
    if (readSync(this.fd, this.head, 0, FRAME_HEAD, this.pos) !== FRAME_HEAD) this.damaged('expected a frame header of 12 bytes');
    this.pos += FRAME_HEAD;
    const rawLen = this.head.readUInt32LE(0);
    const packedLen = this.head.readUInt32LE(4);
    const frameCrc = this.head.readUInt32LE(8);
    if (rawLen === 0 && packedLen === 0) {
      this.done = true;
      if (this.frame - 1 !== this.header.frames || this.crc !== this.header.crc32) {
        this.damaged(`expected ${this.header.frames} frames of CRC-32 ${this.header.crc32}, found ${this.frame - 1} of ${this.crc}`);
      }
      this.close();
      return null;
    }
    const packed = Buffer.allocUnsafe(packedLen);
    if (readSync(this.fd, packed, 0, packedLen, this.pos) !== packedLen) this.damaged(`expected ${packedLen} compressed bytes`);
    this.pos += packedLen;
    let raw: Buffer;
    if (packedLen === rawLen) raw = packed; // stored as is
    else {
      try {
        raw = inflateRawSync(packed);
      } catch {
        this.damaged('expected deflate-compressed records');
      }
    }
    if (raw.length !== rawLen || crc32(raw) !== frameCrc) this.damaged(`expected ${rawLen} bytes of CRC-32 ${frameCrc}`);
    this.crc = crc32(raw, this.crc);
    return raw;
  }
}

/** The strace calls of a converted log, in the order they completed. */
export function readTraceCalls(file: string): StraceCall[] {
  const { header, bytes } = readHeader(file);
  if (header.source.kind !== 'strace') throw new TraceFormatError(file, '2', `expected a converted strace log, found a converted ${header.source.kind} trace (give it to --lackey)`);
  const fr = new FrameReader(file, header, bytes);
  const calls: StraceCall[] = [];
  for (let raw = fr.next(); raw; raw = fr.next()) {
    let i = 0;
    while (i < raw.length) {
      if (raw[i] !== BLOCK_CALL) throw new TraceFormatError(file, 'records', `expected a call record, found block type ${raw[i]}`);
      i++;
      let len = 0;
      let mul = 1;
      while (raw[i]! >= 128) {
        len += (raw[i++]! - 128) * mul;
        mul *= 128;
      }
      len += raw[i++]! * mul;
      calls.push(JSON.parse(raw.toString('utf8', i, i + len)) as StraceCall);
      i += len;
    }
  }
  return calls;
}

/** A converted lackey trace as a memory source: the records split at the replaying machine's cache lines, as the lackey reader does. */
export class CompactReader implements MemSource {
  private readonly frames: FrameReader;
  private raw: Buffer | null = null;
  private i = 0;
  /** Records left in the current accesses block. */
  private left = 0;
  private prev = 0;
  private ended = false;

  constructor(
    readonly file: string,
    private readonly lineBytes = 64,
  ) {
    const { header, bytes } = readHeader(file);
    if (header.source.kind !== 'lackey') throw new TraceFormatError(file, '2', `expected a converted lackey trace, found a converted ${header.source.kind} log (give it to --strace)`);
    this.frames = new FrameReader(file, header, bytes);
  }

  close(): void {
    this.frames.close();
  }

  private varint(): number {
    const raw = this.raw!;
    let v = 0;
    let mul = 1;
    let c: number;
    while ((c = raw[this.i++]!) >= 128) {
      v += (c - 128) * mul;
      mul *= 128;
    }
    return v + c * mul;
  }

  fill(b: MemBatch): FillResult {
    b.reset();
    if (this.ended) return FILL_END;
    const cap = b.capacity - 1;
    const { addrs, writes, sizes } = b;
    const lineBytes = this.lineBytes;
    let n = 0;
    let loads = 0;
    let stores = 0;
    let modifies = 0;
    let splits = 0;
    for (;;) {
      if (this.left > 0) {
        const raw = this.raw!;
        let i = this.i;
        let prev = this.prev;
        let left = this.left;
        while (left > 0 && n < cap) {
          const tag = raw[i++]!;
          const kind = tag & 3;
          let size = tag >> 2;
          if (size === SIZE_ESCAPE) {
            this.i = i;
            size = this.varint();
            i = this.i;
          }
          // The zigzag delta: up to 28 bits in int arithmetic, the rest (long jumps) in floating point.
          let c = raw[i++]!;
          let z = c & 127;
          if (c >= 128) {
            c = raw[i++]!;
            z |= (c & 127) << 7;
            if (c >= 128) {
              c = raw[i++]!;
              z |= (c & 127) << 14;
              if (c >= 128) {
                c = raw[i++]!;
                z |= (c & 127) << 21;
                if (c >= 128) {
                  let mul = 268435456;
                  while ((c = raw[i++]!) >= 128) {
                    z += (c - 128) * mul;
                    mul *= 128;
                  }
                  z += c * mul;
                }
              }
            }
          }
          const a = prev + (z % 2 === 0 ? z / 2 : -(z + 1) / 2);
          prev = a;
          left--;
          if (kind === 0) loads++;
          else if (kind === 1) stores++;
          else modifies++;
          addrs[n] = a;
          writes[n] = kind;
          sizes[n] = size > 255 ? 255 : size;
          n++;
          const next = (Math.floor(a / lineBytes) + 1) * lineBytes;
          if (size > 1 && a + size > next) {
            addrs[n] = next;
            writes[n] = kind;
            sizes[n] = 0;
            n++;
            splits++;
          }
        }
        this.i = i;
        this.prev = prev;
        this.left = left;
        if (left > 0) break; // the batch is full
      }
      if (this.raw === null || this.i >= this.raw.length) {
        this.raw = this.frames.next();
        this.i = 0;
        if (this.raw === null) {
          this.ended = true;
          b.n = n;
          b.loads = loads;
          b.stores = stores;
          b.modifies = modifies;
          b.splits = splits;
          return FILL_END;
        }
        continue;
      }
      const block = this.raw[this.i++]!;
      if (block === BLOCK_ACCESSES) {
        b.instructions += this.varint();
        this.left = this.varint();
      } else if (block === BLOCK_MARKER) {
        const len = this.varint();
        b.marker = JSON.parse(this.raw.toString('utf8', this.i, this.i + len)) as LackeyMarker;
        this.i += len;
        b.n = n;
        b.loads = loads;
        b.stores = stores;
        b.modifies = modifies;
        b.splits = splits;
        return FILL_MARKER;
      } else {
        throw new TraceFormatError(this.file, 'records', `expected an accesses or marker record, found block type ${block}`);
      }
    }
    b.n = n;
    b.loads = loads;
    b.stores = stores;
    b.modifies = modifies;
    b.splits = splits;
    return FILL_FULL;
  }
}
