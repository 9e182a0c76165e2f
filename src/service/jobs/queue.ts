import type { JobData, JobProgress, JobResult, JobStatus } from './model.ts';

export interface QueueCounts {
  waiting: number;
  prioritized: number;
  active: number;
  delayed: number;
  completed: number;
  failed: number;
}

export type CancelOutcome =
  /** It was still queued and will never run. */
  | 'cancelled'
  /** It is running; the solver stops at its next iteration. */
  | 'cancelling'
  /** It had already finished; nothing changed. */
  | 'finished';

/** A job as its processor sees it. */
export interface ActiveJob {
  readonly id: string;
  readonly data: JobData;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** Throttled by the queue; safe to call after every solver iteration. */
  reportProgress(progress: JobProgress): void;
  /** Cheap and synchronous: polled by the solver between evaluations. */
  isCancelled(): boolean;
  log(event: string, fields?: Record<string, unknown>): void;
  /** Persists data.batchLimit = max for the job's later attempts (kept across processes). */
  limitBatch(max: number): Promise<void>;
}

/**
 * Throwing a PermanentJobError fails the job at once (bad input, a model that cannot solve it); any other error
 * counts as an infrastructure failure and the job is retried with backoff until its attempts run out.
 */
export type JobProcessor = (job: ActiveJob) => Promise<JobResult>;

export interface WorkerHandle {
  /** Stops taking jobs, lets the active ones finish, then resolves. */
  close(): Promise<void>;
  /** Resolves when the worker is connected and taking jobs. */
  ready(): Promise<void>;
}

export interface WorkerOptions {
  concurrency: number;
  /** Called once per failure that should end the process (e.g. a wasm abort). */
  onFatal?: (error: Error) => void;
}

export interface JobQueue {
  readonly kind: 'bullmq' | 'memory';
  /**
   * Claims a job id for a request (idempotency keys map to fixed ids). Returns null when claimed now, or the
   * request hash of the earlier claim.
   */
  reserve(jobId: string, requestHash: string): Promise<string | null>;
  /** Undoes reserve() after the job could not be added. */
  release(jobId: string): Promise<void>;
  add(data: JobData): Promise<void>;
  get(jobId: string): Promise<JobStatus | null>;
  cancel(jobId: string): Promise<CancelOutcome | null>;
  counts(): Promise<QueueCounts>;
  /** Jobs of this owner that are queued or running. */
  pendingForOwner(owner: string): Promise<number>;
  ping(): Promise<void>;
  process(processor: JobProcessor, options: WorkerOptions): WorkerHandle;
  close(): Promise<void>;
}

/** Failure that no retry can fix. */
export class PermanentJobError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentJobError';
  }
}

export function isTerminalResult(r: unknown): r is JobResult {
  return typeof r === 'object' && r !== null && 'keys' in r && 'metrics' in r;
}
