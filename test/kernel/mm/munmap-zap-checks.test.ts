/**
 * munmap detaches its areas from the tree, downgrades mmap_lock to read and
 * only then zaps their PTEs; a zap of many pages flushes the TLB partway
 * (a full mmu_gather batch) and waits for the IPIs to the CPU where another
 * thread of the process runs. Until the zap ends, the PTEs of the detached
 * areas outlive them, as on Linux, where the areas stay on the unmapper's own
 * list. A check run by another task in that window (here: a fork child's ops,
 * the parent's other thread forking in a loop) took those PTEs for strays
 * and failed with "PTE ... lies outside every area". The checks now take an
 * area being zapped (MmStruct.zapping) as still covering its PTEs, and only
 * those: a PTE outside both the tree and the areas being zapped is reported.
 */
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../src/config/machine.js';
import { checkInvariants } from '../../../src/kernel/mm/invariants.js';
import { mmCore } from '../../../src/kernel/mm/core.js';
import { runScript } from '../../../src/workloads/script/interp.js';
import { parseScript } from '../../../src/workloads/script/parse.js';

const script = {
  kernsim_script: 1,
  machine: { sim: { checks: true } },
  ops: [
    { op: 'mmap', as: 'K', pages: 16, prot: 'rw', flags: ['private', 'anonymous', 'populate'] },
    { op: 'thread', as: 'S', cpu: 2, ops: [{ op: 'spin' }] },
    {
      op: 'thread', as: 'T', cpu: 1, ops: [
        { op: 'repeat', count: 20, ops: [
          { op: 'mmap', as: 'M', pages: 2048, prot: 'rw', flags: ['private', 'anonymous', 'populate'] },
          { op: 'munmap', addr: '$M', len: 2048 * 4096 },
        ] },
      ],
    },
    { op: 'repeat', count: 50, ops: [
      { op: 'fork', ops: [
        { op: 'mmap', as: 'C', pages: 1, prot: 'rw', flags: ['private', 'anonymous'] },
        { op: 'munmap', addr: '$C', len: 4096 },
        { op: 'mmap', as: 'D', pages: 1, prot: 'rw', flags: ['private', 'anonymous'] },
      ] },
    ] },
    { op: 'join', thread: '$T' },
    { op: 'join', thread: '$S' },
  ],
};

describe('invariant checks while a munmap zaps detached areas', () => {
  const run = () => runScript(parseScript(JSON.stringify(script), 'munmap-zap-fork.json'), defaultConfig());

  it('a check inside the zap\'s flush wait passes', () => {
    const r = run();
    expect(r.finished).toBe(true);
    expect(r.lines.at(-1)).toBe('{"i":5,"op":"join","ret":0,"errno":null,"child":[{"i":0,"op":"spin","ret":0,"errno":null}]}');
    expect(() => checkInvariants(r.kernel)).not.toThrow();
  });

  it('inside the window, the areas being zapped cover their PTEs and nothing else does', () => {
    // Run up to the first moment a munmap is zapping detached areas (the engine stops at maxCycles and resumes).
    const r = runScript(parseScript(JSON.stringify(script), 'munmap-zap-fork.json'), defaultConfig(), { maxCycles: 1 });
    const k = r.kernel;
    let mm;
    for (let until = 2000; !mm && until < 1e9; until += 2000) {
      k.run(until);
      mm = [...mmCore(k).mms.values()].find((m) => m.zapping.size > 0);
    }
    expect(mm).toBeDefined();
    // munmap runs the zap under the downgraded read lock.
    expect(mm!.mmapLock.writer).toBeNull();
    expect(mm!.mmapLock.readers).toBeGreaterThan(0);
    expect(() => checkInvariants(k)).not.toThrow();
    // The 2048-page area's PTEs are still there: without its place on the unmapper's list they are strays.
    const zapping = [...mm!.zapping];
    mm!.zapping.clear();
    expect(() => checkInvariants(k)).toThrow(/lies outside every area/);
    for (const v of zapping) mm!.zapping.add(v);
    // A stray PTE in the same window is still reported: K, populated, leaves the tree without a zap.
    const i = mm!.vmas.findIndex((v) => v.pages === 16);
    const k16 = mm!.vmas[i]!;
    mm!.vmas.splice(i, 1);
    mm!.mapCount--;
    expect(() => checkInvariants(k)).toThrow(new RegExp(`PTE \\d+ at 0x${k16.vmStart.toString(16)} lies outside every area`));
  });
});
