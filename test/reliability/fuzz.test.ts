// Hostile input against the standalone app (in-process queue, local store, no worker: nothing is solved), through
// app.inject so no socket is involved. The invariant for every request: no 5xx, every refusal a 4xx whose JSON body
// names the problem, no stack trace, and the process keeps answering.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32, deflateSync } from 'node:zlib';
import fc from 'fast-check';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { loadConfig } from '../../src/service/config.ts';
import { MemoryJobQueue } from '../../src/service/jobs/index.ts';
import { LocalResultStore } from '../../src/service/storage/index.ts';
import { tinyModelsDir, TINY_GLOW, TINY_SIZE } from '../service/helpers/models.ts';
import { appFor, tempDir, testPng } from '../service/helpers/service.ts';

const KEY = 'reliability-key-0123456789';
const N = TINY_SIZE * TINY_SIZE * 3;
const MAX_IMAGE_PIXELS = 64 * 64;

let models: { dir: string; cleanup(): Promise<void> };
let results: { dir: string; cleanup(): Promise<void> };
let queue: MemoryJobQueue;
let app: FastifyInstance;
let png = '';
const tally = { requests: 0, accepted: 0, byStatus: new Map<number, number>() };


before(async () => {
  models = await tinyModelsDir();
  results = await tempDir('fp-rel-fuzz-');
  const config = loadConfig(
    {
      API_KEYS: KEY,
      GLOW_MODEL: TINY_GLOW,
      MODELS_DIR: models.dir,
      RESULTS_DIR: results.dir,
      LOG_LEVEL: 'silent',
      RATE_LIMIT_PER_MIN: '1000000',
      MAX_QUEUED_PER_KEY: '1000000',
      BODY_LIMIT_BYTES: '200000',
      MAX_IMAGE_BYTES: '100000',
      MAX_IMAGE_PIXELS: String(MAX_IMAGE_PIXELS),
    },
    { mode: 'standalone' },
  );
  queue = new MemoryJobQueue({ attempts: 1, backoffMs: 0, keepMs: 60_000 });
  app = await appFor(config, queue, new LocalResultStore(results.dir));
  png = await testPng(TINY_SIZE, TINY_SIZE);
});

