/**
 * Host-speed benchmark of the memory-access path (MMU, TLB, caches, page
 * tables): `npm run bench:host` prints a table, `npm run bench:host -- --json`
 * one JSON object.
 *
 *   hit_accesses_per_s        8-byte loads over one 4 KiB page, repeated
 *                             (accessRange of 512 loads per call): every
 *                             access hits the L1 dTLB and the L1D
 *   hit_single_accesses_per_s the same loads issued one Mmu.access() each
 *   random_1g_accesses_per_s  uniformly random 8-byte loads over 1 GiB of
 *                             mapped, touched memory (accessRandom): nearly
 *                             every access misses the TLB and walks
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
 *   random_1g_ns_cache        a fresh CacheHierarchy doing the two accesses
 *                             one such load makes (its PT entry and its data)
 *   random_1g_ns_tlb          a fresh Tlb doing its lookup (a miss) and insert
 *   random_1g_ns_total        the whole Mmu.accessRandom
 * The rest (total - cache - tlb) is the MMU's own work: the PWC, reading the
 * entry from the table frame, the loop.
 *
 * Rates are simulated accesses per host second, timed with the host clock
 * after a warm-up, each over about 1.5 s.
 */
import Table from 'cli-table3';
import { CacheHierarchy } from '../src/hw/cache.js';
import { defaultConfig } from '../src/hw/config.js';
import { Machine } from '../src/hw/machine.js';
import { makePte, PTE_ACCESSED, PTE_DIRTY, PTE_PRESENT, PTE_RW, PTE_USER } from '../src/hw/pagetable.js';
import { Tlb, TLB_D, TLB_U, TLB_W } from '../src/hw/tlb.js';

const json = process.argv.includes('--json');
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('bench/host: run with node --expose-gc (npm run bench:host does)');
  process.exit(2);
}

const GIB = 2 ** 30;
const PAGES = GIB / 4096;
const BASE = 0x10_0000_0000; // 64 GiB: a 1 GiB-aligned user address
const SECONDS = 1.5;

function heapBytes(): { js: number; rss: number } {
  gc!();
  gc!();
  const u = process.memoryUsage();
  return { js: u.heapUsed + u.external, rss: u.rss };
}

/** Runs `chunk()` (which returns accesses done) repeatedly for about `seconds`; returns accesses per second. */
function rate(seconds: number, chunk: () => number): number {
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < seconds * 1000) {
    for (let i = 0; i < 8; i++) n += chunk();
    t = performance.now();
  }
  return n / ((t - t0) / 1000);
}

const cfg = defaultConfig();
cfg.ram_mib = 1280;
const m = new Machine(cfg);
const mmu = m.mmu;
const cpu = 0;

const before = heapBytes();
const cr3 = m.pt.allocTable();
mmu.setCr3(cpu, cr3, 1);
const flags = PTE_PRESENT | PTE_RW | PTE_USER | PTE_ACCESSED | PTE_DIRTY;
for (let p = 0; p < PAGES; p++) {
  const pfn = m.mem.alloc();
  m.mem.fill(pfn, 0, 4096, (p & 0xff) | 1);
  m.mem.refcount[pfn] = 1;
  m.mem.mapcount[pfn] = 1;
  if (!m.pt.installFunctional(cr3, BASE + p * 4096, makePte(pfn, flags))) throw new Error('out of simulated memory');
}
const after = heapBytes();
const framesUsed = m.mem.usedCount;
const ptFrames = m.mem.bytesFrames;
const grown = after.js - before.js;

// (a) TLB + L1 hits: 512 loads of 8 bytes over one page per call.
const hitChunk = (): number => mmu.accessRange(cpu, BASE, 512, 8, false, Infinity);
rate(0.3, hitChunk);
const hitRate = rate(SECONDS, hitChunk);

const singleChunk = (): number => {
  for (let i = 0; i < 512; i++) mmu.access(cpu, BASE + i * 8, false);
  return 512;
};
rate(0.3, singleChunk);
const singleRate = rate(SECONDS, singleChunk);

