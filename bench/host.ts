/**
 * Host-speed benchmark of the memory-access path (MMU, TLB, caches, page
 * tables): `npm run bench:host` prints a table, `npm run bench:host -- --json`
 * one JSON object.
 *
 *   hit_accesses_per_s        8-byte loads over one 4 KiB page, repeated
 *                             (accessRange: a run of 512 loads): every
 *                             access hits the L1 dTLB and the L1D
 *   hit_single_accesses_per_s the same loads issued one Mmu.access() each
 *   random_1g_accesses_per_s  uniformly random 8-byte loads over 1 GiB of
 *                             mapped, touched memory (a random stream): nearly
 *                             every access misses the TLB and walks
 *   random_1g_sampled_accesses_per_s  the same loop in sampled mode
 *                             (Mmu.setSampling: sim.sample = 0.01, units of
 *                             1000 accesses), with the simulated cycles per
 *                             access of both modes and the sampled run's
 *                             stated 95% error
 *   host_bytes_per_page       growth of the JS heap plus external memory
 *                             (typed-array stores) from mapping 262,144
 *                             pages, after a full GC, per page: per-frame
 *                             metadata, the 513 page-table frames' real
 *                             bytes and everything else the mapping
 *                             allocated. The machine's fixed-size caches and
 *                             TLBs are built before the first sample.
 *   host_bytes_per_page_excl_pt_bytes  the same without the 4 KiB of each
 *                             frame that holds real bytes (the page tables)
 *   rss_bytes_per_page        the same growth measured as process RSS
 *
 * Where the random-load time goes, in host nanoseconds per simulated access:
 *   random_1g_ns_total        the whole Mmu.run
 *   random_1g_ns_tlb          a fresh Tlb doing its lookup (a miss) and
 *                             insert for the same kind of page stream
 *   random_1g_ns_mmu_own      an Mmu over the same tables whose TLB always
 *                             misses and whose caches cost nothing: the loop,
 *                             the PWC, reading entries from the table frames
 *                             (run in a child process)
 *   random_1g_ns_caches       total - tlb - mmu_own: the cache hierarchy's
 *                             share (a PT entry and a data line per load,
 *                             plus the upper-level entries on a PWC miss)
 *
 * Beside them, in the same run:
 *   cachegrind_random_1g_accesses_per_s  bench/random-loop.c (the same random
 *                             8-byte loads over 1 GiB, same generator) under
 *                             valgrind --tool=cachegrind --cache-sim=yes: the
 *                             difference of two runs (1 M and 5 M loads) over
 *                             the difference of their CPU times
 *   native_random_1g_accesses_per_s      the same C loop run natively
 *   cpus64_ns_per_access / cpus1_ns_per_access  host ns per access of random
 *                             loads over 1 GiB shared by 64 simulated CPUs
 *                             (each CPU in turn runs 2,000 of its own stream),
 *                             and the same chunks all on a 1-CPU machine:
 *                             three pairs of child runs (1 CPU, then 64),
 *                             the median of each, and cpus64_over_cpus1 the
 *                             median of the three pairs' ratios
 *   host_bytes_per_written_page  heap growth per page when 4 bytes are
 *                             written into each of 65,536 zeroed frames
 *
 * Rates are simulated accesses per second of CPU time (user + system, this
 * process or the child), after a warm-up, each over about 1.5 s: on a shared
 * host, wall time would also count the time spent waiting for a core. The
 * load average is printed with them.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Table from 'cli-table3';
import type { CacheHierarchy } from '../src/hw/cache.js';
import { defaultConfig } from '../src/config/machine.js';
import { AddressStream } from '../src/hw/access.js';
import { Machine } from '../src/hw/machine.js';
import { Mmu } from '../src/hw/mmu.js';
import { Tlb, TLB_D, TLB_U, TLB_W } from '../src/hw/tlb.js';
import { MemMap } from '../src/kernel/mm/page_alloc.js';
import { ratePerCpuSecond as rate } from './cpu-time.js';
import { BASE, GIB, mapGib, PAGES } from './gib-map.js';

const json = process.argv.includes('--json');
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('bench/host: run with node --expose-gc (npm run bench:host does)');
  process.exit(2);
}

const SECONDS = 1.5;
/** sim.sample of the sampled-mode measurement. */
const SAMPLE = 0.01;

