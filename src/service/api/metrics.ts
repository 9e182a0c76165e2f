import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { MethodName } from '../../methods/types.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { WorkerMetricsSink } from '../worker/types.ts';

/**
 * Prometheus metrics of one process. Each process (API, worker, standalone) has its own registry; the worker's
 * series (jobs by outcome, solve time, batch sizes) are served by the worker's metrics port or, in standalone
 * mode, by the API's /metrics.
 */
export class ServiceMetrics implements WorkerMetricsSink {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly jobsSubmitted: Counter<'method'>;
  readonly jobOutcomes: Counter<'outcome'>;
  readonly solveSeconds: Histogram<'method'>;
  readonly batchSize: Histogram<'method'>;
  private queue: JobQueue | null = null;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'flowprior_process_' });
    this.httpDuration = new Histogram({
      name: 'flowprior_http_request_duration_seconds',
      help: 'HTTP request latency by method, route and status code',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.jobsSubmitted = new Counter({
      name: 'flowprior_jobs_submitted_total',
      help: 'Jobs accepted by the API',
      labelNames: ['method'],
      registers: [this.registry],
    });
    this.jobOutcomes = new Counter({
      name: 'flowprior_jobs_total',
      help: 'Job attempts by outcome (completed, failed, cancelled, retry = infrastructure error, attempt will be retried)',
      labelNames: ['outcome'],
      registers: [this.registry],
    });
    this.solveSeconds = new Histogram({
      name: 'flowprior_solve_seconds',
      help: 'Wall time of one batched solve call',
      labelNames: ['method'],
      buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200],
      registers: [this.registry],
    });
    this.batchSize = new Histogram({
      name: 'flowprior_batch_size',
      help: 'Jobs solved together in one call',
      labelNames: ['method'],
      buckets: [1, 2, 3, 4, 5, 6, 8, 12, 16],
      registers: [this.registry],
    });
    const self = this;
    new Gauge({
      name: 'flowprior_queue_jobs',
      help: 'Jobs in the queue by state',
      labelNames: ['state'],
      registers: [this.registry],
      async collect() {
        if (!self.queue) return;
        try {
          const c = await self.queue.counts();
          for (const [state, n] of Object.entries(c)) this.set({ state }, n);
        } catch {
          // Redis down: the gauge keeps its last values; /readyz reports the outage.
        }
      },
    });
  }

  /** The queue whose depth the flowprior_queue_jobs gauge reports at scrape time. */
  watchQueue(queue: JobQueue): void {
    this.queue = queue;
  }

  batch(method: MethodName, size: number, seconds: number): void {
    this.solveSeconds.observe({ method }, seconds);
    this.batchSize.observe({ method }, size);
  }

  job(outcome: 'completed' | 'failed' | 'cancelled' | 'retry'): void {
    this.jobOutcomes.inc({ outcome });
  }
}
