import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/machine.js';
import { hostSettingsOverlay, readHostKernelSettings } from '../../src/conform/hostprofile.js';

const roots: string[] = [];
function fakeRoot(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'kernsim-hostprofile-'));
  roots.push(root);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(root + p), { recursive: true });
    writeFileSync(root + p, text);
  }
  return root;
}
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

describe('readHostKernelSettings', () => {
  it('reads every setting where Linux exposes it', () => {
    const root = fakeRoot({
      '/sys/kernel/mm/transparent_hugepage/enabled': 'always madvise [never]\n',
      '/proc/swaps': 'Filename\tType\tSize\tUsed\tPriority\n/dev/sda2 partition 8388604 0 -2\n',
      '/proc/sys/vm/memory_failure_recovery': '1\n',
      '/proc/sys/fs/inotify/max_queued_events': '100\n',
      '/proc/sys/fs/inotify/max_user_instances': '7\n',
      '/proc/sys/fs/inotify/max_user_watches': '8192\n',
      '/proc/sys/fs/nr_open': '2048\n',
      '/proc/cpuinfo': 'processor\t: 0\nflags\t: x\n\nprocessor\t: 1\n',
      '/proc/cmdline': 'console=ttyS0 pti=on pvm_no_zero_page=1 tsc=unstable\n',
    });
    expect(readHostKernelSettings({ root })).toEqual({
      thp: 'never',
      zero_page: false,
      swap: { enabled: true },
      memory_failure: true,
      inotify_max_queued_events: 100,
      inotify_max_user_instances: 7,
      inotify_max_user_watches: 8192,
      nr_open: 2048,
      cpus: 2,
    });
  });

  it('no swap areas, no memory_failure_recovery sysctl; unreadable settings are left out', () => {
    const root = fakeRoot({
      '/proc/swaps': 'Filename\tType\tSize\tUsed\tPriority\n',
      '/proc/sys/vm/overcommit_memory': '0\n',
    });
    expect(readHostKernelSettings({ root })).toEqual({ swap: { enabled: false }, memory_failure: false });
  });

  it('the zero page is in use unless the boot command line turns it off', () => {
    expect(readHostKernelSettings({ root: fakeRoot({ '/proc/cmdline': 'quiet pvm_no_zero_page=0 root=/dev/vda\n' }) }).zero_page).toBe(true);
    expect(readHostKernelSettings({ root: fakeRoot({ '/proc/cmdline': 'pvm_no_zero_page=1' }) }).zero_page).toBe(false);
    expect(readHostKernelSettings({ root: fakeRoot({ '/proc/cmdline': 'xpvm_no_zero_page=1\n' }) }).zero_page).toBe(true);
  });

  it('keys are fields of the machine schema (kernel section with kernel.swapon, cpus)', () => {
    const cfg = defaultConfig();
    const s = readHostKernelSettings();
    const o = hostSettingsOverlay(s);
    for (const k of Object.keys(o.kernel)) expect(Object.keys(cfg.kernel)).toContain(k);
    if (s.swap) expect(o.kernel.swapon).toBe(s.swap.enabled);
    if (process.platform === 'linux') expect(s.cpus).toBeGreaterThan(0);
  });
});
