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
 *   any valid line is evicted (the lowest-numbered empty way first).
 * - epoch[c] is bumped whenever something other than c's own access changes
 *   a line in c's private caches: another CPU's write invalidating it,
 *   another CPU's read downgrading c's Modified copy, any LLC eviction
 *   back-invalidating it (even one caused by c), invalidateFrame. The MMU
 *   memoizes "same line as last access" while epoch[c] is unchanged and
 *   charges it with hitSame(); the memoized line is MRU in its L1 set, so
 *   skipping the stamp update leaves the LRU order exactly as a lookup would.
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

  // Private levels: CPU c's slots are [c * perCpu, (c + 1) * perCpu), set s
  // of it at c * perCpu + s * ways. tag -1 and stamp 0 mark an empty way.
  private readonly l1Mask: number;
  private readonly l1Ways: number;
  private readonly l1PerCpu: number;
  private readonly l1Tag: Float64Array;
  private readonly l1Stamp: Float64Array;
  private readonly l1Slot: Int32Array; // LLC slot of the line

  private readonly l2Mask: number;
  private readonly l2Ways: number;
  private readonly l2PerCpu: number;
  private readonly l2Tag: Float64Array;
  private readonly l2Stamp: Float64Array;
  private readonly l2Slot: Int32Array;

  private readonly llcMask: number;
  private readonly llcWays: number;
  private readonly llcTag: Float64Array;
  private readonly llcStamp: Float64Array;
  private readonly llcOwner: Int32Array; // CPU holding the line Modified, -1 if none
  private readonly words: number; // sharer bitmask words per LLC line
  private readonly llcSharers: Uint32Array;

  /** LRU clock: every touch takes the next value, so the smallest stamp in a set is its LRU way. */
  private clock = 0;
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
    this.l1Mask = l1Sets - 1;
    this.l1Ways = c.l1d_ways;
    this.l1PerCpu = l1Sets * c.l1d_ways;
    this.l1Tag = new Float64Array(cpus * this.l1PerCpu).fill(-1);
    this.l1Stamp = new Float64Array(cpus * this.l1PerCpu);
    this.l1Slot = new Int32Array(cpus * this.l1PerCpu);

    const l2Sets = setCount(c.l2_kib, c.l2_ways, lb, 'l2');
    this.l2Mask = l2Sets - 1;
    this.l2Ways = c.l2_ways;
    this.l2PerCpu = l2Sets * c.l2_ways;
    this.l2Tag = new Float64Array(cpus * this.l2PerCpu).fill(-1);
    this.l2Stamp = new Float64Array(cpus * this.l2PerCpu);
    this.l2Slot = new Int32Array(cpus * this.l2PerCpu);

    const llcSets = setCount(c.llc_kib, c.llc_ways, lb, 'llc');
    const llcSlots = llcSets * c.llc_ways;
    this.llcMask = llcSets - 1;
    this.llcWays = c.llc_ways;
    this.llcTag = new Float64Array(llcSlots).fill(-1);
    this.llcStamp = new Float64Array(llcSlots);
    this.llcOwner = new Int32Array(llcSlots).fill(-1);
    this.words = (cpus + 31) >>> 5;
    this.llcSharers = new Uint32Array(llcSlots * this.words);

    this.epoch = new Uint32Array(cpus);
    this.ctr = new Float64Array(cpus * NC);
  }

  /** One access by `cpu` to the byte at `paddr`; returns its latency in cycles. */
  access(cpu: number, paddr: number, write: boolean): number {
    return this.accessLine(cpu, Math.floor(paddr / this.lineBytes), write);
  }

  /** One access by `cpu` to line number `line`; returns its latency in cycles. */
  accessLine(cpu: number, line: number, write: boolean): number {
    const ctr = this.ctr;
    const cb = cpu * NC;

    const t1 = this.l1Tag;
    const b1 = cpu * this.l1PerCpu + (line & this.l1Mask) * this.l1Ways;
    for (let i = b1, e = b1 + this.l1Ways; i < e; i++) {
      if (t1[i] === line) {
        this.l1Stamp[i] = ++this.clock;
        ctr[cb + C_L1_HIT]++;
        return write ? this.latL1 + this.upgrade(cpu, this.l1Slot[i]) : this.latL1;
      }
    }
    ctr[cb + C_L1_MISS]++;

    const t2 = this.l2Tag;
    const b2 = cpu * this.l2PerCpu + (line & this.l2Mask) * this.l2Ways;
    for (let i = b2, e = b2 + this.l2Ways; i < e; i++) {
      if (t2[i] === line) {
        this.l2Stamp[i] = ++this.clock;
        ctr[cb + C_L2_HIT]++;
        const slot = this.l2Slot[i];
        this.fillL1(b1, line, slot);
        return write ? this.latL2 + this.upgrade(cpu, slot) : this.latL2;
      }
    }
    ctr[cb + C_L2_MISS]++;

    const t3 = this.llcTag;
    const b3 = (line & this.llcMask) * this.llcWays;
    let slot = -1;
    for (let i = b3, e = b3 + this.llcWays; i < e; i++) {
      if (t3[i] === line) {
        slot = i;
        break;
      }
    }
    let lat: number;
    if (slot >= 0) {
      ctr[cb + C_LLC_HIT]++;
      this.llcStamp[slot] = ++this.clock;
      lat = this.latLlc;
      // The owner, if any, is another CPU: this CPU's L2 just missed.
      const owner = this.llcOwner[slot];
      if (write) {
        if (this.invalidateOthers(cpu, slot, line) > 0) {
          lat += this.latC2c;
          ctr[cb + C_C2C]++;
        }
        this.llcOwner[slot] = cpu;
      } else if (owner >= 0) {
        this.llcOwner[slot] = -1;
        this.epoch[owner]++;
        lat += this.latC2c;
        ctr[cb + C_C2C]++;
      }
    } else {
      ctr[cb + C_LLC_MISS]++;
      lat = this.latLlc + this.latDram;
      slot = this.fillLlc(cpu, b3, line);
      if (write) this.llcOwner[slot] = cpu;
    }
    this.llcSharers[slot * this.words + (cpu >>> 5)] |= 1 << (cpu & 31);
    this.fillL2(cpu, b2, line, slot);
    this.fillL1(b1, line, slot);
    return lat;
  }

  /** The MMU's memoized repeat of cpu's last access (see the header): an L1 hit. */
  hitSame(cpu: number): number {
    this.ctr[cpu * NC + C_L1_HIT]++;
    return this.latL1;
  }

  /**
   * A write hitting this CPU's private copy: gain ownership. Returns the
   * extra latency (c2c_transfer if other CPUs' copies had to be dropped).
   */
  private upgrade(cpu: number, slot: number): number {
    if (this.llcOwner[slot] === cpu) return 0;
    this.llcOwner[slot] = cpu;
    if (this.invalidateOthers(cpu, slot, this.llcTag[slot]) === 0) return 0;
    this.ctr[cpu * NC + C_C2C]++;
    return this.latC2c;
  }

  /** Drops every other CPU's copy of the line in LLC slot `slot`; returns how many CPUs lost one. */
  private invalidateOthers(cpu: number, slot: number, line: number): number {
    const sh = this.llcSharers;
    const base = slot * this.words;
    const myWord = cpu >>> 5;
    const myBit = 1 << (cpu & 31);
    let n = 0;
    for (let w = 0; w < this.words; w++) {
      let m = sh[base + w];
      if (w === myWord) m &= ~myBit;
      if (m === 0) continue;
      sh[base + w] = w === myWord ? sh[base + w] & myBit : 0;
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
    const t2 = this.l2Tag;
    const b2 = cpu * this.l2PerCpu + (line & this.l2Mask) * this.l2Ways;
    for (let i = b2, e = b2 + this.l2Ways; i < e; i++) {
      if (t2[i] === line) {
        t2[i] = -1;
        this.l2Stamp[i] = 0;
        break;
      }
    }
    const t1 = this.l1Tag;
    const b1 = cpu * this.l1PerCpu + (line & this.l1Mask) * this.l1Ways;
    for (let i = b1, e = b1 + this.l1Ways; i < e; i++) {
      if (t1[i] === line) {
        t1[i] = -1;
        this.l1Stamp[i] = 0;
        break;
      }
    }
  }

  /** Installs a line in the L1 set at b1, evicting its LRU way silently (L2 keeps the line). */
  private fillL1(b1: number, line: number, slot: number): void {
    const st = this.l1Stamp;
    let v = b1;
    for (let i = b1 + 1, e = b1 + this.l1Ways; i < e; i++) if (st[i] < st[v]) v = i;
    this.l1Tag[v] = line;
    st[v] = ++this.clock;
    this.l1Slot[v] = slot;
  }

  /** Installs a line in cpu's L2 set at b2; the victim leaves the directory and cpu's L1. */
  private fillL2(cpu: number, b2: number, line: number, slot: number): void {
    const st = this.l2Stamp;
    const t2 = this.l2Tag;
    let v = b2;
    for (let i = b2 + 1, e = b2 + this.l2Ways; i < e; i++) if (st[i] < st[v]) v = i;
    const old = t2[v];
    if (old !== -1) {
      const vs = this.l2Slot[v];
      this.llcSharers[vs * this.words + (cpu >>> 5)] &= ~(1 << (cpu & 31));
      if (this.llcOwner[vs] === cpu) this.llcOwner[vs] = -1;
      const t1 = this.l1Tag;
      const b1 = cpu * this.l1PerCpu + (old & this.l1Mask) * this.l1Ways;
      for (let i = b1, e = b1 + this.l1Ways; i < e; i++) {
        if (t1[i] === old) {
          t1[i] = -1;
          this.l1Stamp[i] = 0;
          break;
        }
      }
    }
    t2[v] = line;
    st[v] = ++this.clock;
    this.l2Slot[v] = slot;
  }

  /** Installs a line in the LLC set at b3 with an empty directory entry; returns its slot. */
  private fillLlc(cpu: number, b3: number, line: number): number {
    const st = this.llcStamp;
    let v = b3;
    for (let i = b3 + 1, e = b3 + this.llcWays; i < e; i++) if (st[i] < st[v]) v = i;
    const old = this.llcTag[v];
    if (old !== -1) {
      const n = this.dropAllCopies(v, old);
      if (n > 0) this.ctr[cpu * NC + C_BACKINV] += n;
    }
    this.llcTag[v] = line;
    st[v] = ++this.clock;
    this.llcOwner[v] = -1;
    return v;
  }

  /** Back-invalidates every private copy of the line in LLC slot `slot` and clears its directory entry. */
  private dropAllCopies(slot: number, line: number): number {
    const sh = this.llcSharers;
    const base = slot * this.words;
    let n = 0;
    for (let w = 0; w < this.words; w++) {
      let m = sh[base + w];
      sh[base + w] = 0;
      while (m !== 0) {
        const low = m & -m;
        const c = (w << 5) + (31 - Math.clz32(low));
        this.dropPrivate(c, line);
        this.epoch[c]++;
        n++;
        m ^= low;
      }
    }
    this.llcOwner[slot] = -1;
    return n;
  }

  private findLlc(line: number): number {
    const b3 = (line & this.llcMask) * this.llcWays;
    for (let i = b3, e = b3 + this.llcWays; i < e; i++) if (this.llcTag[i] === line) return i;
    return -1;
  }

  /** Where the line is for this CPU, with no state change (for tests and /proc readers). */
  probe(cpu: number, paddr: number): 'l1' | 'l2' | 'llc' | 'none' {
    const line = Math.floor(paddr / this.lineBytes);
    const b1 = cpu * this.l1PerCpu + (line & this.l1Mask) * this.l1Ways;
    for (let i = b1; i < b1 + this.l1Ways; i++) if (this.l1Tag[i] === line) return 'l1';
    const b2 = cpu * this.l2PerCpu + (line & this.l2Mask) * this.l2Ways;
    for (let i = b2; i < b2 + this.l2Ways; i++) if (this.l2Tag[i] === line) return 'l2';
    return this.findLlc(line) >= 0 ? 'llc' : 'none';
  }

  /** CPUs whose L2 holds the line, ascending, and the Modified owner (-1). Functional. */
  sharers(paddr: number): { cpus: number[]; owner: number } {
    const slot = this.findLlc(Math.floor(paddr / this.lineBytes));
    const cpus: number[] = [];
    if (slot < 0) return { cpus, owner: -1 };
    for (let c = 0; c < this.cpus; c++) {
      if ((this.llcSharers[slot * this.words + (c >>> 5)] & (1 << (c & 31))) !== 0) cpus.push(c);
    }
    return { cpus, owner: this.llcOwner[slot] };
  }

  /** Drop every cached copy of the lines of one 4 KiB frame (used when a device writes the frame, e.g. swap-in). */
  invalidateFrame(pfn: number): void {
    const first = Math.floor((pfn * PAGE_BYTES) / this.lineBytes);
    const n = Math.max(1, PAGE_BYTES / this.lineBytes);
    for (let line = first; line < first + n; line++) {
      const slot = this.findLlc(line);
      if (slot < 0) continue;
      this.dropAllCopies(slot, line);
      this.llcTag[slot] = -1;
      this.llcStamp[slot] = 0;
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
