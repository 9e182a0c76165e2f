import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, CONFIG_VARIABLES } from '../../src/service/config.ts';
import { SHIPPED_MODELS_DIR } from '../../src/paths.ts';
import { ConfigError } from '../../src/errors.ts';
import { readFileSync } from 'node:fs';
import { REPO_ROOT } from './helpers/s3.ts';
import { join } from 'node:path';

const KEY = 'abcdefghijklmnop-key-1';

test('defaults give the documented values', () => {
  const c = loadConfig({ API_KEYS: KEY });
  assert.equal(c.port, 8080);
  assert.equal(c.redisUrl, 'redis://127.0.0.1:6379');
  assert.equal(c.queueName, 'flowprior');
  assert.equal(c.storage, 'local');
  assert.equal(c.resultsDir, './.flowprior/results');
  assert.equal(c.s3.region, 'us-east-1');
  assert.equal(c.s3.bucket, 'flowprior');
  assert.equal(c.s3.presignSeconds, 900);
  assert.equal(c.batchMax, 6);
  assert.equal(c.batchWaitMs, 250);
  assert.equal(c.modelsDir, SHIPPED_MODELS_DIR);
  assert.equal(c.glowModel, 'glow-celeba64');
  assert.equal(c.dcganModel, 'dcgan-celeba64');
  assert.deepEqual(c.workerMethods, ['glow', 'dcgan', 'lasso-dct', 'lasso-wvt', 'bm3d']);
  assert.deepEqual(c.apiKeys, [KEY]);
  assert.equal(c.backend, null);
});

test('parses every variable', () => {
  const c = loadConfig({
    PORT: '9000', HOST: '127.0.0.1', REDIS_URL: 'redis://redis:6380/2', QUEUE_NAME: 'q1', STORAGE: 's3',
    S3_ENDPOINT: 'http://minio:9000', S3_PUBLIC_ENDPOINT: 'https://s3.example.org', S3_REGION: 'eu-west-1',
    S3_BUCKET: 'results', S3_ACCESS_KEY: 'a', S3_SECRET_KEY: 'b', S3_PRESIGN_SECONDS: '60', API_KEYS: `${KEY}, other-key-0123456789 `,
    RATE_LIMIT_PER_MIN: '10', MAX_QUEUED_PER_KEY: '3', BODY_LIMIT_BYTES: '2048', BATCH_MAX: '4', BATCH_WAIT_MS: '0',
    WORKER_METHODS: 'glow,lasso-dct', JOB_ATTEMPTS: '5', LOG_LEVEL: 'warn', FLOWPRIOR_BACKEND: 'cpu',
  });
  assert.equal(c.port, 9000);
  assert.equal(c.storage, 's3');
  assert.deepEqual(c.apiKeys, [KEY, 'other-key-0123456789']);
  assert.equal(c.s3.publicEndpoint, 'https://s3.example.org');
  assert.equal(c.s3.presignSeconds, 60);
  assert.deepEqual(c.workerMethods, ['glow', 'lasso-dct']);
  assert.equal(c.batchWaitMs, 0);
  assert.equal(c.jobAttempts, 5);
  assert.equal(c.logLevel, 'warn');
  assert.equal(c.backend, 'cpu');
});

test('every problem is reported at once, naming the variable', () => {
  assert.throws(
    () =>
      loadConfig({
        PORT: '80a', BATCH_MAX: '0', REDIS_URL: 'http://x', STORAGE: 'ftp', WORKER_METHODS: 'glow,magic',
        LOG_LEVEL: 'loud', API_KEYS: 'short', S3_BUCKET: 'A', FLOWPRIOR_BACKEND: 'tpu',
      }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      const text = e.problems.join('\n');
      for (const name of ['PORT', 'BATCH_MAX', 'REDIS_URL', 'STORAGE', 'WORKER_METHODS', 'LOG_LEVEL', 'API_KEYS', 'S3_BUCKET', 'FLOWPRIOR_BACKEND']) {
        assert.match(text, new RegExp(name), `mentions ${name}`);
      }
      assert.equal(e.problems.length, 9);
      return true;
    },
  );
});

test('API keys: required for the API, optional for workers and standalone', () => {
  assert.throws(() => loadConfig({}), /API_KEYS is required/);
  assert.equal(loadConfig({}, { mode: 'worker' }).apiKeys.length, 0);
  const s = loadConfig({ STORAGE: 's3' }, { mode: 'standalone' });
  assert.equal(s.storage, 'local', 'standalone always uses the local folder');
  assert.equal(s.host, '127.0.0.1', 'standalone listens on loopback by default');
  assert.throws(() => loadConfig({ STORAGE: 's3', S3_ACCESS_KEY: 'x' }, { mode: 'worker' }), /set together/);
});

test('docs/configuration.md documents every variable', () => {
  const doc = readFileSync(join(REPO_ROOT, 'docs/configuration.md'), 'utf8');
  for (const v of CONFIG_VARIABLES) assert.match(doc, new RegExp(`\\b${v}\\b`), v);
});
