import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { holdWasmBallast } from '../engine/ballast.ts';
import { startWatchdog, type Watchdog } from './worker/watchdog.ts';
import { initEngine } from '../engine/index.ts';
import { loadModel } from '../models/store.ts';
import { OperatorCache } from '../physics/cache.ts';
import { simulateMeasurements } from '../physics/noise.ts';
import { buildApp } from './api/app.ts';
import { ServiceMetrics } from './api/metrics.ts';
import { DirectoryModelCatalog } from './catalog.ts';
import type { ServiceConfig } from './config.ts';
import { createBullQueue, createMemoryQueue, type JobQueue } from './jobs/index.ts';
import { createLogger } from './logger.ts';
import { createResultStore, LocalResultStore, type ResultStore } from './storage/index.ts';
import { createWorker, type RunningWorker } from './worker/index.ts';
import { solveWithMethod } from '../methods/index.ts';
import type { LoadPrior, SolveFn } from './worker/types.ts';

export interface Running {
  /** Stops accepting work, finishes what is in flight, releases connections. Idempotent. */
  close(): Promise<void>;
  /** Where the API listens (API and standalone). */
  url?: string;
}

/** Replaceable parts, for tests and embedding; production uses the defaults. */
export interface RuntimeOverrides {
  solve?: SolveFn;
  loadPrior?: LoadPrior;
  logger?: Logger;
  /** Redis key prefix of the queue (tests isolate themselves with a unique one). */
  queuePrefix?: string;
  /** Called when the worker meets an unrecoverable engine failure; default: log, drain, exit(70). */
  onFatal?: (error: Error) => void;
  /** Bytes of idle operators a worker keeps cached. */
  operatorCacheBytes?: number;
}

function modelLoader(config: ServiceConfig): LoadPrior {
  return (name) => loadModel(join(config.modelsDir, name), { name });
}

/** Models a worker loads before taking jobs: those of the prior methods it is configured for. */
function preloadList(config: ServiceConfig): string[] {
  const out: string[] = [];
  if (config.workerMethods.includes('glow')) out.push(config.glowModel);
  if (config.workerMethods.includes('dcgan')) out.push(config.dcganModel);
  return out;
}

/** Creates the bucket/folder; when the store is down at start, keeps trying in the background (/readyz tells). */
function initStoreInBackground(store: ResultStore, logger: Logger): { stop(): void; done: Promise<void> } {
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  const done = new Promise<void>((resolve) => {
    const attempt = () => {
      store.init().then(resolve, (e: Error) => {
        logger.warn({ err: e.message }, 'result store not ready; retrying in 5 s');
        if (!stopped) timer = setTimeout(attempt, 5000);
      });
    };
    attempt();
  });
  return {
    done,
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}

function once(f: () => Promise<void>): () => Promise<void> {
  let p: Promise<void> | null = null;
  return () => (p ??= f());
}

function defaultOnFatal(logger: Logger, close: () => Promise<void>): (e: Error) => void {
  return (e) => {
    logger.fatal({ err: e.message }, 'engine failure: this process stops taking jobs and exits so that a fresh one replaces it');
    const hardStop = setTimeout(() => process.exit(70), 30_000);
    hardStop.unref();
    close().finally(() => process.exit(70));
  };
}

function metricsServer(metrics: ServiceMetrics, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === '/metrics') {
      metrics.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
        () => res.writeHead(500).end(),
      );
    } else if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

/** The HTTP API (flowprior serve): Redis queue, S3 or local store, API keys required. */
export async function startApi(config: ServiceConfig, overrides: RuntimeOverrides = {}): Promise<Running> {
  const logger = overrides.logger ?? createLogger(config, 'flowprior-api');
  const store = createResultStore(config);
  const storeInit = initStoreInBackground(store, logger);
  const queue = createBullQueue(config, logger, overrides.queuePrefix);
  const rateLimitRedis = new Redis(config.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false });
  rateLimitRedis.on('error', () => {});
  const metrics = new ServiceMetrics();
  const catalog = new DirectoryModelCatalog(config.modelsDir, { glow: config.glowModel, dcgan: config.dcganModel }, logger);
  const app = await buildApp({ config, queue, store, catalog, metrics, logger, rateLimitRedis });
  const url = await app.listen({ port: config.port, host: config.host });
  logger.info({ url, storage: store.kind, queue: config.queueName }, 'API listening');
  return {
    url,
    close: once(async () => {
      await app.close();
      storeInit.stop();
      await queue.close();
      await store.close();
      await rateLimitRedis.quit().catch(() => rateLimitRedis.disconnect());
    }),
  };
}

