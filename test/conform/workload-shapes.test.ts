/**
 * The shapes validate --host judges on scripts must come out of the built-in
 * workloads too (issue: "not only of scripts"): alloc-churn with
 * --touch-bytes 1 gives the allocator loop's DONTNEED/FREE ratio, and
 * tlb-shootdown with one page gives the DONTNEED+touch 2-thread/1-thread
 * ratio, on the bare-metal default and on a guest whose VM exits and A/D
 * assists are dear (as calibrate writes for a shadow-paged guest).
 */
import { describe, expect, it } from 'vitest';
import { HOST_EXPERIMENTS } from '../../src/conform/hostvalidate.js';
import { simSamples } from '../../src/conform/measure.js';
import { defaultConfig, type MachineConfig } from '../../src/config/machine.js';
import { allocChurn } from '../../src/workloads/alloc-churn.js';
import { tlbShootdown } from '../../src/workloads/tlb-shootdown.js';
import { runWorkload } from '../../src/workloads/run.js';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The script's simulated ratio of a curve's second point over its first. */
function scriptRatio(id: string, curve: number, cfg: MachineConfig): number {
  const pts = HOST_EXPERIMENTS.find((e) => e.id === id)!.curves[curve]!.points;
  return median(simSamples(pts[1]!.bench, cfg)) / median(simSamples(pts[0]!.bench, cfg));
}

function machines(): [string, MachineConfig][] {
  const bare = defaultConfig();
  bare.cpus = 2;
  const guest = structuredClone(bare);
  guest.virt.enabled = true;
  guest.virt.vm_exit = 3_000;
  guest.cost.ad_assist = 12_000;
  return [['bare metal', bare], ['shadow-paged guest', guest]];
}

describe('the built-in workloads give the held-out shapes', () => {
  for (const [name, cfg] of machines()) {
    it(`alloc-churn --touch-bytes 1: DONTNEED/FREE as the allocator-loop script (${name})`, () => {
      const run = (advice: string) => runWorkload(allocChurn, { threads: 1, chunk_pages: 64, rounds: 400, advice, touch_bytes: 1 }, cfg).figures['cycles_per_round']!;
      const workload = run('MADV_DONTNEED') / run('MADV_FREE');
      const script = scriptRatio('alloc-loop', 0, cfg);
      expect(workload / script).toBeGreaterThan(0.7);
      expect(workload / script).toBeLessThan(1.3);
    }, 120_000);

    it(`tlb-shootdown --pages 1 --touch-bytes 1: 2 threads over 1 as the DONTNEED+touch script (${name})`, () => {
      const run = (threads: number) => runWorkload(tlbShootdown, { threads, pages: 1, rounds: 50, touch_bytes: 1 }, cfg).figures['cycles_per_round']!;
      const workload = run(2) / run(1);
      const script = scriptRatio('dontneed-touch-threads', 0, cfg);
      expect(workload / script).toBeGreaterThan(0.7);
      expect(workload / script).toBeLessThan(1.3);
    }, 120_000);
  }
});
