/**
 * Sampled mode of the access pipeline (SMARTS-style systematic sampling:
 * Wunderlich et al., "SMARTS: accelerating microarchitecture simulation via
 * rigorous statistical sampling", ISCA 2003), for user-mode traffic only.
 *
 * Each CPU's user accesses are cut into periods of `period` accesses. The
 * first `unit` accesses of a period are simulated in detail (TLB, walk,
 * caches, as in exact mode): the first half of them only warm the TLB and
 * caches, the second half is the measured sample unit, whose mean cycles
 * per access is recorded. The rest of the period is translated
 * functionally: the page tables are read without TLB, PWC or cache model
 * and each such access is charged the mean of the CPU's last measured unit.
 * The fraction simulated in detail is unit / period.
 *
 * Semantics do not depend on the sampling. A functional access only reads
 * the tables; it goes on only where the hardware would change nothing in
 * them: every level present with A set, the leaf's D set for a write, the
 * rights allowing the access, the table frames holding bytes. Any other
 * access (one that faults, one that sets an A or D bit, a page table
 * without bytes yet) is done in detail instead, through the same TLB
 * look-up and walker as in exact mode, and charged exactly. So faults
 * happen at the same accesses, with the same codes, and A and D are set by
 * the same walks. What a functional access skips is the TLB and cache
 * state: where exact mode's outcome depends on a TLB entry that disagrees
 * with the tables (a stale entry a flush Linux skips has not removed, e.g.
 * after ptep_clear_flush_young), a sampled run may differ from an exact one.
 *
 * The estimate's error: the per-unit means m_1..m_n have sample variance
 * s^2; the functional accesses' cycles, F accesses charged ~mean(m), have a
 * 95% confidence half-width of 1.96 * F * s / sqrt(n) (systematic sampling
 * treated as simple random sampling of units, as SMARTS does).
 */
import { type AddressStream, STREAM_RANDOM, STREAM_STRIDE } from './access.js';
import type { PhysMem } from './physmem.js';

// Entry bits in the low word (see pagetable.ts).
const E_P = 1;
const E_RW = 2;
const E_US = 4;
const E_A = 0x20;
const E_D = 0x40;
const E_PS = 0x80;
const TWO20 = 2 ** 20;
const INV39 = 2 ** -39;
const INV30 = 2 ** -30;
const INV21 = 2 ** -21;
const INV12 = 2 ** -12;

/** What a sampled run reports: how many accesses were detailed and functional, and the estimate's error. */
export interface SamplingReport {
  /** Fraction of user accesses simulated in detail (sim.sample). */
  fraction: number;
  /** Detailed accesses per period (half warm-up, half measured). */
  unit_accesses: number;
  /** Measured sample units, over all CPUs. */
  units: number;
  /** User accesses simulated in detail (warm-up, measured, and those a functional translation handed over). */
  detailed_accesses: number;
  /** User accesses translated functionally and charged an estimate. */
  functional_accesses: number;
  /** Cycles charged to the functional accesses (the estimate). */
  estimated_cycles: number;
  /** Mean cycles per access over the measured units. */
  unit_mean_cycles: number;
  /** Standard deviation of the per-unit means. */
  unit_stddev_cycles: number;
  /** 95% confidence half-width of estimated_cycles. */
  ci95_cycles: number;
}

export class Sampler {
  /** Detailed accesses per period, its first `warm` unmeasured. */
  readonly unit: number;
  readonly warm: number;
  /** Accesses per period. */
  readonly period: number;
  /** Each CPU's position in its period. */
  readonly pos: Float64Array;
  /** Each CPU's estimate of cycles per access: its last unit's mean, -1 until a unit has measured one (until then the period's rest runs in detail too). */
  readonly est: Float64Array;
  /** The measured unit under way: cycles and accesses so far. */
  readonly uCycles: Float64Array;
  readonly uCount: Float64Array;

  units = 0;
  sumMean = 0;
  sumMeanSq = 0;
  detailed = 0;
  functional = 0;
  estimated = 0;

  constructor(
    cpus: number,
    readonly fraction: number,
    unit: number,
    /** Accesses each CPU does in detail before its first period (unmeasured): the caches' start-up transient. */
    readonly warmup: number,
  ) {
    if (!(fraction > 0 && fraction < 1)) throw new RangeError(`sim.sample: ${fraction} is not in (0, 1)`);
    if (!(Number.isInteger(unit) && unit >= 2)) throw new RangeError(`sim.sample_unit: ${unit} is not an integer >= 2`);
    this.unit = unit;
    this.warm = unit >>> 1;
    this.period = Math.max(unit + 1, Math.round(unit / fraction));
    if (!(Number.isInteger(warmup) && warmup >= 0)) throw new RangeError(`sim.sample_warmup: ${warmup} is not an integer >= 0`);
    this.pos = new Float64Array(cpus).fill(-warmup);
    this.est = new Float64Array(cpus).fill(-1);
    this.uCycles = new Float64Array(cpus);
    this.uCount = new Float64Array(cpus);
  }

