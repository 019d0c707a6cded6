/**
 * kmalloc/kfree for kernel objects (locks, struct file, fd tables, inotify
 * events). Objects get physical addresses in a region above RAM so that every
 * kernel access to them goes through the cache model: a lock last taken on
 * another CPU costs a cache-to-cache transfer, copying an fd table costs its
 * lines. Sizes round up to a power of two of at least one cache line (so two
 * objects never share a line; the kernel's slabs can, and false sharing is
 * not modelled). Bytes in use are accounted and reported as Slab.
 */
export class Slab {
  /** First kernel address: 1 TiB, above any simulated RAM. */
  static readonly BASE = 2 ** 40;
  private next = Slab.BASE;
  /** Freed addresses per size class, by log2(size) (a look-up per call by a Map of sizes cost a hash). */
  private readonly free: number[][] = [];
  bytesInUse = 0;
  peakBytes = 0;
  allocations = 0;

  static sizeClass(bytes: number): number {
    let s = 64;
    while (s < bytes) s *= 2;
    return s;
  }

  /** log2 of a size class. */
  private static order(size: number): number {
    return size < 2 ** 31 ? 31 - Math.clz32(size) : Math.log2(size);
  }

  kmalloc(bytes: number): number {
    const size = Slab.sizeClass(bytes);
    const list = this.free[Slab.order(size)];
    let addr = list === undefined || list.length === 0 ? undefined : list.pop();
    if (addr === undefined) {
      addr = this.next;
      this.next += size;
    }
    this.bytesInUse += size;
    if (this.bytesInUse > this.peakBytes) this.peakBytes = this.bytesInUse;
    this.allocations++;
    return addr;
  }

  kfree(addr: number, bytes: number): void {
    const size = Slab.sizeClass(bytes);
    const o = Slab.order(size);
    let list = this.free[o];
    if (list === undefined) {
      while (this.free.length <= o) this.free.push([]);
      list = this.free[o]!;
    }
    list.push(addr);
    this.bytesInUse -= size;
  }
}
