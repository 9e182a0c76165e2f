import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { loadConfig } from '../../src/service/config.ts';
import { startStandalone, type Running } from '../../src/service/runtime.ts';
import { tinyModelsDir, TINY_GLOW } from './helpers/models.ts';
import { tempDir, testPng, waitFor } from './helpers/service.ts';

let models: { dir: string; cleanup(): Promise<void> };
let results: { dir: string; cleanup(): Promise<void> };
let service: Running;

before(async () => {
  models = await tinyModelsDir();
  results = await tempDir('fp-standalone-');
  const config = loadConfig(
    { PORT: '0', MODELS_DIR: models.dir, RESULTS_DIR: results.dir, GLOW_MODEL: TINY_GLOW, WORKER_METHODS: 'glow', LOG_LEVEL: 'silent', BATCH_WAIT_MS: '50' },
    { mode: 'standalone' },
  );
  service = await startStandalone(config);
});

after(async () => {
  await service?.close();
  await models?.cleanup();
  await results?.cleanup();
});

test('embedded mode over HTTP: submit, poll, fetch the PNG, panel and metrics — no Redis, no S3, no key', async () => {
  const base = service.url as string;
  assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/);
  const health = await fetch(`${base}/readyz`);
  assert.deepEqual(await health.json(), { status: 'ready', checks: { queue: 'ok', storage: 'ok' } });

  const submit = await fetch(`${base}/v1/solve`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      operator: { type: 'mask', box: [4, 4, 6, 6] },
      groundTruth: await testPng(32, 32),
      options: { maxEvaluations: 12 },
    }),
  });
  assert.equal(submit.status, 202);
  const { jobId, links } = (await submit.json()) as { jobId: string; links: Record<string, string> };
  const done = await waitFor(
    async () => (await fetch(`${base}${links.self}`)).json() as Promise<{ status: string; metrics: Record<string, unknown>; links: Record<string, string> }>,
    (j) => !['queued', 'running'].includes(j.status),
    60_000,
  );
  assert.equal(done.status, 'completed', JSON.stringify(done));
  assert.equal(done.metrics.batchSize, 1);
  assert.ok(typeof done.metrics.psnr === 'number');

  const png = await fetch(`${base}${done.links.result}`);
  assert.equal(png.status, 200);
  assert.equal(png.headers.get('content-type'), 'image/png');
  const meta = await sharp(Buffer.from(await png.arrayBuffer())).metadata();
  assert.deepEqual([meta.width, meta.height, meta.channels], [16, 16, 3]);
  const panel = await sharp(Buffer.from(await (await fetch(`${base}${done.links.panel}`)).arrayBuffer())).metadata();
  assert.equal(panel.width, 64 * 3 + 4, 'truth | masked input | reconstruction');
  const metrics = await (await fetch(`${base}${done.links.metrics}`)).json();
  assert.deepEqual(metrics, done.metrics);
  assert.equal(jobId.length, 36);

  const prom = await (await fetch(`${base}/metrics`)).text();
  assert.match(prom, /flowprior_jobs_total\{outcome="completed"\} 1/, 'standalone serves the worker’s metrics too');
  assert.match(prom, /flowprior_batch_size_bucket\{le="1",method="glow"\} 1/);
  const docs = await fetch(`${base}/docs/json`);
  assert.equal(((await docs.json()) as { openapi: string }).openapi, '3.1.0');
});
