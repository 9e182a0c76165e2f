import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { BullJobQueue, CANCELLED_REASON, PermanentJobError, type JobData, type JobQueue, type JobResult, type ActiveJob } from '../../src/service/jobs/index.ts';
import { MemoryJobQueue } from '../../src/service/jobs/memory.ts';
import { CancelledError, QueueUnavailableError, StorageError } from '../../src/errors.ts';
import { waitFor } from './helpers/service.ts';

const REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `fp-test-${randomUUID().slice(0, 8)}`;
const queues: BullJobQueue[] = [];

function bull(name: string, extra: Partial<ConstructorParameters<typeof BullJobQueue>[0]> = {}): BullJobQueue {
  const q = new BullJobQueue({
    redisUrl: REDIS,
    queueName: name,
    prefix,
    attempts: 2,
    backoffMs: 100,
    keepSeconds: 600,
    lockMs: 5000,
    stalledIntervalMs: 5000,
    ...extra,
  });
  queues.push(q);
  return q;
}

function data(owner = 'owner-1', extra: Partial<JobData> = {}): JobData {
  const jobId = randomUUID();
  return { jobId, method: 'glow', model: 'm', batchKey: 'k', owner, inputKey: `jobs/${jobId}/input.json`, requestHash: 'h', createdAt: Date.now(), ...extra };
}

/** A result as the worker would return it, computed from the job (tests the queue, not the solver). */
function resultFor(job: ActiveJob): JobResult {
  return {
    keys: { result: `jobs/${job.id}/result.png`, panel: `jobs/${job.id}/panel.png`, metrics: `jobs/${job.id}/metrics.json` },
    metrics: {
      psnr: null, ssim: null, inputPsnr: null, loss: job.attempt, dataFit: 0, zNorm: 0, iterations: 1, evaluations: 1, wallMs: 0,
      backend: 'none', batchId: job.id, batchSize: 1, diverged: false, stopReason: 'converged', method: 'glow', model: 'm', attempt: job.attempt, note: null,
    },
  };
}

after(async () => {
  for (const q of queues) {
    await q.obliterate().catch(() => {});
    await q.close();
  }
});

