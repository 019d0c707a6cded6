/**
 * Sampled mode against exact mode on the built-in workloads: `npm run
 * bench:sample` (`-- --json` for one JSON object; `-- --sample F` for the
 * fraction, default 0.01; `-- --only a,b` for some workloads).
 *
 * Each workload runs with its default parameters on the default machine
 * twice, exact (sim.sample=1) and sampled (sim.sample=F), and the table
 * gives simulated cycles and the headline figure of both, their relative
 * difference, the share of the sampled run's user accesses done
 * functionally, the sampled run's stated 95% error of its estimated cycles
 * (relative to the busy cycles of all its CPUs) and each run's host CPU
 * seconds. Target: simulated cycles
 * within 2% of exact mode.
 */
import { loadavg } from 'node:os';
import Table from 'cli-table3';
import { defaultConfig } from '../src/config/machine.js';
import { WORKLOADS } from '../src/workloads/registry.js';
import { runWorkload } from '../src/workloads/run.js';
import { cpuSeconds } from './cpu-time.js';

const argv = process.argv.slice(2);
const json = argv.includes('--json');
function arg(name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}
const SAMPLE = Number(arg('--sample') ?? '0.01');
if (!(SAMPLE > 0 && SAMPLE < 1)) {
  console.error(`bench/sample: --sample expects a fraction in (0, 1), got ${arg('--sample')}`);
  process.exit(2);
}
const only = arg('--only')?.split(',');

const rows: Record<string, unknown>[] = [];
for (const w of WORKLOADS) {
  if (only && !only.includes(w.name)) continue;
  const run = (sample: number): { r: ReturnType<typeof runWorkload>; cpu: number } => {
    const cfg = defaultConfig();
    cfg.sim.sample = sample;
    const t0 = cpuSeconds();
    const r = runWorkload(w, {}, cfg);
    return { r, cpu: cpuSeconds() - t0 };
  };
  const exact = run(1);
  const sampled = run(SAMPLE);
  const head = w.headline ?? 'none';
  const s = sampled.r.sampling!;
  const total = s.detailed_accesses + s.functional_accesses;
  rows.push({
    workload: w.name,
    exact_cycles: exact.r.simulated_cycles,
    sampled_cycles: Math.round(sampled.r.simulated_cycles),
    cycles_diff_pct: Number(((sampled.r.simulated_cycles / exact.r.simulated_cycles - 1) * 100).toFixed(3)),
    headline: head,
    exact_headline: exact.r.figures[head] ?? null,
    sampled_headline: sampled.r.figures[head] ?? null,
    functional_share: total > 0 ? Number((s.functional_accesses / total).toFixed(4)) : 0,
    ci95_pct_of_busy: Number(((s.ci95_cycles / sampled.r.cpus.reduce((a, c) => a + c.busy, 0)) * 100).toFixed(3)),
    exact_cpu_s: Number(exact.cpu.toFixed(2)),
    sampled_cpu_s: Number(sampled.cpu.toFixed(2)),
    checks_passed: exact.r.checks.passed && sampled.r.checks.passed,
  });
}
const out = { sample: SAMPLE, rows, load_average: loadavg().map((l) => Number(l.toFixed(2))) };
if (json) console.log(JSON.stringify(out));
else {
  const colour = process.stdout.isTTY === true && !process.env['NO_COLOR'];
  const t = new Table({
    head: ['workload', 'exact cycles', `sim.sample=${SAMPLE}`, 'diff', 'headline: exact / sampled', 'functional', '95% error (of busy)', 'host CPU s'],
    style: colour ? {} : { head: [], border: [] },
  });
  for (const r of rows) {
    t.push([
      r['workload'],
      r['exact_cycles'],
      r['sampled_cycles'],
      `${(r['cycles_diff_pct'] as number) >= 0 ? '+' : ''}${r['cycles_diff_pct']}%`,
      `${r['headline']}: ${r['exact_headline']} / ${r['sampled_headline']}`,
      `${((r['functional_share'] as number) * 100).toFixed(1)}%`,
      `${r['ci95_pct_of_busy']}%`,
      `${r['exact_cpu_s']} / ${r['sampled_cpu_s']}`,
    ] as string[]);
  }
  console.log(t.toString());
  console.log(`load average ${out.load_average.join(' ')}; target: simulated cycles within 2% of exact mode`);
}
