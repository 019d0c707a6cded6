/**
 * CacheSets: the storage of CacheHierarchy (cache.ts), laid out for host
 * speed, and the look-ups its slow paths share. cache.ts holds the model.
 *
 * Layout, for host speed. A deep access on a random pattern is bound by the
 * host cache lines it touches and by the instructions V8 emits, about
 * seven per typed-array access (map, bounds and tag checks), so:
 * - A set is one record in one Int32Array (`a`), its parts adjacent:
 *     L1   [hints][order][own x ways]          keys: Float64 (`f`), per set
 *     L2   [order][16-bit tag x ways][LLC way x ways, bytes]
 *     LLC  [order][M mask][16-bit tag x ways][directory x ways]
 *   Ways stay where they were filled; ways are padded to a multiple of four
 *   (padding ways stay empty). With 16 ways and up to 32 CPUs an LLC set is
 *   27 words, two or three adjacent host cache lines (64 CPUs: 43 words). The M
 *   mask has bit w set when way w's line is Modified, so the directory's
 *   words per way are the sharer bits alone: ceil(cpus / 32) (an M bit
 *   beside them made 64 CPUs take three words a way). An L2 way's LLC way
 *   byte says where the LLC holds its line (for its directory bit, cache.ts).
 * - An L1 look-up tests four ways per step: each way has an 8-bit hint
 *   (the line bits above the set index), packed four to a word, and a key
 *   is compared only where the hint matches (the "has a zero byte" bit
 *   trick). The L2 and LLC need no hints: their tags are 16 bits, two to a
 *   word, compared directly. With 16 ways an L2 set is 14 words (56 bytes,
 *   one or two host cache lines; 104 bytes with hints and 32-bit tags).
 * - The LRU order is packed in the record and kept by lru.ts, the one LRU
 *   of the hardware (TLBs, caches and PWC): a hit or a fill updates it with
 *   a dozen integer operations.
 * - Tags are (line - set) / sets, kept in 16 bits. A tag below NEAR
 *   (0x8000) is stored as itself. A larger one (with the default sets, a
 *   paddr at or above 2 GiB for the L2, 16 GiB for the LLC; the frame
 *   allocator hands out low frames first) is stored as its far code, 0x8000
 *   | its low 15 bits (0xfffe for 0xffff), with the line number in a Float64
 *   beside it that is compared where the code matches, so every line number
 *   below 2^53 stays exact, at the cost of that compare on a hit and the
 *   write on a fill. EMPTY16 (0xffff) marks an empty way.
 *   Victims' line numbers are rebuilt from tag and set index.
 * - The hot path (cache.ts: accessLine, deep) is written out rather than
 *   split into calls: V8 inlines only a small total of callees per function.
 * - `own` (L1, per way): 1 when this CPU is known to hold the line
 *   Modified, so a write hit needs no directory look-up (0: unknown, ask
 *   the LLC).
 */
import type { HardwareConfig } from './config.js';
import { MAX_WAYS, orderDemote, orderInit, orderRotateLru, orderWords } from './lru.js';

/** L2 and LLC 16-bit tag codes: a tag below NEAR is stored as itself, a larger one as farCode(tag) with its line number in `f`; EMPTY16 is an empty way (an empty L1 way's key is -1). */
export const NEAR = 0x8000;
export const EMPTY16 = 0xffff;

/** The 16-bit code of a tag of NEAR or more (an integer below 2^53): NEAR | its low 15 bits, never EMPTY16. */
export function farCode(t: number): number {
  const c = NEAR | t % NEAR;
  return c === EMPTY16 ? EMPTY16 - 1 : c;
}
/** Drops a CPU's log holds before it is carried out at once. */
const LOG = 4096;
// "has a zero byte" bit trick (hints)
const ONES = 0x01010101;
const HIGHS = 0x80808080 | 0;

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

export class CacheSets {
  readonly lineBytes: number;
  readonly cpus: number;
  /** 1 / lineBytes: a power of two, so paddr * lineInv is exact and cheaper than a division. */
  protected readonly lineInv: number;

