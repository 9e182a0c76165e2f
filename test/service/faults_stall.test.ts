import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createBullQueue, type BullJobQueue } from '../../src/service/jobs/index.ts';
import { LocalResultStore } from '../../src/service/storage/index.ts';
import type { RunningWorker } from '../../src/service/worker/index.ts';
import { REPO_ROOT } from './helpers/s3.ts';
import { tinyModelsDir, TINY_GLOW, TINY_SIZE } from './helpers/models.ts';
import { appFor, auth, tempDir, testConfig, testPng, waitFor, workerFor } from './helpers/service.ts';

const prefix = `fp-test-${randomUUID().slice(0, 8)}`;
const env = (models: string, results: string) => ({
  MODELS_DIR: models,
  RESULTS_DIR: results,
  QUEUE_NAME: 'stall',
  JOB_LOCK_MS: '2000',
  STALLED_INTERVAL_MS: '1000',
  BATCH_WAIT_MS: '300',
  JOB_ATTEMPTS: '3',
  JOB_BACKOFF_MS: '200',
});

let models: { dir: string; cleanup(): Promise<void> };
let results: { dir: string; cleanup(): Promise<void> };
let queue: BullJobQueue;
let app: FastifyInstance;
let child: ChildProcess | null = null;
let rescuer: RunningWorker | null = null;
let rescuerQueue: BullJobQueue | null = null;

before(async () => {
  models = await tinyModelsDir();
  results = await tempDir('fp-stall-');
  const config = testConfig(env(models.dir, results.dir));
  queue = createBullQueue(config, undefined, prefix);
  app = await appFor(config, queue, new LocalResultStore(results.dir));
});

after(async () => {
  child?.kill('SIGKILL');
  await rescuer?.close();
  await rescuerQueue?.close();
  await app?.close();
  await queue?.obliterate().catch(() => {});
  await queue?.close();
  await models?.cleanup();
  await results?.cleanup();
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

function startChildWorker(config: Record<string, string>, metricsPort: number): Promise<ChildProcess> {
  const p = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test/service/helpers/worker_process.ts')], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...config, GLOW_MODEL: TINY_GLOW, WORKER_METHODS: 'glow', HOST: '127.0.0.1', WORKER_METRICS_PORT: String(metricsPort), LOG_LEVEL: 'warn', FP_TEST_QUEUE_PREFIX: prefix },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    p.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('worker-ready')) resolve(p);
    });
    p.once('exit', (code) => reject(new Error(`worker exited early (${code}): ${out}`)));
  });
}

test('a worker killed with SIGKILL mid-batch: its jobs are picked up again and complete', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/solve',
      headers: auth(),
      payload: { operator: { type: 'identity' }, groundTruth: await testPng(TINY_SIZE, TINY_SIZE, i), options: { gamma: 0.1, maxEvaluations: 100, optimizer: 'adam' } },
    });
    assert.equal(res.statusCode, 202);
    ids.push(res.json().jobId);
  }
  const metricsPort = await freePort();
  child = await startChildWorker(env(models.dir, results.dir), metricsPort);
  const status = async (id: string) => (await app.inject({ method: 'GET', url: `/v1/jobs/${id}`, headers: auth() })).json();
  await waitFor(() => Promise.all(ids.map(status)), (ss) => ss.every((s) => s.status === 'running' && s.progress?.iteration >= 2), 60_000);
  // The worker process serves its own probes and Prometheus metrics.
  assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).status, 200);
  assert.match(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text(), /flowprior_queue_jobs\{state="active"\} 3/);
  child.kill('SIGKILL');
  await new Promise((r) => child?.once('exit', r));
  child = null;
  const mid = await Promise.all(ids.map(status));
  assert.ok(mid.every((s) => s.status === 'running'), 'killed mid-batch: the jobs were still running');

  // A new worker finds the jobs whose lock expired (stalled) and solves them.
  const config = testConfig(env(models.dir, results.dir));
  rescuerQueue = createBullQueue(config, undefined, prefix);
  rescuer = await workerFor(config, rescuerQueue, new LocalResultStore(results.dir));
  const done = await Promise.all(ids.map((id) => waitFor(() => status(id), (s) => !['queued', 'running'].includes(s.status), 60_000)));
  for (const s of done) {
    assert.equal(s.status, 'completed', JSON.stringify(s));
    assert.ok(s.attempts >= 2, `attempts ${s.attempts}`);
    assert.equal(s.metrics.batchSize, 3, 'solved together again');
  }
  const counts = (await app.inject({ method: 'GET', url: '/v1/queue' })).json();
  assert.equal(counts.total, 0, 'nothing left behind');
});
