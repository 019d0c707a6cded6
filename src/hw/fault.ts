/** How an access fails: the codes the MMU and the walker return in place of cycles. */
export const FAULT_NOT_PRESENT = -1;
export const FAULT_PROTECTION = -2;
