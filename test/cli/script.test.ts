import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hostRunnerAvailable } from '../../src/conform/host.js';
import { cli, expectUsageError } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'kernsim-script-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Only fd ops on the fds every script starts with: the simulator's answers are Linux's. */
const DUP = {
  kernsim_script: 1,
  name: 'dup-close',
  ops: [
    { op: 'dup', fd: 0, as: 'A' },
    { op: 'close', fd: '$A' },
    { op: 'close', fd: '$A' },
  ],
};
const DUP_LINES = ['{"i":0,"op":"dup","ret":3,"errno":null}', '{"i":1,"op":"close","ret":0,"errno":null}', '{"i":2,"op":"close","ret":-1,"errno":"EBADF"}'];

function script(name: string, body: unknown, host?: string[]): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  const file = join(d, 'dup-close.json');
  writeFileSync(file, JSON.stringify(body));
  if (host) writeFileSync(join(d, 'dup-close.host.jsonl'), host.join('\n') + '\n');
  return file;
}

describe('kernsim script', () => {
  it('prints one result line per op', async () => {
    const r = await cli(['script', script('ok', DUP)]);
    expect(r.code).toBe(0);
    expect(r.stdout.trimEnd().split('\n')).toEqual(DUP_LINES);
  });

  it('--json prints one document with the result lines as objects', async () => {
    const file = script('ok', DUP);
    const r = await cli(['script', file, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ script: file, kernel: 'sim', results: DUP_LINES.map((l) => JSON.parse(l) as unknown) });
  });

  it('--sim adds the simulated figures as the last key', async () => {
    const r = await cli(['script', script('ok', DUP), '--sim']);
    const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.length).toBe(3);
    for (const l of lines) {
      expect(Object.keys(l).pop()).toBe('sim');
      expect((l['sim'] as { cycles: number }).cycles).toBeGreaterThan(0);
    }
  });

  it('an invalid script exits 2 with one line naming the op index and field', async () => {
    const bad = { ...DUP, ops: [...DUP.ops, { op: 'madvise', addr: 0, len: 4096, advice: 'MADV_NOPE' }] };
    const line = expectUsageError(await cli(['script', script('bad', bad)]));
    expect(line).toContain('ops[3].advice');
    expect(expectUsageError(await cli(['script', join(dir, 'none.json')]))).toContain('none.json');
    expect(expectUsageError(await cli(['script', script('badjson', { kernsim_script: 1, name: 'x', ops: [{ op: 'dup' }] })]))).toContain('ops[0]');
  });
});

describe('kernsim conform', () => {
  it('against recorded host outputs: agree, and differ with the first differing line of each side', async () => {
    const good = script('agree', DUP, DUP_LINES);
    const r = await cli(['conform', '--recorded', good]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`agree  ${good}\n1 agree, 0 differ\n`);

    const other = script('differ', DUP, [DUP_LINES[0]!, DUP_LINES[1]!, '{"i":2,"op":"close","ret":0,"errno":null}']);
    const d = await cli(['conform', '--recorded', good, join(dir, 'differ')]);
    expect(d.code).toBe(1);
    expect(d.stdout).toBe(
      `agree  ${good}\n` +
        `differ ${other}: line 2\n` +
        '  host: {"i":2,"op":"close","ret":0,"errno":null}\n' +
        '  sim:  {"i":2,"op":"close","ret":-1,"errno":"EBADF"}\n' +
        '1 agree, 1 differ\n',
    );
    const j = JSON.parse((await cli(['conform', '--recorded', '--json', good, other])).stdout) as unknown;
    expect(j).toEqual({
      agree: 1,
      differ: 1,
      scripts: [
        { file: good, agree: true, host_source: 'recorded' },
        { file: other, agree: false, host_source: 'recorded', index: 2, host: '{"i":2,"op":"close","ret":0,"errno":null}', sim: '{"i":2,"op":"close","ret":-1,"errno":"EBADF"}' },
      ],
    });
  });

  it('a script missing a line on one side differs at that line', async () => {
    const short = script('short', DUP, DUP_LINES.slice(0, 2));
    const r = await cli(['conform', '--recorded', short]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('line 2\n  host: (no line)\n  sim:  {"i":2');
  });

  it('bad input exits 2', async () => {
    expect(expectUsageError(await cli(['conform', join(dir, 'nowhere')]))).toContain('nowhere');
    const norec = script('norec', DUP);
    expect(expectUsageError(await cli(['conform', '--recorded', norec]))).toContain('no recorded output');
    mkdirSync(join(dir, 'empty'));
    expect(expectUsageError(await cli(['conform', join(dir, 'empty')]))).toContain('conform: no scripts in');
  });

  it.skipIf(!hostRunnerAvailable())('runs a script on this host kernel and agrees', async () => {
    const file = script('live', DUP);
    const r = await cli(['conform', file, '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ agree: 1, differ: 0, scripts: [{ file, agree: true, host_source: 'live' }] });
  }, 60_000);
});
