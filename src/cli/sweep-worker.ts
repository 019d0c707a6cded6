/** Worker thread of a sweep: runs the points it is sent, one at a time, and posts each result back. */
import { parentPort } from 'node:worker_threads';
import { runPointInProcess, type PointJob } from './sweep.js';

const port = parentPort;
if (!port) throw new Error('sweep-worker: not started as a worker thread');
port.on('message', (job: PointJob) => {
  try {
    port.postMessage({ ok: true, result: runPointInProcess(job) });
  } catch (e) {
    port.postMessage({ ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  }
});
