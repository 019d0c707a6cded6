/**
 * kmalloc/kfree for kernel objects (locks, struct file, fd tables, inotify
 * events). Objects get physical addresses in a region above RAM so that every
 * kernel access to them goes through the cache model: a lock last taken on
 * another CPU costs a cache-to-cache transfer, copying an fd table costs its
 * lines. Sizes round up to a power of two of at least one cache line (so two
 * objects never share a line; the kernel's slabs can, and false sharing is
 * not modelled). Bytes in use are accounted and reported as Slab.
 *
 * Host representation: every address is Slab.BASE + 64 * slot, and the
 * allocator keeps slots (small integers) rather than the addresses, which
 * are above 2^40 and so doubles that V8 boxes as a heap number wherever one
 * crosses a call that is not inlined. A hot path that only hands an object
 * on (kfree_rcu of a fresh kmalloc) can keep it as a slot throughout:
 * kmallocSlot/kfreeSlot, and Slab.addrOf/slotOf to convert.
 */
export class Slab {
  /** First kernel address: 1 TiB, above any simulated RAM. */
  static readonly BASE = 2 ** 40;
  /** Every address is BASE + SLOT * slot (the smallest size class is one 64-byte line, and sizes are powers of two). */
  static readonly SLOT = 64;
  /** The next slot the bump allocator hands out. */
  private nextSlot = 0;
  /** Freed slots per size class, by log2(size) (small integers: arrays V8 keeps unboxed). */
  private readonly free: number[][] = [];
  bytesInUse = 0;
  peakBytes = 0;
  allocations = 0;

  static sizeClass(bytes: number): number {
    let s = 64;
    while (s < bytes) s *= 2;
    return s;
  }

  /** The address of a slot. */
  static addrOf(slot: number): number {
    return Slab.BASE + slot * Slab.SLOT;
  }

  /** The slot of an address kmalloc returned. */
  static slotOf(addr: number): number {
    return (addr - Slab.BASE) / Slab.SLOT;
  }

  /** log2 of a size class. */
  private static order(size: number): number {
    return size < 2 ** 31 ? 31 - Math.clz32(size) : Math.log2(size);
  }

  kmalloc(bytes: number): number {
    return Slab.BASE + this.kmallocSlot(bytes) * Slab.SLOT;
  }

  kfree(addr: number, bytes: number): void {
    this.kfreeSlot((addr - Slab.BASE) / Slab.SLOT, bytes);
  }

  /** kmalloc, returning the object's slot (Slab.addrOf gives its address). */
  kmallocSlot(bytes: number): number {
    const size = bytes <= 64 ? 64 : Slab.sizeClass(bytes);
    const list = this.free[Slab.order(size)];
    let slot: number;
    if (list !== undefined && list.length > 0) slot = list.pop()!;
    else {
      slot = this.nextSlot;
      this.nextSlot += size / Slab.SLOT;
    }
    this.bytesInUse += size;
    if (this.bytesInUse > this.peakBytes) this.peakBytes = this.bytesInUse;
    this.allocations++;
    return slot;
  }

  /** kfree by slot. */
  kfreeSlot(slot: number, bytes: number): void {
    const size = bytes <= 64 ? 64 : Slab.sizeClass(bytes);
    const o = Slab.order(size);
    let list = this.free[o];
    if (list === undefined) {
      while (this.free.length <= o) this.free.push([]);
      list = this.free[o]!;
    }
    list.push(slot);
    this.bytesInUse -= size;
  }
}