async function workerParts(
  config: ServiceConfig,
  queue: JobQueue,
  store: ResultStore,
  metrics: ServiceMetrics,
  logger: Logger,
  overrides: RuntimeOverrides,
  close: () => Promise<void>,
): Promise<RunningWorker> {
  const engine = await initEngine(config.backend ? { backend: config.backend } : {});
  logger.info({ backend: engine.backend, threads: engine.threads }, 'engine ready');
  if (config.wasmBallastMb > 0) {
    logger.warn({ mib: holdWasmBallast(config.wasmBallastMb) }, 'WASM_BALLAST_MB: holding wasm heap (fault injection)');
  }
  return createWorker({
    queue,
    store,
    solve: overrides.solve ?? solveWithMethod,
    loadPrior: overrides.loadPrior ?? modelLoader(config),
    physics: { operators: new OperatorCache({ maxBytes: overrides.operatorCacheBytes }), simulateMeasurements },
    batchMax: config.batchMax,
    batchWaitMs: config.batchWaitMs,
    preload: preloadList(config),
    logger,
    metrics,
    onFatal: overrides.onFatal ?? defaultOnFatal(logger, close),
  });
}

/** A worker process (flowprior worker): loads the models once, takes batches of jobs from Redis. */
export async function startWorker(config: ServiceConfig, overrides: RuntimeOverrides = {}): Promise<Running> {
  const logger = overrides.logger ?? createLogger(config, 'flowprior-worker');
  const store = createResultStore(config);
  await store.init();
  const queue = createBullQueue(config, logger, overrides.queuePrefix);
  const metrics = new ServiceMetrics();
  metrics.watchQueue(queue);
  let worker: RunningWorker | null = null;
  let server: Server | null = null;
  let watchdog: Watchdog | null = null;
  const close = once(async () => {
    logger.info('worker draining: no new jobs; finishing the current batch');
    watchdog?.stop();
    await worker?.close();
    await queue.close();
    await store.close();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    logger.info('worker stopped');
  });
  worker = await workerParts(config, queue, store, metrics, logger, overrides, close);
  // Started once loading is done: model loading and warm-up block the loop legitimately.
  if (config.watchdogSeconds > 0) watchdog = startWatchdog(config.watchdogSeconds * 1000);
  if (config.workerMetricsPort > 0) server = await metricsServer(metrics, config.host, config.workerMetricsPort);
  logger.info({ batchMax: config.batchMax, batchWaitMs: config.batchWaitMs, models: worker.models.loaded() }, 'worker taking jobs');
  return { close };
}

/**
 * API and worker in one process (flowprior serve --standalone): in-process queue, local-folder store; no Redis,
 * no S3. API keys are optional (required only when API_KEYS is set).
 */
export async function startStandalone(config: ServiceConfig, overrides: RuntimeOverrides = {}): Promise<Running> {
  const standalone: ServiceConfig = { ...config, mode: 'standalone', storage: 'local' };
  const logger = overrides.logger ?? createLogger(standalone, 'flowprior');
  const store = new LocalResultStore(standalone.resultsDir);
  await store.init();
  const queue = createMemoryQueue(standalone);
  const metrics = new ServiceMetrics();
  const catalog = new DirectoryModelCatalog(standalone.modelsDir, { glow: standalone.glowModel, dcgan: standalone.dcganModel }, logger);
  let worker: RunningWorker | null = null;
  const app = await buildApp({ config: standalone, queue, store, catalog, metrics, logger });
  const close = once(async () => {
    await app.close();
    await worker?.close();
    await queue.close();
    await store.close();
  });
  worker = await workerParts(standalone, queue, store, metrics, logger, overrides, close);
  const url = await app.listen({ port: standalone.port, host: standalone.host });
  logger.info({ url, resultsDir: store.root }, 'standalone service listening');
  return { url, close };
}
