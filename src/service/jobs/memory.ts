import { CancelledError } from '../../errors.ts';
import { CANCELLED_REASON } from './cancel_marker.ts';
import { isFatalEngineError } from './fatal.ts';
import type { JobData, JobProgress, JobResult, JobState, JobStatus } from './model.ts';
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

export interface MemoryQueueOptions {
  attempts: number;
  backoffMs: number;
  /** Finished jobs are forgotten after this long. */
  keepMs: number;
}

interface Entry {
  data: JobData;
  state: 'waiting' | 'delayed' | 'active' | 'completed' | 'failed' | 'cancelled';
  attempts: number;
  progress: JobProgress | null;
  result: JobResult | null;
  error: string | null;
  startedAt: number | null;
  finishedAt: number | null;
  cancelRequested: boolean;
  timer: NodeJS.Timeout | null;
}

const PUBLIC_STATE: Record<Entry['state'], JobState> = {
  waiting: 'queued',
  delayed: 'queued',
  active: 'running',
  completed: 'completed',
  failed: 'failed',
  cancelled: 'cancelled',
};

/** The queue of the embedded mode: one process, no Redis; same semantics as the BullMQ queue (retries, cancel). */
export class MemoryJobQueue implements JobQueue {
  readonly kind = 'memory' as const;
  private readonly jobs = new Map<string, Entry>();
  private readonly waiting: string[] = [];
  private readonly reservations = new Map<string, string>();
  private readonly workers = new Set<MemoryWorker>();
  private closed = false;

  constructor(private readonly opts: MemoryQueueOptions) {}

  async reserve(jobId: string, requestHash: string): Promise<string | null> {
    const prior = this.reservations.get(jobId);
    if (prior !== undefined) return prior;
    this.reservations.set(jobId, requestHash);
    return null;
  }

  async release(jobId: string): Promise<void> {
    this.reservations.delete(jobId);
  }

  async add(data: JobData): Promise<void> {
    if (this.closed) throw new Error('queue is closed');
    this.prune();
    if (this.jobs.has(data.jobId)) return;
    this.jobs.set(data.jobId, {
      data,
      state: 'waiting',
      attempts: 0,
      progress: null,
      result: null,
      error: null,
      startedAt: null,
      finishedAt: null,
      cancelRequested: false,
      timer: null,
    });
    this.waiting.push(data.jobId);
    this.pump();
  }

  async get(jobId: string): Promise<JobStatus | null> {
    const e = this.jobs.get(jobId);
    if (!e) return null;
    return {
      id: jobId,
      owner: e.data.owner,
      state: PUBLIC_STATE[e.state],
      method: e.data.method,
      model: e.data.model,
      createdAt: e.data.createdAt,
      startedAt: e.startedAt,
      finishedAt: e.finishedAt,
      attempts: e.attempts,
      progress: e.progress,
      result: e.result,
      error: e.error,
    };
  }

  async cancel(jobId: string): Promise<CancelOutcome | null> {
    const e = this.jobs.get(jobId);
    if (!e) return null;
    if (e.state === 'waiting' || e.state === 'delayed') {
      if (e.timer) clearTimeout(e.timer);
      const i = this.waiting.indexOf(jobId);
      if (i >= 0) this.waiting.splice(i, 1);
      this.finish(e, 'cancelled', null, CANCELLED_REASON);
      return 'cancelled';
    }
    if (e.state === 'active') {
      e.cancelRequested = true;
      return 'cancelling';
    }
    return 'finished';
  }

  async counts(): Promise<QueueCounts> {
    const c: QueueCounts = { waiting: 0, prioritized: 0, active: 0, delayed: 0, completed: 0, failed: 0 };
    for (const e of this.jobs.values()) {
      if (e.state === 'waiting') c.waiting++;
      else if (e.state === 'delayed') c.delayed++;
      else if (e.state === 'active') c.active++;
      else if (e.state === 'completed') c.completed++;
      else c.failed++;
    }
    return c;
  }