function heapBytes(): { js: number; rss: number } {
  gc!();
  gc!();
  const u = process.memoryUsage();
  return { js: u.heapUsed + u.external, rss: u.rss };
}

const cfg = defaultConfig();
cfg.ram_mib = 1280;
const cpu = 0;

if (process.argv.includes('--bare-mmu')) {
  // Child run: an Mmu over the same tables whose TLB always misses and whose
  // caches answer at once, in its own process so that the main run's call
  // sites stay monomorphic.
  class InstantCaches {
    readonly lineBytes = cfg.cache.line_bytes;
    readonly epoch = new Uint32Array(cfg.cpus);
    access(): number {
      return 0;
    }
    accessLine(): number {
      return 0;
    }
    hitSame(): number {
      return 0;
    }
  }
  class MissingTlb {
    readonly epoch = new Uint32Array(cfg.cpus);
    pfn = 0;
    flags = 0;
    huge = false;
    lookup(): number {
      return 0;
    }
    insert(): void {}
    countL1Hit(): void {}
    setFlags(): void {}
    invlpg(): void {}
  }
  const m = new Machine(cfg);
  const cr3 = mapGib(m, new MemMap(m.mem));
  const bare = new Mmu(cfg, m.pt, new MissingTlb() as unknown as Tlb, new InstantCaches() as unknown as CacheHierarchy);
  bare.setCr3(cpu, cr3, 1);
  const bareStream = AddressStream.random(BASE, GIB, 0x1b873593);
  const bareChunk = (): number => bare.run(cpu, bareStream, 20_000, false, Infinity).done;
  rate(0.5, bareChunk);
  console.log(JSON.stringify({ bare_accesses_per_s: rate(SECONDS, bareChunk) }));
  process.exit(0);
}

if (process.argv.includes('--cpus-scaling')) {
  // Child run: ns per access of random loads over 1 GiB on a machine of
  // argv[3] CPUs, each CPU in turn running 2,000 loads of its own stream.
  const cpus = Number(process.argv[3]);
  const c = defaultConfig();
  c.ram_mib = 1280;
  c.cpus = cpus;
  const sm = new Machine(c);
  const root = mapGib(sm, new MemMap(sm.mem));
  const streams: AddressStream[] = [];
  for (let k = 0; k < 64; k++) {
    if (k < cpus) sm.mmu.setCr3(k, root, 1);
    streams.push(AddressStream.random(BASE, GIB, 0x2545f491 + k * 0x9e3779b9));
  }
  const chunk = (): number => {
    let n = 0;
    for (let k = 0; k < 64; k++) n += sm.mmu.run(k % cpus, streams[k]!, 2_000, false, Infinity).done;
    return n;
  };
  rate(1, chunk);
  console.log(JSON.stringify({ ns_per_access: 1e9 / rate(SECONDS, chunk) }));
  process.exit(0);
}

if (process.argv.includes('--partial-writes')) {
  // Child run: host bytes per frame whose contents were zeroed, then had 4
  // bytes written at scattered offsets (a workload's counters or tags).
  const FRAMES = 65_536;
  const c = defaultConfig();
  c.ram_mib = 512;
  const pm = new Machine(c);
  const frames = new MemMap(pm.mem);
  const pfns: number[] = [];
  for (let i = 0; i < FRAMES; i++) {
    const pfn = frames.alloc();
    pm.mem.zero(pfn);
    pfns.push(pfn);
  }
  const before = heapBytes();
  for (let i = 0; i < FRAMES; i++) for (let b = 0; b < 4; b++) pm.mem.writeByte(pfns[i]!, (i * 977 + b * 1031) % 4096, 1 + b);
  const after = heapBytes();
  // pm is used after the second sample, so the collection in it cannot free the machine
  console.log(JSON.stringify({ bytes_per_page: (after.js - before.js) / FRAMES, frames_with_bytes: pm.mem.bytesFrames }));
  process.exit(0);
}

