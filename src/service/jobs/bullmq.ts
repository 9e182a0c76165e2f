import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { CancelledError, QueueUnavailableError } from '../../errors.ts';
import { CANCELLED_REASON, isCancelledReason } from './cancel_marker.ts';
import { isFatalEngineError } from './fatal.ts';
import type { JobData, JobProgress, JobResult, JobStatus } from './model.ts';
import {
  PermanentJobError,
  type ActiveJob,
  type CancelOutcome,
  type JobProcessor,
  type JobQueue,
  type QueueCounts,
  type WorkerHandle,
  type WorkerOptions,
} from './queue.ts';

export interface BullQueueOptions {
  redisUrl: string;
  queueName: string;
  /** Redis key prefix (BullMQ's "prefix"); tests use a unique one. */
  prefix?: string;
  attempts: number;
  backoffMs: number;
  keepSeconds: number;
  lockMs: number;
  stalledIntervalMs: number;
  /** Times a job may be found stalled (its worker died) and put back before it fails. */
  maxStalledCount?: number;
  /** Redis calls from the API give up after this long, so a Redis outage answers 503 instead of hanging. */
  commandTimeoutMs?: number;
  logger?: Logger;
}

const QUEUED = new Set(['waiting', 'prioritized', 'delayed', 'waiting-children']);
const PROGRESS_INTERVAL_MS = 250;
const CANCEL_POLL_MS = 300;

/** Jobs in Redis through BullMQ: retries with exponential backoff, stalled-job recovery, removal after keepSeconds. */
export class BullJobQueue implements JobQueue {
  readonly kind = 'bullmq' as const;
  readonly prefix: string;
  private readonly redis: Redis;
  private readonly queue: Queue<JobData, JobResult>;
  private readonly timeoutMs: number;
  private readonly workers = new Set<WorkerHandle>();

