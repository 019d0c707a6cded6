/** Small hand-made results with known numbers, so report tests can assert exact output. */
import { defaultConfig } from '../../src/config/machine.js';
import { RESULT_VERSION, type RunResult, type SweepResult } from '../../src/workloads/result.js';

export function runFixture(over: Partial<RunResult> = {}): RunResult {
  const config = defaultConfig();
  config.cpus = 2;
  return {
    kernsim_result: RESULT_VERSION,
    kind: 'run',
    workload: 'fixture',
    params: { threads: 2, advice: 'MADV_FREE' },
    machine: 'default',
    seed: 1,
    clock_ghz: 3,
    simulated_cycles: 3000,
    simulated_ns: 1000,
    cpus: [
      { cpu: 0, busy: 3000, idle: 0 },
      { cpu: 1, busy: 1500, idle: 1500 },
    ],
    counters: { dtlb_l1_hit: 90, dtlb_l1_miss: 10, ipi_sent: 3, nr_tlb_remote_flush: 1, pgfault: 7, syscall_madvise: 4, weird_thing: 2 },
    breakdown: {
      name: 'all',
      inclusive: 4500,
      exclusive: 0,
      children: [
        {
          name: 'syscall:madvise',
          inclusive: 3000,
          exclusive: 0,
          children: [
            { name: 'zap_page_range', inclusive: 2000, exclusive: 1500, children: [{ name: 'tlb_flush', inclusive: 500, exclusive: 500, children: [] }] },
            { name: 'entry_SYSCALL_64', inclusive: 1000, exclusive: 1000, children: [] },
          ],
        },
        { name: 'user', inclusive: 1500, exclusive: 1500, children: [] },
      ],
    },
    latency: {
      madvise: { count: 4, min: 500, p50: 700, p90: 900, p99: 900, max: 900, mean: 750, hist: [{ le: 512, count: 1 }, { le: 1024, count: 3 }] },
    },
    samples: {},
    figures: { ops: 10, records_per_sec: 1234.5 },
    checks: { passed: true, failures: [] },
    config,
    host: { wall_ms: 1.5, node: 'v20', platform: 'linux-x64', kernsim: '0.1.0' },
    ...over,
  };
}

export function sweepFixture(): SweepResult {
  const point = (index: number, cpus: number, advice: string, cycles: number, rps: number) => ({
    index,
    point: { cpus, advice },
    result: runFixture({ simulated_cycles: cycles, simulated_ns: cycles / 3, figures: { records_per_sec: rps }, params: { threads: 2, advice } }),
  });
  return {
    kernsim_result: RESULT_VERSION,
    kind: 'sweep',
    workload: 'fixture',
    machine: 'default',
    seed: 1,
    base: { threads: 2 },
    grid: [
      { key: 'cpus', values: [1, 4] },
      { key: 'advice', values: ['MADV_DONTNEED', 'MADV_FREE'] },
    ],
    total_points: 4,
    points: [point(0, 1, 'MADV_DONTNEED', 4000, 100), point(1, 1, 'MADV_FREE', 3000, 200), point(2, 4, 'MADV_DONTNEED', 2000, 300), point(3, 4, 'MADV_FREE', 1000, 600)],
    host: { wall_ms: 4, node: 'v20', platform: 'linux-x64', kernsim: '0.1.0' },
  };
}
