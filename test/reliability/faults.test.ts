// Faults against real processes: a Redis of the test's own (killed and restarted at will), workers as child
// processes killed with SIGKILL, and a result store that refuses writes. Every submitted job must reach a terminal
// state with the right outcome; nothing may answer 500 or crash.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { ServiceMetrics } from '../../src/service/api/metrics.ts';
import { loadConfig } from '../../src/service/config.ts';
import { createBullQueue } from '../../src/service/jobs/index.ts';
import { startApi, startWorker, type Running } from '../../src/service/runtime.ts';
import { LocalResultStore } from '../../src/service/storage/index.ts';
import type { RunningWorker } from '../../src/service/worker/index.ts';
import { tinyModelsDir, TINY_GLOW, TINY_SIZE } from '../service/helpers/models.ts';
import { auth, KEY_A, testConfig, testPng, waitFor, workerFor } from '../service/helpers/service.ts';
import { faultHarness } from './harness.ts';
import { exited, startWorkerProcess } from './helpers.ts';

const harness = faultHarness('fp-rel-faults-');
let models: { dir: string; cleanup(): Promise<void> };

before(async () => {
  models = await tinyModelsDir();
});

after(async () => {
  await models?.cleanup();
});

/** Short locks and stalled checks, so that a dead worker's jobs are noticed in seconds. */
const faultEnv = () => ({
  MODELS_DIR: models.dir,
  RESULTS_DIR: harness.resultsDir,
  REDIS_URL: harness.redis.url,
  GLOW_MODEL: TINY_GLOW,
  WORKER_METHODS: 'glow',
  WORKER_METRICS_PORT: '0',
  JOB_LOCK_MS: '2000',
  STALLED_INTERVAL_MS: '1000',
  JOB_ATTEMPTS: '3',
  JOB_BACKOFF_MS: '200',
  BATCH_WAIT_MS: '300',
  LOG_LEVEL: 'warn',
});

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

async function submitTo(app: FastifyInstance, phase: number, maxEvaluations: number): Promise<string> {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/solve',
    headers: auth(),
    payload: { operator: { type: 'identity' }, groundTruth: await testPng(TINY_SIZE, TINY_SIZE, phase), options: { gamma: 0.1, maxEvaluations, optimizer: 'adam' } },
  });
  assert.equal(res.statusCode, 202, res.body);
  return res.json().jobId;
}

test('worker SIGKILLed mid-batch: a second worker process recovers the stalled jobs and every job completes', { timeout: 90_000 }, async () => {
  const prefix = `fp-rel-${randomUUID().slice(0, 8)}`;
  const env = { ...faultEnv(), QUEUE_NAME: 'kill' };
  const { app } = await harness.apiOnPrivateRedis(env, prefix);
  const status = async (id: string) => (await app.inject({ method: 'GET', url: `/v1/jobs/${id}`, headers: auth() })).json();

  // Enough iterations that the batch is still running when the worker dies.
  const first: string[] = [];
  for (let i = 0; i < 4; i++) first.push(await submitTo(app, i, 400));
  const workerA = await startWorkerProcess({ ...env, FP_QUEUE_PREFIX: prefix });
  harness.children.add(workerA);
  await waitFor(() => Promise.all(first.map(status)), (ss) => ss.every((s) => s.status === 'running' && s.progress?.iteration >= 2), 60_000, 50);
  workerA.kill('SIGKILL');
  await exited(workerA);
  harness.children.delete(workerA);
  const atKill = await Promise.all(first.map(status));
  assert.ok(atKill.every((s) => s.status === 'running'), `killed mid-batch: ${JSON.stringify(atKill.map((s) => s.status))}`);

  // Jobs submitted while no worker lives wait in the queue.
  const second = [await submitTo(app, 10, 5), await submitTo(app, 11, 5)];
  const workerB = await startWorkerProcess({ ...env, FP_QUEUE_PREFIX: prefix });
  harness.children.add(workerB);
  const done = await Promise.all([...first, ...second].map((id) => waitFor(() => status(id), (s) => TERMINAL.has(s.status), 75_000, 100)));
  for (const s of done) assert.equal(s.status, 'completed', JSON.stringify(s).slice(0, 400));
  for (const s of done.slice(0, first.length)) assert.ok(s.attempts >= 2, `the killed batch ran again (attempts ${s.attempts})`);
  assert.equal((await app.inject({ method: 'GET', url: '/v1/queue' })).json().total, 0, 'nothing left in the queue');

  workerB.kill('SIGTERM');
  assert.equal(await exited(workerB), 0, 'SIGTERM: the worker drains and exits cleanly');
  harness.children.delete(workerB);
});