  /** Every set's record (see the header). */
  protected readonly a: Int32Array;
  /** L1 keys (line numbers) by slot, then the L2's and the LLC's FAR line numbers by slot. */
  protected readonly f: Float64Array;

  // Per level: ways, padded ways, hint words and order words per set, record
  // size, where the level's records start in `a` (and its slots in `f`),
  // sets a line is spread over (mask and 1 / count). The private
  // levels hold every CPU's sets: CPU c's set s is set c * sets + s.
  protected readonly w1: number;
  protected readonly p1: number;
  protected readonly h1: number;
  protected readonly o1: number;
  protected readonly r1: number;
  protected readonly sets1: number;
  protected readonly mask1: number;
  protected readonly inv1: number;

  protected readonly w2: number;
  protected readonly p2: number;
  /** Words of an L2 record's tags (two 16-bit tags a word). */
  protected readonly q2: number;
  protected readonly o2: number;
  protected readonly r2: number;
  protected readonly base2: number;
  protected readonly far2: number;
  protected readonly sets2: number;
  protected readonly mask2: number;
  protected readonly inv2: number;

  protected readonly w3: number;
  protected readonly p3: number;
  /** Words of an LLC record's tags (two 16-bit tags a word). */
  protected readonly q3: number;
  protected readonly o3: number;
  protected readonly r3: number;
  protected readonly base3: number;
  protected readonly far3: number;
  protected readonly sets3: number;
  protected readonly mask3: number;
  protected readonly inv3: number;
  /** Directory words per LLC way (sharer bits only: ceil(cpus / 32)). */
  protected readonly words: number;
  /** Offsets in an LLC record of its M mask word and of its tags. */
  protected readonly mo3: number;
  protected readonly to3: number;

  /** Per CPU, the drops dropShared logged (LOG lines from cpu * LOG) and how many. */
  protected readonly logN: Int32Array;
  private readonly logLine: Float64Array;

  constructor(cfg: HardwareConfig) {
    const c = cfg.cache;
    const lb = c.line_bytes;
    if (!Number.isInteger(lb) || lb < 1 || (lb & (lb - 1)) !== 0) {
      throw new Error(`cache.line_bytes: ${lb} is not a power of two`);
    }
    this.lineBytes = lb;
    this.lineInv = 1 / lb;
    this.cpus = cfg.cpus;
    const cpus = cfg.cpus;

    this.sets1 = setCount(c.l1d_kib, c.l1d_ways, lb, 'l1d');
    this.sets2 = setCount(c.l2_kib, c.l2_ways, lb, 'l2');
    this.sets3 = setCount(c.llc_kib, c.llc_ways, lb, 'llc');
    this.words = (cpus + 31) >>> 5;

    this.w1 = c.l1d_ways;
    this.h1 = (this.w1 + 3) >>> 2;
    this.p1 = this.h1 * 4;
    this.o1 = orderWords(this.w1);
    this.r1 = this.h1 + this.o1 + this.p1;
    this.mask1 = this.sets1 - 1;
    this.inv1 = 1 / this.sets1;

    this.w2 = c.l2_ways;
    this.p2 = ((this.w2 + 3) >>> 2) * 4;
    this.q2 = this.p2 >>> 1;
    this.o2 = orderWords(this.w2);
    // [order][16-bit tags][LLC way per way, bytes]
    this.r2 = this.o2 + this.q2 + (this.p2 >>> 2);
    this.mask2 = this.sets2 - 1;
    this.inv2 = 1 / this.sets2;

    this.w3 = c.llc_ways;
    this.p3 = ((this.w3 + 3) >>> 2) * 4;
    this.q3 = this.p3 >>> 1;
    this.o3 = orderWords(this.w3);
    // [order][M mask][16-bit tags][directory]
    this.mo3 = this.o3;
    this.to3 = this.mo3 + 1;
    this.r3 = this.to3 + this.q3 + this.p3 * this.words;
    this.mask3 = this.sets3 - 1;
    this.inv3 = 1 / this.sets3;

    this.logN = new Int32Array(cpus);
    this.logLine = new Float64Array(cpus * LOG);

    const n1 = cpus * this.sets1;
    const n2 = cpus * this.sets2;
    const n3 = this.sets3;
    this.base2 = n1 * this.r1;
    this.base3 = this.base2 + n2 * this.r2;
    this.a = new Int32Array(this.base3 + n3 * this.r3);
    this.far2 = n1 * this.p1;
    this.far3 = this.far2 + n2 * this.p2;
    this.f = new Float64Array(this.far3 + n3 * this.p3);
    this.f.fill(-1, 0, this.far2);
    for (let s = 0; s < n1; s++) orderInit(this.a, s * this.r1 + this.h1, this.w1);
    for (let s = 0; s < n2; s++) {
      const r = this.base2 + s * this.r2;
      orderInit(this.a, r, this.w2);
      // every 16-bit tag EMPTY16
      this.a.fill(-1, r + this.o2, r + this.o2 + this.q2);
    }
    for (let s = 0; s < n3; s++) {
      const r = this.base3 + s * this.r3;
      orderInit(this.a, r, this.w3);
      // every 16-bit tag EMPTY16
      this.a.fill(-1, r + this.to3, r + this.to3 + this.q3);
    }
  }

