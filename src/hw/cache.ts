/**
 * CacheHierarchy: per-CPU L1D and L2 over one shared last-level cache, with a
 * directory at the LLC. Set-associative, true LRU at every level.
 *
 * Address split (defaults: 64-byte lines, L1D 64 sets, L2 1024, LLC 8192):
 *
 *   paddr   | .................. line number .................. | offset (6) |
 *   line    = floor(paddr / line_bytes)      (never >>: paddr reaches 2^44)
 *   L1 set  = line & (l1_sets - 1)           (low 6 bits of line)
 *   L2 set  = line & (l2_sets - 1)           (low 10 bits)
 *   LLC set = line & (llc_sets - 1)          (low 13 bits)
 *   tag     = the whole line number, kept in a Float64Array
 *
 * `&` on a line number above 2^31 is safe: ToInt32 keeps the low 32 bits,
 * which hold every set-index bit.
 *
 * Model (the tests pin exactly this):
 * - Inclusion. L1 is a subset of its CPU's L2; the LLC is a superset of every
 *   L2. An L2 eviction drops the line from that CPU's L1; an LLC eviction
 *   back-invalidates it from every CPU's L1 and L2, so an LLC victim that is
 *   hot in some L1 is lost there too (as on Intel's inclusive LLCs).
 * - Directory. Each LLC line records the CPUs whose L2 holds it (a bitmask,
 *   ceil(cpus/32) words) and the CPU holding it Modified (-1: none). The
 *   directory is exact: an L2 eviction clears the CPU's bit (and ownership).
 *   Private copies carry no state of their own; an L1/L2 entry points at
 *   its line's LLC slot, which cannot move while the line is cached (the
 *   LLC is inclusive and LRU keeps each line in the way it was filled into).
 * - Latency of one access by `cpu` (read or write):
 *     L1 hit                 l1d_hit
 *     L1 miss, L2 hit        l2_hit (the whole latency, not added to l1d_hit)
 *     L2 miss, LLC hit       llc_hit, + c2c_transfer if another CPU holds the
 *                            line Modified (a read downgrades that copy to
 *                            shared; the owner keeps it)
 *     LLC miss               llc_hit + dram
 *   A write, when any other CPU holds a copy, adds c2c_transfer once
 *   (read-for-ownership / invalidation) and drops every other copy from
 *   their L1 and L2; the writer then holds the line Modified. The charge is
 *   once per access: a write that misses to a line Modified elsewhere pays
 *   one c2c_transfer, since the one snoop both forwards the data and
 *   invalidates the owner's copy. A write to a line the CPU already holds
 *   Modified costs what the level it hits costs (l1d_hit from L1).
 * - Write-backs of dirty victims cost nothing: hardware drains them from
 *   write-back buffers off the load's critical path.
 * - LRU. A hit touches only the level it hits in (an L1 hit leaves L2 and
 *   LLC order alone; an L2 hit leaves the LLC alone); fills make the line
 *   most recent at every level they fill. The order of fills on an LLC miss
 *   is LLC, then L2, then L1, so a back-invalidation caused by the LLC fill
 *   can free the way the L2 fill then takes. An empty way is used before
 *   any valid line is evicted.
 * - epoch[c] is bumped whenever something other than c's own access changes
 *   a line in c's private caches: another CPU's write invalidating it,
 *   another CPU's read downgrading c's Modified copy, any LLC eviction
 *   back-invalidating it (even one caused by c), invalidateFrame. The MMU
 *   memoizes "same line as last access" while epoch[c] is unchanged and
 *   charges it with hitSame(); the memoized line is MRU in its L1 set, so
 *   skipping the LRU update leaves the order exactly as a lookup would.
 *
 * Host speed: tags, hints and LRU order live in SetAssoc (assoc.ts); a
 * lookup tests four ways per hint word before comparing full line numbers.
 * accessLine is kept small so that the MMU can inline its L1-hit path.
 *
 * Counters are per CPU and count events caused by that CPU's accesses:
 * coherence_invalidations counts the other CPUs' copies (one per CPU) its
 * writes dropped; llc_back_invalidations the private copies (one per CPU)
 * its LLC fills dropped.
 *
 * Callers pass valid CPU numbers and non-negative line numbers below 2^53;
 * the hot path checks nothing.
 */
