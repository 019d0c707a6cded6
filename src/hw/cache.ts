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
 *   tag     = (line - set) / sets            (L2, LLC: 16 bits; cachesets.ts)
 *
 * `&` on a line number above 2^31 is safe: ToInt32 keeps the low 32 bits,
 * which hold every set-index bit.
 *
 * Model (the tests pin exactly this):
 * - Inclusion. L1 is a subset of its CPU's L2; the LLC is a superset of every
 *   L2. An L2 eviction drops the line from that CPU's L1; an LLC eviction
 *   back-invalidates it from every CPU's L1 and L2, so an LLC victim that is
 *   hot in some L1 is lost there too (as on Intel's inclusive LLCs).
 * - Directory. Each LLC line records the CPUs whose L2 holds it and whether
 *   one of them holds it Modified. The directory is exact as seen through
 *   sharers(), latencies and counters: a CPU whose L2 evicts a line is no
 *   longer a sharer (nor the owner).
 * - Latency of one access by `cpu` (read or write):
 *     L1 hit                 l1d_hit
 *     L1 miss, L2 hit        l2_hit (the whole latency, not added to l1d_hit)
 *     L2 miss, LLC hit       llc_hit, + c2c_transfer if another CPU holds the
 *                            line Modified (a read downgrades that copy to
 *                            shared; the owner keeps it)
 *     LLC miss               llc_hit + dram, + the wait for the DRAM channels
 *                            when the CPUs' traffic exceeds them (bw, membw.ts)
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
 * Storage and look-ups are in cachesets.ts: ways stay where they were
 * filled, look-ups test four ways at a time by 8-bit hints, LRU orders are
 * packed (lru.ts), and the hot path (accessLine, deep) is written out
 * rather than split into calls, since V8 inlines only a small total of
 * callees per function.
 *
 * Directory: per LLC way, ceil(cpus / 32) words: bit c for CPU c; and per
 * LLC set an M mask, whose bit w is set when the one CPU whose bit is set
 * in way w's words holds the line Modified. The sharer bits are exact: bit c is set exactly while CPU c's
 * L2 holds the line. An L2 fill clears its victim's bit (and M bit) at
 * once, finding the victim's LLC way from the byte each L2 way keeps for
 * it (ways stay where they were filled, and inclusion keeps the line in
 * the LLC while an L2 holds it). So invalidations and back-invalidations
 * know from the bits alone which CPUs lose a copy, and bump their epochs
 * and count them at once; the removal from another CPU's L1 and L2 sets is
 * logged and carried out before anything next looks at that CPU's sets
 * (cachesets.ts, dropShared), which leaves them exactly as an immediate
 * removal would. A line marked Modified has exactly one bit set, its
 * owner's.
 *
 * Counters are per CPU and count events caused by that CPU's accesses:
 * coherence_invalidations counts the other CPUs' copies (one per CPU) its
 * writes dropped; llc_back_invalidations the private copies (one per CPU)
 * its LLC fills dropped.
 *
 * Callers pass valid CPU numbers and non-negative line numbers below 2^53;
 * the hot path checks nothing.
 */
import type { MemBandwidth } from './membw.js';
import { CacheSets, EMPTY16 as SETS_EMPTY16, farCode, NEAR as SETS_NEAR } from './cachesets.js';
import type { HardwareConfig } from './config.js';
import { type Cycles, PAGE_SIZE, type Paddr, type Pfn } from './types.js';
import { orderAt, orderDemote, orderRotateLru, orderTouch } from './lru.js';

// Local literals for the hot path, which V8 folds to immediates (an
// imported binding costs a cell load and a check per use): the "has a zero
// byte" bit trick, and cachesets.ts's tag codes.
const ONES = 0x01010101;
const HIGHS = 0x80808080 | 0;
const NEAR = 0x8000;
const EMPTY16 = 0xffff;
if (NEAR !== SETS_NEAR || EMPTY16 !== SETS_EMPTY16) throw new Error('cache.ts: tag codes differ from cachesets.ts');

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

/** Where CacheHierarchy.storeLine found the line it wrote. */
export const STORE_L1 = 0;
export const STORE_L2 = 1;
export const STORE_LLC = 2;
export const STORE_DRAM = 3;

export class CacheHierarchy extends CacheSets {
  readonly epoch: Uint32Array;

  private readonly latL1: number;
  private readonly latL2: number;
  private readonly latLlc: number;
  private readonly latDram: number;
  private readonly latC2c: number;

  private readonly ctr: Float64Array;
  /** The DRAM channels (membw.ts): an LLC miss's fill queues there when they are busy. Set by Machine; null: unlimited. */
  bw: MemBandwidth | null = null;
  /** Host speed only: the last directory word deep() read ahead (see there). */
  touched = 0;

  constructor(cfg: HardwareConfig) {
    super(cfg);
    this.latL1 = cfg.cost.l1d_hit;
    this.latL2 = cfg.cost.l2_hit;
    this.latLlc = cfg.cost.llc_hit;
    this.latDram = cfg.cost.dram;
    this.latC2c = cfg.cost.c2c_transfer;

    this.epoch = new Uint32Array(cfg.cpus);
    this.ctr = new Float64Array(cfg.cpus * NC);
  }

  /** One access by `cpu` to the byte at `paddr`; returns its latency in cycles. */
  access(cpu: number, paddr: Paddr, write: boolean): Cycles {
    return this.accessLine(cpu, Math.floor(paddr * this.lineInv), write);
  }

  /** One access by `cpu` to line number `line`; returns its latency in cycles. */
  accessLine(cpu: number, line: number, write: boolean): Cycles {
    // the MRU way first: a run of accesses to one line is the common case
    if (this.logN[cpu] !== 0) this.settle(cpu);
    const s1 = cpu * this.sets1 + (line & this.mask1);
    const r = s1 * this.r1;
    const w = orderAt(this.a, r + this.h1, this.w1, 0);
    if (this.f[s1 * this.p1 + w] !== line) return this.deep(cpu, s1, line, write);
    this.ctr[cpu * NC + C_L1_HIT]++;
    return write && this.a[r + this.h1 + this.o1 + w] === 0 ? this.latL1 + this.upgrade(cpu, s1, w, line) : this.latL1;
  }

  /**
   * A write by `cpu` of the whole of line number `line`, exactly as
   * accessLine(cpu, line, true) (the line ends Modified in cpu's L1, other
   * copies dropped), returning where it was served instead of a latency:
   * STORE_L1, STORE_L2, STORE_LLC (an LLC hit, or a line another CPU held:
   * an invalidation or a transfer) or STORE_DRAM. A string store's cost
   * follows from the level's throughput, not its load-to-use latency
   * (Kernel.clearRange).
   */
  storeLine(cpu: number, line: number): number {
    const ctr = this.ctr;
    const cb = cpu * NC;
    const l1 = ctr[cb + C_L1_HIT]!;
    const l2 = ctr[cb + C_L2_HIT]!;
    const c2c = ctr[cb + C_C2C]!;
    const miss = ctr[cb + C_LLC_MISS]!;
    this.accessLine(cpu, line, true);
    if (ctr[cb + C_LLC_MISS] !== miss) return STORE_DRAM;
    if (ctr[cb + C_C2C] !== c2c) return STORE_LLC;
    if (ctr[cb + C_L1_HIT] !== l1) return STORE_L1;
    return ctr[cb + C_L2_HIT] !== l2 ? STORE_L2 : STORE_LLC;
  }

  /** The MMU's memoized repeat of cpu's last access (see the header): an L1 hit. */
  hitSame(cpu: number): Cycles {
    this.ctr[cpu * NC + C_L1_HIT]++;
    return this.latL1;
  }

  /**
   * An access whose line is not the MRU way of L1 set s1: the rest of L1,
   * then L2 and the LLC, and the fills, written out (see the header).
   */
  private deep(cpu: number, s1: number, line: number, write: boolean): number {
    const a = this.a;
    const f = this.f;
    const ctr = this.ctr;
    const cb = cpu * NC;

    // ---- L1
    const h1 = this.h1;
    const r1 = s1 * this.r1;
    const k1 = s1 * this.p1;
    const hint1 = (line * this.inv1) & 255;
    let w = -1;
    let pat = Math.imul(hint1, ONES);
    for (let q = 0; q < h1; q++) {
      const v = a[r1 + q] ^ pat;
      // high bit of each byte of v that is zero (exact for the lowest; a
      // higher one may be a false positive, which the key compare rejects)
      const m = ((v - ONES) | 0) & ~v & HIGHS;
      if (m === 0) continue;
      const i = k1 + (q << 2);
      if ((m & 0x80) !== 0 && f[i] === line) w = q << 2;
      else if ((m & 0x8000) !== 0 && f[i + 1] === line) w = (q << 2) + 1;
      else if ((m & 0x800000) !== 0 && f[i + 2] === line) w = (q << 2) + 2;
      else if (m < 0 && f[i + 3] === line) w = (q << 2) + 3;
      if (w >= 0) break;
    }
    if (w >= 0) {
      orderTouch(a, r1 + h1, this.w1, w);
      ctr[cb + C_L1_HIT]++;
      return write && a[r1 + h1 + this.o1 + w] === 0 ? this.latL1 + this.upgrade(cpu, s1, w, line) : this.latL1;
    }
    ctr[cb + C_L1_MISS]++;

    // ---- L2: 16-bit tags, two a word
    const set2 = line & this.mask2;
    const s2 = cpu * this.sets2 + set2;
    const r2 = this.base2 + s2 * this.r2;
    const tg2 = r2 + this.o2;
    let t2 = (line - set2) * this.inv2;
    if (t2 < NEAR) {
      const q2 = this.q2;
      for (let q = 0; q < q2; q++) {
        const v = a[tg2 + q] ^ t2;
        if ((v & 0xffff) === 0) {
          w = q << 1;
          break;
        }
        if (v >>> 16 === t2) {
          w = (q << 1) + 1;
          break;
        }
      }
    } else {
      t2 = farCode(t2);
      w = this.findL2(s2, t2, line);
    }
    if (w >= 0) {
      orderTouch(a, r2, this.w2, w);
      ctr[cb + C_L2_HIT]++;
      const w1 = this.fill1(r1, k1, line, hint1);
      return write ? this.latL2 + this.upgrade(cpu, s1, w1, line) : this.latL2;
    }
    ctr[cb + C_L2_MISS]++;
    // The L2 fill below evicts this set's LRU line (unless the LLC fill's
    // back-invalidation empties another way first) and clears its sharer
    // bit in the LLC. Read that directory word now, so that its host cache
    // miss overlaps the LLC look-up's instead of following it. Host speed
    // only: the value read is not used by the model.
    {
      const lw = this.w2 - 1;
      const pv = (a[r2 + (lw >>> 3)] >>> ((lw & 7) << 2)) & 15;
      const vt = (a[tg2 + (pv >>> 1)] >>> ((pv & 1) << 4)) & 0xffff;
      if (vt < NEAR && this.w2 <= 16) {
        const vw3 = (a[tg2 + this.q2 + (pv >>> 2)] >>> ((pv & 3) << 3)) & 255;
        this.touched = a[this.base3 + ((vt * this.sets2 + set2) & this.mask3) * this.r3 + this.to3 + this.q3 + vw3 * this.words + (cpu >>> 5)];
      }
    }

    // ---- LLC: 16-bit tags, two a word
    const s3 = line & this.mask3;
    const r3 = this.base3 + s3 * this.r3;
    const tg3 = r3 + this.to3;
    const mm = r3 + this.mo3;
    let t3 = (line - s3) * this.inv3;
    if (t3 < NEAR) {
      const q3 = this.q3;
      for (let q = 0; q < q3; q++) {
        const v = a[tg3 + q] ^ t3;
        if ((v & 0xffff) === 0) {
          w = q << 1;
          break;
        }
        if (v >>> 16 === t3) {
          w = (q << 1) + 1;
          break;
        }
      }
    } else {
      t3 = farCode(t3);
      w = this.findLlc(s3, t3, line);
    }
    const words = this.words;
    const dir0 = tg3 + this.q3;
    let lat: number;
    let d: number;
    let w3: number;
    if (w >= 0) {
      w3 = w;
      ctr[cb + C_LLC_HIT]++;
      orderTouch(a, r3, this.w3, w);
      d = dir0 + w * words;
      lat = this.latLlc;
      // A Modified copy, if any, is another CPU's: this CPU's L2 just missed.
      if (write) {
        if (this.invalidateOthers(cpu, d, line) > 0) {
          lat += this.latC2c;
          ctr[cb + C_C2C]++;
        }
        a[mm] |= 1 << w;
      } else if (((a[mm] >>> w) & 1) !== 0) {
        lat += this.downgrade(cpu, d, mm, w, line);
      }
    } else {
      ctr[cb + C_LLC_MISS]++;
      lat = this.latLlc + this.latDram;
      if (this.bw !== null) lat += this.bw.line(cpu, this.lineBytes, lat);
      // fill the LRU way; a victim some L2 may still hold is back-invalidated
      const v = orderRotateLru(a, r3, this.w3);
      w3 = v;
      d = dir0 + v * words;
      let held = 0;
      for (let q = 0; q < words; q++) held |= a[d + q];
      if (held !== 0) ctr[cb + C_BACKINV] += this.dropAllCopies(d, this.line3(s3, v), cpu);
      const j = tg3 + (v >>> 1);
      const sh = (v & 1) << 4;
      a[j] = (a[j] & ~(0xffff << sh)) | (t3 << sh);
      if (t3 >= NEAR) f[this.far3 + s3 * this.p3 + v] = line;
      a[mm] = (a[mm] & ~(1 << v)) | ((write ? 1 : 0) << v);
    }
    a[d + (cpu >>> 5)] |= 1 << (cpu & 31);

    // ---- fill L2: the victim leaves this CPU's L1 (inclusion) and its sharer bit (and M bit: see the header)
    {
      const v = orderRotateLru(a, r2, this.w2);
      const j = tg2 + (v >>> 1);
      const sh16 = (v & 1) << 4;
      const vt = (a[j] >>> sh16) & 0xffff;
      const bw = tg2 + this.q2 + (v >>> 2);
      const sh = (v & 3) << 3;
      if (vt !== EMPTY16) this.leaveL2(cpu, vt >= NEAR ? f[this.far2 + s2 * this.p2 + v] : vt * this.sets2 + set2, (a[bw] >>> sh) & 255);
      a[j] = (a[j] & ~(0xffff << sh16)) | (t2 << sh16);
      if (t2 >= NEAR) f[this.far2 + s2 * this.p2 + v] = line;
      a[bw] = (a[bw] & ~(255 << sh)) | (w3 << sh);
    }
    const w1 = this.fill1(r1, k1, line, hint1);
    // after a write this CPU is the owner (set above), so its L1 copy may say so
    if (write) a[r1 + h1 + this.o1 + w1] = 1;
    return lat;
  }

  /**
   * A write hitting this CPU's private copy (way w1 of L1 set s1) that is
   * not known to be Modified: gain ownership. Returns the extra latency
   * (c2c_transfer if other CPUs' copies had to be dropped).
   */
  private upgrade(cpu: number, s1: number, w1: number, line: number): number {
    const a = this.a;
    a[s1 * this.r1 + this.h1 + this.o1 + w1] = 1;
    const w3 = this.llcWay(line);
    const r3 = this.base3 + (line & this.mask3) * this.r3;
    const mm = r3 + this.mo3;
    // this CPU is a sharer, so a Modified line is this CPU's
    if (((a[mm] >>> w3) & 1) !== 0) return 0;
    a[mm] |= 1 << w3;
    const d = r3 + this.to3 + this.q3 + w3 * this.words;
    if (this.invalidateOthers(cpu, d, line) === 0) return 0;
    this.ctr[cpu * NC + C_C2C]++;
    return this.latC2c;
  }

  /**
   * A read by cpu (whose L2 missed) of a line marked Modified, directory
   * words at a[d], way w of the LLC set whose M mask is a[mm]: the sole sharer owns it (the bits are exact, so it holds
   * it, and it is not cpu) and keeps a shared copy. Returns the extra
   * latency.
   */
  private downgrade(cpu: number, d: number, mm: number, w: number, line: number): number {
    const a = this.a;
    a[mm] &= ~(1 << w);
    const owner = this.soleSharer(d);
    this.epoch[owner]++;
    // its L1 copy, if any, is no longer known to be Modified
    if (this.logN[owner] !== 0) this.settle(owner);
    const s1 = owner * this.sets1 + (line & this.mask1);
    const w1 = this.findL1(s1, line);
    if (w1 >= 0) a[s1 * this.r1 + this.h1 + this.o1 + w1] = 0;
    this.ctr[cpu * NC + C_C2C]++;
    return this.latC2c;
  }

  /**
   * `line` leaves cpu's L2 (an LRU victim of a fill): out of its L1 too
   * (inclusion), and out of the directory: cpu's sharer bit is cleared, and
   * the M bit, since a line marked Modified is its one sharer's.
   */
  private leaveL2(cpu: number, line: number, w3: number): void {
    this.dropL1(cpu, line);
    const r3 = this.base3 + (line & this.mask3) * this.r3;
    this.a[r3 + this.to3 + this.q3 + w3 * this.words + (cpu >>> 5)] &= ~(1 << (cpu & 31));
    this.a[r3 + this.mo3] &= ~(1 << w3);
  }

  /**
   * Drops every other CPU's copy of `line`, whose directory words start at
   * a[d], clearing their sharer bits (the M mask is the caller's); returns
   * how many CPUs lost one.
   */
  private invalidateOthers(cpu: number, d: number, line: number): number {
    const a = this.a;
    const myWord = cpu >>> 5;
    const myBit = 1 << (cpu & 31);
    let n = 0;
    for (let w = 0; w < this.words; w++) {
      let m = a[d + w];
      if (w === myWord) m &= ~myBit;
      if (m === 0) continue;
      a[d + w] &= ~m;
      n += this.dropShared(m, w << 5, line, cpu, this.epoch);
    }
    if (n > 0) this.ctr[cpu * NC + C_INVAL] += n;
    return n;
  }

  /** Back-invalidates every private copy of `line`, whose directory words start at a[d], and clears them (self: the CPU whose access evicts it, or -1); returns how many CPUs lost one. */
  private dropAllCopies(d: number, line: number, self: number): number {
    const a = this.a;
    let n = 0;
    for (let w = 0; w < this.words; w++) {
      const m = a[d + w];
      a[d + w] = 0;
      if (m !== 0) n += this.dropShared(m, w << 5, line, self, this.epoch);
    }
    return n;
  }

  /** The one CPU whose bit is set in the directory words at a[d] (a Modified line's owner). */
  private soleSharer(d: number): number {
    for (let w = 0; w < this.words; w++) {
      const m = this.a[d + w];
      if (m !== 0) return (w << 5) + (31 - Math.clz32(m));
    }
    return -1;
  }

  /** Where the line is for this CPU, with no state change (for tests and /proc readers). */
  probe(cpu: number, paddr: Paddr): 'l1' | 'l2' | 'llc' | 'none' {
    const line = Math.floor(paddr * this.lineInv);
    if (this.logN[cpu] !== 0) this.settle(cpu);
    if (this.findL1(cpu * this.sets1 + (line & this.mask1), line) >= 0) return 'l1';
    const s3 = line & this.mask3;
    const w = this.findLlc(s3, this.tag3(line), line);
    if (w < 0) return 'none';
    const d = this.base3 + s3 * this.r3 + this.to3 + this.q3 + w * this.words;
    return (this.a[d + (cpu >>> 5)] & (1 << (cpu & 31))) !== 0 ? 'l2' : 'llc';
  }

  /** CPUs whose L2 holds the line, ascending, and the Modified owner (-1). Functional. */
  sharers(paddr: number): { cpus: number[]; owner: number } {
    const line = Math.floor(paddr * this.lineInv);
    const cpus: number[] = [];
    const w = this.llcWay(line);
    if (w < 0) return { cpus, owner: -1 };
    const r3 = this.base3 + (line & this.mask3) * this.r3;
    const d = r3 + this.to3 + this.q3 + w * this.words;
    for (let c = 0; c < this.cpus; c++) {
      if ((this.a[d + (c >>> 5)] & (1 << (c & 31))) !== 0) cpus.push(c);
    }
    return { cpus, owner: ((this.a[r3 + this.mo3] >>> w) & 1) !== 0 ? this.soleSharer(d) : -1 };
  }

  /** Drop every cached copy of the lines of one 4 KiB frame (used when a device writes the frame, e.g. swap-in). */
  invalidateFrame(pfn: Pfn): void {
    const first = Math.floor((pfn * PAGE_SIZE) / this.lineBytes);
    const n = Math.max(1, PAGE_SIZE / this.lineBytes);
    for (let line = first; line < first + n; line++) {
      const s3 = line & this.mask3;
      const w = this.findLlc(s3, this.tag3(line), line);
      if (w < 0) continue;
      const r3 = this.base3 + s3 * this.r3;
      this.dropAllCopies(r3 + this.to3 + this.q3 + w * this.words, line, -1);
      this.a[r3 + this.mo3] &= ~(1 << w);
      this.a[r3 + this.to3 + (w >>> 1)] |= 0xffff << ((w & 1) << 4);
      orderDemote(this.a, r3, this.w3, w);
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
