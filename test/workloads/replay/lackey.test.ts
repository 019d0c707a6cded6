/**
 * kernsim replay --lackey: the streaming reader on lackey's line forms and
 * valgrind's SYSCALL markers, the replay of a stored trace of
 * samples/touch.c (a program without a C library: 249 instructions) alone
 * and interleaved with its strace log, and the CLI's errors.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../src/config/machine.js';
import { runWorkload } from '../../../src/workloads/run.js';
import { FILL_END, FILL_MARKER } from '../../../src/workloads/replay/lackey-parse.js';
import { LackeyParseError, LackeyReader, lackeySource, MemBatch, replayWorkload } from '../../../src/workloads/replay/index.js';
import { cli, expectUsageError } from '../../cli/helpers.js';

const SAMPLES = join(import.meta.dirname, 'samples');
const TOUCH_LACKEY = join(SAMPLES, 'touch.lackey');
const TOUCH_STRACE = join(SAMPLES, 'touch.strace');

function tmp(name: string, text: string): string {
  const f = join(mkdtempSync(join(tmpdir(), 'kernsim-lackey-')), name);
  writeFileSync(f, text);
  return f;
}

/** All batches of a file, read with a small chunk so that lines straddle reads. */
function readAll(file: string, chunk = 64) {
  const r = new LackeyReader(file, 64, chunk);
  const b = new MemBatch(8);
  const out: { addrs: number[]; writes: number[]; insns: number; marker: string | null }[] = [];
  for (;;) {
    const res = r.fill(b);
    out.push({ addrs: [...b.addrs.slice(0, b.n)], writes: [...b.writes.slice(0, b.n)], insns: b.instructions, marker: b.marker ? `${b.marker.name} ${b.marker.args.join(',')} = ${b.marker.ret}` : null });
    if (res === FILL_END) break;
    if (res === FILL_MARKER) expect(b.marker).not.toBeNull();
  }
  r.close();
  return out;
}