import type { MachineConfig } from './config.js';
import { SetAssoc } from './assoc.js';
import { MAX_WAYS } from './lru.js';

/** x86 base page: the unit a device writes (invalidateFrame). */
const PAGE_BYTES = 4096;

const C_L1_HIT = 0;
const C_L1_MISS = 1;
const C_L2_HIT = 2;
const C_L2_MISS = 3;
const C_LLC_HIT = 4;
const C_LLC_MISS = 5;
const C_C2C = 6;
const C_INVAL = 7;
const C_BACKINV = 8;
const COUNTER_NAMES = [
  'l1d_hit',
  'l1d_miss',
  'l2_hit',
  'l2_miss',
  'llc_hit',
  'llc_miss',
  'c2c_transfer',
  'coherence_invalidations',
  'llc_back_invalidations',
] as const;
const NC = COUNTER_NAMES.length;

/** Set count of one cache level; throws naming the fields if it is not a power of two. */
function setCount(kib: number, ways: number, lineBytes: number, level: string): number {
  if (!Number.isInteger(ways) || ways < 1 || ways > MAX_WAYS) {
    throw new Error(`cache.${level}_ways: ${ways} is out of range 1..${MAX_WAYS}`);
  }
  const sets = (kib * 1024) / lineBytes / ways;
  if (!Number.isInteger(sets) || sets < 1 || (sets & (sets - 1)) !== 0) {
    throw new Error(
      `cache.${level}_kib / cache.${level}_ways: ${kib} KiB of ${lineBytes}-byte lines in ${ways} ways gives ${sets} sets; the set count must be a power of two`,
    );
  }
  return sets;
}

export class CacheHierarchy {
  readonly lineBytes: number;
  readonly epoch: Uint32Array;
  readonly cpus: number;

  private readonly latL1: number;
  private readonly latL2: number;
  private readonly latLlc: number;
  private readonly latDram: number;
  private readonly latC2c: number;

  // Private levels hold every CPU's sets: CPU c's set s is set c * sets + s.
  // Each private slot records the LLC slot of its line (lines never move
  // within the LLC while cached, so the pointer stays valid).
  private readonly l1: SetAssoc;
  private readonly l1Sets: number;
  private readonly l1Mask: number;
  private readonly l1Inv: number; // 1 / sets: hint = the 8 line bits above the set index
  private readonly l1Slot: Int32Array;

  private readonly l2: SetAssoc;
  private readonly l2Sets: number;
  private readonly l2Mask: number;
  private readonly l2Inv: number;
  private readonly l2Slot: Int32Array;

  private readonly llc: SetAssoc;
  private readonly llcMask: number;
  private readonly llcInv: number;
  private readonly words: number; // sharer bitmask words per LLC line
  /** Directory, one record per LLC slot so that it sits in one host cache line: [owner (-1: none), sharer words...]. */
  private readonly dir: Int32Array;
  private readonly dirStride: number;

  private readonly ctr: Float64Array;

