import type { Logger } from 'pino';
import type { ServiceConfig } from '../config.ts';
import { BullJobQueue } from './bullmq.ts';
import { MemoryJobQueue } from './memory.ts';
import type { JobQueue } from './queue.ts';

export * from './model.ts';
export * from './queue.ts';
export { BullJobQueue } from './bullmq.ts';
export { MemoryJobQueue } from './memory.ts';
export { CANCELLED_REASON, isCancelledReason } from './cancel_marker.ts';
export { isFatalEngineError } from './fatal.ts';

export function createBullQueue(config: ServiceConfig, logger?: Logger, prefix?: string): BullJobQueue {
  return new BullJobQueue({
    redisUrl: config.redisUrl,
    queueName: config.queueName,
    prefix,
    attempts: config.jobAttempts,
    backoffMs: config.jobBackoffMs,
    keepSeconds: config.keepJobsSeconds,
    lockMs: config.jobLockMs,
    stalledIntervalMs: config.stalledIntervalMs,
    logger,
  });
}

export function createMemoryQueue(config: ServiceConfig): JobQueue {
  return new MemoryJobQueue({ attempts: config.jobAttempts, backoffMs: config.jobBackoffMs, keepMs: config.keepJobsSeconds * 1000 });
}
