/**
 * kernsim trace convert and the compact trace format (docs/trace-format.md):
 * both readers convert into it, the replay of a converted file equals the
 * replay of its source, and a damaged file is refused with where and why.
 * samples/malloc-trim.lackey.kst is the converted lackey trace (with
 * --trace-syscalls=yes) of samples/malloc-trim.c: 39.6 MB of text, 57 KB.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../src/config/machine.js';
import { runWorkload } from '../../../src/workloads/run.js';
import {
  compactSource, MemBatch, CompactReader, LackeyReader, parseStrace, readHeader, readTraceCalls, replayWorkload, sniff,
  TraceFormatError, writeLackeyTrace, writeStraceTrace,
} from '../../../src/workloads/replay/index.js';
import { FILL_END } from '../../../src/workloads/replay/lackey-parse.js';
import { cli, expectUsageError } from '../../cli/helpers.js';

const SAMPLES = join(import.meta.dirname, 'samples');
const TOUCH_LACKEY = join(SAMPLES, 'touch.lackey');
const TOUCH_STRACE = join(SAMPLES, 'touch.strace');
const MALLOC_STRACE = join(SAMPLES, 'malloc-trim.strace');
const MALLOC_KST = join(SAMPLES, 'malloc-trim.lackey.kst');

const dir = mkdtempSync(join(tmpdir(), 'kernsim-kst-'));

/** Every access of a source, with the records' counts. */
function drain(src: LackeyReader | CompactReader) {
  const b = new MemBatch(1000);
  const acc: string[] = [];
  const markers: string[] = [];
  let insns = 0;
  for (;;) {
    const r = src.fill(b);
    insns += b.instructions;
    for (let i = 0; i < b.n; i++) acc.push(`${b.writes[i]}:${b.addrs[i]!.toString(16)}:${b.sizes[i]}`);
    if (b.marker) markers.push(JSON.stringify(b.marker));
    if (r === FILL_END) break;
  }
  src.close();
  return { acc, markers, insns };
}