after(async () => {
  await app?.close();
  await queue?.close();
  await models?.cleanup();
  await results?.cleanup();
  const statuses = [...tally.byStatus.entries()].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}:${n}`).join(' ');
  console.log(`reliability fuzz: ${tally.requests} requests, ${tally.accepted} accepted, statuses ${statuses}`);
});

function check(res: LightMyRequestResponse, what: string): void {
  tally.requests++;
  tally.byStatus.set(res.statusCode, (tally.byStatus.get(res.statusCode) ?? 0) + 1);
  assert.ok(res.statusCode < 500, `${what} → ${res.statusCode} ${res.body.slice(0, 300)}`);
  assert.doesNotMatch(res.body, /\.ts:\d+|\n\s+at |node_modules/, `${what}: no stack trace or source path`);
  if (res.statusCode < 300) {
    tally.accepted++;
    return;
  }
  assert.ok(res.statusCode >= 400, `${what} → ${res.statusCode}`);
  assert.match(String(res.headers['content-type']), /application\/json/, what);
  const body = res.json();
  assert.equal(typeof body.error?.code, 'string', `${what}: ${res.body}`);
  assert.ok(typeof body.error.message === 'string' && body.error.message.length > 0, what);
  assert.equal(typeof body.requestId, 'string', what);
  assert.equal(res.headers['x-request-id'], body.requestId, `${what}: the request id is in the header too`);
  if (res.statusCode === 400 && body.error.code === 'VALIDATION') assert.ok(body.error.field, `${what}: names the field: ${res.body}`);
}

async function send(opts: InjectOptions, what: string): Promise<LightMyRequestResponse | null> {
  let res: LightMyRequestResponse;
  try {
    res = await app.inject(opts);
  } catch (e) {
    // Node refuses to build some header values (control characters); such a request never reaches a server.
    if ((e as NodeJS.ErrnoException).code === 'ERR_INVALID_CHAR') return null;
    throw e;
  }
  check(res, what);
  return res;
}

const auth = { authorization: `Bearer ${KEY}` };
const postRaw = (payload: string, headers: Record<string, string> = {}) =>
  send({ method: 'POST', url: '/v1/solve', headers: { ...auth, 'content-type': 'application/json', ...headers }, payload }, `raw ${payload.slice(0, 120)}`);
const post = (body: unknown) => postRaw(JSON.stringify(body));

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td) >>> 0);
  return Buffer.concat([len, td, crc]);
}

/** A well-formed PNG whose IHDR claims width × height, with a zlib stream of `rawBytes` zeros: a decompression bomb. */
function bombPng(width: number, height: number, rawBytes: number): string {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([sig, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(rawBytes))), chunk('IEND', Buffer.alloc(0))]).toString('base64');
}

/** Valid requests, one per operator family: the fuzzers below break them one piece at a time. */
const validBodies = (): Record<string, unknown>[] => [
  { operator: { type: 'gaussian', m: 100, seed: 1 }, measurements: Array.from({ length: 100 }, (_, i) => Math.cos(i)) },
  { operator: { type: 'identity' }, groundTruth: png, noise: { type: 'gaussian', sigma: 0.05, seed: 3 }, options: { gamma: 0.1, maxEvaluations: 5 } },
  { method: 'lasso-dct', operator: { type: 'mask', box: [2, 2, 6, 6] }, groundTruth: png },
  { operator: { type: 'downsample', factor: 4 }, measurements: new Array(48).fill(0.5) },
];

test('the valid requests the fuzzers start from are accepted', async () => {
  for (const body of validBodies()) {
    const res = await post(body);
    assert.equal(res?.statusCode, 202, res?.body);
  }
});

// Number tokens JSON.stringify never writes, spliced into the raw text of valid bodies.
const badToken = fc.constantFrom('NaN', 'Infinity', '-Infinity', '-0', '-0.0', '1e999', '-1e999', '0x10', '.5', '+1', '01', '1.', '5e-400', 'undefined', 'null', 'true', '"1"', '[]', '{}');

test('raw JSON: NaN/Infinity/-0 tokens, truncation, stray bytes and duplicate keys in valid bodies', async () => {
  await fc.assert(
    fc.asyncProperty(fc.nat(3), badToken, fc.nat(), async (which, token, pick) => {
      const text = JSON.stringify(validBodies()[which]);
      const numbers = [...text.matchAll(/-?\d+(\.\d+)?(e[-+]?\d+)?/gi)];
      const m = numbers[pick % numbers.length];
      await postRaw(text.slice(0, m.index) + token + text.slice((m.index ?? 0) + m[0].length));
    }),
    { numRuns: 700, seed: 601 },
  );
  await fc.assert(
    fc.asyncProperty(fc.nat(3), fc.nat(), fc.oneof(fc.constant(''), fc.string({ maxLength: 3 }), fc.constantFrom('\u0000', '\uFFFF', '\uD800', '}', ']', ',', ':')), async (which, cut, insert) => {
      const text = JSON.stringify(validBodies()[which]);
      const at = cut % text.length;
      await postRaw(text.slice(0, at) + insert + (insert === '' ? '' : text.slice(at)));
    }),
    { numRuns: 500, seed: 602 },
  );
  for (const raw of [
    '{"operator":{"type":"identity"},"operator":{"type":"gaussian","m":-0,"seed":1},"measurements":[]}',
    '{"__proto__":{"polluted":true},"operator":{"type":"identity"},"groundTruth":"x"}',
    '{"constructor":{"prototype":{"polluted":true}},"operator":{"type":"identity"}}',
    `{"operator":${'['.repeat(2000)}${']'.repeat(2000)}}`,
    `{"operator":{"type":"gaussian","m":100,"seed":1},"measurements":[${'1e308,'.repeat(99)}1e308]}`,
    `{"operator":{"type":"gaussian","m":100,"seed":1},"measurements":[${'-0,'.repeat(99)}-0]}`,
  ]) {
    await postRaw(raw);
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution');
});

test('wrong operator shapes and measurement lengths', async () => {
  const sizes = fc.oneof(fc.integer({ min: -5, max: N + 5 }), fc.constantFrom(0, N, N + 1, 2 * N, 2 ** 31, 1e9));
  await fc.assert(
    fc.asyncProperty(sizes, fc.integer({ min: 0, max: 2 * N + 2 }), fc.boolean(), async (m, len, asBase64) => {
      const y = new Float32Array(Math.min(len, 2 * N + 2)).fill(0.25);
      const measurements = asBase64 ? Buffer.from(y.buffer).toString('base64') : Array.from(y);
      const res = await post({ operator: { type: 'gaussian', m, seed: 1 }, measurements });
      if (res && res.statusCode === 202) assert.ok(Number.isInteger(m) && m >= 1 && m <= N && y.length === m, `accepted m=${m} with ${y.length} values`);
    }),
    { numRuns: 400, seed: 603 },
  );
  // Base64 whose byte count is not a whole number of float32s, or that is not base64 at all.
  for (const measurements of ['AAAA', 'AAA=', '====', 'QUJD\nREVG', '!!!!', 'A'.repeat(401), Buffer.alloc(400, 0xff).toString('base64')]) {
    await post({ operator: { type: 'gaussian', m: 100, seed: 1 }, measurements });
  }
  await fc.assert(
    fc.asyncProperty(fc.array(fc.integer({ min: -40, max: 40 }), { minLength: 0, maxLength: 6 }), fc.integer({ min: -3, max: 40 }), async (box, factor) => {
      await post({ operator: { type: 'mask', box }, groundTruth: png });
      await post({ operator: { type: 'downsample', factor }, measurements: new Array(48).fill(0.5) });
    }),
    { numRuns: 200, seed: 604 },
  );
});

test('images: broken base64, truncated and garbage PNGs, decompression bombs in every image field', async () => {
  const bytes = Buffer.from(png, 'base64');
  const images = fc.oneof(
    fc.integer({ min: 0, max: bytes.length - 1 }).map((k) => bytes.subarray(0, k).toString('base64')),
    fc.tuple(fc.integer({ min: 8, max: bytes.length - 1 }), fc.integer({ min: 0, max: 255 })).map(([at, v]) => {
      const b = Buffer.from(bytes);
      b[at] = v;
      return b.toString('base64');
    }),
    fc.uint8Array({ maxLength: 500 }).map((b) => Buffer.from(b).toString('base64')),
    fc.string({ maxLength: 60 }),
    fc.constantFrom('data:image/png;base64,', `${png}!!`, png.slice(1), `${png}=`, ' '.repeat(10)),
  );
  await fc.assert(
    fc.asyncProperty(images, fc.boolean(), async (image, asMask) => {
      await post(asMask ? { method: 'lasso-dct', operator: { type: 'mask', mask: image }, groundTruth: png } : { operator: { type: 'identity' }, groundTruth: image });
    }),
    { numRuns: 500, seed: 605 },
  );
  // Headers claiming huge images, with real compressed pixel data behind them (4 MB of zeros deflate to ~4 KB).
  for (const [w, h] of [
    [100_000, 100_000],
    [65_535, 65_535],
    [2 ** 31 - 1, 1],
    [1, 2 ** 31 - 1],
    [4096, 4096],
    [0, 16],
  ]) {
    const bomb = bombPng(w, h, 4 * 1024 * 1024);
    for (const body of [
      { operator: { type: 'identity' }, groundTruth: bomb },
      { method: 'lasso-dct', operator: { type: 'mask', mask: bomb }, groundTruth: png },
    ]) {
      const res = await post(body);
      assert.ok(res && res.statusCode >= 400 && res.statusCode < 500, `bomb ${w}×${h} refused: ${res?.statusCode}`);
    }
  }
});

test("the router's own refusals (bad URL encoding, over-long path parameter) get the app's error body", async () => {
  const bad = await send({ method: 'GET', url: '/v1/jobs/%E0%A4%A', headers: auth }, 'bad percent-encoding');
  assert.equal(bad?.statusCode, 400);
  assert.equal(bad?.json().error.code, 'BAD_URL');
  assert.equal(bad?.json().error.field, 'url');
  const long = await send({ method: 'GET', url: `/v1/jobs/${'a'.repeat(5000)}`, headers: auth }, 'over-long id');
  assert.equal(long?.statusCode, 414);
  assert.equal(long?.json().error.code, 'URI_TOO_LONG');
  assert.ok(long!.body.length < 500, 'the path is not echoed back');
});

test('job ids: unicode, path traversal, huge and encoded ids on every job route', async () => {
  const ids = fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 20 }),
    fc.constantFrom('..', '../..', '../../etc/passwd', '..%2F..%2Fetc%2Fpasswd', '%2e%2e%2f', '....//', 'jobs/../../x', '\u0000', '%00', 'con', 'a'.repeat(5000), '😀', 'ﬁ', '\u202e', '00000000-0000-4000-8000-000000000000'),
  );
  const suffixes = ['', '/result.png', '/panel.png', '/metrics.json', '/input.json', '/../../../etc/passwd'];
  await fc.assert(
    fc.asyncProperty(ids, fc.constantFrom(...suffixes), fc.constantFrom('GET', 'DELETE'), fc.boolean(), async (id, suffix, method, encode) => {
      const url = `/v1/jobs/${encode ? encodeURIComponent(id) : id.replace(/[\s?#]/g, '')}${suffix}`;
      try {
        await send({ method, url, headers: auth }, `${method} ${url.slice(0, 120)}`);
      } catch (e) {
        if (!/Invalid URL|URI malformed/i.test((e as Error).message)) throw e; // a URL the client cannot form
      }
    }),
    { numRuns: 600, seed: 606 },
  );
});

