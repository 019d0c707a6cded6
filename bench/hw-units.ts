/**
 * Host-speed micro-benchmark of the cache and TLB units alone (no MMU):
 *   npx tsc -p . && node dist/bench/hw-units.js
 * Prints millions of operations per second of host CPU time (process.cpuUsage,
 * so that other load on the host inflates the figures less) for the patterns
 * the MMU drives hardest.
 */
import { CacheHierarchy } from '../src/hw/cache.js';
import { defaultConfig } from '../src/config/machine.js';
import { Tlb, TLB_W } from '../src/hw/tlb.js';

function rate(name: string, n: number, body: (n: number) => number): void {
  body(Math.min(n, 500_000)); // warm up the JIT
  let best = Infinity;
  let sink = 0;
  for (let rep = 0; rep < 3; rep++) {
    const t0 = process.cpuUsage();
    sink = body(n);
    const t = process.cpuUsage(t0);
    best = Math.min(best, (t.user + t.system) / 1e6);
  }
  console.log(`${name.padEnd(58)} ${(n / best / 1e6).toFixed(1).padStart(7)} M/s  (checksum ${sink})`);
}

const cfg = defaultConfig();
const LINE = cfg.cache.line_bytes;
const GIB = 2 ** 30;

{
  const cache = new CacheHierarchy(cfg);
  rate('cache: same line', 20_000_000, (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += cache.access(0, 0x1000 + (i & 7) * 8, false);
    return s;
  });
  rate('cache: L1 hits, 4 lines per set round robin', 20_000_000, (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += cache.access(0, (i & 255) * LINE, false);
    return s;
  });
  rate('cache: sequential 8-byte loads over 64 MiB', 20_000_000, (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += cache.access(0, (i * 8) % (64 << 20), false);
    return s;
  });
  rate('cache: random 8-byte loads over 1 GiB', 5_000_000, (n) => {
    let x = 12345, s = 0;
    for (let i = 0; i < n; i++) {
      x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
      s += cache.access(0, ((x >>> 0) & (GIB / 8 - 1)) * 8, false);
    }
    return s;
  });
}

{
  const tlb = new Tlb(cfg);
  for (let p = 0; p < 16; p++) tlb.insert(0, 1, 0x400 + p, 0x9000 + p, TLB_W, false);
  rate('tlb: same page', 20_000_000, (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += tlb.lookup(0, 1, 0x400);
    return s;
  });
  rate('tlb: L1 hits over 16 pages', 20_000_000, (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += tlb.lookup(0, 1, 0x400 + (i & 15));
    return s;
  });
}

{
  // the MMU's shape without its memo: translate, then access the line
  const cache = new CacheHierarchy(cfg);
  const tlb = new Tlb(cfg);
  rate('tlb + cache: 8-byte loads cycling over 16 pages', 10_000_000, (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const vpn = 0x400 + ((i >>> 9) & 15);
      let pfn: number;
      if (tlb.lookup(0, 1, vpn) !== 0) pfn = tlb.pfn;
      else tlb.insert(0, 1, vpn, (pfn = 0x9000 + (vpn & 15)), TLB_W, false);
      s += cache.access(0, pfn * 4096 + (i & 511) * 8, false);
    }
    return s;
  });
  rate('tlb + cache: random loads over 1 GiB, 4 PTE reads per TLB miss', 3_000_000, (n) => {
    let x = 777, s = 0;
    for (let i = 0; i < n; i++) {
      x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
      const vpn = (x >>> 0) & (GIB / 4096 - 1);
      let pfn: number;
      if (tlb.lookup(0, 1, vpn) !== 0) pfn = tlb.pfn;
      else {
        // stand-in for a walk: one entry read per level, each level's table 4 KiB
        for (let l = 0; l < 4; l++) s += cache.access(0, (0x100000 + l * 0x40000) * 4096 + Math.floor(vpn / 2 ** (9 * (3 - l))) * 8, false);
        pfn = vpn + 0x100000;
        tlb.insert(0, 1, vpn, pfn, TLB_W, false);
      }
      s += cache.access(0, pfn * 4096 + ((x >>> 20) & 511) * 8, false);
    }
    return s;
  });
}
