/**
 * The part of Kernel the locking and RCU modules use (engine, slab, caches,
 * config, lock classes; tasks reach it as t.k), built from the real units so
 * tests can run before the whole machine is assembled.
 */
import { defaultConfig, type MachineConfig } from '../../../src/config/machine.js';
import { CacheHierarchy } from '../../../src/hw/cache.js';
import { initKernelTask, Kernel } from '../../../src/kernel/kernel.js';
import { Slab } from '../../../src/kernel/mm/slab.js';
import { Engine } from '../../../src/sim/engine.js';

export function testConfig(cpus = 4, quantum = 0): MachineConfig {
  const c = defaultConfig();
  c.cpus = cpus;
  c.sim = { ...c.sim, quantum };
  return c;
}

export function fakeKernel(cfg: MachineConfig = testConfig()): Kernel {
  const caches = new CacheHierarchy(cfg);
  const k = {
    cfg,
    engine: new Engine(cfg),
    slab: new Slab(),
    machine: { cfg, caches, membw: null },
    lockClasses: new Map(),
    touch(t: { cpu: number; charge(c: number): void }, kaddr: number, write: boolean) {
      t.charge(caches.access(t.cpu, kaddr, write));
    },
    touchRange(t: { cpu: number; charge(c: number): void }, kaddr: number, bytes: number, write: boolean) {
      const line = caches.lineBytes;
      let cycles = 0;
      for (let a = kaddr - (kaddr % line); a < kaddr + bytes; a += line) cycles += caches.access(t.cpu, a, write);
      t.charge(cycles);
    },
  };
  k.engine.addHooks({ taskInit: (t) => initKernelTask(k as unknown as Kernel, t) });
  Object.assign(k, { streamRange: Kernel.prototype.streamRange });
  return k as unknown as Kernel;
}
