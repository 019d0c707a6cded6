/** Named counters and latency samples, collected by the kernel and read by reports. */

const counterIds = new Map<string, number>();
const counterNames: string[] = [];

/**
 * The small-integer id of a counter name, the same in every engine: a hot
 * path looks it up once, at module load, and counts with `addId`/`maxId`
 * (an array slot) instead of a hash of the name per event.
 */
export function counterId(name: string): number {
  let id = counterIds.get(name);
  if (id === undefined) {
    id = counterNames.length;
    counterNames.push(name);
    counterIds.set(name, id);
  }
  return id;
}

/**
 * Named counters. A counter exists once it is first added to, set or
 * maxed (snapshot lists it even at 0); values live in an array indexed by
 * the name's id (counterId).
 */
export class Counters {
  private values = new Float64Array(64);
  private has = new Uint8Array(64);

  private grow(id: number): void {
    let n = this.values.length;
    while (n <= id) n *= 2;
    const v = new Float64Array(n);
    v.set(this.values);
    const h = new Uint8Array(n);
    h.set(this.has);
    this.values = v;
    this.has = h;
  }

  add(name: string, n = 1): void {
    this.addId(counterId(name), n);
  }

  /** add() by the name's id (counterId). */
  addId(id: number, n = 1): void {
    if (id >= this.values.length) this.grow(id);
    this.has[id] = 1;
    this.values[id]! += n;
  }

  get(name: string): number {
    const id = counterId(name);
    return id < this.has.length && this.has[id] ? this.values[id]! : 0;
  }

  /** Track a running maximum (peak callbacks pending, peak bytes held). */
  max(name: string, v: number): void {
    this.maxId(counterId(name), v);
  }

  /** max() by the name's id (counterId). */
  maxId(id: number, v: number): void {
    if (id >= this.values.length) this.grow(id);
    if (v > (this.has[id] ? this.values[id]! : -Infinity)) {
      this.has[id] = 1;
      this.values[id] = v;
    }
  }

  set(name: string, v: number): void {
    const id = counterId(name);
    if (id >= this.values.length) this.grow(id);
    this.has[id] = 1;
    this.values[id] = v;
  }

  /** All counters as a flat object with keys in sorted order (stable output). */
  snapshot(): Record<string, number> {
    const names: string[] = [];
    for (let id = 0; id < this.has.length; id++) if (this.has[id]) names.push(counterNames[id]!);
    names.sort();
    const out: Record<string, number> = {};
    for (const k of names) out[k] = this.values[counterIds.get(k)!]!;
    return out;
  }
}

export interface Percentiles {
  count: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Sub-bucket bits: values below 2^SUB_BITS have a bucket each; above, each power of two is cut into 2^(SUB_BITS-1) buckets. */
const SUB_BITS = 8;
const LINEAR = 1 << SUB_BITS;
const HALF = LINEAR >> 1;
const TWO32 = 2 ** 32;
/** 2^-shift for each bucket shift (exact: a product by a power of two is). */
const INV_WIDTH = Float64Array.from({ length: 64 }, (_, shift) => 2 ** -shift);

/**
 * A latency histogram, log-linear as HdrHistogram's: every value below
 * 2^SUB_BITS (256 cycles) has a bucket of its own, and each power-of-two
 * range above is cut into 128 equal buckets, so a bucket is at most 1/128 of
 * its values wide. Recording is O(1) and allocates nothing (the bucket array
 * grows only when a value is larger than any before it). count, min, max and
 * the sum are exact; a percentile is exact to its bucket: the upper bound of
 * the bucket holding the nearest-rank sample, clamped to [min, max].
 *
 * A value v is filed as u = ceil(v) - 1 (0 for v <= 1), so a bucket holds
 * the values in (lo, hi] and the power-of-two buckets (le/2, le] that
 * results report are sums of whole buckets.
 */
export class Samples {
  private counts = new Float64Array(LINEAR + 8 * HALF);
  /** One past the highest bucket used. */
  private used = 0;
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  /**
   * The last value recorded and its bucket: a loop of one call records the
   * same latency again and again, and takes its bucket from here without
   * computing it (the rounding and the bucket's arithmetic were a tenth of a
   * system call's host time). The value is already within [min, max].
   */
  private lastV = NaN;
  private lastI = 0;

