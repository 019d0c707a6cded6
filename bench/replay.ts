/**
 * Host speed of `kernsim replay --lackey` against the simulator's random
 * loop, in the same run: `npm run bench:replay` prints a table,
 * `npm run bench:replay -- --json` one JSON object.
 *
 *   random_1g_accesses_per_s   bench/host.ts's random loop: uniformly random
 *                              8-byte loads over 1 GiB of mapped, touched
 *                              memory, Mmu.run over a random stream
 *   lackey_accesses_per_s      a lackey trace of the same kind of loads (an
 *                              `I` record, then an ` L` of a random 8-byte
 *                              address over 1 GiB, same generator) replayed
 *                              by the whole `kernsim replay --lackey` path:
 *                              reading the file in chunks, parsing, Mmu.run
 *                              over trace streams, the instructions' user
 *                              time. The difference of two runs (0.5 M and 1.5 M
 *                              loads, after the same first touch of every
 *                              page) over the difference of their CPU times,
 *                              so the boot and the first-touch faults cancel
 *   lackey_records_per_s       the same, in trace records (2 per load)
 *   lackey_vs_random           lackey_accesses_per_s / random_1g_accesses_per_s
 *                              (issue 17 asks for at least 0.5)
 *   kst_accesses_per_s         the same two traces converted by `kernsim
 *                              trace convert` (docs/trace-format.md) and
 *                              replayed from that format
 *   kst_vs_lackey              kst_accesses_per_s / lackey_accesses_per_s
 *   lackey_bytes, kst_bytes    the larger trace's size in each format
 *   read_lackey_records_per_s  the reader alone (no replay): records of the
 *   read_kst_records_per_s     larger trace per CPU second, text and
 *                              converted (best of three reads)
 *
 * Rates are per second of this process's CPU time (user + system); the load
 * average is printed with them.
 */
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import Table from 'cli-table3';
import { defaultConfig } from '../src/config/machine.js';
import { AddressStream } from '../src/hw/access.js';
import { Machine } from '../src/hw/machine.js';
import { makePte, PTE_ACCESSED, PTE_DIRTY, PTE_PRESENT, PTE_RW, PTE_USER } from '../src/hw/pagetable.js';
import { MemMap } from '../src/kernel/mm/page_alloc.js';
import { runWorkload } from '../src/workloads/run.js';
import { CompactReader, compactSource, LackeyReader, lackeySource, MemBatch, replayWorkload, writeLackeyTrace, type MemSource } from '../src/workloads/replay/index.js';

const json = process.argv.includes('--json');
const GIB = 2 ** 30;
const PAGES = GIB / 4096;
const BASE = 0x10_0000_0000;
const SECONDS = 1.5;

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function rate(seconds: number, chunk: () => number): number {
  let n = 0;
  const t0 = cpuSeconds();
  let t = t0;
  while (t - t0 < seconds) {
    for (let i = 0; i < 8; i++) n += chunk();
    t = cpuSeconds();
  }
  return n / (t - t0);
}

const load0 = os.loadavg()[0]!;
const cfg = defaultConfig();
cfg.ram_mib = 1280;

// (a) The random loop of bench/host.ts.
function randomRate(): number {
  const m = new Machine(cfg);
  const memmap = new MemMap(m.mem);
  m.pt.frames = memmap;
  const cr3 = m.pt.allocTable();
  const flags = PTE_PRESENT | PTE_RW | PTE_USER | PTE_ACCESSED | PTE_DIRTY;
  for (let p = 0; p < PAGES; p++) {
    const pfn = memmap.alloc();
    m.mem.fill(pfn, 0, 4096, (p & 0xff) | 1);
    memmap.refcount[pfn] = 1;
    memmap.mapcount[pfn] = 1;
    if (!m.pt.installFunctional(cr3, BASE + p * 4096, makePte(pfn, flags))) throw new Error('out of simulated memory');
  }
  m.mmu.setCr3(0, cr3, 1);
  const stream = AddressStream.random(BASE, GIB, 0x9e3779b9);
  const chunk = (): number => m.mmu.run(0, stream, 20_000, false, Infinity).done;
  rate(0.5, chunk);
  return rate(SECONDS, chunk);
}

