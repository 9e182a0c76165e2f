import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../src/service/api/app.ts';
import { ServiceMetrics } from '../../../src/service/api/metrics.ts';
import { DirectoryModelCatalog } from '../../../src/service/catalog.ts';
import { loadConfig, type ServiceConfig } from '../../../src/service/config.ts';
import type { JobQueue } from '../../../src/service/jobs/index.ts';
import type { ResultStore } from '../../../src/service/storage/index.ts';
import { createWorker, type RunningWorker } from '../../../src/service/worker/index.ts';
import { solveWithMethod } from '../../../src/methods/index.ts';
import { loadModel } from '../../../src/models/store.ts';
import { OperatorCache } from '../../../src/physics/cache.ts';
import { simulateMeasurements } from '../../../src/physics/noise.ts';
import { encodePng } from '../../../src/imaging/index.ts';
import { TINY_GLOW } from './models.ts';

export const KEY_A = 'test-key-aaaaaaaaaaaaaaaa';
export const KEY_B = 'test-key-bbbbbbbbbbbbbbbb';
export const auth = (key = KEY_A) => ({ authorization: `Bearer ${key}` });

export function testConfig(env: Record<string, string>, mode: ServiceConfig['mode'] = 'api'): ServiceConfig {
  return loadConfig({ API_KEYS: `${KEY_A},${KEY_B}`, GLOW_MODEL: TINY_GLOW, LOG_LEVEL: 'silent', JOB_BACKOFF_MS: '50', RATE_LIMIT_PER_MIN: '100000', ...env }, { mode });
}

export async function tempDir(prefix: string): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function appFor(config: ServiceConfig, queue: JobQueue, store: ResultStore, metrics = new ServiceMetrics({ defaultMetrics: false })): Promise<FastifyInstance> {
  const catalog = new DirectoryModelCatalog(config.modelsDir, { glow: config.glowModel, dcgan: config.dcganModel });
  const app = await buildApp({ config, queue, store, catalog, metrics, logger: false });
  await app.ready();
  return app;
}

/** A real worker: the tiny models from MODELS_DIR, the real solver and physics. */
export async function workerFor(
  config: ServiceConfig,
  queue: JobQueue,
  store: ResultStore,
  extra: Partial<Parameters<typeof createWorker>[0]> = {},
): Promise<RunningWorker> {
  return createWorker({
    queue,
    store,
    solve: solveWithMethod,
    loadPrior: (name) => loadModel(join(config.modelsDir, name), { name }),
    physics: { operators: new OperatorCache(), simulateMeasurements },
    batchMax: config.batchMax,
    batchWaitMs: config.batchWaitMs,
    preload: [config.glowModel],
    ...extra,
  });
}

/** A smooth test image (not from any data set). */
export async function testPng(width: number, height: number, phase = 0): Promise<string> {
  const data = new Float32Array(width * height * 3);
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      for (let k = 0; k < 3; k++) {
        data[(r * width + c) * 3 + k] = 0.5 + 0.35 * Math.sin((r + 2 * c) / 5 + k + phase);
      }
    }
  }
  return (await encodePng({ data, width, height, channels: 3 })).toString('base64');
}

export async function waitFor<T>(f: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 30_000, stepMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (done(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting; last value ${JSON.stringify(v).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
