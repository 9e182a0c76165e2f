import { Worker } from 'node:worker_threads';

export interface Watchdog {
  stop(): void;
}

// Runs on its own thread, so it keeps time while the main thread is stuck inside wasm.
const WATCHER = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const beat = new Float64Array(workerData.buffer);
setInterval(() => {
  const silent = Date.now() - beat[0];
  if (beat[0] > 0 && silent > workerData.limitMs) {
    writeSync(2, JSON.stringify({ level: 60, time: Date.now(), msg: 'watchdog: the event loop has been blocked for ' +
      Math.round(silent / 1000) + ' s (limit ' + workerData.limitMs / 1000 + ' s); killing this process so that a fresh one takes over' }) + '\\n');
    process.kill(workerData.pid, 'SIGKILL');
  }
}, Math.min(1000, workerData.limitMs / 4));
`;

/**
 * Ends the process when its event loop stops turning for longer than limitMs. A wasm allocation failure in the
 * multi-threaded backend does not abort: the main thread waits forever for a pool thread that died, so nothing
 * on the main thread (not even the fatal-error path) runs again. Killing the process lets the queue's stalled-job
 * recovery hand its jobs to a fresh worker, and the batch-size hint written before the batch makes that retry smaller.
 */
export function startWatchdog(limitMs: number): Watchdog {
  const buffer = new SharedArrayBuffer(8);
  const beat = new Float64Array(buffer);
  beat[0] = Date.now();
  const timer = setInterval(() => {
    beat[0] = Date.now();
  }, Math.min(1000, limitMs / 4));
  timer.unref();
  const thread = new Worker(WATCHER, { eval: true, workerData: { buffer, limitMs, pid: process.pid } });
  thread.unref();
  return {
    stop() {
      clearInterval(timer);
      beat[0] = 0;
      void thread.terminate();
    },
  };
}
