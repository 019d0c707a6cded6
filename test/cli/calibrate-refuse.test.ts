/**
 * kernsim calibrate and validate --host refuse, with one line and exit 2,
 * where they cannot measure: here, a host with one CPU (node:os mocked).
 */
import { describe, expect, it, vi } from 'vitest';

vi.mock('node:os', async (orig) => {
  const real = await orig<typeof import('node:os')>();
  return { ...real, cpus: () => real.cpus().slice(0, 1) };
});

const { cli, expectUsageError } = await import('./helpers.js');
const { hostRunnerAvailable } = await import('../../src/conform/host.js');

describe.skipIf(process.platform !== 'linux' || !hostRunnerAvailable())('calibrate on a host with one CPU', () => {
  it('refuses with one line naming why', async () => {
    const line = expectUsageError(await cli(['calibrate', '--out', '/tmp/never-written.json']));
    expect(line).toBe('kernsim: calibrate: cannot measure on this host: needs at least two CPUs (the IPI round trip is measured with a thread spinning on a second CPU)');
    expect(expectUsageError(await cli(['validate', '--host', 'profiles/desktop-4.json']))).toContain('validate --host: cannot measure on this host: needs at least two CPUs');
  });
});
