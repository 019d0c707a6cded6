/**
 * kernsim fuzz: the generator covers every op and flag of the script format
 * and only makes valid scripts; the shrinker finds a minimal failing script;
 * and a short campaign with fixed seeds over every machine variant finds no
 * violation, internal error or hang (the CI campaign).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/machine.js';
import { runCampaign, simOutcome } from '../../src/cli/fuzz.js';
import { FCNTL_CMD_NAMES, INOTIFY_MASK_NAMES, MADV, MMAP_FLAG_NAMES, OPEN_FLAG_NAMES, WHENCE_NAMES } from '../../src/workloads/script/constants.js';
import { countOps, generateScript, MACHINE_VARIANTS, NOT_GENERATED, type RawOp, type RawScript } from '../../src/workloads/script/fuzz/generate.js';
import { shrinkScript } from '../../src/workloads/script/fuzz/shrink.js';
import { OP_NAMES, parseScript } from '../../src/workloads/script/parse.js';
import { cli } from './helpers.js';

const VARIANTS = Object.keys(MACHINE_VARIANTS);
const gen = { maxOps: 40, variants: VARIANTS, checks: true, exhaust: true };

/** Every field of `part` is in `whole` with the same value. */
function contains(whole: unknown, part: unknown): boolean {
  if (typeof part !== 'object' || part === null) return whole === part;
  if (typeof whole !== 'object' || whole === null) return false;
  return Object.entries(part).every(([k, v]) => contains((whole as Record<string, unknown>)[k], v));
}

function walk(ops: RawOp[], f: (o: RawOp) => void): void {
  for (const o of ops) {
    f(o);
    if (o.op === 'fork') walk(o['ops'] as RawOp[], f);
  }
}

describe('the generator', () => {
  const scripts: RawScript[] = [];
  for (let i = 0; i < 400; i++) scripts.push(generateScript(11, i, gen));

  it('makes the same script from the same seed, and valid scripts only', () => {
    expect(generateScript(11, 5, gen)).toEqual(scripts[5]);
    expect(generateScript(12, 5, gen)).not.toEqual(scripts[5]);
    for (const s of scripts) expect(() => parseScript(JSON.stringify(s), s.name)).not.toThrow();
  });

  it('covers every op, mmap and open flag, madvise advice, fcntl command, whence, inotify mask and machine variant', () => {
    const seen = new Set<string>();
    for (const s of scripts) {
      walk(s.ops, (o) => {
        seen.add(`op:${o.op}`);
        for (const [k, v] of Object.entries(o)) {
          if (Array.isArray(v)) for (const x of v) seen.add(`${o.op}.${k}:${String(x)}`);
          else if (typeof v === 'string') seen.add(`${o.op}.${k}:${v}`);
        }
      });
      for (const [name, m] of Object.entries(MACHINE_VARIANTS)) {
        if (contains(s.machine ?? {}, m)) seen.add(`variant:${name}`);
      }
    }
    const want = [
      ...OP_NAMES.filter((n) => !NOT_GENERATED.includes(n)).map((n) => `op:${n}`),
      ...Object.keys(MMAP_FLAG_NAMES).map((f) => `mmap.flags:${f}`),
      ...Object.keys(OPEN_FLAG_NAMES).map((f) => `open.flags:${f}`),
      ...Object.keys(MADV).map((a) => `madvise.advice:${a}`),
      ...Object.keys(FCNTL_CMD_NAMES).map((c) => `fcntl.cmd:${c}`),
      ...Object.keys(WHENCE_NAMES).map((w) => `lseek.whence:${w}`),
      ...Object.keys(INOTIFY_MASK_NAMES).map((m) => `inotify_add_watch.mask:${m}`),
      'inotify_init1.flags:nonblock', 'inotify_init1.flags:cloexec', 'dup3.flags:cloexec',
      ...VARIANTS.map((v) => `variant:${v}`),
    ];
    expect(want.filter((w) => !seen.has(w))).toEqual([]);
    // An op in both lists is a list to update.
    expect(NOT_GENERATED.filter((n) => seen.has(`op:${n}`))).toEqual([]);
  });

  it('never lets an inotify read block: instances are non-blocking and F_SETFL keeps O_NONBLOCK', () => {
    for (const s of scripts) {
      walk(s.ops, (o) => {
        if (o.op === 'inotify_init1') expect(o['flags']).toContain('nonblock');
        if (o.op === 'fcntl' && o['cmd'] === 'F_SETFL') expect(o['arg']).toContain('nonblock');
      });
    }
  });
});

describe('the shrinker', () => {
  it('reduces a failing script to the ops the failure needs', () => {
    const s = generateScript(3, 0, { ...gen, maxOps: 30 });
    s.ops.splice(7, 0, { op: 'madvise', addr: 0, len: 4096, advice: 'MADV_HWPOISON' });
    const fails = (c: RawScript): boolean => {
      let hit = false;
      walk(c.ops, (o) => (hit ||= o.op === 'madvise' && o['advice'] === 'MADV_HWPOISON' && o['addr'] === 0));
      return hit && simOutcome(c, defaultConfig()).kind !== 'invalid';
    };
    const r = shrinkScript(s, fails);
    expect(r.script.ops).toEqual([{ op: 'madvise', addr: 0, len: 4096, advice: 'MADV_HWPOISON' }]);
    expect(r.script.machine ?? {}).toEqual(s.machine?.['sim'] ? { sim: { checks: true } } : {});
  });
});

describe('the CI campaign', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kernsim-fuzz-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('fixed seeds over every machine variant: no violation, internal error or hang', async () => {
    const r = await runCampaign({ seed: 1, scripts: 40, gen: { ...gen, maxOps: 25 }, cfg: defaultConfig(), host: false, shrinkBudget: 100, stopAtFirst: false, clock: () => 0 });
    expect(r.failures.map((f) => `${f.kind} ${f.message}: ${JSON.stringify(f.minimal)}`)).toEqual([]);
    expect(r.scripts).toBe(40);
    expect(r.ops).toBeGreaterThan(200);
  });

  it('kernsim fuzz prints the campaign and its throughput; bad flags exit 2', async () => {
    const ok = await cli(['fuzz', '--seed', '4', '--scripts', '5', '--variants', 'default,quantum0', '--out', dir]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^fuzz seed 4: 5 scripts, \d+ ops in [\d.]+ s; simulator \d+ ops\/s/);
    expect(ok.stdout).toContain('no violation, internal error, hang or difference');
    const json = JSON.parse((await cli(['fuzz', '--seed', '4', '--scripts', '5', '--variants', 'default,quantum0', '--json'])).stdout);
    expect(json.ops).toBe(countOpsOf(4, 5, ['default', 'quantum0']));
    expect(readdirSync(dir)).toEqual([]);
    const bad = await cli(['fuzz', '--variants', 'nosuch']);
    expect(bad.code).toBe(2);
  });
});

function countOpsOf(seed: number, n: number, variants: string[]): number {
  let total = 0;
  for (let i = 0; i < n; i++) total += countOps(generateScript(seed, i, { maxOps: 40, variants, checks: true, exhaust: true }).ops);
  return total;
}
