/** Named counters and latency samples, collected by the kernel and read by reports. */

export class Counters {
  private values = new Map<string, number>();

  add(name: string, n = 1): void {
    this.values.set(name, (this.values.get(name) ?? 0) + n);
  }

  get(name: string): number {
    return this.values.get(name) ?? 0;
  }

  /** Track a running maximum (peak callbacks pending, peak bytes held). */
  max(name: string, v: number): void {
    if (v > (this.values.get(name) ?? -Infinity)) this.values.set(name, v);
  }

  set(name: string, v: number): void {
    this.values.set(name, v);
  }

  /** All counters as a flat object with keys in sorted order (stable output). */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const k of [...this.values.keys()].sort()) out[k] = this.values.get(k)!;
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

/** A growable list of samples (cycles) with nearest-rank percentiles. */
export class Samples {
  private data = new Float64Array(16);
  count = 0;

  push(v: number): void {
    if (this.count === this.data.length) {
      const d = new Float64Array(this.data.length * 2);
      d.set(this.data);
      this.data = d;
    }
    this.data[this.count++] = v;
  }

  values(): Float64Array {
    return this.data.slice(0, this.count);
  }

  percentiles(): Percentiles {
    const n = this.count;
    if (n === 0) return { count: 0, min: 0, p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
    const s = this.values().sort();
    const rank = (p: number): number => s[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]!;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += s[i]!;
    return { count: n, min: s[0]!, p50: rank(50), p90: rank(90), p99: rank(99), max: s[n - 1]!, mean: sum / n };
  }
}

/** Samples keyed by name (per-syscall latency, grace-period lengths). */
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
    this.of(name).push(v);
  }

  summary(): Record<string, Percentiles> {
    const out: Record<string, Percentiles> = {};
    for (const k of [...this.sets.keys()].sort()) out[k] = this.sets.get(k)!.percentiles();
    return out;
  }
}