  /**
   * Records a measured run of accesses on cpu (only those a functional
   * translation could have taken: the others are charged exactly wherever
   * they fall, so they stay out of the mean); closes the unit when it is
   * complete.
   */
  measured(cpu: number, accesses: number, cycles: number, unitDone: boolean): void {
    this.uCycles[cpu]! += cycles;
    this.uCount[cpu]! += accesses;
    if (!unitDone) return;
    const n = this.uCount[cpu]!;
    if (n > 0) {
      const m = this.uCycles[cpu]! / n;
      this.est[cpu] = m;
      this.units++;
      this.sumMean += m;
      this.sumMeanSq += m * m;
    }
    this.uCycles[cpu] = 0;
    this.uCount[cpu] = 0;
  }

  report(): SamplingReport {
    const n = this.units;
    const mean = n > 0 ? this.sumMean / n : 0;
    const variance = n > 1 ? Math.max(0, (this.sumMeanSq - n * mean * mean) / (n - 1)) : 0;
    const sd = Math.sqrt(variance);
    return {
      fraction: this.fraction,
      unit_accesses: this.unit,
      units: n,
      detailed_accesses: this.detailed,
      functional_accesses: this.functional,
      estimated_cycles: this.estimated,
      unit_mean_cycles: mean,
      unit_stddev_cycles: sd,
      // one unit gives no variance: its whole estimate is stated as the error
      ci95_cycles: n > 1 ? (1.96 * this.functional * sd) / Math.sqrt(n) : this.estimated,
    };
  }
}

/**
 * Functional translation of one access, reading the tables only: true when
 * the access may be done without the hardware changing anything (every
 * level present with A set, the leaf's D set for a write, the rights
 * allowing it, every table frame holding bytes); false when it must be done
 * in detail.
 */
export class FunctionalWalk {
  // A memo of the last PD table reached (valid within one run: only the
  // walker changes tables then, and it only sets A and D bits).
  private memoGib = -1;
  private memoWords: Uint32Array | null = null;
  private memoBase = 0;
  private memoRights = 0;
  // Per PD entry of the memoized PD table: the PT frame's byte-pool slot,
  // valid while its generation is the current one (a new run or a new PD
  // table starts a new generation, so nothing is cleared).
  private readonly ptSlot = new Int32Array(512);
  private readonly ptGen = new Uint32Array(512);
  private gen = 1;

  constructor(private readonly mem: PhysMem) {}

  /** Forgets the memo (the kernel may change tables between runs). */
  reset(): void {
    this.memoGib = -1;
    this.memoWords = null;
    this.gen = (this.gen + 1) >>> 0 || 1;
  }

  /** Whether the last stretch() stopped at an access that needs detail. */
  handOver = false;

  /**
   * Up to n functional accesses from the stream, each charged `est`, while
   * the charge stays below `budget`: returns how many were taken, the stream
   * moved past them; handOver is set when it stopped at an access ok()
   * refuses. The common case (the PD table memoized, the PT slot known) is
   * written out here; the rest goes through ok().
   */
  stretch(root: number, stream: AddressStream, n: number, need: number, est: number, budget: number): number {
    const kind = stream.kind;
    const base = stream.base;
    const stride = stream.stride;
    const slots = stream.slots;
    const trace = stream.trace;
    const tpos = stream.pos;
    const chunks = this.mem.chunkWords;
    const ptSlot = this.ptSlot;
    const ptGen = this.ptGen;
    const wantD = (need & E_RW) !== 0 ? E_D : 0;
    const leafMask = E_P | E_A | wantD;
    let x = stream.state;
    let k = 0;
    let spent = 0;
    let handOver = false;
    // the memo in locals, reloaded after each ok() (the only place it changes)
    let words = this.memoWords;
    let gib = this.memoGib;
    let pdBase = this.memoBase;
    let rights = this.memoRights;
    let gen = this.gen;
    while (k < n && spent < budget) {
      let y = x;
      let va: number;
      if (kind === STREAM_RANDOM) {
        y ^= y << 13;
        y ^= y >>> 17;
        y ^= y << 5;
        y >>>= 0;
        va = base + Math.floor((y / 4294967296) * slots) * 8;
      } else if (kind === STREAM_STRIDE) va = base + k * stride;
      else va = trace[tpos + k]!;
      let ok = false;
      let slow = true;
      if (words !== null && Math.floor(va * INV30) === gib) {
        const pdi = Math.floor(va * INV21) & 511;
        const plo = words[pdBase + pdi * 2]!;
        if (ptGen[pdi] === gen && (plo & (E_P | E_A | E_PS)) === (E_P | E_A)) {
          const c = ptSlot[pdi]!;
          const lo = chunks[c >> 6]![(c & 63) * 1024 + (Math.floor(va * INV12) & 511) * 2]!;
          ok = (lo & leafMask) === leafMask && (rights & plo & lo & need) === need;
          slow = false;
        }
      }
      if (slow) {
        ok = this.ok(root, va, need);
        words = this.memoWords;
        gib = this.memoGib;
        pdBase = this.memoBase;
        rights = this.memoRights;
        gen = this.gen;
      }
      if (!ok) {
        handOver = true;
        break;
      }
      x = y;
      spent += est;
      k++;
    }
    if (kind === STREAM_STRIDE) stream.base = base + k * stride;
    else if (kind === STREAM_RANDOM) stream.state = x;
    else stream.pos = tpos + k;
    this.handOver = handOver;
    return k;
  }

