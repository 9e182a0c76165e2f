import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { ServiceMetrics } from '../../src/service/api/metrics.ts';
import { createBullQueue, type BullJobQueue } from '../../src/service/jobs/index.ts';
import { S3ResultStore } from '../../src/service/storage/index.ts';
import type { ServiceConfig } from '../../src/service/config.ts';
import type { RunningWorker } from '../../src/service/worker/index.ts';
import { ensureS3, type S3Server } from './helpers/s3.ts';
import { TcpProxy } from './helpers/proxy.ts';
import { tinyModelsDir, TINY_SIZE } from './helpers/models.ts';
import { appFor, auth, testConfig, testPng, waitFor, workerFor } from './helpers/service.ts';

const prefix = `fp-test-${randomUUID().slice(0, 8)}`;
let s3: S3Server;
let models: { dir: string; cleanup(): Promise<void> };
let proxy: TcpProxy;
let apiQueue: BullJobQueue;
let workerQueue: BullJobQueue;
let apiStore: S3ResultStore;
let workerStore: S3ResultStore;
let app: FastifyInstance;
let worker: RunningWorker;
const workerMetrics = new ServiceMetrics({ defaultMetrics: false });

before(async () => {
  s3 = await ensureS3();
  models = await tinyModelsDir();
  const u = new URL(s3.endpoint);
  proxy = new TcpProxy(u.hostname, Number(u.port));
  await proxy.start();
  const base = {
    MODELS_DIR: models.dir,
    STORAGE: 's3',
    QUEUE_NAME: 'storage-faults',
    S3_BUCKET: `fp-faults-${randomUUID().slice(0, 8)}`,
    S3_ACCESS_KEY: s3.accessKey,
    S3_SECRET_KEY: s3.secretKey,
    JOB_ATTEMPTS: '3',
    JOB_BACKOFF_MS: '1500',
    BATCH_WAIT_MS: '50',
  };
  const apiConfig: ServiceConfig = testConfig({ ...base, S3_ENDPOINT: s3.endpoint });
  // The worker reaches S3 through the proxy, so the test can take storage away from it alone.
  const workerConfig: ServiceConfig = testConfig({ ...base, S3_ENDPOINT: `http://127.0.0.1:${proxy.port}` });
  apiStore = new S3ResultStore(apiConfig.s3);
  await apiStore.init();
  workerStore = new S3ResultStore(workerConfig.s3);
  apiQueue = createBullQueue(apiConfig, undefined, prefix);
  workerQueue = createBullQueue(workerConfig, undefined, prefix);
  app = await appFor(apiConfig, apiQueue, apiStore);
  worker = await workerFor(workerConfig, workerQueue, workerStore, { metrics: workerMetrics, uploadTries: 2, uploadBackoffMs: 100 });
});

after(async () => {
  await worker?.close();
  await app?.close();
  await apiQueue?.obliterate().catch(() => {});
  await apiQueue?.close();
  await workerQueue?.close();
  await apiStore?.close();
  await workerStore?.close();
  await proxy?.stop();
  await models?.cleanup();
  await s3?.stop();
});

const status = async (id: string) => (await app.inject({ method: 'GET', url: `/v1/jobs/${id}`, headers: auth() })).json();

async function submit(maxEvaluations: number): Promise<string> {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/solve',
    headers: auth(),
    payload: { operator: { type: 'identity' }, groundTruth: await testPng(TINY_SIZE, TINY_SIZE), options: { gamma: 0.1, maxEvaluations, optimizer: 'adam' } },
  });
  assert.equal(res.statusCode, 202, res.body);
  return res.json().jobId;
}

async function counter(name: string, label: string): Promise<number> {
  const text = await workerMetrics.registry.metrics();
  const m = new RegExp(`^${name}\\{${label}\\} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

test('upload fails mid-job: the job is retried with backoff and the retry uploads without solving again', async () => {
  const id = await submit(150);
  await waitFor(() => status(id), (s) => s.status === 'running' && s.progress?.iteration >= 2, 30_000, 20);
  await proxy.stop(); // the solve goes on; its uploads will fail
  const delayed = await waitFor(() => status(id), (s) => s.status === 'queued' && s.error !== null, 30_000, 50);
  assert.match(delayed.error, /cannot write jobs\/.*\/result\.png/);
  assert.equal(await counter('flowprior_jobs_total', 'outcome="retry"'), 1);
  await proxy.start();
  const done = await waitFor(() => status(id), (s) => !['queued', 'running'].includes(s.status), 30_000);
  assert.equal(done.status, 'completed', JSON.stringify(done));
  assert.equal(done.attempts, 2);
  assert.equal(done.metrics.attempt, 2);
  assert.equal(await counter('flowprior_solve_seconds_count', 'method="glow"'), 1, 'solved once: the retry only uploaded');
  const png = await app.inject({ method: 'GET', url: `/v1/jobs/${id}/result.png?redirect=false`, headers: auth() });
  assert.equal(png.statusCode, 200);
});

test('storage down for good: the job fails after its attempts with a clear reason; the API reports the outage', async () => {
  const id = await submit(5);
  await proxy.stop();
  const done = await waitFor(() => status(id), (s) => !['queued', 'running'].includes(s.status), 60_000, 100);
  await proxy.start();
  assert.equal(done.status, 'failed');
  assert.equal(done.attempts, 3);
  assert.match(done.error, /^cannot (stat|read) jobs\/[0-9a-f-]+\/(metrics|input)\.json: .*ECONNREFUSED/);

  // The API's own store: a dead endpoint makes /readyz and submissions answer 503, never 500.
  const deadStore = new S3ResultStore({ endpoint: 'http://127.0.0.1:9', publicEndpoint: null, region: 'us-east-1', bucket: 'nope', accessKey: 'a', secretKey: 'b', presignSeconds: 60 });
  const deadApp = await appFor(testConfig({ MODELS_DIR: models.dir, QUEUE_NAME: 'storage-faults' }), apiQueue, deadStore);
  const ready = await deadApp.inject({ method: 'GET', url: '/readyz' });
  assert.equal(ready.statusCode, 503);
  assert.equal(ready.json().checks.queue, 'ok');
  assert.match(ready.json().checks.storage, /^error: bucket nope unreachable/);
  const res = await deadApp.inject({ method: 'POST', url: '/v1/solve', headers: auth(), payload: { operator: { type: 'identity' }, groundTruth: await testPng(TINY_SIZE, TINY_SIZE) } });
  assert.equal(res.statusCode, 503);
  assert.equal(res.json().error.code, 'STORAGE_UNAVAILABLE');
  await deadApp.close();
  await deadStore.close();
});
