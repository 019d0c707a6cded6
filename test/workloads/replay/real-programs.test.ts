/**
 * Real programs, captured on this machine by the test (cc, strace, valgrind;
 * jemalloc from Debian's libjemalloc-dev), each replayed with its strace log
 * and its lackey trace interleaved: glibc malloc/free with malloc_trim,
 * the same kind of loop linked with jemalloc purging at once
 * (MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0: a madvise per free), and a
 * program of two threads. Each: every mmap, munmap, madvise and brk of the
 * program's own (not the dynamic loader's file mappings, whose files the
 * simulated file system does not have) replays with the log's result, every
 * call is counted, and the trace's records replayed are lackey's count of
 * them. The stored samples (samples/*.strace, *.lackey.kst, captured the
 * same way) keep the same checks where the tools are missing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../src/config/machine.js';
import { runWorkload } from '../../../src/workloads/run.js';
import { compactSource, lackeySource, parseStrace, readHeader, replayWorkload, type StraceCall } from '../../../src/workloads/replay/index.js';

const SAMPLES = join(import.meta.dirname, 'samples');

function tool(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}

const JEMALLOC_CONF = 'dirty_decay_ms:0,muzzy_decay_ms:0';
const missing = ['cc', 'strace', 'valgrind'].filter((t) => !tool(t));
const noJemalloc = !existsSync('/usr/include/jemalloc/jemalloc.h') && spawnSync('sh', ['-c', 'echo "int main(void){return 0;}" | cc -x c - -ljemalloc -o /dev/null']).status !== 0;

/** Lackey's own counts of a text trace: records by kind and its "guest instrs" line. */
function lackeyCounts(file: string) {
  const text = readFileSync(file, 'latin1');
  let I = 0;
  let L = 0;
  let S = 0;
  let M = 0;
  for (let i = 0; i < text.length; i = text.indexOf('\n', i) + 1 || text.length) {
    const c0 = text.charCodeAt(i);
    if (c0 === 73) I++;
    else if (c0 === 32) {
      const k = text[i + 1];
      if (k === 'L') L++;
      else if (k === 'S') S++;
      else if (k === 'M') M++;
    }
  }
  const guest = /guest instrs:\s+([\d,]+)/.exec(text);
  return { I, L, S, M, guest: guest ? Number(guest[1]!.replace(/,/g, '')) : -1 };
}

/** The program's own memory calls: anonymous mmaps, munmap, madvise, brk (the loader's file mappings fail without their files). */
function ownMemoryCalls(calls: readonly StraceCall[]): StraceCall[] {
  return calls.filter((c) => c.name === 'brk' || c.name === 'munmap' || c.name === 'madvise' || (c.name === 'mmap' && c.args[4] === '-1'));
}

function replayPair(straceFile: string, memory: ReturnType<typeof lackeySource>) {
  const text = readFileSync(straceFile, 'utf8');
  const calls = parseStrace(text, straceFile);
  const w = replayWorkload({ strace: { text, file: straceFile }, memory, gaps: true, cpi: 0.25 });
  const result = runWorkload(w.workload, {}, defaultConfig());
  return { calls, result, tally: w.tally, mem: w.mem! };
}

/** The checks every program gets: calls accounted for, own memory calls agreeing, records as lackey counted them. */
function checkReplay(r: ReturnType<typeof replayPair>, counts: { I: number; L: number; S: number; M: number }) {
  const { calls, tally, mem } = r;
  const replayed = Object.values(tally.replayed).reduce((a, b) => a + b, 0);
  const unmodelled = Object.values(tally.unmodelled).reduce((a, b) => a + b, 0);
  expect(replayed + unmodelled).toBe(calls.length);
  const own = ownMemoryCalls(calls);
  const differing = new Map(tally.mismatches.map((m) => [m.line, m]));
  for (const c of own) expect(differing.get(c.line), `${c.name} at line ${c.line}`).toBeUndefined();
  for (const name of ['madvise', 'munmap', 'brk']) expect(tally.replayed[name] ?? 0, name).toBe(calls.filter((c) => c.name === name).length);
  expect([mem.instructions, mem.loads, mem.stores, mem.modifies]).toEqual([counts.I, counts.L, counts.S, counts.M]);
  expect(mem.accesses + Object.values(mem.refused).reduce((a, b) => a + b, 0)).toBe(counts.L + counts.S + counts.M + mem.splits);
  return own;
}

