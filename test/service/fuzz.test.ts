import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { MemoryJobQueue } from '../../src/service/jobs/index.ts';
import { LocalResultStore } from '../../src/service/storage/index.ts';
import { tinyModelsDir, TINY_SIZE } from './helpers/models.ts';
import { appFor, auth, tempDir, testConfig, testPng, KEY_A } from './helpers/service.ts';

const N = TINY_SIZE * TINY_SIZE * 3;
let models: { dir: string; cleanup(): Promise<void> };
let results: { dir: string; cleanup(): Promise<void> };
let app: FastifyInstance;
let queue: MemoryJobQueue;
let png = '';
const tally = { requests: 0, accepted: 0, byStatus: new Map<number, number>() };

before(async () => {
  models = await tinyModelsDir();
  results = await tempDir('fp-fuzz-');
  queue = new MemoryJobQueue({ attempts: 1, backoffMs: 0, keepMs: 60_000 });
  const config = testConfig({ MODELS_DIR: models.dir, RESULTS_DIR: results.dir, MAX_QUEUED_PER_KEY: '1000000', BODY_LIMIT_BYTES: '300000', MAX_IMAGE_BYTES: '100000', MAX_IMAGE_PIXELS: '1000000' });
  app = await appFor(config, queue, new LocalResultStore(results.dir));
  png = await testPng(TINY_SIZE, TINY_SIZE);
});