  async pendingForOwner(owner: string): Promise<number> {
    let n = 0;
    for (const e of this.jobs.values()) {
      if (e.data.owner === owner && (e.state === 'waiting' || e.state === 'delayed' || e.state === 'active')) n++;
    }
    return n;
  }

  async ping(): Promise<void> {
    if (this.closed) throw new Error('queue is closed');
  }

  process(processor: JobProcessor, options: WorkerOptions): WorkerHandle {
    const w = new MemoryWorker(this, processor, options);
    this.workers.add(w);
    queueMicrotask(() => this.pump());
    return {
      ready: async () => {},
      close: async () => {
        await w.close();
        this.workers.delete(w);
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.workers].map((w) => w.close()));
    for (const e of this.jobs.values()) if (e.timer) clearTimeout(e.timer);
  }

  /** Hands waiting jobs to workers with free slots. */
  pump(): void {
    for (const w of this.workers) {
      while (w.hasSlot() && this.waiting.length > 0) {
        const id = this.waiting.shift() as string;
        const e = this.jobs.get(id);
        if (!e || e.state !== 'waiting') continue;
        e.state = 'active';
        e.attempts++;
        e.startedAt ??= Date.now();
        w.run(id, e);
      }
    }
  }

  /** Called by a worker when an attempt ends. */
  settle(id: string, e: Entry, outcome: { result: JobResult } | { error: unknown }): void {
    if ('result' in outcome) {
      this.finish(e, 'completed', outcome.result, null);
    } else {
      const err = outcome.error;
      const message = err instanceof Error ? err.message : String(err);
      if (err instanceof CancelledError) this.finish(e, 'cancelled', null, CANCELLED_REASON);
      else if (err instanceof PermanentJobError || e.attempts >= this.opts.attempts) this.finish(e, 'failed', null, message);
      else {
        e.state = 'delayed';
        e.error = message;
        const delay = this.opts.backoffMs * 2 ** (e.attempts - 1);
        e.timer = setTimeout(() => {
          e.timer = null;
          if (e.state !== 'delayed') return;
          e.state = 'waiting';
          this.waiting.push(id);
          this.pump();
        }, delay);
      }
    }
    this.pump();
  }

  private finish(e: Entry, state: 'completed' | 'failed' | 'cancelled', result: JobResult | null, error: string | null): void {
    e.state = state;
    e.result = result;
    e.error = error;
    e.finishedAt = Date.now();
  }

  private prune(): void {
    const cutoff = Date.now() - this.opts.keepMs;
    for (const [id, e] of this.jobs) {
      if (e.finishedAt !== null && e.finishedAt < cutoff) {
        this.jobs.delete(id);
        this.reservations.delete(id);
      }
    }
  }
}

class MemoryWorker {
  private readonly active = new Map<string, Promise<void>>();
  private closing = false;

  constructor(
    private readonly queue: MemoryJobQueue,
    private readonly processor: JobProcessor,
    private readonly options: WorkerOptions,
  ) {}

  hasSlot(): boolean {
    return !this.closing && this.active.size < this.options.concurrency;
  }

  run(id: string, e: Entry): void {
    const job: ActiveJob = {
      id,
      data: e.data,
      attempt: e.attempts,
      reportProgress: (p) => {
        e.progress = p;
      },
      isCancelled: () => e.cancelRequested,
      log: () => {},
      limitBatch: async (max) => {
        e.data = { ...e.data, batchLimit: max };
      },
    };
    const p = (async () => {
      try {
        if (e.cancelRequested) throw new CancelledError(CANCELLED_REASON);
        const result = await this.processor(job);
        this.queue.settle(id, e, { result });
      } catch (error) {
        this.queue.settle(id, e, { error });
        if (isFatalEngineError(error)) this.options.onFatal?.(error as Error);
      } finally {
        this.active.delete(id);
        // settle() pumped while this job still held its slot: with one slot, nothing else would start the next job.
        this.queue.pump();
      }
    })();
    this.active.set(id, p);
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.active.values());
  }
}
