import { describe, expect, it } from 'vitest';
import { defaultConfig, machineSchema, simSchema } from '../../src/config/machine.js';
import { hardwareSchema } from '../../src/config/machine.js';
import { kernelSchema } from '../../src/kernel/config.js';
import { ConfigError, describeSchema } from '../../src/params/schema.js';
import { configFromProfile } from '../../src/config/profile.js';
import { listProfiles, loadMachineConfig } from '../../src/cli/machine.js';

describe('machine profiles', () => {
  it('every cost field, hardware and kernel, has a source and a unit', () => {
    const rows = describeSchema(machineSchema).filter((r) => r.path.startsWith('cost.') || r.path.startsWith('kernel.cost.'));
    expect(rows.filter((r) => r.path.startsWith('cost.')).length).toBeGreaterThan(15);
    expect(rows.filter((r) => r.path.startsWith('kernel.cost.')).length).toBeGreaterThan(10);
    for (const r of rows) {
      expect(r.source, r.path).not.toBe('');
      expect(r.unit, r.path).toBe('cycles');
    }
  });

  it('keeps the hardware and the kernel sections apart: software costs are the kernel\'s, each section has its own schema', () => {
    const hwPaths = describeSchema(hardwareSchema).map((r) => r.path);
    const kernelPaths = describeSchema(kernelSchema, 'kernel').map((r) => r.path);
    for (const soft of ['fault_handler', 'flush_tlb_func', 'kmalloc', 'ksm_checksum_page', 'page_alloc', 'context_switch']) {
      expect(hwPaths).not.toContain(`cost.${soft}`);
      expect(kernelPaths).toContain(`kernel.cost.${soft}`);
    }
    for (const hw of ['cost.l1d_hit', 'cost.invlpg', 'cost.dram', 'tlb.l1_entries', 'cache.llc_kib', 'swap.read_latency_us']) expect(hwPaths).toContain(hw);
    expect(kernelPaths).toContain('kernel.swappiness');
    // The machine schema is exactly profile + hardware + kernel + simulator, nothing declared twice.
    const all = describeSchema(machineSchema).map((r) => r.path);
    const sim = describeSchema(simSchema, 'sim').map((r) => r.path);
    expect(all.sort()).toEqual(['name', 'description', ...hwPaths, ...kernelPaths, ...sim].sort());
  });

  it('reads a software cost written under cost. (as profiles did before the split) into kernel.cost', () => {
    const c = configFromProfile({ cost: { fault_handler: 1234, dram: 300 }, kernel: { hz: 100 } }, 'old.json');
    expect([c.kernel.cost.fault_handler, c.cost.dram, c.kernel.hz]).toEqual([1234, 300, 100]);
    expect(c.kernel.cost.kmalloc).toBe(defaultConfig().kernel.cost.kmalloc);
    expect((c.cost as Record<string, unknown>)['fault_handler']).toBeUndefined();
    expect(() => configFromProfile({ cost: { fault_handler: -1 } }, 'old.json')).toThrow('old.json: kernel.cost.fault_handler: expected an integer from 0 to 2^53 - 1, got -1');
  });

  it('ships a 4-CPU desktop, a 64-CPU server and the machines behind the validation experiments', () => {
    const names = listProfiles().map((p) => `${p.name}:${p.cpus}`);
    expect(names).toEqual(['default:4', 'desktop-4:4', 'haswell-desktop:8', 'icelake-x:32', 'ivybridge-laptop:4', 'kvm-guest-12:12', 'milan:64', 'server-64:64', 'skylake-sp:28']);
    const s = loadMachineConfig('server-64');
    expect(s.name).toBe('server-64');
    expect(s.cost.llc_hit).toBe(77);
    expect(s.cost.l1d_hit).toBe(defaultConfig().cost.l1d_hit);
  });

  it('merges command-line overrides last', () => {
    const c = loadMachineConfig('desktop-4', { cpus: 16, kernel: { hz: 1000 } });
    expect([c.cpus, c.kernel.hz, c.cache.l2_kib]).toEqual([16, 1000, 256]);
  });

  const bad: [unknown, string][] = [
    [{ cpus: 0 }, 'p.json: cpus: expected an integer from 1 to 256, got 0'],
    [{ cpus: 2.5 }, 'p.json: cpus: expected an integer from 1 to 256, got 2.5'],
    [{ tlb: { pcid: 'yes' } }, 'p.json: tlb.pcid: expected true or false, got "yes"'],
    [{ kernel: { thp: 'sometimes' } }, 'p.json: kernel.thp: expected one of always, madvise, never, got "sometimes"'],
    [{ cost: { dram: -1 } }, 'p.json: cost.dram: expected an integer from 0 to 2^53 - 1, got -1'],
    [{ cache: { l1d_kib: 48 } }, 'p.json: cache.l1d_kib: expected a size giving a power-of-two number of sets with 8 ways of 64-byte lines, got 48 KiB (96 sets)'],
    [{ ccpus: 4 }, 'p.json: ccpus: expected a known field'],
    [[1], 'p.json: (top level): expected an object'],
  ];
  for (const [json, msg] of bad) {
    it(`rejects ${JSON.stringify(json)} with one line naming file and field`, () => {
      expect(() => configFromProfile(json, 'p.json')).toThrow(ConfigError);
      try {
        configFromProfile(json, 'p.json');
      } catch (e) {
        expect((e as Error).message.startsWith(msg)).toBe(true);
        expect((e as Error).message).not.toContain('\n');
      }
    });
  }

  it('an unknown profile name lists the known ones', () => {
    expect(() => loadMachineConfig('laptop')).toThrow('--machine: machine: expected a profile name (default, desktop-4, haswell-desktop, icelake-x, ivybridge-laptop, kvm-guest-12, milan, server-64, skylake-sp) or a JSON file, got "laptop"');
  });
});