describe('stored captures of real programs', () => {
  it('glibc malloc/free/malloc_trim (samples/malloc-trim.*): heap calls agree, 1,466,451 instructions and every access replayed', () => {
    const kst = join(SAMPLES, 'malloc-trim.lackey.kst');
    const h = readHeader(kst).header.records;
    const r = replayPair(join(SAMPLES, 'malloc-trim.strace'), compactSource(kst));
    const own = checkReplay(r, { I: h.instructions, L: h.loads, S: h.stores, M: h.modifies });
    expect(own.length).toBe(11);
    expect(h.instructions).toBe(1466451);
  });

  it('two threads (samples/threads.*): the clone3 threads made, their own calls agree, every record replayed', () => {
    const kst = join(SAMPLES, 'threads.lackey.kst');
    const h = readHeader(kst).header.records;
    const r = replayPair(join(SAMPLES, 'threads.strace'), compactSource(kst));
    checkReplay(r, { I: h.instructions, L: h.loads, S: h.stores, M: h.modifies });
    expect(r.tally.threads).toBe(2);
    expect(r.tally.mismatches.filter((m) => m.pid !== r.calls[0]!.pid)).toEqual([]);
  });

  it('jemalloc purging at once (samples/jemalloc-purge.strace): each free\'s MADV_DONTNEED replays with the log\'s result', () => {
    const file = join(SAMPLES, 'jemalloc-purge.strace');
    const text = readFileSync(file, 'utf8');
    const calls = parseStrace(text, file);
    const w = replayWorkload({ strace: { text, file }, gaps: true, cpi: 0.25 });
    runWorkload(w.workload, {}, defaultConfig());
    const advised = calls.filter((c) => c.name === 'madvise');
    expect(advised.filter((c) => c.args[2] === 'MADV_DONTNEED').length).toBeGreaterThanOrEqual(8);
    expect(w.tally.replayed['madvise']).toBe(advised.length);
    const differing = new Set(w.tally.mismatches.map((m) => m.line));
    for (const c of ownMemoryCalls(calls)) expect(differing.has(c.line), `${c.name} at line ${c.line}`).toBe(false);
  });
});

const reason = missing.length > 0 ? `${missing.join(', ')} not installed` : null;

describe.skipIf(reason !== null)(`captured on this host (${reason ?? 'cc, strace and valgrind present'})`, () => {
  /** Builds `src` and captures it with strace and with lackey (--trace-syscalls for the markers); null when ptrace is refused. */
  function capture(src: string, ccArgs: string[], env: NodeJS.ProcessEnv = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'kernsim-real-'));
    const prog = join(dir, 'prog');
    execFileSync('cc', ['-O1', '-o', prog, join(SAMPLES, src), ...ccArgs]);
    const straceFile = join(dir, 'prog.strace');
    const lackeyFile = join(dir, 'prog.lackey');
    const runEnv = { ...process.env, ...env };
    const st = spawnSync('strace', ['-f', '-ttt', '-T', '-o', straceFile, prog], { cwd: dir, env: runEnv });
    if (st.status !== 0) {
      console.warn(`capture skipped: strace exited ${st.status}: ${String(st.stderr).trim()}`);
      return null;
    }
    const vg = spawnSync('valgrind', ['--tool=lackey', '--trace-mem=yes', '--trace-syscalls=yes', `--log-file=${lackeyFile}`, prog], { cwd: dir, env: runEnv });
    if (vg.status !== 0) {
      console.warn(`capture skipped: valgrind exited ${vg.status}: ${String(vg.stderr).trim()}`);
      return null;
    }
    return { straceFile, lackeyFile };
  }

  it('glibc malloc, free and malloc_trim', () => {
    const c = capture('malloc-trim.c', []);
    if (!c) return;
    const counts = lackeyCounts(c.lackeyFile);
    expect(counts.I).toBe(counts.guest);
    const r = replayPair(c.straceFile, lackeySource(c.lackeyFile));
    expect(checkReplay(r, counts).length).toBeGreaterThanOrEqual(5);
    expect(r.mem.markersMatched).toBeGreaterThan(0);
  }, 300_000);

  it.skipIf(noJemalloc)('jemalloc with MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0: a madvise per free, each replayed with the log\'s result', () => {
    const c = capture('jemalloc-purge.c', ['-ljemalloc'], { MALLOC_CONF: JEMALLOC_CONF });
    if (!c) return;
    const counts = lackeyCounts(c.lackeyFile);
    expect(counts.I).toBe(counts.guest);
    const r = replayPair(c.straceFile, lackeySource(c.lackeyFile));
    checkReplay(r, counts);
    expect(r.calls.filter((x) => x.name === 'madvise' && x.args[2] === 'MADV_DONTNEED').length).toBeGreaterThanOrEqual(8);
  }, 600_000);

  it('two threads with glibc malloc', () => {
    const c = capture('threads.c', ['-pthread']);
    if (!c) return;
    const counts = lackeyCounts(c.lackeyFile);
    // Lackey's own total counts an instruction of a thread that exits in a system call (its last) whose record is never written: observed 1 here.
    expect(counts.guest - counts.I).toBeGreaterThanOrEqual(0);
    expect(counts.guest - counts.I).toBeLessThanOrEqual(2);
    const r = replayPair(c.straceFile, lackeySource(c.lackeyFile));
    checkReplay(r, counts);
    expect(r.tally.threads).toBe(2);
  }, 300_000);
});