/** The same scenario against both queue implementations. */
for (const kind of ['bullmq', 'memory'] as const) {
  const make = (name: string): JobQueue => (kind === 'bullmq' ? bull(name) : new MemoryJobQueue({ attempts: 2, backoffMs: 100, keepMs: 600_000 }));

  test(`${kind}: queued → running → completed, with progress; infrastructure errors retried, bad input not`, async () => {
    const api = make(`q1-${kind}`);
    const workerSide = kind === 'bullmq' ? bull(`q1-${kind}`) : api;
    const ok = data();
    const flaky = data();
    const bad = data();
    const doomed = data();
    for (const d of [ok, flaky, bad, doomed]) await api.add(d);
    assert.equal((await api.get(ok.jobId))?.state, 'queued');
    assert.equal(await api.pendingForOwner('owner-1'), 4);
    assert.equal(await api.pendingForOwner('owner-2'), 0);
    const c0 = await api.counts();
    assert.equal(c0.waiting + c0.prioritized, 4);

    let seenRunning = false;
    const handle = workerSide.process(
      async (job) => {
        if (job.id === ok.jobId) {
          job.reportProgress({ iteration: 3, evaluations: 4, loss: 0.5 });
          await new Promise((r) => setTimeout(r, 400));
          const s = await api.get(job.id);
          seenRunning = s?.state === 'running' && s.progress?.iteration === 3;
        }
        if (job.id === flaky.jobId && job.attempt === 1) throw new StorageError('bucket unreachable');
        if (job.id === bad.jobId) throw new PermanentJobError('operator.m: must be <= 768');
        if (job.id === doomed.jobId) throw new StorageError(`still unreachable (attempt ${job.attempt})`);
        return resultFor(job);
      },
      { concurrency: 2 },
    );
    await handle.ready();
    const final = await waitFor(
      () => Promise.all([ok, flaky, bad, doomed].map((d) => api.get(d.jobId))),
      (ss) => ss.every((s) => s && ['completed', 'failed', 'cancelled'].includes(s.state)),
      15_000,
    );
    const [sOk, sFlaky, sBad, sDoomed] = final;
    assert.ok(seenRunning, 'running state and progress are visible to the API while the job runs');
    assert.equal(sOk?.state, 'completed');
    assert.deepEqual(sOk?.result?.keys.result, `jobs/${ok.jobId}/result.png`);
    assert.equal(sFlaky?.state, 'completed');
    assert.equal(sFlaky?.attempts, 2);
    assert.equal(sFlaky?.result?.metrics.attempt, 2);
    assert.equal(sBad?.state, 'failed');
    assert.equal(sBad?.attempts, 1, 'bad input is not retried');
    assert.equal(sBad?.error, 'operator.m: must be <= 768');
    assert.equal(sDoomed?.state, 'failed');
    assert.equal(sDoomed?.attempts, 2);
    assert.equal(sDoomed?.error, 'still unreachable (attempt 2)', 'the last reason is kept');
    assert.equal(await api.pendingForOwner('owner-1'), 0);
    assert.ok((sOk?.finishedAt ?? 0) >= (sOk?.startedAt ?? Infinity));
    await handle.close();
  });

  test(`${kind}: a worker with one slot takes every queued job in turn (BATCH_MAX = 1)`, async () => {
    const api = make(`q0-${kind}`);
    const workerSide = kind === 'bullmq' ? bull(`q0-${kind}`) : api;
    const jobs = [data(), data(), data(), data()];
    for (const d of jobs) await api.add(d);
    let running = 0;
    let maxRunning = 0;
    const handle = workerSide.process(
      async (job) => {
        maxRunning = Math.max(maxRunning, ++running);
        await new Promise((r) => setTimeout(r, 20));
        running--;
        return resultFor(job);
      },
      { concurrency: 1 },
    );
    await handle.ready();
    const final = await waitFor(
      () => Promise.all(jobs.map((d) => api.get(d.jobId))),
      (ss) => ss.every((s) => s?.state === 'completed'),
      15_000,
    );
    assert.equal(final.length, 4);
    assert.equal(maxRunning, 1, 'never more than the one slot');
    await handle.close();
  });

  test(`${kind}: cancel a queued job (never runs) and a running one (stops at the next check)`, async () => {
    const api = make(`q2-${kind}`);
    const workerSide = kind === 'bullmq' ? bull(`q2-${kind}`) : api;
    const queued = data('owner-3');
    await api.add(queued);
    assert.equal(await api.cancel(queued.jobId), 'cancelled');
    const s = await api.get(queued.jobId);
    assert.equal(s?.state, 'cancelled');
    assert.equal(s?.error, CANCELLED_REASON);
    assert.equal(s?.owner, 'owner-3');
    assert.equal(await api.cancel(queued.jobId), 'finished');
    assert.equal(await api.cancel(randomUUID()), null);
    assert.equal(await api.pendingForOwner('owner-3'), 0);

    const long = data('owner-3');
    await api.add(long);
    let checks = 0;
    let ran = 0;
    const handle = workerSide.process(
      async (job) => {
        ran++;
        while (!job.isCancelled()) {
          checks++;
          await new Promise((r) => setTimeout(r, 20));
        }
        throw new CancelledError();
      },
      { concurrency: 1 },
    );
    await handle.ready();
    await waitFor(() => api.get(long.jobId), (j) => j?.state === 'running', 10_000);
    assert.equal(await api.cancel(long.jobId), 'cancelling');
    const done = await waitFor(() => api.get(long.jobId), (j) => j?.state !== 'running', 10_000);
    assert.equal(done?.state, 'cancelled');
    assert.equal(done?.attempts, 1, 'a cancelled job is not retried');
    assert.ok(checks > 0);
    assert.equal(ran, 1, 'the job cancelled while queued never ran');
    await handle.close();
  });

  test(`${kind}: idempotency reservations`, async () => {
    const q = make(`q3-${kind}`);
    const id = randomUUID();
    assert.equal(await q.reserve(id, 'hash-1'), null);
    assert.equal(await q.reserve(id, 'hash-1'), 'hash-1');
    assert.equal(await q.reserve(id, 'hash-2'), 'hash-1');
    await q.release(id);
    assert.equal(await q.reserve(id, 'hash-2'), null);
  });
}

test('bullmq: a Redis that cannot be reached answers QueueUnavailableError quickly, never hangs', async () => {
  const q = new BullJobQueue({ redisUrl: 'redis://127.0.0.1:1', queueName: 'down', prefix, attempts: 1, backoffMs: 10, keepSeconds: 10, lockMs: 5000, stalledIntervalMs: 5000, commandTimeoutMs: 1000 });
  const t0 = Date.now();
  await assert.rejects(q.ping(), QueueUnavailableError);
  await assert.rejects(q.add(data()), QueueUnavailableError);
  await assert.rejects(q.get(randomUUID()), QueueUnavailableError);
  assert.ok(Date.now() - t0 < 10_000);
  await q.close();
});
