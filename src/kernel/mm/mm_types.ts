/**
 * mm_struct: an address space. Filled in by the memory-management modules.
 */
export interface MmStruct {
  /** Unique id (also the PCID used when cfg.tlb.pcid is on). */
  readonly id: number;
}
