import type { Logger } from 'pino';
import { CancelledError } from '../../errors.ts';
import type { JobQueue, WorkerHandle } from '../jobs/queue.ts';
import { PermanentJobError } from '../jobs/queue.ts';
import type { ResultStore } from '../storage/types.ts';
import { ModelCache } from './model_cache.ts';
import { JobRunner, type PhysicsFns } from './runner.ts';
import type { LoadPrior, SolveFn, WorkerMetricsSink } from './types.ts';

export { BatchCollector } from './collector.ts';
export type { CollectorOptions } from './collector.ts';
export { ModelCache } from './model_cache.ts';
export { JobRunner } from './runner.ts';
export type { PhysicsFns, RunnerDeps } from './runner.ts';
export type { LoadPrior, SolveFn, WorkerMetricsSink } from './types.ts';

export interface WorkerDeps {
  queue: JobQueue;
  store: ResultStore;
  solve: SolveFn;
  loadPrior: LoadPrior;
  physics: PhysicsFns;
  batchMax: number;
  batchWaitMs: number;
  /** Models loaded before the first job is taken. */
  preload?: string[];
  logger?: Logger;
  metrics?: WorkerMetricsSink;
  /** A failure after which this process must not take more jobs (wasm abort). */
  onFatal?: (error: Error) => void;
  uploadTries?: number;
  uploadBackoffMs?: number;
}

export interface RunningWorker {
  runner: JobRunner;
  models: ModelCache;
  /** Stops taking jobs, solves what was collected, finishes the active jobs, frees the models. */
  close(): Promise<void>;
}

/** Loads the models once, then takes up to batchMax jobs at a time from the queue and solves them in batches. */
export async function createWorker(deps: WorkerDeps): Promise<RunningWorker> {
  const models = new ModelCache(deps.loadPrior);
  for (const name of deps.preload ?? []) {
    const t0 = performance.now();
    try {
      await models.get(name);
      deps.logger?.info({ model: name, ms: Math.round(performance.now() - t0) }, 'model loaded');
    } catch (e) {
      // A configured model that is not installed disables its method only: its jobs fail with this reason,
      // every other method keeps working.
      deps.logger?.warn({ model: name, err: (e as Error).message }, 'model not available; its jobs will fail until it is installed');
    }
  }
  const runner = new JobRunner({
    store: deps.store,
    solve: deps.solve,
    models,
    physics: deps.physics,
    batchMax: deps.batchMax,
    batchWaitMs: deps.batchWaitMs,
    logger: deps.logger,
    metrics: deps.metrics,
    uploadTries: deps.uploadTries,
    uploadBackoffMs: deps.uploadBackoffMs,
  });
  const handle: WorkerHandle = deps.queue.process(
    async (job) => {
      try {
        const r = await runner.process(job);
        deps.metrics?.job('completed');
        return r;
      } catch (e) {
        deps.metrics?.job(e instanceof CancelledError ? 'cancelled' : e instanceof PermanentJobError ? 'failed' : 'retry');
        job.log('job.error', { err: (e as Error).message, kind: (e as Error).name, attempt: job.attempt });
        throw e;
      }
    },
    { concurrency: deps.batchMax, onFatal: deps.onFatal },
  );
  await handle.ready();
  let closing: Promise<void> | null = null;
  return {
    runner,
    models,
    close: () => {
      closing ??= (async () => {
        const closed = handle.close();
        runner.collector.flushAll();
        await closed;
        await runner.collector.idle();
        await models.dispose();
      })();
      return closing;
    },
  };
}