  /** Record one value (cycles): O(1). */
  record(v: number): void {
    if (v === this.lastV) {
      this.counts[this.lastI]!++;
      this.count++;
      this.sum += v;
      return;
    }
    this.recordNew(v);
  }

  /** record() of a value other than the last one. */
  private recordNew(v: number): void {
    const u = v <= 1 ? 0 : Math.ceil(v) - 1;
    const i = Samples.bucketOf(u);
    if (i >= this.counts.length) this.grow(i);
    this.counts[i]!++;
    if (i >= this.used) this.used = i + 1;
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    this.lastV = v;
    this.lastI = i;
  }

  /** The bucket of u (an integer >= 0). */
  static bucketOf(u: number): number {
    if (u < LINEAR) return u;
    const e = u < TWO32 ? 31 - Math.clz32(u) : 63 - Math.clz32(Math.floor(u / TWO32));
    const shift = e - SUB_BITS + 1;
    return LINEAR + (e - SUB_BITS) * HALF + (Math.floor(u * INV_WIDTH[shift]!) - HALF);
  }

  /** The lowest u of bucket i, and its width. */
  static bucketRange(i: number): { lo: number; width: number } {
    if (i < LINEAR) return { lo: i, width: 1 };
    const j = i - LINEAR;
    const e = SUB_BITS + Math.floor(j / HALF);
    const width = 2 ** (e - SUB_BITS + 1);
    return { lo: (HALF + (j % HALF)) * width, width };
  }

  private grow(i: number): void {
    let n = this.counts.length;
    while (n <= i) n += 8 * HALF;
    const c = new Float64Array(n);
    c.set(this.counts);
    this.counts = c;
  }

  /** The largest value bucket i holds, within what was recorded. */
  private upper(i: number): number {
    const { lo, width } = Samples.bucketRange(i);
    return Math.min(this.max, Math.max(this.min, lo + width));
  }

  /** The nearest-rank p-th percentile, exact to its bucket. */
  percentile(p: number): number {
    const n = this.count;
    if (n === 0) return 0;
    const rank = Math.min(n, Math.max(1, Math.ceil((p / 100) * n)));
    let seen = 0;
    for (let i = 0; i < this.used; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return this.upper(i);
    }
    return this.max;
  }

  percentiles(): Percentiles {
    const n = this.count;
    if (n === 0) return { count: 0, min: 0, p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
    return { count: n, min: this.min, p50: this.percentile(50), p90: this.percentile(90), p99: this.percentile(99), max: this.max, mean: this.sum / n };
  }

  /** Counts by power-of-two bucket: `le` the bucket's upper bound (1, 2, 4, ...), `count` the values in (le/2, le] (le 1: all values <= 1). */
  powerOfTwoBuckets(): { le: number; count: number }[] {
    const out: { le: number; count: number }[] = [];
    for (let i = 0; i < this.used; i++) {
      const c = this.counts[i]!;
      if (c === 0) continue;
      const { lo, width } = Samples.bucketRange(i);
      const hi = lo + width;
      const le = hi <= 1 ? 1 : 2 ** Math.ceil(Math.log2(hi));
      const last = out[out.length - 1];
      if (last && last.le === le) last.count += c;
      else out.push({ le, count: c });
    }
    return out;
  }
}

/** Histograms keyed by name (per-syscall latency, grace-period lengths). */
export class SampleSets {
  private sets = new Map<string, Samples>();

  of(name: string): Samples {
    let s = this.sets.get(name);
    if (!s) {
      s = new Samples();
      this.sets.set(name, s);
    }
    return s;
  }

  record(name: string, v: number): void {
    this.of(name).record(v);
  }

  summary(): Record<string, Percentiles> {
    const out: Record<string, Percentiles> = {};
    for (const k of [...this.sets.keys()].sort()) out[k] = this.sets.get(k)!.percentiles();
    return out;
  }
}