/** Runs this file again in a child with `args`; returns its JSON. */
function child(args: string[]): Record<string, number> {
  const r = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench/host: the child run ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, number>;
}

/** CPU seconds (user + system) of a command, read from the shell's `times` for its children. */
function commandCpuSeconds(cmd: string[]): number {
  const r = spawnSync('sh', ['-c', '"$@" >/dev/null 2>&1 || exit 3; times', 'sh', ...cmd], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench/host: ${cmd.join(' ')} failed (exit ${r.status})`);
  const line = r.stdout.trim().split('\n').at(-1)!;
  const [user, sys] = line.split(/\s+/).map((t) => {
    const m = /^(\d+)m([\d.]+)s$/.exec(t);
    if (!m) throw new Error(`bench/host: cannot read the times line '${line}'`);
    return Number(m[1]) * 60 + Number(m[2]);
  });
  return user! + sys!;
}

/** The C random loop's rates: under cachegrind, and native; null where valgrind or cc is missing. */
function cRandomLoop(): { cachegrind: number | null; native: number | null } {
  const dir = mkdtempSync(join(tmpdir(), 'kernsim-bench-'));
  const exe = join(dir, 'random-loop');
  const src = fileURLToPath(new URL('../../bench/random-loop.c', import.meta.url));
  try {
    if (spawnSync('cc', ['-O2', '-o', exe, src]).status !== 0) return { cachegrind: null, native: null };
    const native = (100e6 - 20e6) / (commandCpuSeconds([exe, '100000000']) - commandCpuSeconds([exe, '20000000']));
    const vg = ['valgrind', '--tool=cachegrind', '--cache-sim=yes', '--cachegrind-out-file=/dev/null', exe];
    if (spawnSync('valgrind', ['--version']).status !== 0) return { cachegrind: null, native };
    const cachegrind = (5e6 - 1e6) / (commandCpuSeconds([...vg, '5000000']) - commandCpuSeconds([...vg, '1000000']));
    return { cachegrind, native };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const m = new Machine(cfg);
const memmap = new MemMap(m.mem);
const mmu = m.mmu;
const before = heapBytes();
const cr3 = mapGib(m, memmap);
mmu.setCr3(cpu, cr3, 1);
const after = heapBytes();
const framesUsed = memmap.usedCount;
const ptFrames = m.mem.bytesFrames;
const grown = after.js - before.js;

// (a) TLB + L1 hits: 512 loads of 8 bytes over one page per call.
const hitChunk = (): number => mmu.accessRange(cpu, BASE, 512, 8, false, Infinity).done;
rate(0.3, hitChunk);
const hitRate = rate(SECONDS, hitChunk);

const singleChunk = (): number => {
  for (let i = 0; i < 512; i++) mmu.access(cpu, BASE + i * 8, false);
  return 512;
};
rate(0.3, singleChunk);
const singleRate = rate(SECONDS, singleChunk);

// (b) random loads over the whole gigabyte.
const randStream = AddressStream.random(BASE, GIB, 0x9e3779b9);
let randCycles = 0;
const randChunk = (): number => {
  const o = mmu.run(cpu, randStream, 20_000, false, Infinity);
  randCycles += o.cycles;
  return o.done;
};
rate(0.5, randChunk);
randCycles = 0;
const tlbBefore = m.tlb.counters();
const randRate = rate(SECONDS, randChunk);
const tlbAfter = m.tlb.counters();
const walks = tlbAfter.stlb_miss! - tlbBefore.stlb_miss!;
const randLookups = tlbAfter.dtlb_l1_hit! + tlbAfter.dtlb_l1_miss! - tlbBefore.dtlb_l1_hit! - tlbBefore.dtlb_l1_miss!;
const exactCyclesPerAccess = randCycles / randLookups;

// (c) the same loop in sampled mode (sim.sample = 0.01, units of 1000; the
// exact run above has warmed the caches, so no start-up warm-up).
mmu.setSampling(SAMPLE, 1000, 0);
let sampledCycles = 0;
let sampledDone = 0;
const sampledChunk = (): number => {
  const o = mmu.run(cpu, randStream, 200_000, false, Infinity);
  sampledCycles += o.cycles;
  sampledDone += o.done;
  return o.done;
};
rate(0.5, sampledChunk);
sampledCycles = 0;
sampledDone = 0;
const sampledRate = rate(SECONDS, sampledChunk);
const sampledReport = mmu.samplingReport()!;
mmu.setSampling(1, 1000, 0);
const lookups = tlbAfter.dtlb_l1_hit! + tlbAfter.dtlb_l1_miss! - tlbBefore.dtlb_l1_hit! - tlbBefore.dtlb_l1_miss!;

// Where (b)'s time goes: the TLB alone on the same kind of page stream (a
// miss and an insert each), and the MMU alone (child process, see above).
const pfnOf = new Float64Array(PAGES);
for (let p = 0; p < PAGES; p++) pfnOf[p] = mmu.translateFunctional(cpu, BASE + p * 4096);
const freshTlb = new Tlb(cfg);
let tx = 0x6c8e9cf5;
const tlbChunk = (): number => {
  let x = tx;
  for (let i = 0; i < 20_000; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    const page = Math.floor((x / 4294967296) * PAGES);
    const vpn = BASE / 4096 + page;
    if (freshTlb.lookup(cpu, 1, vpn) === 0) freshTlb.insert(cpu, 1, vpn, pfnOf[page]!, TLB_W | TLB_U | TLB_D, false);
  }
  tx = x;
  return 20_000;
};
rate(0.3, tlbChunk);
const tlbRate = rate(SECONDS, tlbChunk);

const bareRate = child(['--bare-mmu'])['bare_accesses_per_s']!;
// Three pairs of child runs, 1 CPU then 64, alternating so that both see
// the same host load; the medians, and the median of the pairs' ratios.
const median = (xs: number[]): number => [...xs].sort((p, q) => p - q)[xs.length >> 1]!;
const pairs = Array.from({ length: 3 }, () => [
  child(['--cpus-scaling', '1'])['ns_per_access']!,
  child(['--cpus-scaling', '64'])['ns_per_access']!,
]);
const cpus1 = median(pairs.map((p) => p[0]!));
const cpus64 = median(pairs.map((p) => p[1]!));
const cpusRatio = median(pairs.map((p) => p[1]! / p[0]!));
const written = child(['--partial-writes'])['bytes_per_page']!;
const c = cRandomLoop();

const result = {
  hit_accesses_per_s: Math.round(hitRate),
  hit_single_accesses_per_s: Math.round(singleRate),
  random_1g_accesses_per_s: Math.round(randRate),
  cachegrind_random_1g_accesses_per_s: c.cachegrind === null ? null : Math.round(c.cachegrind),
  native_random_1g_accesses_per_s: c.native === null ? null : Math.round(c.native),
  random_1g_sampled_accesses_per_s: Math.round(sampledRate),
  random_1g_sample_fraction: SAMPLE,
  random_1g_exact_cycles_per_access: Number(exactCyclesPerAccess.toFixed(2)),
  random_1g_sampled_cycles_per_access: Number((sampledCycles / sampledDone).toFixed(2)),
  random_1g_sampled_ci95_pct: Number(((sampledReport.ci95_cycles / sampledReport.estimated_cycles) * 100).toFixed(3)),
  random_1g_walk_fraction: Number((walks / lookups).toFixed(4)),
  random_1g_ns_total: Math.round(1e9 / randRate),
  random_1g_ns_tlb: Math.round(1e9 / tlbRate),
  random_1g_ns_mmu_own: Math.round(1e9 / bareRate),
  random_1g_ns_caches: Math.round(1e9 / randRate - 1e9 / tlbRate - 1e9 / bareRate),
  cpus1_ns_per_access: Math.round(cpus1),
  cpus64_ns_per_access: Math.round(cpus64),
  cpus64_over_cpus1: Number(cpusRatio.toFixed(2)),
  host_bytes_per_page: Number((grown / PAGES).toFixed(1)),
  host_bytes_per_written_page: Number(written.toFixed(1)),
  host_bytes_per_page_excl_pt_bytes: Number(((grown - ptFrames * 4096) / PAGES).toFixed(1)),
  rss_bytes_per_page: Number(((after.rss - before.rss) / PAGES).toFixed(1)),
  metadata_bytes_per_frame: Number(memmap.hostBytesPerPage().toFixed(1)),
  pages_mapped: PAGES,
  frames_used: framesUsed,
  page_table_frames: ptFrames,
  node: process.version,
  load_average: os.loadavg().map((l) => Number(l.toFixed(2))),
};

if (json) {
  console.log(JSON.stringify(result));
} else {
  // cli-table3 colours its borders by default: only on a terminal, and never under NO_COLOR.
  const colour = process.stdout.isTTY === true && !process.env['NO_COLOR'];
  const t = new Table({ head: ['measure', 'value', 'target'], style: colour ? {} : { head: [], border: [] } });
  const M = (x: number): string => `${(x / 1e6).toFixed(1)} M/s`;
  t.push(
    ['TLB + L1 hit loop (accessRange)', M(result.hit_accesses_per_s), '>= 100 M/s'],
    ['TLB + L1 hit loop (single access())', M(result.hit_single_accesses_per_s), ''],
    ['random 8-byte loads over 1 GiB', M(result.random_1g_accesses_per_s), '>= 4 M/s'],
    [`  sampled mode (sim.sample=${SAMPLE})`, M(result.random_1g_sampled_accesses_per_s), '>= 20 M/s'],
    [
      '  cycles per access: exact / sampled',
      `${result.random_1g_exact_cycles_per_access} / ${result.random_1g_sampled_cycles_per_access} (95% error ${result.random_1g_sampled_ci95_pct}%)`,
      'within 2%',
    ],
    ['  the same C loop under cachegrind', c.cachegrind === null ? 'n/a' : M(c.cachegrind), ''],
    ['  the same C loop natively', c.native === null ? 'n/a' : M(c.native), ''],
    ['  accesses that walk (STLB miss)', `${(result.random_1g_walk_fraction * 100).toFixed(1)} %`, ''],
    ['  host ns per access: total', `${result.random_1g_ns_total}`, ''],
    ['    in the TLB (lookup + insert)', `${result.random_1g_ns_tlb}`, ''],
    ['    in the MMU (walk, PWC, loop)', `${result.random_1g_ns_mmu_own}`, ''],
    ['    in the caches (the rest)', `${result.random_1g_ns_caches}`, ''],
    ['host ns per access, 1 CPU', `${result.cpus1_ns_per_access}`, ''],
    ['host ns per access, 64 CPUs', `${result.cpus64_ns_per_access} (${result.cpus64_over_cpus1}x)`, '<= 1.5x'],
    ['host bytes per resident page', `${result.host_bytes_per_page}`, ''],
    ['  without page-table frames\' bytes', `${result.host_bytes_per_page_excl_pt_bytes}`, '<= 64'],
    ['  as RSS', `${result.rss_bytes_per_page}`, ''],
    ['PhysMem metadata per used frame', `${result.metadata_bytes_per_frame}`, ''],
    ['host bytes per page with 4 bytes written', `${result.host_bytes_per_written_page}`, '<= 512'],
  );
  console.log(t.toString());
  console.log(`${PAGES} pages mapped, ${framesUsed} frames used (${ptFrames} page tables), ${process.version}, load average ${result.load_average.join(' ')}`);
}
