import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { createBullQueue, type BullJobQueue } from '../../src/service/jobs/index.ts';
import { LocalResultStore } from '../../src/service/storage/index.ts';
import type { RunningWorker } from '../../src/service/worker/index.ts';
import { tinyModelsDir, TINY_SIZE } from './helpers/models.ts';
import { appFor, auth, tempDir, testConfig, testPng, waitFor, workerFor } from './helpers/service.ts';

/** A Redis of this test's own (the shared one must not be restarted), on a free port. */
class PrivateRedis {
  private proc: ChildProcess | null = null;
  constructor(readonly port: number) {}

  async start(): Promise<void> {
    const p = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.proc = p;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      p.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (/Ready to accept connections/.test(out)) resolve();
      });
      p.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out.slice(-500)}`)));
    });
  }

  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (!p || p.exitCode !== null) return;
    p.kill('SIGKILL');
    await new Promise((r) => p.once('exit', r));
  }
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

let redis: PrivateRedis;
let models: { dir: string; cleanup(): Promise<void> };
let results: { dir: string; cleanup(): Promise<void> };
let apiQueue: BullJobQueue;
let workerQueue: BullJobQueue;
let app: FastifyInstance;
let worker: RunningWorker;

before(async () => {
  redis = new PrivateRedis(await freePort());
  await redis.start();
  models = await tinyModelsDir();
  results = await tempDir('fp-redis-');
  const config = testConfig({ MODELS_DIR: models.dir, RESULTS_DIR: results.dir, REDIS_URL: `redis://127.0.0.1:${redis.port}`, BATCH_WAIT_MS: '50' });
  apiQueue = createBullQueue(config);
  workerQueue = createBullQueue(config);
  const store = new LocalResultStore(results.dir);
  app = await appFor(config, apiQueue, store);
  worker = await workerFor(config, workerQueue, store);
});

after(async () => {
  await worker?.close();
  await app?.close();
  await apiQueue?.close();
  await workerQueue?.close();
  await redis?.stop();
  await models?.cleanup();
  await results?.cleanup();
});

async function solveOne(phase: number): Promise<{ status: string }> {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/solve',
    headers: auth(),
    payload: { operator: { type: 'identity' }, groundTruth: await testPng(TINY_SIZE, TINY_SIZE, phase), options: { gamma: 0.1, maxEvaluations: 5 } },
  });
  assert.equal(res.statusCode, 202, res.body);
  const id = res.json().jobId;
  return waitFor(
    async () => (await app.inject({ method: 'GET', url: `/v1/jobs/${id}`, headers: auth() })).json() as { status: string },
    (s) => !['queued', 'running'].includes(s.status),
    30_000,
  );
}

test('Redis restarted: the API answers 503 and /readyz says so during the outage; API and worker reconnect by themselves', async () => {
  assert.equal((await solveOne(0)).status, 'completed');

  await redis.stop();
  const ready = await waitFor(() => app.inject({ method: 'GET', url: '/readyz' }), (r) => r.statusCode === 503, 10_000);
  assert.match(ready.json().checks.queue, /^error: queue unavailable/);
  assert.equal(ready.json().checks.storage, 'ok');
  const refused = await app.inject({ method: 'POST', url: '/v1/solve', headers: auth(), payload: { operator: { type: 'identity' }, groundTruth: await testPng(TINY_SIZE, TINY_SIZE) } });
  assert.equal(refused.statusCode, 503);
  assert.equal(refused.json().error.code, 'QUEUE_UNAVAILABLE');
  const status = await app.inject({ method: 'GET', url: '/v1/jobs/00000000-0000-4000-8000-000000000000', headers: auth() });
  assert.equal(status.statusCode, 503);
  assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'the process itself stays alive');

  await redis.start();
  await waitFor(() => app.inject({ method: 'GET', url: '/readyz' }), (r) => r.statusCode === 200, 20_000, 200);
  const after = await solveOne(1);
  assert.equal(after.status, 'completed', 'the worker took a job again without a restart');
});
