/**
 * The conformance suite's stored host outputs must stay true: every script is
 * re-run on this host's kernel and compared line by line with its
 * NAME.host.jsonl. Regenerate with `npm run conform:record` (see
 * test/conformance/README.md) when the suite or the host changes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inotifyOverflowScript } from '../../src/conform/generated.js';
import { hostRunnerAvailable, runOnHost } from '../../src/conform/host.js';
import { compareRuns } from '../../src/workloads/script/compare.js';
import { hostOutputPath, listScriptFiles, loadScript } from '../../src/workloads/script/files.js';

const SUITE = 'test/conformance';
const files = listScriptFiles([SUITE]);
const PREFIXES = ['madvise', 'mmap', 'exec', 'munmap', 'mprotect', 'mlock', 'mincore', 'mremap', 'mseal', 'smaps', 'pagemap', 'hugetlb', 'folio', 'fork', 'fd', 'file', 'inotify', 'mm', 'io', 'path', 'proc', 'dev', 'fcntl', 'lock', 'rlimit', 'task'];

describe('the conformance suite', () => {
  it('holds at least 150 scripts, each named by its file and grouped by a known prefix', () => {
    expect(files.length).toBeGreaterThanOrEqual(150);
    for (const f of files) {
      const s = loadScript(f);
      expect(s.name).toBe(basename(f, '.json'));
      expect(PREFIXES).toContain(s.name.split('-')[0]);
    }
  });

  it('stores the host output beside every script', () => {
    const missing = files.filter((f) => !existsSync(hostOutputPath(f)));
    expect(missing).toEqual([]);
  });

  it('keeps the generated overflow script as its generator writes it', () => {
    const g = inotifyOverflowScript();
    expect(readFileSync(`${SUITE}/${g.file}`, 'utf8')).toBe(g.text);
  });
});

const available = hostRunnerAvailable();
if (!available) console.warn('conformance re-run skipped: no C compiler (cc) on this host, so the host runner cannot be built');

describe('stored host outputs are still what this kernel answers', () => {
  it.skipIf(!available)(`re-runs all ${files.length} scripts on the host and matches the stored lines`, async () => {
    const failures: string[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < files.length) {
        const f = files[next++]!;
        const stored = readFileSync(hostOutputPath(f), 'utf8').split('\n');
        const now = await runOnHost(loadScript(f));
        const cmp = compareRuns(stored, now);
        if (!cmp.agree) failures.push(`${f} line ${cmp.index}:\n  stored ${cmp.host}\n  now    ${cmp.sim}`);
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
    if (failures.length > 0) {
      const rec = JSON.parse(readFileSync(`${SUITE}/recorded-on.host.jsonl`, 'utf8')) as { kernel: string };
      failures.unshift(`outputs were recorded on Linux ${rec.kernel} (test/conformance/recorded-on.host.jsonl); this host runs ${release()}`);
    }
    expect(failures).toEqual([]);
    // Several hundred host runs, four at a time: well over the default minute on a loaded machine.
  }, 600_000);
});
