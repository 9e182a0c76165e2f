import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { MemoryJobQueue } from '../../src/service/jobs/index.ts';
import { LocalResultStore } from '../../src/service/storage/index.ts';
import { ServiceMetrics } from '../../src/service/api/metrics.ts';
import { encodeFloat32 } from '../../src/service/jobs/model.ts';
import type { RunningWorker } from '../../src/service/worker/index.ts';
import { tinyModelsDir, TINY_SIZE } from './helpers/models.ts';
import { KEY_A, KEY_B, appFor, auth, tempDir, testConfig, testPng, waitFor, workerFor } from './helpers/service.ts';

const N = TINY_SIZE * TINY_SIZE * 3;
let models: { dir: string; cleanup(): Promise<void> };
let results: { dir: string; cleanup(): Promise<void> };

before(async () => {
  models = await tinyModelsDir();
  results = await tempDir('fp-api-results-');
});
after(async () => {
  await models.cleanup();
  await results.cleanup();
});

function memQueue() {
  return new MemoryJobQueue({ attempts: 2, backoffMs: 20, keepMs: 60_000 });
}

function assertError(res: LightMyRequestResponse, status: number, field?: string | RegExp, code?: string) {
  assert.equal(res.statusCode, status, res.body);
  const body = res.json();
  assert.equal(typeof body.requestId, 'string');
  assert.equal(typeof body.error.message, 'string');
  assert.doesNotMatch(res.body, /\.ts:\d+|at [A-Za-z.]+ \(/, 'no stack trace');
  if (field instanceof RegExp) assert.match(body.error.field ?? '', field);
  else if (field !== undefined) assert.equal(body.error.field, field);
  if (code) assert.equal(body.error.code, code);
  return body;
}

describe('API without a worker (validation, auth, queue bookkeeping)', () => {
  let app: FastifyInstance;
  let queue: MemoryJobQueue;
  const cfg = () => testConfig({ MODELS_DIR: models.dir, RESULTS_DIR: results.dir, MAX_QUEUED_PER_KEY: '3', BODY_LIMIT_BYTES: '400000', MAX_IMAGE_BYTES: '60000', MAX_IMAGE_PIXELS: '250000' });
  const post = (payload: unknown, key = KEY_A) => app.inject({ method: 'POST', url: '/v1/solve', headers: auth(key), payload: payload as object });
  const valid = () => ({ operator: { type: 'gaussian', m: 100, seed: 3 }, measurements: Array.from({ length: 100 }, (_, i) => Math.sin(i)) });

  before(async () => {
    queue = memQueue();
    app = await appFor(cfg(), queue, new LocalResultStore(results.dir));
  });
  after(async () => {
    await app.close();
    await queue.close();
  });

  test('keys: missing, malformed and unknown keys are 401; open routes need none', async () => {
    let res = await app.inject({ method: 'GET', url: '/v1/models' });
    assertError(res, 401, undefined, 'UNAUTHORIZED');
    assert.equal(res.headers['www-authenticate'], 'Bearer');
    res = await app.inject({ method: 'GET', url: '/v1/models', headers: { authorization: `Basic ${KEY_A}` } });
    assertError(res, 401);
    res = await app.inject({ method: 'GET', url: '/v1/models', headers: auth('test-key-aaaaaaaaaaaaaaab') });
    assert.doesNotMatch(assertError(res, 401).error.message, /aaaa/, 'the key is not echoed');
    for (const url of ['/healthz', '/readyz', '/metrics', '/v1/queue', '/docs/json']) {
      res = await app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200, url);
    }
    assert.equal((await app.inject({ method: 'GET', url: '/docs' })).statusCode < 400, true);
  });

  test('catalog: models, methods, operators', async () => {
    const models = (await app.inject({ method: 'GET', url: '/v1/models', headers: auth() })).json();
    assert.deepEqual(models.models.map((m: { name: string }) => m.name), ['tiny-glow']);
    assert.deepEqual(models.models[0].imageShape, [16, 16, 3]);
    assert.equal(models.models[0].n, N);
    assert.equal(models.models[0].isDefault, true);
    const methods = (await app.inject({ method: 'GET', url: '/v1/methods', headers: auth() })).json();
    assert.deepEqual(methods.methods.map((m: { name: string }) => m.name), ['glow', 'dcgan', 'lasso-dct', 'lasso-wvt', 'bm3d']);
    assert.deepEqual(methods.methods.find((m: { name: string }) => m.name === 'bm3d').operators, ['identity']);
    const ops = (await app.inject({ method: 'GET', url: '/v1/operators', headers: auth() })).json();
    assert.deepEqual(Object.keys(ops.operators).sort(), ['blur', 'downsample', 'gaussian', 'identity', 'mask']);
    assert.deepEqual(ops.imageShape, [64, 64, 3]);
    assert.ok(ops.noise.oneOf);
    const small = (await app.inject({ method: 'GET', url: '/v1/operators?model=tiny-glow', headers: auth() })).json();
    assert.deepEqual(small.imageShape, [16, 16, 3]);
    assert.equal(small.operators.gaussian.properties.m.maximum, N, 'm ≤ n filled in for the model');
    assertError(await app.inject({ method: 'GET', url: '/v1/operators?model=nope', headers: auth() }), 400, 'querystring.model');
    assertError(await app.inject({ method: 'GET', url: '/v1/operators?x=1', headers: auth() }), 400, 'querystring.x');
  });

  test('every validation error is a 4xx naming the field', async () => {
    const png = await testPng(20, 24);
    const truncated = Buffer.from(png, 'base64').subarray(0, 60).toString('base64');
    const bomb = (await sharp({ create: { width: 3000, height: 3000, channels: 3, background: '#777' } }).png({ compressionLevel: 9 }).toBuffer()).toString('base64');
    const big = (await sharp({ create: { width: 300, height: 300, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 60 } } }).png().toBuffer()).toString('base64');
    const v = valid();
    const cases: Array<[string, unknown, number, string | RegExp | undefined]> = [
      ['no operator', { measurements: v.measurements }, 400, 'operator'],
      ['unknown field', { ...v, extra: 1 }, 400, 'extra'],
      ['unknown method', { ...v, method: 'magic' }, 400, 'method'],
      ['unknown model', { ...v, model: 'nope' }, 400, 'model'],
      ['model with a baseline', { ...v, method: 'lasso-dct', model: 'tiny-glow' }, 400, 'model'],
      ['missing dcgan model', { ...v, method: 'dcgan' }, 400, 'model'],
      ['unknown operator', { ...v, operator: { type: 'fourier' } }, 400, 'operator.type'],
      ['m > n', { ...v, operator: { type: 'gaussian', m: N + 1, seed: 1 } }, 400, 'operator.m'],
      ['negative seed', { ...v, operator: { type: 'gaussian', m: 100, seed: -1 } }, 400, 'operator.seed'],
      ['extra operator field', { ...v, operator: { type: 'identity', m: 3 } }, 400, /^operator\./],
      ['mask outside', { ...v, operator: { type: 'mask', box: [10, 10, 19, 19] } }, 400, /^operator\.box/],
      ['wrong length', { ...v, measurements: [1, 2, 3] }, 400, 'measurements'],
      ['strings in y', { ...v, measurements: ['a', ...v.measurements.slice(1)] }, 400, /^measurements/],
      ['float32 overflow', { ...v, measurements: v.measurements.map((x, i) => (i === 3 ? 1e39 : x)) }, 400, 'measurements.3'],
      ['broken base64', { ...v, measurements: 'not base64!!' }, 400, 'measurements'],
      ['base64 length', { ...v, measurements: encodeFloat32(new Float32Array(99)) }, 400, 'measurements'],
      ['base64 NaN', { ...v, measurements: encodeFloat32(new Float32Array(100).fill(Number.NaN)) }, 400, 'measurements.0'],
      ['both y and truth', { ...v, groundTruth: png }, 400, 'measurements'],
      ['neither', { operator: v.operator }, 400, 'measurements'],
      ['noise without truth', { ...v, noise: { type: 'gaussian', sigma: 0.1, seed: 1 } }, 400, 'noise'],
      ['bad noise', { operator: v.operator, groundTruth: png, noise: { type: 'gaussian', sigma: -1, seed: 1 } }, 400, 'noise.sigma'],
      ['noise type', { operator: v.operator, groundTruth: png, noise: { type: 'laplace' } }, 400, 'noise.type'],
      ['not an image', { operator: v.operator, groundTruth: Buffer.from('hello').toString('base64') }, 400, 'groundTruth'],
      ['truncated PNG', { operator: v.operator, groundTruth: truncated }, 400, 'groundTruth'],
      ['decompression bomb', { operator: v.operator, groundTruth: bomb }, 400, 'groundTruth'],
      ['image too large', { operator: v.operator, groundTruth: big }, 413, 'groundTruth'],
      ['evaluations over the limit', { ...v, options: { maxEvaluations: 5000 } }, 400, 'options.maxEvaluations'],
      ['negative gamma', { ...v, options: { gamma: -1 } }, 400, 'options.gamma'],
      ['bad penalty', { ...v, options: { penalty: 'l1' } }, 400, 'options.penalty'],
      ['unknown option', { ...v, options: { steps: 3 } }, 400, 'options.steps'],
      ['restarts for glow', { ...v, options: { restarts: 3 } }, 400, 'options.restarts'],
      ['lambda for glow', { ...v, options: { lambda: 0.1 } }, 400, 'options.lambda'],
      ['bm3d on CS', { ...v, method: 'bm3d' }, 400, 'operator.type'],
      ['unicode idempotency key', { ...v, idempotencyKey: 'clé✓' }, 400, 'idempotencyKey'],
      ['array body', [1, 2], 400, 'body'],
      ['null operator', { ...v, operator: null }, 400, 'operator'],
    ];
    for (const [name, body, status, field] of cases) {
      const res = await post(body);
      assert.equal(res.statusCode, status, `${name}: ${res.body}`);
      assertError(res, status, field);
    }
    const raw = await app.inject({ method: 'POST', url: '/v1/solve', headers: { ...auth(), 'content-type': 'application/json' }, payload: '{"operator": NaN}' });
    assertError(raw, 400, 'body', 'INVALID_JSON');
    const text = await app.inject({ method: 'POST', url: '/v1/solve', headers: { ...auth(), 'content-type': 'text/plain' }, payload: 'hi' });
    assertError(text, 415);
    const huge = await app.inject({ method: 'POST', url: '/v1/solve', headers: { ...auth(), 'content-type': 'application/json' }, payload: JSON.stringify({ ...v, pad: 'x'.repeat(500_000) }) });
    assertError(huge, 413, 'body', 'PAYLOAD_TOO_LARGE');
    for (const url of ['/v1/jobs/not-a-uuid', '/v1/jobs/%E2%9C%93', '/v1/jobs/123/result.png']) {
      assertError(await app.inject({ method: 'GET', url, headers: auth() }), 400, 'params.id');
    }
    assertError(await app.inject({ method: 'GET', url: '/v1/nothing', headers: auth() }), 404, undefined, 'NOT_FOUND');
  });

  test('accepted jobs: 202 with links; ids, idempotency, owners, per-key cap, cancel while queued', async () => {
    const r1 = await post(valid());
    assert.equal(r1.statusCode, 202, r1.body);
    const b1 = r1.json();
    assert.match(b1.jobId, /^[0-9a-f-]{36}$/);
    assert.equal(b1.status, 'queued');
    assert.equal(b1.created, true);
    assert.deepEqual(b1.links, { self: `/v1/jobs/${b1.jobId}`, result: `/v1/jobs/${b1.jobId}/result.png`, panel: `/v1/jobs/${b1.jobId}/panel.png`, metrics: `/v1/jobs/${b1.jobId}/metrics.json` });
    const status = (await app.inject({ method: 'GET', url: b1.links.self, headers: auth() })).json();
    assert.equal(status.status, 'queued');
    assert.equal(status.method, 'glow');
    assert.equal(status.model, 'tiny-glow');
    assert.deepEqual(status.links, { self: b1.links.self, result: null, panel: null, metrics: null });
    assertError(await app.inject({ method: 'GET', url: b1.links.self, headers: auth(KEY_B) }), 404, undefined, 'NOT_FOUND');
    assertError(await app.inject({ method: 'GET', url: b1.links.result, headers: auth() }), 409, undefined, 'CONFLICT');

    const withKey = { ...valid(), idempotencyKey: 'batch-7/image-3' };
    const i1 = await post(withKey);
    const i2 = await post(withKey);
    assert.equal(i1.statusCode, 202);
    assert.equal(i2.statusCode, 200);
    assert.equal(i2.json().jobId, i1.json().jobId);
    assert.equal(i2.json().created, false);
    assertError(await post({ ...withKey, options: { seed: 9 } }), 409, undefined, 'CONFLICT');
    const other = await post(withKey, KEY_B);
    assert.notEqual(other.json().jobId, i1.json().jobId, 'the same key from another API key is another job');

    // KEY_A has 2 queued jobs; the cap is 3.
    assert.equal((await post(valid())).statusCode, 202);
    const capped = assertError(await post(valid()), 429, undefined, 'RATE_LIMITED');
    assert.equal(capped.error.limit, 3);
    const q = (await app.inject({ method: 'GET', url: '/v1/queue' })).json();
    assert.equal(q.waiting, 4);
    assert.equal(q.total, 4);

    const del = await app.inject({ method: 'DELETE', url: b1.links.self, headers: auth() });
    assert.equal(del.statusCode, 200, del.body);
    assert.deepEqual(del.json(), { jobId: b1.jobId, status: 'cancelled' });
    assert.equal((await app.inject({ method: 'GET', url: b1.links.self, headers: auth() })).json().status, 'cancelled');
    assertError(await app.inject({ method: 'DELETE', url: b1.links.self, headers: auth() }), 409);
    assertError(await app.inject({ method: 'DELETE', url: other.json().links.self, headers: auth() }), 404);
    assert.equal((await post(valid())).statusCode, 202, 'a cancelled job frees its slot');
  });

  test('metrics, readiness and request ids', async () => {
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    assert.match(res.body, /flowprior_http_request_duration_seconds_bucket\{.*route="\/v1\/solve"/);
    assert.match(res.body, /flowprior_queue_jobs\{state="waiting"\} \d+/);
    assert.match(res.body, /flowprior_jobs_submitted_total\{method="glow"\} \d+/);
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    assert.deepEqual(ready.json(), { status: 'ready', checks: { queue: 'ok', storage: 'ok' } });
    const withId = await app.inject({ method: 'GET', url: '/v1/jobs/00000000-0000-4000-8000-000000000000', headers: { ...auth(), 'x-request-id': 'client-req-42' } });
    assert.equal(withId.headers['x-request-id'], 'client-req-42');
    assert.equal(assertError(withId, 404).requestId, 'client-req-42');
    const hostile = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'bad id\u2028with junk' } });
    assert.match(String(hostile.headers['x-request-id']), /^[0-9a-f-]{36}$/, 'unsafe request ids are replaced');
  });

  test('readiness fails with the reason when the store is gone; rate limits answer 429', async () => {
    const q = memQueue();
    // A folder under a regular file: neither readable nor creatable.
    await writeFile(join(results.dir, 'a-file'), 'x');
    const broken = await appFor(testConfig({ MODELS_DIR: models.dir, RATE_LIMIT_PER_MIN: '3' }), q, new LocalResultStore(join(results.dir, 'a-file', 'results')));
    const ready = await broken.inject({ method: 'GET', url: '/readyz' });
    assert.equal(ready.statusCode, 503);
    assert.equal(ready.json().checks.queue, 'ok');
    assert.match(ready.json().checks.storage, /^error: results folder unavailable/);
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) codes.push((await broken.inject({ method: 'GET', url: '/v1/models', headers: auth() })).statusCode);
    assert.deepEqual(codes, [200, 200, 200, 429, 429]);
    assert.equal((await broken.inject({ method: 'GET', url: '/v1/models', headers: auth(KEY_B) })).statusCode, 200, 'limits are per key');
    const limited = await broken.inject({ method: 'GET', url: '/v1/models', headers: auth() });
    assertError(limited, 429, undefined, 'RATE_LIMITED');
    assert.equal((await broken.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'probes are not limited');
    const submit = await broken.inject({ method: 'POST', url: '/v1/solve', headers: auth(KEY_B), payload: valid() });
    assertError(submit, 503, undefined, 'STORAGE_UNAVAILABLE');
    await broken.close();
    await q.close();
  });
});

