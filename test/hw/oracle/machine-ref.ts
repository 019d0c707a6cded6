/**
 * The reference machine: src/hw/machine.ts wired from the oracle copies of
 * the MMU, TLB, caches and PWC (see mmu-ref.ts) over the product's physical
 * memory and page tables, which the pipeline does not change.
 */
import type { HardwareConfig } from '../../../src/hw/config.js';
import { PageTables } from '../../../src/hw/pagetable.js';
import { PhysMem } from '../../../src/hw/physmem.js';
import { CacheHierarchy } from './cache-ref.js';
import { RefMmu } from './mmu-ref.js';
import { Tlb } from './tlb-ref.js';

export class RefMachine {
  readonly mem: PhysMem;
  readonly caches: CacheHierarchy;
  readonly tlb: Tlb;
  readonly pt: PageTables;
  readonly mmu: RefMmu;

  constructor(readonly cfg: HardwareConfig) {
    this.mem = new PhysMem(cfg);
    this.caches = new CacheHierarchy(cfg);
    this.tlb = new Tlb(cfg);
    this.pt = new PageTables(this.mem);
    this.mmu = new RefMmu(cfg, this.pt, this.tlb as never, this.caches as never);
  }
}