test('credentials: missing, malformed, near-miss and oversized keys are all 401 without a stack', async () => {
  const headers = fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.string({ maxLength: 30 }).map((s) => `Bearer ${s}`),
    fc.nat(KEY.length - 1).map((i) => `Bearer ${KEY.slice(0, i)}${KEY[i] === 'x' ? 'y' : 'x'}${KEY.slice(i + 1)}`),
    fc.constantFrom(`Basic ${Buffer.from(`${KEY}:`).toString('base64')}`, `Bearer  ${KEY}x`, `Bearer ${KEY.slice(0, -1)}`, `Bearer ${KEY}${KEY}`, 'Bearer', 'Bearer ', `Token ${KEY}`, `Bearer ${'k'.repeat(8000)}`),
  );
  await fc.assert(
    fc.asyncProperty(headers, fc.constantFrom('/v1/models', '/v1/operators', '/v1/solve', '/v1/jobs/00000000-0000-4000-8000-000000000000'), async (h, url) => {
      const method = url === '/v1/solve' ? 'POST' : 'GET';
      const res = await send({ method, url, headers: { authorization: h, 'content-type': 'application/json' }, payload: method === 'POST' ? JSON.stringify(validBodies()[0]) : undefined }, `auth ${JSON.stringify(h).slice(0, 60)}`);
      if (res) assert.equal(res.statusCode, 401, `${JSON.stringify(h).slice(0, 60)} → ${res.statusCode}`);
    }),
    { numRuns: 400, seed: 607 },
  );
  const none = await send({ method: 'POST', url: '/v1/solve', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(validBodies()[0]) }, 'no auth');
  assert.equal(none?.statusCode, 401);
});

test('wrong methods, content types, encodings and oversized bodies', async () => {
  const body = JSON.stringify(validBodies()[0]);
  for (const method of ['PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const) await send({ method, url: '/v1/solve', headers: auth, payload: body }, `${method} /v1/solve`);
  for (const type of ['text/plain', 'application/json; charset=utf-16', 'application/octet-stream', 'image/png', 'multipart/form-data; boundary=x', '']) {
    await postRaw(body, { 'content-type': type });
  }
  await postRaw(body, { 'content-encoding': 'gzip' });
  await postRaw('{"operator":{"type":"gaussian","m":100,"seed":1},"measurements":[' + '0.123456789,'.repeat(40_000) + '0]}');
  await post({ ...validBodies()[1], extra: 'x'.repeat(150_000) });
  await post({ ...validBodies()[0], unknownField: 1, options: { gamma: 0.1, surprise: true } });
  const health = await app.inject({ method: 'GET', url: '/healthz' });
  assert.equal(health.statusCode, 200, 'the process still answers');
  assert.ok(tally.requests >= 3000, `tried ${tally.requests}`);
});