/** Writes a lackey trace: a store to every page of the gigabyte (first touch), then `loads` random loads, each after an instruction record. */
function writeTrace(file: string, loads: number): void {
  const fd = openSync(file, 'w');
  let out = '';
  const flush = (): void => {
    writeSync(fd, out);
    out = '';
  };
  for (let p = 0; p < PAGES; p++) {
    out += ` S ${(BASE + p * 4096).toString(16)},8\n`;
    if (out.length > 1 << 20) flush();
  }
  let y = 0x9e3779b9;
  const slots = GIB / 8;
  for (let i = 0; i < loads; i++) {
    y ^= y << 13;
    y ^= y >>> 17;
    y ^= y << 5;
    y >>>= 0;
    const va = BASE + Math.floor((y / 4294967296) * slots) * 8;
    out += `I  ${(0x401000 + (i & 0xfff) * 4).toString(16)},4\n L ${va.toString(16)},8\n`;
    if (out.length > 1 << 20) flush();
  }
  flush();
  closeSync(fd);
}

/** CPU seconds of one replay of `file`. */
function replaySeconds(file: string, source = lackeySource): number {
  const w = replayWorkload({ memory: source(file), gaps: true, cpi: 0.25 });
  const t0 = cpuSeconds();
  runWorkload(w.workload, {}, cfg);
  const t = cpuSeconds() - t0;
  if (w.mem!.accesses < PAGES) throw new Error(`replay did ${w.mem!.accesses} accesses`);
  return t;
}

const dir = mkdtempSync(join(tmpdir(), 'kernsim-bench-replay-'));
try {
  const N1 = 500_000;
  const N2 = 1_500_000;
  const small = join(dir, 'small.lackey');
  const big = join(dir, 'big.lackey');
  writeTrace(small, N1);
  writeTrace(big, N2);
  const smallKst = join(dir, 'small.kst');
  const bigKst = join(dir, 'big.kst');
  writeLackeyTrace(smallKst, small);
  writeLackeyTrace(bigKst, big);
  const random = randomRate();
  /** Warm-up, then the median of three differences. */
  const measure = (a: string, b: string, source: typeof lackeySource): number => {
    replaySeconds(a, source);
    const diffs: number[] = [];
    for (let r = 0; r < 3; r++) diffs.push(replaySeconds(b, source) - replaySeconds(a, source));
    diffs.sort((x, y) => x - y);
    return (N2 - N1) / diffs[1]!;
  };
  /** Records per CPU second of a reader alone, best of three. */
  const readRate = (open: () => MemSource): number => {
    let best = 0;
    for (let r = 0; r < 3; r++) {
      const src = open();
      const b = new MemBatch();
      let recs = 0;
      const t0 = cpuSeconds();
      for (;;) {
        const res = src.fill(b);
        recs += b.instructions + b.loads + b.stores + b.modifies;
        if (res === 2) break;
      }
      best = Math.max(best, recs / (cpuSeconds() - t0));
    }
    return best;
  };
  const readLackey = readRate(() => new LackeyReader(big));
  const readKst = readRate(() => new CompactReader(bigKst));
  const lackey = measure(small, big, lackeySource);
  const kst = measure(smallKst, bigKst, compactSource);
  const res = {
    random_1g_accesses_per_s: Math.round(random),
    lackey_accesses_per_s: Math.round(lackey),
    lackey_records_per_s: Math.round(lackey * 2),
    lackey_vs_random: Math.round((lackey / random) * 100) / 100,
    kst_accesses_per_s: Math.round(kst),
    kst_vs_lackey: Math.round((kst / lackey) * 100) / 100,
    lackey_bytes: statSync(big).size,
    kst_bytes: statSync(bigKst).size,
    read_lackey_records_per_s: Math.round(readLackey),
    read_kst_records_per_s: Math.round(readKst),
    load_average: [load0, os.loadavg()[0]!].map((x) => Math.round(x * 10) / 10),
  };
  if (json) console.log(JSON.stringify(res));
  else {
    const t = new Table({ head: ['figure', 'value'] });
    for (const [k, v] of Object.entries(res)) t.push([k, Array.isArray(v) ? `${v[0]} at start, ${v[1]} at end` : v.toLocaleString('en-US')]);
    console.log(t.toString());
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