after(async () => {
  await app?.close();
  await queue?.close();
  await models?.cleanup();
  await results?.cleanup();
  const statuses = [...tally.byStatus.entries()].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}:${n}`).join(' ');
  console.log(`fuzz: ${tally.requests} requests, ${tally.accepted} accepted as valid jobs, statuses ${statuses}`);
});

/** The invariant: no 5xx, and every refusal is a 4xx error body naming the problem (and the field for 400s). */
function check(res: LightMyRequestResponse, what: string): void {
  tally.requests++;
  tally.byStatus.set(res.statusCode, (tally.byStatus.get(res.statusCode) ?? 0) + 1);
  assert.ok(res.statusCode < 500, `${what} → ${res.statusCode} ${res.body.slice(0, 300)}`);
  if (res.statusCode === 200 || res.statusCode === 202) {
    tally.accepted++;
    return;
  }
  assert.ok(res.statusCode >= 400, `${what} → ${res.statusCode}`);
  const body = res.json();
  assert.equal(typeof body.error?.code, 'string', what);
  assert.ok(typeof body.error.message === 'string' && body.error.message.length > 0, what);
  assert.equal(typeof body.requestId, 'string');
  if (res.statusCode === 400 && body.error.code === 'VALIDATION') assert.ok(body.error.field, `${what}: a 400 names the field: ${res.body}`);
  assert.doesNotMatch(res.body, /\.ts:\d+|\n\s+at /, 'no stack trace');
}

/** A valid PNG whose header claims width × height (the pixel data is a tiny image's): a decompression-bomb header. */
function pngClaiming(width: number, height: number): string {
  const b = Buffer.from(png, 'base64');
  b.writeUInt32BE(width, 16);
  b.writeUInt32BE(height, 20);
  b.writeUInt32BE(crc32(b.subarray(12, 29)) >>> 0, 29);
  return b.toString('base64');
}

const post = (payload: unknown, headers: Record<string, string> = auth()) =>
  app.inject({ method: 'POST', url: '/v1/solve', headers: { ...headers, 'content-type': 'application/json' }, payload: typeof payload === 'string' ? payload : JSON.stringify(payload) });

const hostileString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom('', '\u0000', '../../etc/passwd', '%00', '__proto__', 'constructor', '😀'.repeat(50), 'NaN', 'Infinity', '1e999', 'glow', 'identity', 'gaussian'),
);
const hostileNumber = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -1, 1, N, N + 1, 2 ** 31, 2 ** 53, -(2 ** 53), 1e308, 5e-324, 0.5, 12288, 4294967296),
);
const anyValue = fc.oneof(hostileString, hostileNumber, fc.boolean(), fc.constant(null), fc.array(hostileNumber, { maxLength: 5 }), fc.dictionary(hostileString, hostileNumber, { maxKeys: 3 }));

const operatorArb = fc.oneof(
  fc.record({ type: fc.constantFrom('identity', 'gaussian', 'mask', 'downsample', 'blur'), m: hostileNumber, seed: hostileNumber }, { requiredKeys: ['type'] }),
  fc.record({ type: fc.constant('mask'), box: fc.array(hostileNumber, { maxLength: 5 }), fraction: hostileNumber, mask: fc.oneof(hostileString, fc.constant(png)) }, { requiredKeys: ['type'] }),
  fc.record({ type: fc.constantFrom('downsample', 'blur'), factor: hostileNumber, sigma: hostileNumber, size: hostileNumber }, { requiredKeys: ['type'] }),
  fc.dictionary(hostileString, anyValue, { maxKeys: 4 }),
  anyValue,
);

const measurementsArb = fc.oneof(
  fc.array(hostileNumber, { maxLength: 40 }),
  fc.array(fc.double({ noNaN: true }), { minLength: 100, maxLength: 100 }),
  fc.array(anyValue, { maxLength: 10 }),
  fc.uint8Array({ maxLength: 1200 }).map((b) => Buffer.from(b).toString('base64')),
  hostileString,
  fc.constant(Buffer.alloc(400, 0xff).toString('base64')), // 100 NaNs as float32
);

const imageArb = fc.oneof(
  fc.constant(png),
  fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b).toString('base64')),
  fc.integer({ min: 1, max: 200 }).map((k) => Buffer.from(png, 'base64').subarray(0, k).toString('base64')), // truncated
  fc.tuple(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 2 ** 31 - 1 })).map(([w, h]) => pngClaiming(w, h)),
  fc.constant(`data:image/png;base64,${png}`),
  hostileString,
);

const requestArb = fc.record(
  {
    method: fc.oneof(fc.constantFrom('glow', 'dcgan', 'lasso-dct', 'lasso-wvt', 'bm3d'), hostileString),
    model: fc.oneof(fc.constant('tiny-glow'), hostileString),
    operator: operatorArb,
    measurements: measurementsArb,
    groundTruth: imageArb,
    noise: fc.oneof(fc.record({ type: fc.constantFrom('none', 'gaussian', 'gaussian-norm'), sigma: hostileNumber, norm: hostileNumber, seed: hostileNumber }, { requiredKeys: ['type'] }), anyValue),
    options: fc.oneof(
      fc.record({ gamma: hostileNumber, penalty: hostileString, optimizer: fc.oneof(fc.constantFrom('lbfgs', 'adam', 'reference'), hostileString), maxEvaluations: hostileNumber, seed: hostileNumber, restarts: hostileNumber, lambda: anyValue, init: anyValue }, { requiredKeys: [] }),
      anyValue,
    ),
    idempotencyKey: hostileString,
  },
  { requiredKeys: [] },
);

/** Valid requests with one field replaced by a hostile value: these reach the model, operator and image checks. */
const nearValidArb = fc
  .tuple(
    fc.constantFrom(
      () => ({ operator: { type: 'gaussian', m: 100, seed: 1 }, measurements: Array.from({ length: 100 }, (_, i) => Math.sin(i)) }),
      () => ({ operator: { type: 'identity' }, groundTruth: png, noise: { type: 'gaussian', sigma: 0.1, seed: 1 } }),
      () => ({ method: 'lasso-dct', operator: { type: 'mask', box: [1, 1, 5, 5] }, groundTruth: png }),
      () => ({ operator: { type: 'downsample', factor: 4 }, measurements: new Array(48).fill(0.25) }),
    ),
    fc.constantFrom('method', 'model', 'operator', 'measurements', 'groundTruth', 'noise', 'options', 'idempotencyKey', 'operator.m', 'operator.seed', 'operator.box', 'operator.factor', 'options.gamma', 'options.maxEvaluations', 'options.init'),
    fc.oneof(anyValue, operatorArb, measurementsArb, imageArb),
  )
  .map(([make, path, value]) => {
    const body = make() as Record<string, Record<string, unknown> | unknown>;
    const [head, tail] = path.split('.');
    if (tail) body[head] = { ...((body[head] as object) ?? {}), [tail]: value };
    else body[head] = value;
    return body;
  });

test('structured hostile solve requests: no 5xx, every refusal a 4xx naming the problem', async () => {
  await fc.assert(
    fc.asyncProperty(requestArb, async (body) => {
      check(await post(body), `POST ${JSON.stringify(body).slice(0, 200)}`);
    }),
    { numRuns: 800, seed: 20260601 },
  );
  await fc.assert(
    fc.asyncProperty(nearValidArb, async (body) => {
      check(await post(body), `POST ${JSON.stringify(body).slice(0, 200)}`);
    }),
    { numRuns: 1200, seed: 424242 },
  );
});

test('raw bodies, arbitrary JSON, NaN/Infinity literals, huge arrays and wrong content types', async () => {
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.string({ maxLength: 200 }), fc.json({ maxDepth: 4 })), async (raw) => {
      check(await post(raw), `raw ${raw.slice(0, 100)}`);
    }),
    { numRuns: 600, seed: 7 },
  );
  for (const raw of ['{"operator":{"type":"identity"},"measurements":[NaN]}', '{"measurements":Infinity}', '{', '[]', 'null', '""', '{"a":'.repeat(5000)]) {
    check(await post(raw), raw.slice(0, 40));
  }
  const huge = { operator: { type: 'gaussian', m: 100, seed: 1 }, measurements: new Array(200_000).fill(0.5) };
  check(await post(huge), 'huge array');
  check(await post({ operator: { type: 'identity' }, measurements: new Array(N).fill(1e39) }), 'float32 overflow');
  check(await post({ operator: { type: 'identity' }, groundTruth: pngClaiming(100_000, 100_000) }), 'bomb header');
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml']) {
    check(await app.inject({ method: 'POST', url: '/v1/solve', headers: { ...auth(), 'content-type': type }, payload: 'a=1' }), type);
  }
});

test('hostile ids, paths, query strings and credentials', async () => {
  await fc.assert(
    fc.asyncProperty(fc.string({ unit: 'grapheme', maxLength: 60 }), fc.constantFrom('', '/result.png', '/panel.png', '/metrics.json'), fc.constantFrom('GET', 'DELETE'), async (id, suffix, method) => {
      const url = `/v1/jobs/${encodeURIComponent(id)}${suffix}`;
      check(await app.inject({ method, url, headers: auth() }), `${method} ${url}`);
    }),
    { numRuns: 400, seed: 11 },
  );
  await fc.assert(
    fc.asyncProperty(fc.string({ maxLength: 100 }), async (q) => {
      check(await app.inject({ method: 'GET', url: `/v1/operators?${encodeURIComponent(q)}=${encodeURIComponent(q)}`, headers: auth() }), `query ${q}`);
    }),
    { numRuns: 200, seed: 13 },
  );
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.string({ maxLength: 80 }), fc.string({ maxLength: 20 }).map((s) => `Bearer ${s}`), fc.constant(`Bearer ${KEY_A}x`), fc.constant(`bearer  ${KEY_A.slice(1)}`)), async (h) => {
      let res: LightMyRequestResponse;
      try {
        res = await app.inject({ method: 'GET', url: '/v1/models', headers: { authorization: h } });
      } catch {
        return; // a header value Node itself refuses to send (control characters) never reaches the server
      }
      check(res, `auth ${JSON.stringify(h)}`);
      assert.equal(res.statusCode, 401);
    }),
    { numRuns: 300, seed: 17 },
  );
  assert.ok(tally.requests >= 3000, `tried ${tally.requests}`);
});
