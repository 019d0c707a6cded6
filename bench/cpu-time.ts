/**
 * Host CPU time for the benches. Rates are per second of CPU time (user +
 * system) of this process: on a shared host that is what the work cost,
 * where wall time also counts waiting for a core.
 */

/** This process's CPU time (user + system) in seconds. */
export function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Runs `chunk()` (which returns the operations it did) for about `seconds` of CPU time; returns operations per CPU second. */
export function ratePerCpuSecond(seconds: number, chunk: () => number): number {
  let n = 0;
  const t0 = cpuSeconds();
  let t = t0;
  while (t - t0 < seconds) {
    for (let i = 0; i < 8; i++) n += chunk();
    t = cpuSeconds();
  }
  return n / (t - t0);
}