  constructor(cfg: MachineConfig) {
    const c = cfg.cache;
    const lb = c.line_bytes;
    if (!Number.isInteger(lb) || lb < 1 || (lb & (lb - 1)) !== 0) {
      throw new Error(`cache.line_bytes: ${lb} is not a power of two`);
    }
    this.lineBytes = lb;
    this.cpus = cfg.cpus;
    const cpus = cfg.cpus;

    this.latL1 = cfg.cost.l1d_hit;
    this.latL2 = cfg.cost.l2_hit;
    this.latLlc = cfg.cost.llc_hit;
    this.latDram = cfg.cost.dram;
    this.latC2c = cfg.cost.c2c_transfer;

    const l1Sets = setCount(c.l1d_kib, c.l1d_ways, lb, 'l1d');
    this.l1 = new SetAssoc(cpus * l1Sets, c.l1d_ways);
    this.l1Sets = l1Sets;
    this.l1Mask = l1Sets - 1;
    this.l1Inv = 1 / l1Sets;
    this.l1Slot = new Int32Array(cpus * l1Sets * c.l1d_ways);

    const l2Sets = setCount(c.l2_kib, c.l2_ways, lb, 'l2');
    this.l2 = new SetAssoc(cpus * l2Sets, c.l2_ways);
    this.l2Sets = l2Sets;
    this.l2Mask = l2Sets - 1;
    this.l2Inv = 1 / l2Sets;
    this.l2Slot = new Int32Array(cpus * l2Sets * c.l2_ways);

    const llcSets = setCount(c.llc_kib, c.llc_ways, lb, 'llc');
    const llcSlots = llcSets * c.llc_ways;
    this.llc = new SetAssoc(llcSets, c.llc_ways);
    this.llcMask = llcSets - 1;
    this.llcInv = 1 / llcSets;
    this.words = (cpus + 31) >>> 5;
    this.dirStride = 1 + this.words;
    this.dir = new Int32Array(llcSlots * this.dirStride);
    for (let i = 0; i < llcSlots; i++) this.dir[i * this.dirStride] = -1;

    this.epoch = new Uint32Array(cpus);
    this.ctr = new Float64Array(cpus * NC);
  }

  /** One access by `cpu` to the byte at `paddr`; returns its latency in cycles. */
  access(cpu: number, paddr: number, write: boolean): number {
    return this.accessLine(cpu, Math.floor(paddr / this.lineBytes), write);
  }

  /** One access by `cpu` to line number `line`; returns its latency in cycles. */
  accessLine(cpu: number, line: number, write: boolean): number {
    const l1 = this.l1;
    const s1 = cpu * this.l1Sets + (line & this.l1Mask);
    // the MRU way first: a run of accesses to one line is the common case
    let w = l1.lru.mru(s1);
    if (l1.key[s1 * l1.ways + w] !== line) {
      w = l1.find(s1, line, (line * this.l1Inv) & 255);
      if (w < 0) return this.missL1(cpu, s1, line, write);
      l1.lru.touch(s1, w);
    }
    this.ctr[cpu * NC + C_L1_HIT]++;
    return write ? this.latL1 + this.upgrade(cpu, this.l1Slot[s1 * l1.ways + w]) : this.latL1;
  }

  /** The MMU's memoized repeat of cpu's last access (see the header): an L1 hit. */
  hitSame(cpu: number): number {
    this.ctr[cpu * NC + C_L1_HIT]++;
    return this.latL1;
  }

  /** The rest of an access after an L1 miss in set s1. */
  private missL1(cpu: number, s1: number, line: number, write: boolean): number {
    const ctr = this.ctr;
    const cb = cpu * NC;
    ctr[cb + C_L1_MISS]++;

    const l2 = this.l2;
    const s2 = cpu * this.l2Sets + (line & this.l2Mask);
    const w2 = l2.find(s2, line, (line * this.l2Inv) & 255);
    if (w2 >= 0) {
      l2.lru.touch(s2, w2);
      ctr[cb + C_L2_HIT]++;
      const slot = this.l2Slot[s2 * l2.ways + w2];
      this.fillL1(s1, line, slot);
      return write ? this.latL2 + this.upgrade(cpu, slot) : this.latL2;
    }
    ctr[cb + C_L2_MISS]++;

    const llc = this.llc;
    const s3 = line & this.llcMask;
    const k3 = (line * this.llcInv) & 255;
    const w3 = llc.find(s3, line, k3);
    const ds = this.dirStride;
    let lat: number;
    let slot: number;
    if (w3 >= 0) {
      ctr[cb + C_LLC_HIT]++;
      llc.lru.touch(s3, w3);
      slot = s3 * llc.ways + w3;
      lat = this.latLlc;
      // The owner, if any, is another CPU: this CPU's L2 just missed.
      const owner = this.dir[slot * ds];
      if (write) {
        if (this.invalidateOthers(cpu, slot, line) > 0) {
          lat += this.latC2c;
          ctr[cb + C_C2C]++;
        }
        this.dir[slot * ds] = cpu;
      } else if (owner >= 0) {
        this.dir[slot * ds] = -1;
        this.epoch[owner]++;
        lat += this.latC2c;
        ctr[cb + C_C2C]++;
      }
    } else {
      ctr[cb + C_LLC_MISS]++;
      lat = this.latLlc + this.latDram;
      slot = this.fillLlc(cpu, s3, line, k3);
      if (write) this.dir[slot * ds] = cpu;
    }
    this.dir[slot * ds + 1 + (cpu >>> 5)] |= 1 << (cpu & 31);
    this.fillL2(cpu, s2, line, slot);
    this.fillL1(s1, line, slot);
    return lat;
  }