// (b) random loads over the whole gigabyte.
let seed = 0x9e3779b9;
const randChunk = (): number => {
  const n = mmu.accessRandom(cpu, BASE, GIB, 20_000, seed);
  seed = mmu.rngState;
  return n;
};
rate(0.5, randChunk);
const tlbBefore = m.tlb.counters();
const randRate = rate(SECONDS, randChunk);
const tlbAfter = m.tlb.counters();
const walks = tlbAfter.stlb_miss! - tlbBefore.stlb_miss!;
const lookups = tlbAfter.dtlb_l1_hit! + tlbAfter.dtlb_l1_miss! - tlbBefore.dtlb_l1_hit! - tlbBefore.dtlb_l1_miss!;

// Decomposition of (b): the same address stream through the cache and TLB alone.
const pfnOf = new Float64Array(PAGES);
const ptOf = new Float64Array(PAGES / 512);
for (let p = 0; p < PAGES; p++) {
  m.pt.walkFunctional(cr3, BASE + p * 4096);
  pfnOf[p] = mmu.translateFunctional(cpu, BASE + p * 4096);
  ptOf[p >>> 9] = m.pt.walkTable;
}
const freshCaches = new CacheHierarchy(cfg);
let cx = 0x2545f491;
const cacheChunk = (): number => {
  let x = cx;
  for (let i = 0; i < 20_000; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    const off = Math.floor((x / 4294967296) * (GIB / 8)) * 8;
    const page = Math.floor(off / 4096);
    freshCaches.access(cpu, ptOf[page >>> 9]! * 4096 + (page & 511) * 8, false);
    freshCaches.access(cpu, pfnOf[page]! * 4096 + (off % 4096), false);
  }
  cx = x;
  return 20_000;
};
rate(0.3, cacheChunk);
const cacheRate = rate(SECONDS, cacheChunk);
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

const result = {
  hit_accesses_per_s: Math.round(hitRate),
  hit_single_accesses_per_s: Math.round(singleRate),
  random_1g_accesses_per_s: Math.round(randRate),
  random_1g_walk_fraction: Number((walks / lookups).toFixed(4)),
  random_1g_ns_total: Number((1e9 / randRate).toFixed(0)),
  random_1g_ns_cache: Number((1e9 / cacheRate).toFixed(0)),
  random_1g_ns_tlb: Number((1e9 / tlbRate).toFixed(0)),
  host_bytes_per_page: Number((grown / PAGES).toFixed(1)),
  host_bytes_per_page_excl_pt_bytes: Number(((grown - ptFrames * 4096) / PAGES).toFixed(1)),
  rss_bytes_per_page: Number(((after.rss - before.rss) / PAGES).toFixed(1)),
  metadata_bytes_per_frame: Number(m.mem.hostBytesPerPage().toFixed(1)),
  pages_mapped: PAGES,
  frames_used: framesUsed,
  page_table_frames: ptFrames,
  node: process.version,
};

if (json) {
  console.log(JSON.stringify(result));
} else {
  const t = new Table({ head: ['measure', 'value', 'target'] });
  const M = (x: number): string => `${(x / 1e6).toFixed(1)} M/s`;
  t.push(
    ['TLB + L1 hit loop (accessRange)', M(result.hit_accesses_per_s), '>= 40 M/s'],
    ['TLB + L1 hit loop (single access())', M(result.hit_single_accesses_per_s), ''],
    ['random 8-byte loads over 1 GiB', M(result.random_1g_accesses_per_s), '>= 8 M/s'],
    ['  accesses that walk (STLB miss)', `${(result.random_1g_walk_fraction * 100).toFixed(1)} %`, ''],
    ['  host ns per access: total', `${result.random_1g_ns_total}`, ''],
    ['    in the caches (2 accesses)', `${result.random_1g_ns_cache}`, ''],
    ['    in the TLB (lookup + insert)', `${result.random_1g_ns_tlb}`, ''],
    ['    MMU itself (the rest)', `${result.random_1g_ns_total - result.random_1g_ns_cache - result.random_1g_ns_tlb}`, ''],
    ['host bytes per resident page', `${result.host_bytes_per_page}`, ''],
    ['  without page-table frames\' bytes', `${result.host_bytes_per_page_excl_pt_bytes}`, '<= 64'],
    ['  as RSS', `${result.rss_bytes_per_page}`, ''],
    ['PhysMem metadata per used frame', `${result.metadata_bytes_per_frame}`, ''],
  );
  console.log(t.toString());
  console.log(`${PAGES} pages mapped, ${framesUsed} frames used (${ptFrames} page tables), ${process.version}`);
}
