/**
 * Paging-structure cache (Intel's PDE cache): per CPU, a small fully
 * associative LRU cache from (2 MiB region, PCID) to the pfn of the page
 * table that maps the region and the rights granted by the three levels
 * above it, so a walk that hits reads only the PT entry.
 *
 * A walk looks it up on every TLB miss, so lookup and replacement are O(1):
 * a linear-probing hash per CPU finds a key's slot, and each CPU's slots are
 * one fully associative set whose LRU order lru.ts keeps (the same packed
 * order as the TLBs' and caches' sets; at most MAX_WAYS entries). Dropped
 * entries go to the LRU end, so a fill takes an empty slot before it evicts
 * the least recently used entry.
 *
 *   hash index = (region * 0x9E3779B1 ^ pcid * 0x85EBCA6B) >>> (32 - log2 H)
 *   H = 4 x entries rounded up to a power of two (load <= 1/4)
 *
 * Regions are 2 MiB region numbers of a 48-bit address (< 2^27), PCIDs
 * 0..4095. Charges no cycles: the MMU composes costs.
 */
import { MAX_WAYS, orderAt, orderDemote, orderInit, orderRotateLru, orderTouch, orderWords } from './lru.js';

export class Pwc {
  readonly entries: number;
  /** Page-table pfn and rights (TLB_W | TLB_U | TLB_NX bits) of each slot; read them at the slot lookup() returns. */
  readonly table: Float64Array;
  readonly rights: Uint8Array;

  private readonly region: Int32Array; // -1: empty
  private readonly pcid: Int32Array;
  private readonly home: Int32Array; // hash index the key probes from
  /** Each CPU's LRU order of its slots (lru.ts), orderWords(entries) words from cpu * ow. */
  private readonly ord: Int32Array;
  private readonly ow: number;
  private readonly hash: Int32Array; // slot + 1, 0: empty
  private readonly hashSize: number;
  private readonly shift: number;

  constructor(cpus: number, entries: number) {
    if (!Number.isInteger(entries) || entries < 0 || entries > MAX_WAYS) throw new Error(`tlb.pwc_entries: ${entries} is out of range 0..${MAX_WAYS}`);
    this.entries = entries;
    const n = cpus * entries;
    this.table = new Float64Array(n);
    this.rights = new Uint8Array(n);
    this.region = new Int32Array(n).fill(-1);
    this.pcid = new Int32Array(n);
    this.home = new Int32Array(n);
    this.ow = entries > 0 ? orderWords(entries) : 0;
    this.ord = new Int32Array(cpus * this.ow);
    let bits = 1;
    while (1 << bits < 4 * entries) bits++;
    this.hashSize = 1 << bits;
    this.shift = 32 - bits;
    this.hash = new Int32Array(entries > 0 ? cpus * this.hashSize : 0);
    for (let c = 0; c < cpus && entries > 0; c++) orderInit(this.ord, c * this.ow, entries);
  }

  private hashIndex(region: number, pcid: number): number {
    return (Math.imul(region, 0x9e3779b1) ^ Math.imul(pcid, 0x85ebca6b)) >>> this.shift;
  }

  /** Slot of (region, pcid) in cpu's cache, made most recent; -1 on a miss. */
  lookup(cpu: number, region: number, pcid: number): number {
    if (this.entries === 0) return -1;
    const mask = this.hashSize - 1;
    const hb = cpu * this.hashSize;
    const hash = this.hash;
    for (let h = this.hashIndex(region, pcid); ; h = (h + 1) & mask) {
      const s = hash[hb + h]! - 1;
      if (s < 0) return -1;
      if (this.region[s] === region && this.pcid[s] === pcid) {
        orderTouch(this.ord, cpu * this.ow, this.entries, s - cpu * this.entries);
        return s;
      }
    }
  }

  /** Fills (region, pcid) -> table, evicting the least recent entry if no slot is empty. The key must not be present. */
  insert(cpu: number, region: number, pcid: number, table: number, rights: number): void {
    if (this.entries === 0) return;
    const s = cpu * this.entries + orderRotateLru(this.ord, cpu * this.ow, this.entries);
    if (this.region[s]! >= 0) this.unhash(cpu, s);
    this.region[s] = region;
    this.pcid[s] = pcid;
    this.table[s] = table;
    this.rights[s] = rights;
    const mask = this.hashSize - 1;
    const hb = cpu * this.hashSize;
    let h = this.hashIndex(region, pcid);
    this.home[s] = h;
    while (this.hash[hb + h] !== 0) h = (h + 1) & mask;
    this.hash[hb + h] = s + 1;
  }

  /** Drops the entry of (region, pcid), if any. */
  dropRegion(cpu: number, region: number, pcid: number): void {
    const s = this.find(cpu, region, pcid);
    if (s >= 0) this.drop(cpu, s);
  }

  /** Drops cpu's entries of one PCID, or all of them when pcid is -1. */
  dropPcid(cpu: number, pcid: number): void {
    for (let s = cpu * this.entries, e = s + this.entries; s < e; s++) {
      if (this.region[s]! >= 0 && (pcid < 0 || this.pcid[s] === pcid)) this.drop(cpu, s);
    }
  }

  /** Valid entries of a CPU, most recent first: [pcid, region, table pfn]. For checks and tests. */
  list(cpu: number): number[][] {
    const out: number[][] = [];
    for (let p = 0; p < this.entries; p++) {
      const s = cpu * this.entries + orderAt(this.ord, cpu * this.ow, this.entries, p);
      if (this.region[s]! >= 0) out.push([this.pcid[s]!, this.region[s]!, this.table[s]!]);
    }
    return out;
  }

  private find(cpu: number, region: number, pcid: number): number {
    if (this.entries === 0) return -1;
    const mask = this.hashSize - 1;
    const hb = cpu * this.hashSize;
    for (let h = this.hashIndex(region, pcid); ; h = (h + 1) & mask) {
      const s = this.hash[hb + h]! - 1;
      if (s < 0) return -1;
      if (this.region[s] === region && this.pcid[s] === pcid) return s;
    }
  }

  private drop(cpu: number, s: number): void {
    this.unhash(cpu, s);
    this.region[s] = -1;
    orderDemote(this.ord, cpu * this.ow, this.entries, s - cpu * this.entries);
  }

  /** Removes slot s from the hash with backward-shift deletion (no tombstones). */
  private unhash(cpu: number, s: number): void {
    const mask = this.hashSize - 1;
    const hb = cpu * this.hashSize;
    const hash = this.hash;
    let i = this.home[s]!;
    while (hash[hb + i] !== s + 1) i = (i + 1) & mask;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const t = hash[hb + j]!;
      if (t === 0) break;
      const k = this.home[t - 1]!;
      // The entry at j may move back to i unless its home lies cyclically in (i, j].
      const stays = i <= j ? i < k && k <= j : i < k || k <= j;
      if (!stays) {
        hash[hb + i] = t;
        i = j;
      }
    }
    hash[hb + i] = 0;
  }
}