  /**
   * A write hitting this CPU's private copy: gain ownership. Returns the
   * extra latency (c2c_transfer if other CPUs' copies had to be dropped).
   */
  private upgrade(cpu: number, slot: number): number {
    if (this.dir[slot * this.dirStride] === cpu) return 0;
    this.dir[slot * this.dirStride] = cpu;
    if (this.invalidateOthers(cpu, slot, this.llc.key[slot]) === 0) return 0;
    this.ctr[cpu * NC + C_C2C]++;
    return this.latC2c;
  }

  /** Drops every other CPU's copy of the line in LLC slot `slot`; returns how many CPUs lost one. */
  private invalidateOthers(cpu: number, slot: number, line: number): number {
    const dir = this.dir;
    const base = slot * this.dirStride + 1;
    const myWord = cpu >>> 5;
    const myBit = 1 << (cpu & 31);
    let n = 0;
    for (let w = 0; w < this.words; w++) {
      let m = dir[base + w];
      if (w === myWord) m &= ~myBit;
      if (m === 0) continue;
      dir[base + w] = w === myWord ? dir[base + w] & myBit : 0;
      while (m !== 0) {
        const low = m & -m;
        const other = (w << 5) + (31 - Math.clz32(low));
        this.dropPrivate(other, line);
        this.epoch[other]++;
        n++;
        m ^= low;
      }
    }
    if (n > 0) this.ctr[cpu * NC + C_INVAL] += n;
    return n;
  }

  /** Removes a line from one CPU's L2 and L1 (no directory update). */
  private dropPrivate(cpu: number, line: number): void {
    const s2 = cpu * this.l2Sets + (line & this.l2Mask);
    const w2 = this.l2.find(s2, line, (line * this.l2Inv) & 255);
    if (w2 >= 0) this.l2.clear(s2, w2);
    this.dropL1(cpu, line);
  }

  private dropL1(cpu: number, line: number): void {
    const s1 = cpu * this.l1Sets + (line & this.l1Mask);
    const w1 = this.l1.find(s1, line, (line * this.l1Inv) & 255);
    if (w1 >= 0) this.l1.clear(s1, w1);
  }

  /** Installs a line in L1 set s1, evicting its LRU way silently (L2 keeps the line). */
  private fillL1(s1: number, line: number, slot: number): void {
    const l1 = this.l1;
    const w = l1.lru.lru(s1);
    l1.put(s1, w, line, (line * this.l1Inv) & 255);
    this.l1Slot[s1 * l1.ways + w] = slot;
  }

  /** Installs a line in L2 set s2 of cpu; the victim leaves the directory and cpu's L1. */
  private fillL2(cpu: number, s2: number, line: number, slot: number): void {
    const l2 = this.l2;
    const w = l2.lru.lru(s2);
    const i = s2 * l2.ways + w;
    const old = l2.key[i];
    if (old !== -1) {
      const d = this.l2Slot[i] * this.dirStride;
      this.dir[d + 1 + (cpu >>> 5)] &= ~(1 << (cpu & 31));
      if (this.dir[d] === cpu) this.dir[d] = -1;
      this.dropL1(cpu, old);
    }
    l2.put(s2, w, line, (line * this.l2Inv) & 255);
    this.l2Slot[i] = slot;
  }

