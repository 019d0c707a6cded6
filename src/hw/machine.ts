/**
 * Machine: the simulated hardware wired together, one instance per
 * simulation. Kernel code reaches memory, caches, TLBs and the MMU through it.
 */
import { CacheHierarchy } from './cache.js';
import type { HardwareConfig } from './config.js';
import { MemBandwidth } from './membw.js';
import { Mmu } from './mmu.js';
import { PageTables } from './pagetable.js';
import { PhysMem } from './physmem.js';
import { Tlb } from './tlb.js';

export class Machine {
  readonly cfg: HardwareConfig;
  readonly mem: PhysMem;
  readonly caches: CacheHierarchy;
  readonly tlb: Tlb;
  readonly pt: PageTables;
  readonly mmu: Mmu;
  /** The DRAM channels shared by every CPU (null: mem.channels 0, no bandwidth limit). */
  readonly membw: MemBandwidth | null;

  constructor(cfg: HardwareConfig) {
    this.cfg = cfg;
    this.mem = new PhysMem(cfg);
    this.caches = new CacheHierarchy(cfg);
    this.tlb = new Tlb(cfg);
    this.pt = new PageTables(this.mem);
    this.mmu = new Mmu(cfg, this.pt, this.tlb, this.caches);
    this.membw = cfg.mem.channels > 0 ? new MemBandwidth(cfg) : null;
    this.caches.bw = this.membw;
  }
}