describe('the compact trace format', () => {
  it('holds a lackey trace\'s records, markers and counts, split at the replaying machine\'s lines as the text reader splits them', () => {
    const out = join(dir, 'touch.kst');
    const h = writeLackeyTrace(out, TOUCH_LACKEY);
    expect(h.records).toEqual({ calls: 0, instructions: 249, loads: 16, stores: 25, modifies: 0, markers: 5 });
    expect([h.version, h.page_size, h.threads, h.source.kind, h.compression]).toEqual([1, 4096, [1], 'lackey', 'deflate-raw']);
    expect(readHeader(out).header).toEqual(h);
    expect(sniff(out)).toBe('kst');
    expect(sniff(TOUCH_LACKEY)).toBe('lackey');
    expect(sniff(TOUCH_STRACE)).toBe('strace');
    for (const line of [64, 16]) expect(drain(new CompactReader(out, line))).toEqual(drain(new LackeyReader(TOUCH_LACKEY, line)));
  });

  it('holds an strace log\'s calls, read back equal', () => {
    const out = join(dir, 'touch-calls.kst');
    const text = readFileSync(TOUCH_STRACE, 'utf8');
    const h = writeStraceTrace(out, parseStrace(text, TOUCH_STRACE), { file: TOUCH_STRACE, bytes: text.length });
    expect(h.records.calls).toBe(7);
    expect(h.threads).toEqual([29244]);
    expect(readTraceCalls(out)).toEqual(parseStrace(text, TOUCH_STRACE));
  });

  it('replays a converted pair exactly as its sources (the stored glibc malloc_trim trace: 1,466,451 instructions)', () => {
    const calls = join(dir, 'malloc-calls.kst');
    const text = readFileSync(MALLOC_STRACE, 'utf8');
    writeStraceTrace(calls, parseStrace(text, MALLOC_STRACE), { file: MALLOC_STRACE, bytes: text.length });
    const run = (strace: { text?: string; calls?: ReturnType<typeof parseStrace>; file: string }) => {
      const w = replayWorkload({ strace, memory: compactSource(MALLOC_KST), gaps: true, cpi: 0.25 });
      return { figures: runWorkload(w.workload, {}, defaultConfig()).figures!, mem: w.mem! };
    };
    const a = run({ text, file: MALLOC_STRACE });
    const b = run({ calls: readTraceCalls(calls), file: calls });
    expect(b.figures).toEqual(a.figures);
    const h = readHeader(MALLOC_KST).header;
    // Every record of lackey's trace is replayed: its counts are lackey's (guest instrs 1,466,451).
    expect(h.records).toEqual({ calls: 0, instructions: 1466451, loads: 34483, stores: 1324229, modifies: 1684, markers: 24 });
    expect([a.mem.instructions, a.mem.loads, a.mem.stores, a.mem.modifies]).toEqual([1466451, 34483, 1324229, 1684]);
    expect(a.mem.accesses).toBe(34483 + 1324229 + 1684 + a.mem.splits);
    expect(a.mem.splits).toBe(47);
    // valgrind's preload library's mappings (openat of vgpreload_core, its mmaps) have no call in the log.
    expect([a.mem.markers, a.mem.markersMatched]).toEqual([24, 19]);
    expect(a.figures['results_differing']).toBe(17);
  });

  it('refuses a damaged file, a cut one and another version with where and why', () => {
    const good = join(dir, 'touch2.kst');
    writeLackeyTrace(good, TOUCH_LACKEY);
    const bytes = readFileSync(good);
    const flip = Buffer.from(bytes);
    flip[flip.length - 40]! ^= 0xff;
    const bad = join(dir, 'flipped.kst');
    writeFileSync(bad, flip);
    expect(() => drain(new CompactReader(bad))).toThrow(TraceFormatError);
    expect(() => drain(new CompactReader(bad))).toThrow(new RegExp(`^${bad}:frame 1: expected .*\\(the file is damaged or cut short: convert it again\\)$`));
    const cut = join(dir, 'cut.kst');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 12));
    expect(() => drain(new CompactReader(cut))).toThrow(`${cut}:frame 2: expected a frame header of 12 bytes`);
    const v2 = join(dir, 'v2.kst');
    writeFileSync(v2, Buffer.concat([Buffer.from('kernsim-trace 2'), bytes.subarray(15)]));
    expect(() => new CompactReader(v2)).toThrow(`${v2}:1: expected format version 1, found 2 (convert the source again)`);
    expect(() => readTraceCalls(good)).toThrow(/expected a converted strace log, found a converted lackey trace/);
  });
});

describe('kernsim trace convert (CLI)', () => {
  it('converts, and replay takes the converted file in either option', async () => {
    const out = join(dir, 'cli.kst');
    const r = await cli(['trace', 'convert', TOUCH_LACKEY, out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/cli\.kst: 249 instructions, 16 loads, 25 stores, 0 modifies, 5 markers; 5366 bytes -> \d+/);
    const calls = join(dir, 'cli-calls.kst');
    expect((await cli(['trace', 'convert', TOUCH_STRACE, calls])).stdout).toContain('7 calls of 1 threads');
    const a = JSON.parse((await cli(['replay', '--strace', TOUCH_STRACE, '--lackey', TOUCH_LACKEY, '--json'])).stdout) as { figures: object };
    const b = JSON.parse((await cli(['replay', '--strace', calls, '--lackey', out, '--json'])).stdout) as { figures: object };
    expect(b.figures).toEqual(a.figures);
  });

  it('exits 2 on input that is neither log nor trace', async () => {
    const junk = join(dir, 'junk.txt');
    writeFileSync(junk, 'hello\n');
    expect(expectUsageError(await cli(['trace', 'convert', junk, join(dir, 'x.kst')]))).toMatch(/junk\.txt:1: expected an strace log \(strace -f -ttt -T\) or a lackey trace/);
    expect(expectUsageError(await cli(['trace', 'convert', '/nonexistent/a', join(dir, 'x.kst')]))).toMatch(/cannot read: .*\(ENOENT\)/);
  });
});


