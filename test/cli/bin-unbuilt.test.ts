/** `node bin/kernsim.js` in a checkout that was never built: one line saying how to build, exit 2, no stack. */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'kernsim-unbuilt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bin/kernsim.js before the first build', () => {
  it('says to build first, in one line, with exit 2', () => {
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'package.json'), '{"type": "module"}');
    copyFileSync(fileURLToPath(new URL('../../bin/kernsim.js', import.meta.url)), join(dir, 'bin', 'kernsim.js'));
    const r = spawnSync(process.execPath, [join(dir, 'bin', 'kernsim.js'), '--help'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('kernsim: not built yet: run npm run build (or npm start) first\n');
    expect(r.stdout).toBe('');
  });
});