  /** Whether the stream's next access could be taken functionally (the stream does not move). */
  nextOk(root: number, stream: AddressStream, need: number): boolean {
    let va: number;
    if (stream.kind === STREAM_RANDOM) {
      let y = stream.state;
      y ^= y << 13;
      y ^= y >>> 17;
      y ^= y << 5;
      y >>>= 0;
      va = stream.base + Math.floor((y / 4294967296) * stream.slots) * 8;
    } else if (stream.kind === STREAM_STRIDE) va = stream.base;
    else va = stream.trace[stream.pos]!;
    return this.ok(root, va, need);
  }

  /** need: bit 1 write, bit 2 user (E_RW, E_US). */
  ok(root: number, va: number, need: number): boolean {
    const gib = Math.floor(va * INV30);
    let words = this.memoWords;
    let base = this.memoBase;
    let rights = this.memoRights;
    const content = this.mem.content;
    const chunks = this.mem.chunkWords;
    if (gib !== this.memoGib || words === null) {
      if (root < 0) return false;
      // PML4
      let c = root < content.length ? content[root]! : -1;
      if (c < 0) return false;
      let w = chunks[c >> 6]!;
      let wi = (c & 63) * 1024 + (Math.floor(va * INV39) & 511) * 2;
      let lo = w[wi]!;
      if ((lo & (E_P | E_A | E_PS)) !== (E_P | E_A)) return false;
      rights = lo & (E_RW | E_US);
      let table = (lo >>> 12) + (w[wi + 1]! & 0xfffff) * TWO20;
      // PDPT
      c = table < content.length ? content[table]! : -1;
      if (c < 0) return false;
      w = chunks[c >> 6]!;
      wi = (c & 63) * 1024 + (gib & 511) * 2;
      lo = w[wi]!;
      if ((lo & (E_P | E_A | E_PS)) !== (E_P | E_A)) return false;
      rights &= lo;
      table = (lo >>> 12) + (w[wi + 1]! & 0xfffff) * TWO20;
      c = table < content.length ? content[table]! : -1;
      if (c < 0) return false;
      words = chunks[c >> 6]!;
      base = (c & 63) * 1024;
      this.memoGib = gib;
      this.gen = (this.gen + 1) >>> 0 || 1;
      this.memoWords = words;
      this.memoBase = base;
      this.memoRights = rights;
    }
    // PD
    const pdi = Math.floor(va * INV21) & 511;
    const pi = base + pdi * 2;
    const plo = words[pi]!;
    if ((plo & (E_P | E_A)) !== (E_P | E_A)) return false;
    rights &= plo;
    if ((plo & E_PS) !== 0) {
      // a 2 MiB leaf
      return (rights & need) === need && ((need & E_RW) === 0 || (plo & E_D) !== 0);
    }
    let c: number;
    if (this.ptGen[pdi] === this.gen) c = this.ptSlot[pdi]!;
    else {
      const table = (plo >>> 12) + (words[pi + 1]! & 0xfffff) * TWO20;
      c = table < content.length ? content[table]! : -1;
      if (c < 0) return false;
      this.ptSlot[pdi] = c;
      this.ptGen[pdi] = this.gen;
    }
    const lo = chunks[c >> 6]![(c & 63) * 1024 + (Math.floor(va * INV12) & 511) * 2]!;
    if ((lo & (E_P | E_A)) !== (E_P | E_A)) return false;
    rights &= lo;
    return (rights & need) === need && ((need & E_RW) === 0 || (lo & E_D) !== 0);
  }
}

