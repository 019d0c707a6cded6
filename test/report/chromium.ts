/**
 * Opens a page in headless Chromium and reports what a test needs: console
 * errors, uncaught exceptions, and the value of an expression evaluated in
 * the page. Speaks the DevTools protocol over --remote-debugging-pipe (file
 * descriptors 3 and 4, NUL-separated JSON), so no npm dependency is needed.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

export const CHROMIUM = '/usr/bin/chromium';

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM);
}

export interface PageReport {
  /** console.error / console.assert messages, failed resource loads and other error-level log entries. */
  errors: string[];
  /** The expression's value (returnByValue). */
  value: unknown;
  /** With `screenshot`: the page's top as a PNG, after the expression ran. */
  png?: Buffer;
}

export interface ScreenshotOptions {
  /** Window width and height in CSS pixels; the PNG is this size. */
  width: number;
  height: number;
}

interface Message {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string };
  sessionId?: string;
}

export async function inspectPage(url: string, expression: string, timeoutMs = 30_000, screenshot?: ScreenshotOptions): Promise<PageReport> {
  const profile = mkdtempSync(join(tmpdir(), 'kernsim-chromium-'));
  const child = spawn(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
      `--user-data-dir=${profile}`,
      '--remote-debugging-pipe',
      'about:blank',
    ],
    // Its own process group, so the renderer and crashpad helpers die with it.
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'], detached: true },
  );
  const toBrowser = child.stdio[3] as Writable;
  const fromBrowser = child.stdio[4] as Readable;
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));

  let nextId = 1;
  const pending = new Map<number, { resolve: (m: Message) => void; reject: (e: Error) => void }>();
  const listeners: ((m: Message) => void)[] = [];
  let buf = '';
  fromBrowser.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    let z: number;
    while ((z = buf.indexOf('\0')) >= 0) {
      const m = JSON.parse(buf.slice(0, z)) as Message;
      buf = buf.slice(z + 1);
      if (m.id !== undefined && pending.has(m.id)) {
        const p = pending.get(m.id)!;
        pending.delete(m.id);
        if (m.error) p.reject(new Error(m.error.message));
        else p.resolve(m);
      } else for (const l of listeners) l(m);
    }
  });
  const send = (method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Message> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      toBrowser.write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + '\0');
    });

  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exited = new Promise<void>((resolve) =>
    child.on('exit', (code, signal) => {
      for (const p of pending.values()) p.reject(new Error(`browser exited (${code ?? signal})`));
      pending.clear();
      resolve();
    }),
  );
  try {
    const errors: string[] = [];
    const target = await send('Target.createTarget', { url: 'about:blank' });
    const attached = await send('Target.attachToTarget', { targetId: target.result!['targetId'], flatten: true });
    const sessionId = attached.result!['sessionId'] as string;
    let loaded: () => void = () => {};
    const loadedP = new Promise<void>((r) => (loaded = r));
    listeners.push((m) => {
      if (m.sessionId !== sessionId) return;
      const p = m.params ?? {};
      if (m.method === 'Runtime.consoleAPICalled' && (p['type'] === 'error' || p['type'] === 'assert')) {
        errors.push(`console.${String(p['type'])}: ${JSON.stringify((p['args'] as { value?: unknown }[]).map((a) => a.value))}`);
      } else if (m.method === 'Runtime.exceptionThrown') {
        errors.push(`exception: ${JSON.stringify((p['exceptionDetails'] as { text?: string }).text)}`);
      } else if (m.method === 'Log.entryAdded') {
        const e = p['entry'] as { level: string; text: string; url?: string };
        if (e.level === 'error') errors.push(`log: ${e.text} ${e.url ?? ''}`.trim());
      } else if (m.method === 'Page.loadEventFired') {
        loaded();
      }
    });
    await send('Runtime.enable', {}, sessionId);
    await send('Log.enable', {}, sessionId);
    await send('Page.enable', {}, sessionId);
    if (screenshot) await send('Emulation.setDeviceMetricsOverride', { width: screenshot.width, height: screenshot.height, deviceScaleFactor: 1, mobile: false }, sessionId);
    await send('Page.navigate', { url }, sessionId);
    await loadedP;
    const r = await send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }, sessionId);
    const res = r.result!['result'] as { value?: unknown };
    if (r.result!['exceptionDetails']) errors.push(`evaluate: ${JSON.stringify(r.result!['exceptionDetails'])}`);
    let png: Buffer | undefined;
    if (screenshot) {
      const shot = await send('Page.captureScreenshot', { format: 'png' }, sessionId);
      png = Buffer.from(shot.result!['data'] as string, 'base64');
    }
    await send('Browser.close').catch(() => undefined);
    return { errors, value: res.value, ...(png ? { png } : {}) };
  } catch (e) {
    throw new Error(`chromium: ${(e as Error).message}; stderr: ${stderr.slice(-2000)}`);
  } finally {
    clearTimeout(timer);
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
    await exited;
    // A helper that outlived the kill may still be writing into the profile: retry, and never fail a test over a temp dir.
    try {
      rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    } catch {
      /* left in tmpdir */
    }
  }
}