describe('lackey reader', () => {
  it('reads I/L/S/M records, splits a line-crossing access, skips valgrind\'s own lines and ends batches at memory-call markers (async ones joined)', () => {
    const f = tmp('a.lackey', [
      '==1== Lackey, an example Valgrind tool',
      'I  0401ab70,3',
      ' L 1fff000698,8',
      ' S 00001000,4',
      ' M 0000103e,4', // crosses the line at 0x1040
      'SYSCALL[5,1](9) sys_mmap ( 0x0, 65536, 3, 34, -1, 0 ) --> [pre-success] Success(0x4800000) ',
      'SYSCALL[5,1](28) sys_madvise ( 0x4808000, 32768, 4 ) --> [async] ... ',
      'SYSCALL[5,1](28) ... [async] --> Success(0x0) ',
      'SYSCALL[5,1](334) unimplemented (by the kernel) syscall: 334! (ni_syscall)',
      ' --> [pre-fail] Failure(0x26) ',
      'SYSCALL[5,1](3) sys_close ( 4 )[sync] --> Success(0x0) ',
      'I  04000000,2',
      ' L 00002000,1', // no newline at the end
    ].join('\n'));
    const batches = readAll(f);
    expect(batches).toEqual([
      { addrs: [0x1fff000698, 0x1000, 0x103e, 0x1040], writes: [0, 1, 2, 2], insns: 1, marker: 'mmap 0,65536,3,34,-1,0 = 75497472' },
      { addrs: [], writes: [], insns: 0, marker: 'madvise 75530240,32768,4 = 0' },
      { addrs: [0x2000], writes: [0], insns: 1, marker: null },
    ]);
  });

  it('names the file and line of a malformed record', () => {
    const bad = (text: string, line: number, what: RegExp) => {
      const f = tmp('b.lackey', text);
      expect(() => readAll(f)).toThrow(LackeyParseError);
      expect(() => readAll(f)).toThrow(new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${line}: expected ${what.source}`));
    };
    bad('I  1000,4\n X 1000,4\n', 2, /a lackey record/);
    bad(' L zz,4\n', 1, /an address in hex, then ",SIZE"/);
    bad(' L 1000,\n', 1, /a size in bytes after the comma/);
    bad(' L 1000,4x\n', 1, /a size in bytes after the comma/);
    bad('1 1.0 brk(NULL) = 0x1000 <0.1>\n', 1, /a lackey record/);
  });
});

function replay(opts: { strace?: boolean; cpi?: number }) {
  const w = replayWorkload({
    strace: opts.strace ? { text: readFileSync(TOUCH_STRACE, 'utf8'), file: TOUCH_STRACE } : undefined,
    memory: lackeySource(TOUCH_LACKEY),
    gaps: true,
    cpi: opts.cpi ?? 0.25,
  });
  const result = runWorkload(w.workload, {}, defaultConfig());
  return { result, mem: w.mem!, tally: w.tally };
}

/** The records of a lackey file by kind, and lackey's own instruction count ("guest instrs"). */
function lackeyCounts(file: string) {
  const text = readFileSync(file, 'utf8');
  const count = (re: RegExp) => (text.match(re) ?? []).length;
  const guest = /guest instrs:\s+([\d,]+)/.exec(text);
  return { I: count(/^I {2}/gm), L: count(/^ L /gm), S: count(/^ S /gm), M: count(/^ M /gm), guest: guest ? Number(guest[1]!.replace(/,/g, '')) : -1 };
}

describe('replay of the stored trace of samples/touch.c', () => {
  it('alone: every record counted as lackey counted it, the unmapped addresses mapped on first touch', () => {
    const { result, mem } = replay({});
    const c = lackeyCounts(TOUCH_LACKEY);
    expect(c).toEqual({ I: 249, L: 16, S: 25, M: 0, guest: 249 });
    expect([mem.instructions, mem.loads, mem.stores, mem.modifies, mem.splits]).toEqual([c.I, c.L, c.S, c.M, 0]);
    expect(mem.accesses).toBe(41);
    // The 16-page mapping, the 4 heap pages and the stack: not mapped without the strace log, each its 64 KiB block.
    expect(mem.firstTouchMaps).toBe(3);
    expect(mem.firstTouchPages).toBe(48);
    expect(mem.refused).toEqual({});
    // 249 instructions at 0.25 cycles: 62 (the quarter carries).
    expect(result.figures!['instruction_cycles']).toBe(62);
    const node = result.breakdown.children.find((n) => n.name === 'user:instructions');
    expect(node?.inclusive).toBe(62);
    expect(result.figures!['trace_accesses']).toBe(41);
  });

  it('with its strace log: each of valgrind\'s 5 memory calls matched, addresses moved to the log\'s, the DONTNEED refaults and the heap replayed', () => {
    const { result, mem, tally } = replay({ strace: true });
    expect(tally.mismatches).toEqual([]);
    expect([mem.markers, mem.markersMatched]).toEqual([5, 5]);
    expect(mem.accesses).toBe(41);
    // Only the stack (set up by valgrind and execve, in no call of the log) is mapped on first touch.
    expect([mem.firstTouchMaps, mem.firstTouchPages]).toEqual([1, 16]);
    // Faults: 16 first writes, 8 reads of the pages MADV_DONTNEED dropped, 4 heap pages, and the stack's (its first-touch probe, then its page).
    expect(mem.faults).toBe(30);
    expect(result.figures!['results_differing']).toBe(0);
    expect(result.counters['syscall_madvise']).toBe(1);
  });

  it('--cpi sets the cycles per instruction record', () => {
    expect(replay({ cpi: 1 }).mem.instructionCycles).toBe(249);
    expect(replay({ cpi: 0 }).mem.instructionCycles).toBe(0);
  });
});

describe('kernsim replay --lackey (CLI)', () => {
  it('runs a trace as an ordinary run result (--json)', async () => {
    const r = await cli(['replay', '--lackey', TOUCH_LACKEY, '--strace', TOUCH_STRACE, '--json']);
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout) as { workload: string; figures: Record<string, number> };
    expect(res.workload).toBe('replay');
    expect(res.figures['trace_accesses']).toBe(41);
    expect(res.figures['markers_matched']).toBe(5);
    expect(r.stderr).toContain('memory trace: 249 instructions (0.25 cycles each), 16 loads, 25 stores, 0 modifies');
  });

  it('exits 2 with file:line on a malformed trace, and with the reason for a file it cannot read', async () => {
    const bad = tmp('bad.lackey', 'I  1000,4\n L 1000;4\n');
    expect(expectUsageError(await cli(['replay', '--lackey', bad]))).toMatch(new RegExp(`${bad}:2: expected an address in hex, then ",SIZE"`));
    expect(expectUsageError(await cli(['replay', '--lackey', '/nonexistent/x.lackey']))).toMatch(/\/nonexistent\/x\.lackey: cannot read: .*\(ENOENT\)/);
    expect(expectUsageError(await cli(['replay', '--lackey', TOUCH_LACKEY, '--cpi', '-1']))).toMatch(/--cpi must be a number >= 0/);
  });
});

describe('replay results are ordinary run results (sweep, compare)', () => {
  it('sweeps the stored touch.c pair over machines and advice: MADV_FREE leaves the 8 pages mapped, so their reads do not refault', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kernsim-sweep-'));
    const out = join(dir, 's.json');
    const r = await cli(['sweep', 'replay', '--strace', TOUCH_STRACE, '--lackey', TOUCH_LACKEY, '--grid', 'machine=desktop-4,server-64', '--grid', 'advice=MADV_DONTNEED,MADV_FREE', '--jobs', '1', '--out', out]);
    expect(r.code).toBe(0);
    const s = JSON.parse(readFileSync(out, 'utf8')) as { points: { point: Record<string, string>; result: { figures: Record<string, number> } }[] };
    expect(s.points.map((p) => [p.point['machine'], p.point['advice'], p.result.figures['trace_faults'], p.result.figures['results_differing']])).toEqual([
      ['desktop-4', 'MADV_DONTNEED', 30, 0],
      ['desktop-4', 'MADV_FREE', 22, 0],
      ['server-64', 'MADV_DONTNEED', 30, 0],
      ['server-64', 'MADV_FREE', 22, 0],
    ]);
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.json');
    expect((await cli(['replay', '--strace', TOUCH_STRACE, '--lackey', TOUCH_LACKEY, '--out', a])).code).toBe(0);
    expect((await cli(['replay', '--strace', TOUCH_STRACE, '--lackey', TOUCH_LACKEY, '--advice', 'MADV_FREE', '--machine', 'server-64', '--out', b])).code).toBe(0);
    const c = await cli(['compare', a, b]);
    expect(c.code).toBe(0);
    expect(c.stdout).toContain('trace_faults');
  });
});
