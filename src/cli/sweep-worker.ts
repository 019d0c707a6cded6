/**
 * Worker thread of a sweep, started once per sweep: it is sent the sweep's
 * points once and then takes one point after another from the shared counter
 * until none is left, posting each result back. Module loading and JIT
 * warm-up happen once per worker, not once per point.
 */
import { parentPort } from 'node:worker_threads';
import { inputErrorMessage, nowMs, runTimed, takeSlot, threadId, threadTimes, type SharedJobs, type WorkerMessage } from './sweep-point.js';

const port = parentPort;
if (!port) throw new Error('sweep-worker: not started as a worker thread');
port.postMessage({ ready: nowMs(), tid: threadId() } satisfies WorkerMessage);
port.once('message', (shared: SharedJobs) => {
  for (let slot = takeSlot(shared); slot >= 0; slot = takeSlot(shared)) {
    let msg: WorkerMessage;
    try {
      msg = { slot, ok: true, ...runTimed(shared.jobs[slot]!) };
    } catch (e) {
      const input = inputErrorMessage(e);
      msg = { slot, ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e), ...(input !== null ? { input } : {}) };
    }
    port.postMessage(msg);
    if (!msg.ok) return;
  }
  const t = threadTimes();
  port.postMessage({ done: true, ...(t ? { cpu: t.cpu, runq: t.runq } : {}) } satisfies WorkerMessage);
});
