/**
 * Whether swap is on is the kernel's setting kernel.swapon (swapon at boot),
 * not the swap device's: the old spelling swap.enabled still reads as it, in
 * a profile and on the command line.
 */
import { describe, expect, it } from 'vitest';
import { parseSets } from '../../src/cli/options.js';
import { canonicalPath, defaultConfig } from '../../src/config/machine.js';
import { applyProfile } from '../../src/config/profile.js';
import { bootKernel } from '../../src/kernel/boot.js';
import { swapInfo, swapSlots } from '../../src/kernel/mm/swapfile.js';

describe('kernel.swapon', () => {
  it('is on by default, over the swap device size', () => {
    const cfg = defaultConfig();
    expect(cfg.kernel.swapon).toBe(true);
    expect('enabled' in cfg.swap).toBe(false);
    const k = bootKernel(cfg);
    expect(swapSlots(k)).toBe(cfg.swap.size_mib * 256);
    expect(k.swap.slots).toBe(cfg.swap.size_mib * 256);
  });

  it('off: the device keeps its slots, the kernel uses none', () => {
    const cfg = defaultConfig();
    cfg.kernel.swapon = false;
    const k = bootKernel(cfg);
    expect(k.swap.slots).toBe(cfg.swap.size_mib * 256);
    expect(swapSlots(k)).toBe(0);
    expect(swapInfo(k).pages).toBe(0);
  });

  it('swap.enabled in a profile or on the command line means kernel.swapon', () => {
    expect(canonicalPath('swap.enabled')).toBe('kernel.swapon');
    const cfg = applyProfile(defaultConfig(), { swap: { enabled: false, size_mib: 64 } }, 'old.json');
    expect(cfg.kernel.swapon).toBe(false);
    expect(cfg.swap.size_mib).toBe(64);
    expect(parseSets(['swap.enabled=false'])).toEqual({ 'kernel.swapon': false });
  });
});