  /** Installs a line (hint byte h) in the LRU way of the L1 set whose record is at a[r1] and keys at f[k1], evicting silently (L2 keeps the line); returns its way. */
  protected fill1(r1: number, k1: number, line: number, h: number): number {
    const a = this.a;
    const o = r1 + this.h1;
    const v = orderRotateLru(a, o, this.w1);
    this.f[k1 + v] = line;
    a[o + this.o1 + v] = 0;
    const j = r1 + (v >>> 2);
    const sh = (v & 3) << 3;
    a[j] = (a[j] & ~(255 << sh)) | (h << sh);
    return v;
  }

  /** The L2's 16-bit tag code of a line (see the header). */
  protected tag2(line: number): number {
    const t = (line - (line & this.mask2)) * this.inv2;
    return t < NEAR ? t : farCode(t);
  }

  /** The LLC's 16-bit tag code of a line (see the header). */
  protected tag3(line: number): number {
    const t = (line - (line & this.mask3)) * this.inv3;
    return t < NEAR ? t : farCode(t);
  }

  /** The line held in way w of LLC set s3 (not empty). */
  protected line3(s3: number, w: number): number {
    const t = (this.a[this.base3 + s3 * this.r3 + this.to3 + (w >>> 1)]! >>> ((w & 1) << 4)) & 0xffff;
    return t >= NEAR ? this.f[this.far3 + s3 * this.p3 + w]! : t * this.sets3 + s3;
  }

  /**
   * Drops the copies of `line` held by the CPUs of one directory word (bit
   * b of `m` is CPU cpuBase + b; every such CPU's L2 holds the line, the
   * bits being exact): bumps each one's epoch at once, and removes the L1
   * and L2 copies at once for `self` (the CPU whose access caused the drop,
   * whose sets are in use), for any other CPU by appending the line to that
   * CPU's log of drops (a sequential write). A CPU's log is carried out, in
   * order, before anything looks at its private sets (settle: its next
   * access, a probe, a read downgrading its copy, a full log). Nothing sees
   * those sets in between, so their ways and LRU orders end up as immediate
   * drops would leave them, while a drop costs no visit to another CPU's set
   * records, which its own accesses soon bring into the host's caches
   * anyway. Returns how many CPUs lost a copy.
   */
  protected dropShared(m: number, cpuBase: number, line: number, self: number, epoch: Uint32Array): number {
    const logN = this.logN;
    let n = 0;
    while (m !== 0) {
      const low = m & -m;
      const cpu = cpuBase + (31 - Math.clz32(low));
      m ^= low;
      if (cpu !== self) {
        let k = logN[cpu]!;
        if (k === LOG) {
          this.settle(cpu);
          k = 0;
        }
        this.logLine[cpu * LOG + k] = line;
        logN[cpu] = k + 1;
      } else {
        if (logN[cpu] !== 0) this.settle(cpu);
        this.dropPrivate(cpu, line);
      }
      epoch[cpu]!++;
      n++;
    }
    return n;
  }

