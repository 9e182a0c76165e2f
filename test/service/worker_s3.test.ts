import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import type { FastifyInstance } from 'fastify';
import { createBullQueue, type BullJobQueue } from '../../src/service/jobs/index.ts';
import { S3ResultStore, jobKeys } from '../../src/service/storage/index.ts';
import type { ServiceConfig } from '../../src/service/config.ts';
import type { RunningWorker } from '../../src/service/worker/index.ts';
import { ensureS3, type S3Server } from './helpers/s3.ts';
import { tinyModelsDir, TINY_SIZE } from './helpers/models.ts';
import { appFor, auth, testConfig, testPng, waitFor, workerFor } from './helpers/service.ts';

const prefix = `fp-test-${randomUUID().slice(0, 8)}`;
let s3: S3Server;
let models: { dir: string; cleanup(): Promise<void> };
let config: ServiceConfig;
let apiQueue: BullJobQueue;
let workerQueue: BullJobQueue;
let store: S3ResultStore;
let app: FastifyInstance;
const workers: RunningWorker[] = [];

before(async () => {
  s3 = await ensureS3();
  models = await tinyModelsDir();
  config = testConfig({
    MODELS_DIR: models.dir,
    STORAGE: 's3',
    QUEUE_NAME: 'batching',
    S3_ENDPOINT: s3.endpoint,
    S3_PUBLIC_ENDPOINT: s3.endpoint.replace('127.0.0.1', 'localhost'),
    S3_BUCKET: `fp-batch-${randomUUID().slice(0, 8)}`,
    S3_ACCESS_KEY: s3.accessKey,
    S3_SECRET_KEY: s3.secretKey,
    S3_PRESIGN_SECONDS: '120',
    BATCH_WAIT_MS: '400',
  });
  store = new S3ResultStore(config.s3);
  await store.init();
  apiQueue = createBullQueue(config, undefined, prefix);
  workerQueue = createBullQueue(config, undefined, prefix);
  app = await appFor(config, apiQueue, store);
});

after(async () => {
  for (const w of workers) await w.close();
  await app?.close();
  await apiQueue?.obliterate().catch(() => {});
  await apiQueue?.close();
  await workerQueue?.close();
  await store?.close();
  await models?.cleanup();
  await s3?.stop();
});

async function submit(payload: object): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/v1/solve', headers: auth(), payload });
  assert.equal(res.statusCode, 202, res.body);
  return res.json().jobId;
}

const status = async (id: string) => (await app.inject({ method: 'GET', url: `/v1/jobs/${id}`, headers: auth() })).json();

test('six compatible jobs submitted together are solved in one batch; results come back from S3', async () => {
  const six: string[] = [];
  for (let i = 0; i < 6; i++) {
    // Operators differ (m, seed) and so do the images: the batch key is method, model and solver settings.
    six.push(
      await submit({
        operator: { type: 'gaussian', m: 100 + 50 * i, seed: i },
        groundTruth: await testPng(TINY_SIZE, TINY_SIZE, i),
        noise: { type: 'gaussian-norm', norm: 0.1, seed: i },
        options: { maxEvaluations: 8 },
      }),
    );
  }
  const other = await submit({ operator: { type: 'identity' }, groundTruth: await testPng(TINY_SIZE, TINY_SIZE, 9), options: { maxEvaluations: 9, gamma: 0.1 } });
  workers.push(await workerFor(config, workerQueue, store));

  const all = await Promise.all([...six, other].map((id) => waitFor(() => status(id), (s) => ['completed', 'failed'].includes(s.status), 60_000)));
  for (const s of all) assert.equal(s.status, 'completed', JSON.stringify(s));
  const batchIds = new Set(all.slice(0, 6).map((s) => s.metrics.batchId));
  assert.equal(batchIds.size, 1, 'one batch');
  for (const s of all.slice(0, 6)) {
    assert.equal(s.metrics.batchSize, 6);
    assert.ok(s.metrics.evaluations <= 8);
    assert.ok(Number.isFinite(s.metrics.psnr));
  }
  assert.equal(all[6].metrics.batchSize, 1, 'a job with other solver settings is not batched with them');
  assert.ok(!batchIds.has(all[6].metrics.batchId));

  // Links are presigned for the public endpoint and fetch the stored files.
  const first = all[0];
  for (const link of [first.links.result, first.links.panel, first.links.metrics]) {
    assert.match(link, /^http:\/\/localhost:\d+\/fp-batch-[0-9a-f]+\/jobs\/.*X-Amz-Signature=/);
  }
  const png = Buffer.from(await (await fetch(first.links.result)).arrayBuffer());
  const meta = await sharp(png).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ['png', TINY_SIZE, TINY_SIZE]);
  const metrics = await (await fetch(first.links.metrics)).json();
  assert.deepEqual(metrics, first.metrics);
  const panelMeta = await sharp(Buffer.from(await (await fetch(first.links.panel)).arrayBuffer())).metadata();
  assert.equal(panelMeta.width, 64 * 3 + 4, 'truth | Aᵀy view | reconstruction');

  // The file routes redirect to the same objects, or stream them with redirect=false.
  const redirect = await app.inject({ method: 'GET', url: `/v1/jobs/${six[0]}/result.png`, headers: auth() });
  assert.equal(redirect.statusCode, 302);
  assert.match(String(redirect.headers.location), /X-Amz-Signature=/);
  const streamed = await app.inject({ method: 'GET', url: `/v1/jobs/${six[0]}/result.png?redirect=false`, headers: auth() });
  assert.equal(streamed.statusCode, 200);
  assert.deepEqual(streamed.rawPayload, png);
  const input = JSON.parse((await store.get(jobKeys(six[0]).input)).toString());
  assert.equal(input.operator.type, 'gaussian');
  assert.equal(input.noise.type, 'gaussian-norm');
});

test('a closing worker finishes the batch it has, then stops', async () => {
  const ids = [
    await submit({ operator: { type: 'identity' }, groundTruth: await testPng(TINY_SIZE, TINY_SIZE, 1), options: { maxEvaluations: 60, gamma: 0.2 } }),
    await submit({ operator: { type: 'identity' }, groundTruth: await testPng(TINY_SIZE, TINY_SIZE, 2), options: { maxEvaluations: 60, gamma: 0.2 } }),
  ];
  await waitFor(() => status(ids[0]), (s) => s.status === 'running' && s.progress !== null, 30_000, 20);
  const w = workers.pop() as RunningWorker;
  await w.close();
  const after = await Promise.all(ids.map(status));
  assert.deepEqual(after.map((s) => s.status), ['completed', 'completed'], 'close() resolved only after the batch was written');
  assert.equal(after[0].metrics.batchId, after[1].metrics.batchId);
});
