import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { LocalResultStore, S3ResultStore, jobKeys, type ResultStore } from '../../src/service/storage/index.ts';
import { NotFoundError, StorageError } from '../../src/errors.ts';
import { ensureS3, type S3Server } from './helpers/s3.ts';

async function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

/** The same contract, run against every store. */
function contract(name: string, make: () => ResultStore) {
  describe(`${name} store`, () => {
    test('put, get, stream, exists, delete round-trip bytes exactly', async () => {
      const store = make();
      const keys = jobKeys(randomUUID());
      const png = randomBytes(70_000);
      await store.put(keys.result, png, 'image/png');
      await store.put(keys.metrics, JSON.stringify({ psnr: 31.5 }), 'application/json');
      assert.equal(await store.exists(keys.result), true);
      assert.equal(await store.exists(keys.panel), false);
      assert.deepEqual(await store.get(keys.result), png);
      assert.deepEqual(JSON.parse((await store.get(keys.metrics)).toString()), { psnr: 31.5 });
      const s = await store.stream(keys.result);
      assert.equal(s.contentType, 'image/png');
      assert.equal(s.length, png.length);
      assert.deepEqual(await readAll(s.stream), png);
      await store.put(keys.result, Buffer.from('second'), 'image/png');
      assert.equal((await store.get(keys.result)).toString(), 'second', 'put overwrites');
      await store.delete(keys.result);
      assert.equal(await store.exists(keys.result), false);
      await store.delete(keys.result); // deleting a missing key is not an error
      await assert.rejects(store.get(keys.result), NotFoundError);
      await assert.rejects(store.stream(keys.panel), NotFoundError);
      await store.ping();
    });
  });
}

let dir = '';
let s3: S3Server;
const bucket = `fp-test-${randomUUID().slice(0, 8)}`;
const stores: ResultStore[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fp-store-'));
  s3 = await ensureS3();
  await s3Store().init();
});
after(async () => {
  for (const s of stores) await s.close();
  await rm(dir, { recursive: true, force: true });
  await s3?.stop();
});

function s3Store(extra: Partial<ConstructorParameters<typeof S3ResultStore>[0]> = {}): S3ResultStore {
  const st = new S3ResultStore({
    endpoint: s3.endpoint,
    publicEndpoint: null,
    region: 'us-east-1',
    bucket,
    accessKey: s3.accessKey,
    secretKey: s3.secretKey,
    presignSeconds: 60,
    ...extra,
  });
  stores.push(st);
  return st;
}

contract('local', () => new LocalResultStore(dir));
contract('S3 (Ceph RGW)', () => s3Store());

test('S3: init creates the bucket once and is idempotent', async () => {
  const fresh = s3Store({ bucket: `fp-init-${randomUUID().slice(0, 8)}` });
  await assert.rejects(fresh.ping(), StorageError, 'a missing bucket is not reachable');
  await fresh.init();
  await fresh.init();
  await fresh.ping();
});

test('S3: presigned URLs are signed for the public endpoint and fetch the object', async () => {
  const internal = s3Store();
  const key = jobKeys(randomUUID()).panel;
  const body = randomBytes(1234);
  await internal.put(key, body, 'image/png');
  const direct = await internal.presign(key);
  const res = await fetch(direct);
  assert.equal(res.status, 200);
  assert.deepEqual(Buffer.from(await res.arrayBuffer()), body);
  assert.equal(res.headers.get('content-type'), 'image/png');

  const publicHost = s3.endpoint.replace('127.0.0.1', 'localhost');
  const pub = s3Store({ publicEndpoint: publicHost });
  const url = new URL(await pub.presign(key));
  assert.equal(url.origin, new URL(publicHost).origin);
  assert.ok(url.searchParams.get('X-Amz-Signature'));
  assert.equal(url.searchParams.get('X-Amz-Expires'), '60');
  const res2 = await fetch(url);
  assert.equal(res2.status, 200, 'the signature is valid for the public host');
  assert.deepEqual(Buffer.from(await res2.arrayBuffer()), body);
  const tampered = new URL(url);
  tampered.pathname = tampered.pathname.replace('panel.png', 'result.png');
  assert.equal((await fetch(tampered)).status, 403, 'a URL for another key is refused');
});

test('S3: wrong credentials and an unreachable endpoint are StorageErrors', async () => {
  const bad = s3Store({ secretKey: 'wrong-secret-key-000' });
  await assert.rejects(bad.put('jobs/x/result.png', 'x', 'image/png'), StorageError);
  const down = s3Store({ endpoint: 'http://127.0.0.1:9' });
  await assert.rejects(down.ping(), StorageError);
  await assert.rejects(down.get('jobs/x/result.png'), StorageError);
});

test('local: keys cannot escape the results folder; writes are atomic renames', async () => {
  const store = new LocalResultStore(dir);
  for (const key of ['../evil', 'jobs/../../x', '/abs', 'jobs//x', 'jobs/a b']) {
    await assert.rejects(store.put(key, 'x', 'text/plain'), StorageError, key);
  }
  const k = jobKeys(randomUUID()).input;
  await store.put(k, '{"a":1}', 'application/json');
  assert.equal((await store.get(k)).toString(), '{"a":1}');
  const missing = new LocalResultStore(join(dir, 'nope'));
  await assert.rejects(missing.ping(), StorageError);
  await missing.init();
  await missing.ping();
});