test('Redis killed and restarted: /readyz and submissions answer 503 during the outage; API and worker recover without a restart', { timeout: 90_000 }, async () => {
  const prefix = `fp-rel-${randomUUID().slice(0, 8)}`;
  const env = { ...faultEnv(), QUEUE_NAME: 'outage', API_KEYS: KEY_A, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' };
  const fatal: Error[] = [];
  const api: Running = await startApi(loadConfig(env, { mode: 'api' }), { queuePrefix: prefix });
  harness.cleanups.push(() => api.close());
  const worker: Running = await startWorker(loadConfig(env, { mode: 'worker' }), { queuePrefix: prefix, onFatal: (e) => fatal.push(e) });
  harness.cleanups.push(() => worker.close());
  const url = api.url as string;
  const call = (path: string, init: RequestInit = {}) => fetch(`${url}${path}`, { ...init, headers: { authorization: `Bearer ${KEY_A}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });
  const body = async (phase: number) => JSON.stringify({ operator: { type: 'identity' }, groundTruth: await testPng(TINY_SIZE, TINY_SIZE, phase), options: { gamma: 0.1, maxEvaluations: 5 } });
  const solveAndWait = async (phase: number) => {
    const res = await call('/v1/solve', { method: 'POST', body: await body(phase) });
    const text = await res.text();
    assert.equal(res.status, 202, text);
    const { jobId } = JSON.parse(text) as { jobId: string };
    return waitFor(async () => (await (await call(`/v1/jobs/${jobId}`)).json()) as { status: string }, (s) => TERMINAL.has(s.status), 30_000, 100);
  };

  assert.equal((await call('/readyz')).status, 200);
  assert.equal((await solveAndWait(0)).status, 'completed');

  await harness.redis.kill();
  const down = await waitFor(() => call('/readyz'), (r) => r.status === 503, 15_000, 200);
  assert.match(((await down.json()) as { checks: { queue: string } }).checks.queue, /^error/);
  for (let i = 0; i < 5; i++) {
    const res = await call('/v1/solve', { method: 'POST', body: await body(i) });
    assert.equal(res.status, 503, `submission during the outage: ${res.status}`);
    const err = (await res.json()) as { error: { code: string; message: string }; requestId: string };
    assert.equal(err.error.code, 'QUEUE_UNAVAILABLE');
    assert.ok(err.requestId);
  }
  const poll = await call(`/v1/jobs/${randomUUID()}`);
  assert.equal(poll.status, 503, 'polling during the outage');
  assert.equal((await call('/healthz')).status, 200, 'the API process is alive');

  await harness.redis.start();
  await waitFor(() => call('/readyz'), (r) => r.status === 200, 30_000, 250);
  const afterOutage = await Promise.all([solveAndWait(1), solveAndWait(2)]);
  for (const s of afterOutage) assert.equal(s.status, 'completed', 'the same worker took jobs again');
  assert.deepEqual(fatal, [], 'the outage is not an engine failure');
});

test('the store refuses one job\'s writes: that job retries its upload with backoff, then fails with the reason; others complete', { timeout: 90_000 }, async () => {
  const prefix = `fp-rel-${randomUUID().slice(0, 8)}`;
  const env = { ...faultEnv(), QUEUE_NAME: 'store', JOB_ATTEMPTS: '2', BATCH_WAIT_MS: '50' };
  const { app } = await harness.apiOnPrivateRedis(env, prefix);
  const status = async (id: string) => (await app.inject({ method: 'GET', url: `/v1/jobs/${id}`, headers: auth() })).json();
  const broken = await submitTo(app, 0, 5);
  const healthy = await submitTo(app, 1, 5);
  // A folder where result.png must go: every write of that file fails (EISDIR), whoever runs the test.
  await mkdir(join(harness.resultsDir, 'jobs', broken, 'result.png'), { recursive: true });

  const config = testConfig(env);
  const queue = createBullQueue(config, undefined, prefix);
  const metrics = new ServiceMetrics({ defaultMetrics: false });
  const worker: RunningWorker = await workerFor(config, queue, new LocalResultStore(harness.resultsDir), { metrics, uploadTries: 3, uploadBackoffMs: 50 });
  harness.cleanups.push(() => queue.close(), () => worker.close());

  const [b, h] = await Promise.all([broken, healthy].map((id) => waitFor(() => status(id), (s) => TERMINAL.has(s.status), 60_000, 100)));
  assert.equal(h.status, 'completed', JSON.stringify(h));
  assert.equal(b.status, 'failed', JSON.stringify(b));
  assert.equal(b.attempts, 2);
  assert.match(b.error, new RegExp(`cannot write jobs/${broken}/result\\.png`));
  const text = await metrics.registry.metrics();
  const solves = Number(/^flowprior_solve_seconds_count\{[^}]*\} (\d+)/m.exec(text)?.[1] ?? NaN);
  // One observation per solved batch: the two jobs share a batch or not; the upload retries add none.
  const batches = h.metrics.batchSize === 2 ? 1 : 2;
  assert.equal(solves, batches, 'each job solved once: the retries of the failed upload did not solve again');
  const res = await app.inject({ method: 'GET', url: `/v1/jobs/${broken}/result.png?redirect=false`, headers: auth() });
  assert.ok(res.statusCode >= 400 && res.statusCode < 500, `the failed job's file: ${res.statusCode}`);
});