  constructor(private readonly opts: BullQueueOptions) {
    this.prefix = opts.prefix ?? 'bull';
    this.timeoutMs = opts.commandTimeoutMs ?? 5000;
    // Fail fast while Redis is down instead of buffering commands: the API answers 503 and /readyz says why.
    this.redis = new Redis(opts.redisUrl, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 5000,
      retryStrategy: (times) => Math.min(200 * times, 2000),
    });
    this.redis.on('error', (e) => opts.logger?.warn({ err: e.message }, 'redis connection error'));
    this.queue = new Queue<JobData, JobResult>(opts.queueName, { connection: this.redis, prefix: this.prefix });
    this.queue.on('error', (e) => opts.logger?.warn({ err: e.message }, 'queue error'));
  }

  private key(name: string): string {
    return `${this.prefix}:${this.opts.queueName}:fp:${name}`;
  }

  private waitingForReady: Promise<void> | null = null;

  /** Resolves once the connection is up (it connects at start and reconnects after an outage by itself). */
  private connected(): Promise<void> {
    if (this.redis.status === 'ready') return Promise.resolve();
    this.waitingForReady ??= new Promise<void>((resolve) => {
      this.redis.once('ready', () => {
        this.waitingForReady = null;
        resolve();
      });
    });
    return this.waitingForReady;
  }

  private async call<T>(what: string, f: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.connected().then(f),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`timed out after ${this.timeoutMs} ms`)), this.timeoutMs);
        }),
      ]);
    } catch (e) {
      if (e instanceof QueueUnavailableError) throw e;
      throw new QueueUnavailableError(`queue unavailable (${what}): ${(e as Error).message}`, { cause: e });
    } finally {
      clearTimeout(timer);
    }
  }

  async reserve(jobId: string, requestHash: string): Promise<string | null> {
    return this.call('reserve', async () => {
      const k = this.key(`idem:${jobId}`);
      const ok = await this.redis.set(k, requestHash, 'EX', this.opts.keepSeconds, 'NX');
      if (ok === 'OK') return null;
      return (await this.redis.get(k)) ?? requestHash;
    });
  }

  async release(jobId: string): Promise<void> {
    await this.call('release', () => this.redis.del(this.key(`idem:${jobId}`)));
  }

  async add(data: JobData): Promise<void> {
    await this.call('add', async () => {
      const owner = this.key(`owner:${data.owner}`);
      await this.redis.multi().sadd(owner, data.jobId).expire(owner, this.opts.keepSeconds).exec();
      await this.queue.add('solve', data, {
        jobId: data.jobId,
        attempts: this.opts.attempts,
        backoff: { type: 'exponential', delay: this.opts.backoffMs },
        removeOnComplete: { age: this.opts.keepSeconds },
        removeOnFail: { age: this.opts.keepSeconds },
      });
    });
  }

  async get(jobId: string): Promise<JobStatus | null> {
    return this.call('get', async () => {
      let job = (await this.queue.getJob(jobId)) as Job<JobData, JobResult> | undefined;
      if (!job) return this.tombstone(jobId);
      const state = await job.getState();
      if (state === 'unknown') return this.tombstone(jobId);
      // The job hash and its state are two reads: a job that finished between them still carries its old
      // hash (no return value, no failure reason). Read the hash again so a finished job is reported whole.
      if ((state === 'completed' || state === 'failed') && !job.finishedOn) {
        job = ((await this.queue.getJob(jobId)) as Job<JobData, JobResult> | undefined) ?? job;
      }
      return statusOf(job, state);
    });
  }

  private async tombstone(jobId: string): Promise<JobStatus | null> {
    const raw = await this.redis.get(this.key(`tomb:${jobId}`));
    return raw ? (JSON.parse(raw) as JobStatus) : null;
  }

  async cancel(jobId: string): Promise<CancelOutcome | null> {
    return this.call('cancel', async () => {
      const job = (await this.queue.getJob(jobId)) as Job<JobData, JobResult> | undefined;
      if (!job) return (await this.tombstone(jobId)) ? 'finished' : null;
      const state = await job.getState();
      if (state === 'completed' || state === 'failed') return 'finished';
      if (state === 'unknown') return (await this.tombstone(jobId)) ? 'finished' : null;
      // The flag first: a worker that takes the job at this moment sees it before solving.
      await this.redis.sadd(this.key('cancel'), jobId);
      if (QUEUED.has(state) && (await this.queue.remove(jobId)) === 1) {
        const status: JobStatus = { ...statusOf(job, state), state: 'cancelled', error: CANCELLED_REASON, finishedAt: Date.now() };
        await this.redis
          .multi()
          .set(this.key(`tomb:${jobId}`), JSON.stringify(status), 'EX', this.opts.keepSeconds)
          .srem(this.key('cancel'), jobId)
          .exec();
        return 'cancelled';
      }
      return 'cancelling';
    });
  }

  async counts(): Promise<QueueCounts> {
    return this.call('counts', async () => {
      const c = await this.queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed');
      return {
        waiting: c.waiting ?? 0,
        prioritized: c.prioritized ?? 0,
        active: c.active ?? 0,
        delayed: c.delayed ?? 0,
        completed: c.completed ?? 0,
        failed: c.failed ?? 0,
      };
    });
  }

  async pendingForOwner(owner: string): Promise<number> {
    return this.call('pendingForOwner', async () => {
      const k = this.key(`owner:${owner}`);
      const ids = await this.redis.smembers(k);
      if (ids.length === 0) return 0;
      const states = await Promise.all(ids.map((id) => this.queue.getJobState(id)));
      const done = ids.filter((_, i) => !(QUEUED.has(states[i]) || states[i] === 'active'));
      if (done.length) await this.redis.srem(k, ...done);
      return ids.length - done.length;
    });
  }

  async ping(): Promise<void> {
    await this.call('ping', () => this.redis.ping());
  }

  process(processor: JobProcessor, options: WorkerOptions): WorkerHandle {
    const log = this.opts.logger;
    // Workers block on Redis; BullMQ requires unlimited retries on their connection.
    const connection = new Redis(this.opts.redisUrl, { maxRetriesPerRequest: null, retryStrategy: (t) => Math.min(200 * t, 2000) });
    connection.on('error', (e) => log?.warn({ err: e.message }, 'worker redis connection error'));
    const cancelFlags = new Map<string, boolean>();
    const cancelKey = this.key('cancel');

    const worker = new Worker<JobData, JobResult>(
      this.opts.queueName,
      async (job) => {
        const id = job.id as string;
        const jobLog = log?.child({ jobId: id });
        cancelFlags.set(id, (await connection.sismember(cancelKey, id)) === 1);
        let lastProgress = 0;
        let pending: JobProgress | null = null;
        const flush = () => {
          if (!pending) return;
          const p = pending;
          pending = null;
          lastProgress = Date.now();
          job.updateProgress(p as unknown as object).catch((e) => jobLog?.warn({ err: (e as Error).message }, 'progress update failed'));
        };
        const active: ActiveJob = {
          id,
          data: job.data,
          attempt: job.attemptsStarted || job.attemptsMade + 1,
          reportProgress: (p) => {
            pending = p;
            if (Date.now() - lastProgress >= PROGRESS_INTERVAL_MS) flush();
          },
          isCancelled: () => cancelFlags.get(id) === true,
          log: (event, fields) => jobLog?.info(fields ?? {}, event),
          limitBatch: (max) => job.updateData({ ...job.data, batchLimit: max }),
        };
        try {
          if (active.isCancelled()) throw new CancelledError(CANCELLED_REASON);
          const result = await processor(active);
          flush();
          return result;
        } catch (e) {
          flush();
          if (e instanceof CancelledError) {
            await connection.srem(cancelKey, id).catch(() => {});
            throw new UnrecoverableError(CANCELLED_REASON);
          }
          if (e instanceof PermanentJobError) throw new UnrecoverableError(e.message);
          if (isFatalEngineError(e)) options.onFatal?.(e as Error);
          throw e;
        } finally {
          cancelFlags.delete(id);
        }
      },
      {
        connection,
        prefix: this.prefix,
        concurrency: options.concurrency,
        lockDuration: this.opts.lockMs,
        stalledInterval: this.opts.stalledIntervalMs,
        maxStalledCount: this.opts.maxStalledCount ?? 2,
      },
    );
    worker.on('error', (e) => log?.warn({ err: e.message }, 'worker error'));
    worker.on('stalled', (jobId) => log?.warn({ jobId }, 'job stalled: its worker stopped renewing the lock; it is queued again'));

    // Cancellation requests come from API processes; poll the flags of the jobs this worker is running.
    const poll = setInterval(() => {
      const ids = [...cancelFlags.keys()];
      if (ids.length === 0) return;
      connection
        .smismember(cancelKey, ...ids)
        .then((flags) => ids.forEach((id, i) => cancelFlags.has(id) && flags[i] === 1 && cancelFlags.set(id, true)))
        .catch(() => {});
    }, CANCEL_POLL_MS);
    poll.unref();

    const handle: WorkerHandle = {
      ready: () => worker.waitUntilReady().then(() => undefined),
      close: async () => {
        clearInterval(poll);
        await worker.close();
        await connection.quit().catch(() => connection.disconnect());
        this.workers.delete(handle);
      },
    };
    this.workers.add(handle);
    return handle;
  }

  async close(): Promise<void> {
    await Promise.all([...this.workers].map((w) => w.close()));
    await this.queue.close().catch(() => {});
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  /** Deletes every key of this queue (tests). */
  async obliterate(): Promise<void> {
    await this.queue.obliterate({ force: true });
    const keys = await this.redis.keys(`${this.prefix}:${this.opts.queueName}:*`);
    if (keys.length) await this.redis.del(...keys);
  }
}

function statusOf(job: Job<JobData, JobResult>, state: string): JobStatus {
  const failed = state === 'failed';
  const cancelled = failed && isCancelledReason(job.failedReason);
  const progress = job.progress && typeof job.progress === 'object' ? (job.progress as unknown as JobProgress) : null;
  return {
    id: job.id as string,
    owner: job.data.owner,
    state: QUEUED.has(state) ? 'queued' : state === 'active' ? 'running' : state === 'completed' ? 'completed' : cancelled ? 'cancelled' : 'failed',
    method: job.data.method,
    model: job.data.model,
    createdAt: job.data.createdAt,
    startedAt: job.processedOn ?? null,
    finishedAt: state === 'completed' || failed ? (job.finishedOn ?? null) : null,
    attempts: job.attemptsStarted ?? job.attemptsMade,
    progress,
    result: state === 'completed' ? (job.returnvalue ?? null) : null,
    error: failed ? job.failedReason || 'failed' : state === 'delayed' ? job.failedReason || null : null,
  };
}