describe('API with a worker (memory queue, local store, tiny Glow)', () => {
  let app: FastifyInstance;
  let queue: MemoryJobQueue;
  let worker: RunningWorker;
  const metrics = new ServiceMetrics({ defaultMetrics: false });

  before(async () => {
    const config = testConfig({ MODELS_DIR: models.dir, RESULTS_DIR: results.dir, BATCH_WAIT_MS: '20' });
    queue = memQueue();
    const store = new LocalResultStore(results.dir);
    app = await appFor(config, queue, store, metrics);
    worker = await workerFor(config, queue, store, { metrics });
  });
  after(async () => {
    await worker.close();
    await app.close();
    await queue.close();
  });

  test('ground truth + noise: solved, metrics with PSNR/SSIM, PNGs and metrics.json served', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/solve',
      headers: auth(),
      payload: { operator: { type: 'identity' }, groundTruth: await testPng(20, 24), noise: { type: 'gaussian', sigma: 0.1, seed: 5 }, options: { gamma: 0.5, maxEvaluations: 15 } },
    });
    assert.equal(res.statusCode, 202, res.body);
    assert.match(res.json().note, /resized from 20×24 to 16×16/);
    const id = res.json().jobId;
    const done = await waitFor(
      async () => (await app.inject({ method: 'GET', url: `/v1/jobs/${id}`, headers: auth() })).json(),
      (j) => ['completed', 'failed'].includes(j.status),
    );
    assert.equal(done.status, 'completed', JSON.stringify(done));
    const m = done.metrics;
    assert.ok(Number.isFinite(m.psnr) && m.psnr > 0, `psnr ${m.psnr}`);
    assert.ok(m.ssim > -1 && m.ssim <= 1);
    assert.ok(Number.isFinite(m.inputPsnr), 'the noisy input’s PSNR is reported');
    assert.equal(m.evaluations <= 15, true);
    assert.equal(m.batchSize, 1);
    assert.equal(m.method, 'glow');
    assert.equal(m.backend, 'wasm');
    assert.match(m.note, /resized/);
    assert.ok(done.progress && done.progress.iteration >= 1, 'progress was reported');
    assert.equal(done.links.result, `/v1/jobs/${id}/result.png`, 'the local store has no presigned URLs');

    const png = await app.inject({ method: 'GET', url: done.links.result, headers: auth() });
    assert.equal(png.statusCode, 200);
    assert.equal(png.headers['content-type'], 'image/png');
    const meta = await sharp(png.rawPayload).metadata();
    assert.deepEqual([meta.width, meta.height], [16, 16]);
    const panel = await app.inject({ method: 'GET', url: done.links.panel, headers: auth() });
    const pm = await sharp(panel.rawPayload).metadata();
    assert.deepEqual([pm.width, pm.height], [64 * 3 + 4, 64], 'truth | noisy input | reconstruction');
    const mj = await app.inject({ method: 'GET', url: done.links.metrics, headers: auth() });
    assert.deepEqual(mj.json(), m);
    assertError(await app.inject({ method: 'GET', url: done.links.result, headers: auth(KEY_B) }), 404);
    assertError(await app.inject({ method: 'DELETE', url: `/v1/jobs/${id}`, headers: auth() }), 409);
    const prom = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(prom, /flowprior_jobs_total\{outcome="completed"\} [1-9]/);
    assert.match(prom, /flowprior_batch_size_count\{method="glow"\} [1-9]/);
    assert.match(prom, /flowprior_solve_seconds_count\{method="glow"\} [1-9]/);
  });

  test('a baseline (lasso-dct inpainting at 64×64) runs through the same pipeline', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/solve',
      headers: auth(),
      payload: { method: 'lasso-dct', operator: { type: 'mask', box: [22, 22, 19, 19] }, groundTruth: await testPng(64, 64), options: { maxEvaluations: 20 } },
    });
    assert.equal(res.statusCode, 202, res.body);
    const id = res.json().jobId;
    const done = await waitFor(
      async () => (await app.inject({ method: 'GET', url: `/v1/jobs/${id}`, headers: auth() })).json(),
      (j) => ['completed', 'failed'].includes(j.status),
    );
    assert.equal(done.status, 'completed', JSON.stringify(done));
    assert.equal(done.model, null);
    assert.equal(done.metrics.method, 'lasso-dct');
    assert.ok(done.metrics.psnr > done.metrics.inputPsnr, `lasso fills the hole: ${done.metrics.psnr} dB vs ${done.metrics.inputPsnr} dB masked`);
    const png = await app.inject({ method: 'GET', url: done.links.result, headers: auth() });
    const meta = await sharp(png.rawPayload).metadata();
    assert.deepEqual([meta.width, meta.height], [64, 64]);
  });

  test('measurements as a base64 float32 array; a running job is cancelled at its next iteration', async () => {
    const y = new Float32Array(200).map((_, i) => Math.cos(i) * 0.3);
    const res = await app.inject({
      method: 'POST',
      url: '/v1/solve',
      headers: auth(),
      payload: { operator: { type: 'gaussian', m: 200, seed: 1 }, measurements: encodeFloat32(y), options: { maxEvaluations: 2000, optimizer: 'adam' } },
    });
    assert.equal(res.statusCode, 202, res.body);
    const id = res.json().jobId;
    const running = await waitFor(
      async () => (await app.inject({ method: 'GET', url: `/v1/jobs/${id}`, headers: auth() })).json(),
      (j) => j.status === 'running' && j.progress !== null && j.progress.iteration >= 2,
    );
    assert.equal(running.status, 'running');
    const del = await app.inject({ method: 'DELETE', url: `/v1/jobs/${id}`, headers: auth() });
    assert.equal(del.statusCode, 202);
    assert.deepEqual(del.json(), { jobId: id, status: 'cancelling' });
    const final = await waitFor(
      async () => (await app.inject({ method: 'GET', url: `/v1/jobs/${id}`, headers: auth() })).json(),
      (j) => !['queued', 'running'].includes(j.status),
    );
    assert.equal(final.status, 'cancelled');
    assert.ok(final.progress.evaluations < 2000, `stopped early at ${final.progress.evaluations}`);
    assert.equal(final.metrics, null);
  });
});
