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
  private readonly free = new Map<number, number[]>();
  bytesInUse = 0;
  peakBytes = 0;
  allocations = 0;

  static sizeClass(bytes: number): number {
    let s = 64;
    while (s < bytes) s *= 2;
    return s;
  }

  kmalloc(bytes: number): number {
    const size = Slab.sizeClass(bytes);
    const list = this.free.get(size);
    let addr = list?.pop();
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
    let list = this.free.get(size);
    if (!list) {
      list = [];
      this.free.set(size, list);
    }
    list.push(addr);
    this.bytesInUse -= size;
  }
}
