// A real wasm out-of-memory: the worker holds most of the 4 GiB wasm heap (WASM_BALLAST_MB), so a batch of four
// shipped-Glow solves runs out of memory while a batch of two fits. The first worker must end (a trap on the
// single-threaded build; a hang ended by the watchdog on the multi-threaded one), and a fresh worker must finish
// every job in smaller batches. The ballast was calibrated so that batch 4 fails and batch 2 fits on either build.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { isFatalEngineError } from '../../src/service/jobs/fatal.ts';
import { auth, testPng, waitFor } from '../service/helpers/service.ts';
import { faultHarness } from './harness.ts';
import { exited, REPO_ROOT, startWorkerProcess } from './helpers.ts';

const BALLAST_MIB = '3850';
const harness = faultHarness('fp-rel-oom-');

test('wasm traps and aborts count as fatal engine errors; ordinary errors do not', () => {
  assert.ok(isFatalEngineError(new WebAssembly.RuntimeError('memory access out of bounds')));
  assert.ok(isFatalEngineError(new WebAssembly.RuntimeError('Aborted(). Build with -sASSERTIONS for more info.')));
  assert.ok(isFatalEngineError(new Error('Aborted(Cannot enlarge memory arrays)')));
  assert.ok(!isFatalEngineError(new Error('ECONNREFUSED 127.0.0.1:6379')));
  assert.ok(!isFatalEngineError(new RangeError('Invalid typed array length: 4400000000')));
  assert.ok(!isFatalEngineError('Aborted()'));
});

function oomEnv(queueName: string, threads: string): Record<string, string> {
  return {
    MODELS_DIR: join(REPO_ROOT, 'models'),
    RESULTS_DIR: harness.resultsDir,
    REDIS_URL: harness.redis.url,
    QUEUE_NAME: queueName,
    GLOW_MODEL: 'glow-celeba64',
    WORKER_METHODS: 'glow',
    WORKER_METRICS_PORT: '0',
    BATCH_MAX: '4',
    BATCH_WAIT_MS: '1500',
    JOB_LOCK_MS: '3000',
    STALLED_INTERVAL_MS: '1000',
    JOB_ATTEMPTS: '3',
    JOB_BACKOFF_MS: '200',
    WASM_BALLAST_MB: BALLAST_MIB,
    WATCHDOG_SECONDS: '30',
    FLOWPRIOR_THREADS: threads,
    LOG_LEVEL: 'warn',
  };
}

for (const { threads, how } of [
  { threads: '1', how: 'single-threaded wasm: the failed allocation traps and the worker exits with code 70' },
  { threads: '2', how: 'multi-threaded wasm: the failed allocation hangs the engine and the watchdog kills the worker' },
]) {
  test(`out of memory in a batch of 4, ${how}; a fresh worker completes every job in batches of at most 2`, { timeout: 240_000 }, async () => {
    const prefix = `fp-oom-${randomUUID().slice(0, 8)}`;
    const env = { ...oomEnv(`oom${threads}`, threads), FP_QUEUE_PREFIX: prefix };
    const { app } = await harness.apiOnPrivateRedis(env, prefix);
    const status = async (id: string) => (await app.inject({ method: 'GET', url: `/v1/jobs/${id}`, headers: auth() })).json();
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/solve',
        headers: auth(),
        payload: { operator: { type: 'identity' }, groundTruth: await testPng(64, 64, i), options: { gamma: 0.1, maxEvaluations: 3, optimizer: 'lbfgs' } },
      });
      assert.equal(res.statusCode, 202, res.body);
      ids.push(res.json().jobId);
    }

    const first = await startWorkerProcess(env, 120_000);
    harness.children.add(first);
    const code = await exited(first);
    harness.children.delete(first);
    if (threads === '1') assert.equal(code, 70, 'the trap is a fatal engine error: exit 70');
    else assert.equal(first.signalCode, 'SIGKILL', 'the watchdog ended the hung worker');
    const mid = await Promise.all(ids.map(status));
    assert.ok(mid.every((s) => s.status !== 'completed' && s.status !== 'failed'), `nothing finished or failed yet: ${JSON.stringify(mid.map((s) => s.status))}`);

    const second = await startWorkerProcess(env, 120_000);
    harness.children.add(second);
    const done = await Promise.all(ids.map((id) => waitFor(() => status(id), (s) => ['completed', 'failed', 'cancelled'].includes(s.status), 150_000, 200)));
    for (const s of done) {
      assert.equal(s.status, 'completed', JSON.stringify(s).slice(0, 400));
      assert.ok(s.attempts >= 2, `retried (attempts ${s.attempts})`);
      assert.ok(s.metrics.batchSize <= 2, `retried in a smaller batch (batchSize ${s.metrics.batchSize})`);
      assert.ok(Number.isFinite(s.metrics.psnr), 'a real reconstruction');
    }
    second.kill('SIGTERM');
    assert.equal(await exited(second), 0);
    harness.children.delete(second);
  });
}