  /** Removes a line cpu's L2 holds from its L2 and, if there, its L1 (nothing logged for cpu); it becomes each set's next victim. */
  private dropPrivate(cpu: number, line: number): void {
    const s2 = cpu * this.sets2 + (line & this.mask2);
    const w2 = this.findL2(s2, this.tag2(line), line);
    if (w2 < 0) throw new Error(`cache: CPU ${cpu}'s L2 lost line ${line} (directory out of step)`);
    const r2 = this.base2 + s2 * this.r2;
    this.a[r2 + this.o2 + (w2 >>> 1)] |= 0xffff << ((w2 & 1) << 4);
    orderDemote(this.a, r2, this.w2, w2);
    const s1 = cpu * this.sets1 + (line & this.mask1);
    const w1 = this.findL1(s1, line);
    if (w1 < 0) return;
    this.f[s1 * this.p1 + w1] = -1;
    orderDemote(this.a, s1 * this.r1 + this.h1, this.w1, w1);
  }

  /** Carries out cpu's log of drops (the caller checked that it is not empty), in order. */
  protected settle(cpu: number): void {
    const n = this.logN[cpu]!;
    this.logN[cpu] = 0;
    const k = cpu * LOG;
    for (let i = 0; i < n; i++) this.dropPrivate(cpu, this.logLine[k + i]!);
  }

  /** Removes a line from one CPU's L1, if there. */
  protected dropL1(cpu: number, line: number): void {
    const s1 = cpu * this.sets1 + (line & this.mask1);
    const w1 = this.findL1(s1, line);
    if (w1 < 0) return;
    this.f[s1 * this.p1 + w1] = -1;
    orderDemote(this.a, s1 * this.r1 + this.h1, this.w1, w1);
  }

  /** Way of L1 set s1 holding the line, or -1. */
  protected findL1(s1: number, line: number): number {
    const a = this.a;
    const f = this.f;
    const r1 = s1 * this.r1;
    const k1 = s1 * this.p1;
    const pat = Math.imul((line * this.inv1) & 255, ONES);
    const h1 = this.h1;
    for (let q = 0; q < h1; q++) {
      const v = a[r1 + q] ^ pat;
      let m = ((v - ONES) | 0) & ~v & HIGHS;
      while (m !== 0) {
        const low = m & -m;
        const w = (q << 2) + ((31 - Math.clz32(low)) >>> 3);
        if (f[k1 + w] === line) return w;
        m ^= low;
      }
    }
    return -1;
  }

  /** Way of L2 set s2 holding the line (16-bit tag code t, tag2), or -1. */
  protected findL2(s2: number, t: number, line: number): number {
    return this.findTag(this.base2 + s2 * this.r2 + this.o2, this.far2 + s2 * this.p2, this.q2, t, line);
  }

  /** Way of LLC set s3 holding the line (16-bit tag code t, tag3), or -1. */
  protected findLlc(s3: number, t: number, line: number): number {
    return this.findTag(this.base3 + s3 * this.r3 + this.to3, this.far3 + s3 * this.p3, this.q3, t, line);
  }

  /**
   * The search both levels share: q words of two 16-bit tags from `tg`; a far
   * code (t >= NEAR) matches only where the line number kept beside it at
   * `k` (two a word, as the tags) is the line's.
   */
  private findTag(tg: number, k: number, q: number, t: number, line: number): number {
    const a = this.a;
    for (let i = 0; i < q; i++) {
      const v = a[tg + i]! ^ t;
      if ((v & 0xffff) === 0 && (t < NEAR || this.f[k + 2 * i] === line)) return 2 * i;
      if (v >>> 16 === t && (t < NEAR || this.f[k + 2 * i + 1] === line)) return 2 * i + 1;
    }
    return -1;
  }

  /** Way of the LLC holding a line, or -1 (its record is at base3 + (line & mask3) * r3). */
  protected llcWay(line: number): number {
    return this.findLlc(line & this.mask3, this.tag3(line), line);
  }

}
