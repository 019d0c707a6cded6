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
/** Slab.BASE, Slab.SLOT and 1 / SLOT as module constants (a static field is a property load on the hot path). */
const BASE = 2 ** 40;
const SLOT = 64;
const INV_SLOT = 1 / SLOT;

export class Slab {
  /** First kernel address: 1 TiB, above any simulated RAM. */
  static readonly BASE = BASE;
  /** Every address is BASE + SLOT * slot (the smallest size class is one 64-byte line, and sizes are powers of two). */
  static readonly SLOT = SLOT;
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
    return BASE + slot * SLOT;
  }

  /** The slot of an address kmalloc returned (a product by 1/SLOT, exact as the quotient is for a power of two, where a division stalls the host a dozen cycles). */
  static slotOf(addr: number): number {
    return (addr - BASE) * INV_SLOT;
  }

  /** log2 of a size class. */
  private static order(size: number): number {
    return size < 2 ** 31 ? 31 - Math.clz32(size) : Math.log2(size);
  }

  kmalloc(bytes: number): number {
    // Under 28 bytes of bytecode, so that V8 inlines it at every call site whatever its budget: the address, a double above 2^40, then never crosses a call boxed as a heap number (16 bytes of garbage per kmalloc) unless the caller passes it on to one.
    return 1099511627776 + this.kmallocSlot(bytes) * 64;
  }

  kfree(addr: number, bytes: number): void {
    this.kfreeSlot((addr - BASE) * INV_SLOT, bytes);
  }

  /** kmalloc, returning the object's slot (Slab.addrOf gives its address). */
  kmallocSlot(bytes: number): number {
    const size = bytes <= 64 ? 64 : Slab.sizeClass(bytes);
    const list = this.free[Slab.order(size)];
    let slot: number;
    if (list !== undefined && list.length > 0) slot = list.pop()!;
    else {
      slot = this.nextSlot;
      this.nextSlot += size * INV_SLOT;
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