  /** Installs a line in LLC set s3 with an empty directory entry; returns its slot. */
  private fillLlc(cpu: number, s3: number, line: number, k3: number): number {
    const llc = this.llc;
    const w = llc.lru.lru(s3);
    const i = s3 * llc.ways + w;
    // The victim's line number is needed only to find its private copies;
    // most victims have none, and the directory record is read anyway.
    const d = i * this.dirStride;
    let held = 0;
    for (let q = 1; q <= this.words; q++) held |= this.dir[d + q];
    if (held !== 0) this.ctr[cpu * NC + C_BACKINV] += this.dropAllCopies(i, llc.key[i]);
    llc.put(s3, w, line, k3);
    this.dir[d] = -1; // an owner is a sharer, so this was -1 already unless held
    return i;
  }

  /** Back-invalidates every private copy of the line in LLC slot `slot` and clears its directory entry. */
  private dropAllCopies(slot: number, line: number): number {
    const dir = this.dir;
    const base = slot * this.dirStride + 1;
    let n = 0;
    for (let w = 0; w < this.words; w++) {
      let m = dir[base + w];
      dir[base + w] = 0;
      while (m !== 0) {
        const low = m & -m;
        const c = (w << 5) + (31 - Math.clz32(low));
        this.dropPrivate(c, line);
        this.epoch[c]++;
        n++;
        m ^= low;
      }
    }
    dir[base - 1] = -1;
    return n;
  }

  private findLlc(line: number): number {
    const s3 = line & this.llcMask;
    const w = this.llc.find(s3, line, (line * this.llcInv) & 255);
    return w < 0 ? -1 : s3 * this.llc.ways + w;
  }

  /** Where the line is for this CPU, with no state change (for tests and /proc readers). */
  probe(cpu: number, paddr: number): 'l1' | 'l2' | 'llc' | 'none' {
    const line = Math.floor(paddr / this.lineBytes);
    if (this.l1.find(cpu * this.l1Sets + (line & this.l1Mask), line, (line * this.l1Inv) & 255) >= 0) return 'l1';
    if (this.l2.find(cpu * this.l2Sets + (line & this.l2Mask), line, (line * this.l2Inv) & 255) >= 0) return 'l2';
    return this.findLlc(line) >= 0 ? 'llc' : 'none';
  }

  /** CPUs whose L2 holds the line, ascending, and the Modified owner (-1). Functional. */
  sharers(paddr: number): { cpus: number[]; owner: number } {
    const slot = this.findLlc(Math.floor(paddr / this.lineBytes));
    const cpus: number[] = [];
    if (slot < 0) return { cpus, owner: -1 };
    const d = slot * this.dirStride;
    for (let c = 0; c < this.cpus; c++) {
      if ((this.dir[d + 1 + (c >>> 5)] & (1 << (c & 31))) !== 0) cpus.push(c);
    }
    return { cpus, owner: this.dir[d] };
  }

  /** Drop every cached copy of the lines of one 4 KiB frame (used when a device writes the frame, e.g. swap-in). */
  invalidateFrame(pfn: number): void {
    const first = Math.floor((pfn * PAGE_BYTES) / this.lineBytes);
    const n = Math.max(1, PAGE_BYTES / this.lineBytes);
    for (let line = first; line < first + n; line++) {
      const slot = this.findLlc(line);
      if (slot < 0) continue;
      this.dropAllCopies(slot, line);
      const s3 = line & this.llcMask;
      this.llc.clear(s3, slot - s3 * this.llc.ways);
    }
  }

  /** Totals over CPUs: l1d_hit, l1d_miss, l2_hit, l2_miss, llc_hit, llc_miss, c2c_transfer, coherence_invalidations, llc_back_invalidations. */
  counters(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let k = 0; k < NC; k++) {
      let s = 0;
      for (let c = 0; c < this.cpus; c++) s += this.ctr[c * NC + k];
      out[COUNTER_NAMES[k]] = s;
    }
    return out;
  }

  /** Per-CPU counters in the same names. */
  cpuCounters(cpu: number): Record<string, number> {
    const out: Record<string, number> = {};
    for (let k = 0; k < NC; k++) out[COUNTER_NAMES[k]] = this.ctr[cpu * NC + k];
    return out;
  }
}
