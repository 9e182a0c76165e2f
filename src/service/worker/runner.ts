import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { engineInfo } from '../../engine/index.ts';
import { CancelledError, ModelError, NotFoundError, SolverError, StorageError, ValidationError } from '../../errors.ts';
import { encodePanelPng, encodePng, rasterFromShape, type RasterImage } from '../../imaging/index.ts';
import type { MethodOptions } from '../../methods/types.ts';
import { psnr, ssim } from '../../metrics/index.ts';
import type { OperatorCache, OperatorLease } from '../../physics/cache.ts';
import type { LinearOperator, NoiseSpec } from '../../physics/operator.ts';
import type { ImageShape } from '../../models/prior.ts';
import type { Problem, SolveResult } from '../../solvers/types.ts';
import { isFatalEngineError } from '../jobs/fatal.ts';
import { decodeFloat32, type JobInput, type JobMetrics, type JobResult } from '../jobs/model.ts';
import { PermanentJobError, type ActiveJob } from '../jobs/queue.ts';
import { jobKeys } from '../storage/keys.ts';
import type { ResultStore } from '../storage/types.ts';
import { BatchCollector } from './collector.ts';
import { ModelCache } from './model_cache.ts';
import type { SolveFn, WorkerMetricsSink } from './types.ts';

export interface PhysicsFns {
  /** Operators shared between jobs and solves of this process (a gaussian A is built once per spec). */
  operators: OperatorCache;
  simulateMeasurements(op: LinearOperator, x: Float32Array, noise: NoiseSpec): Float32Array;
}

export interface RunnerDeps {
  store: ResultStore;
  solve: SolveFn;
  models: ModelCache;
  physics: PhysicsFns;
  batchMax: number;
  batchWaitMs: number;
  logger?: Logger;
  metrics?: WorkerMetricsSink;
  /** Upload tries per file before the attempt fails (the solved result is kept for the next attempt). */
  uploadTries?: number;
  uploadBackoffMs?: number;
}

interface PreparedJob {
  job: ActiveJob;
  input: JobInput;
  problem: Problem;
  truth: Float32Array | null;
  view: RasterImage | null;
}

interface Solved {
  result: SolveResult;
  batchId: string;
  batchSize: number;
}

interface Artifacts {
  result: Buffer;
  panel: Buffer;
  metrics: JobMetrics;
}

const KEEP_UNUPLOADED = 64;

function permanent(e: unknown): Error {
  if (e instanceof ValidationError || e instanceof ModelError || e instanceof SolverError || e instanceof NotFoundError) {
    return new PermanentJobError(e.message, { cause: e });
  }
  return e as Error;
}

function finiteOrNull(v: number | undefined | null): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/**
 * Turns queue jobs into batched solves: prepare (read input.json, simulate y, measurement view), collect compatible
 * jobs, solve each batch with one call, then write result.png, panel.png and metrics.json (metrics last: its
 * presence means the job's files are complete).
 */
export class JobRunner {
  readonly collector: BatchCollector<PreparedJob, Solved>;
  /** Solved jobs whose upload failed, so that a retry in this process uploads without solving again. */
  private readonly unuploaded = new Map<string, Artifacts>();

  constructor(private readonly deps: RunnerDeps) {
    this.collector = new BatchCollector<PreparedJob, Solved>({
      maxBatch: deps.batchMax,
      waitMs: deps.batchWaitMs,
      // Jobs whose batch once aborted the engine batch only with each other, at their reduced size.
      keyOf: (p) => (p.job.data.batchLimit ? `${p.job.data.batchKey}#limit=${p.job.data.batchLimit}` : p.job.data.batchKey),
      maxBatchOf: (p) => p.job.data.batchLimit ?? deps.batchMax,
      run: (items) => this.solveBatch(items),
    });
  }

  /** The queue's processor. */
  readonly process = async (job: ActiveJob): Promise<JobResult> => {
    const keys = jobKeys(job.id);
    const out = { result: keys.result, panel: keys.panel, metrics: keys.metrics };
    if (job.attempt > 1 && (await this.deps.store.exists(keys.metrics))) {
      // An earlier attempt wrote every file but did not live to complete the job.
      const metrics = JSON.parse((await this.deps.store.get(keys.metrics)).toString('utf8')) as JobMetrics;
      job.log('job.recovered', { reason: 'results already stored' });
      return { keys: out, metrics };
    }
    const cached = this.unuploaded.get(job.id);
    if (cached) {
      job.log('job.upload-retry', { reason: 'solved in an earlier attempt; uploading only' });
      await this.upload(job.id, { ...cached, metrics: { ...cached.metrics, attempt: job.attempt } });
      this.unuploaded.delete(job.id);
      return { keys: out, metrics: { ...cached.metrics, attempt: job.attempt } };
    }
    const prepared = await this.prepare(job);
    const solved = await this.collector.submit(prepared);
    if (job.isCancelled() || solved.result.stopReason === 'cancelled') throw new CancelledError();
    const artifacts = await this.render(prepared, solved);
    try {
      await this.upload(job.id, artifacts);
    } catch (e) {
      this.unuploaded.set(job.id, artifacts);
      while (this.unuploaded.size > KEEP_UNUPLOADED) this.unuploaded.delete(this.unuploaded.keys().next().value as string);
      throw e;
    }
    job.log('job.solved', {
      psnr: artifacts.metrics.psnr,
      iterations: artifacts.metrics.iterations,
      batchId: solved.batchId,
      batchSize: solved.batchSize,
      stopReason: artifacts.metrics.stopReason,
    });
    return { keys: out, metrics: artifacts.metrics };
  };

  private async prepare(job: ActiveJob): Promise<PreparedJob> {
    let raw: Buffer;
    try {
      raw = await this.deps.store.get(job.data.inputKey);
    } catch (e) {
      if (e instanceof NotFoundError) throw new PermanentJobError(`job input ${job.data.inputKey} is missing`);
      throw e;
    }
    let input: JobInput;
    try {
      input = JSON.parse(raw.toString('utf8')) as JobInput;
    } catch {
      throw new PermanentJobError(`job input ${job.data.inputKey} is not valid JSON`);
    }
    const shape = input.imageShape;
    try {
      const truth = input.groundTruth ? decodeFloat32(input.groundTruth) : null;
      let lease: OperatorLease | null = null;
      try {
        lease = this.deps.physics.operators.acquire(input.operator, shape);
        const op = lease.op;
        let y: Float32Array;
        if (input.measurements) y = decodeFloat32(input.measurements);
        else if (truth) y = this.deps.physics.simulateMeasurements(op, truth, input.noise ?? { type: 'none' });
        else throw new ValidationError('measurements', 'neither measurements nor a ground truth');
        if (y.length !== op.m) throw new ValidationError('measurements', `expected ${op.m} values, got ${y.length}`);
        const v = op.view(y);
        const view = v ? rasterFromShape(v.data, v.shape as [number, number, number]) : null;
        const problem: Problem = {
          id: job.id,
          operator: input.operator,
          measurements: y,
          gamma: input.problem.gamma,
          penalty: input.problem.penalty,
          init: input.problem.init,
          seed: input.problem.seed,
          ...(truth ? { groundTruth: truth } : {}),
        };
        return { job, input, problem, truth, view };
      } finally {
        lease?.release();
      }
    } catch (e) {
      throw permanent(e);
    }
  }

  private async solveBatch(items: PreparedJob[]): Promise<Array<Solved | Error>> {
    const first = items[0].input;
    const method = first.method;
    const prior = first.model ? await this.deps.models.get(first.model).catch((e) => Promise.reject(permanent(e))) : null;
    const options: MethodOptions & { imageShape: ImageShape; noiseSigma?: number } = {
      optimizer: first.batch.optimizer,
      maxEvaluations: first.batch.maxEvaluations,
      ...(first.batch.restarts !== undefined ? { restarts: first.batch.restarts } : {}),
      ...(first.batch.lambda !== undefined ? { lambda: first.batch.lambda } : {}),
      ...(first.batch.noiseSigma !== undefined ? { noiseSigma: first.batch.noiseSigma } : {}),
      imageShape: first.imageShape,
      operatorCache: this.deps.physics.operators,
    };
    const run = async (group: PreparedJob[]): Promise<SolveResult[]> =>
      this.deps.solve(method, prior, group.map((p) => p.problem), {
        ...options,
        onProgress: ({ problemIndex, iteration, evaluations, loss }) =>
          group[problemIndex]?.job.reportProgress({ iteration, evaluations, loss }),
        isCancelled: (i) => group[i]?.job.isCancelled() ?? false,
      });
    const batchId = randomUUID();
    await this.markRetrySize(items);
    const t0 = performance.now();
    try {
      const results = await run(items);
      this.deps.metrics?.batch(method, items.length, (performance.now() - t0) / 1000);
      this.deps.logger?.info(
        { batchId, batchSize: items.length, method, jobIds: items.map((p) => p.job.id), wallMs: Math.round(performance.now() - t0) },
        'batch solved',
      );
      return results.map((result) => ({ result, batchId, batchSize: items.length }));
    } catch (e) {
      if (isFatalEngineError(e)) {
        this.deps.logger?.error(
          { batchId, batchSize: items.length, err: (e as Error).message },
          'engine aborted during a batch; its jobs will be retried in smaller batches',
        );
        throw e;
      }
      if (items.length === 1) throw permanent(e);
      // One bad problem must not fail its neighbours: solve each alone to find out which.
      this.deps.logger?.warn({ batchId, err: (e as Error).message }, 'batch failed; solving its jobs one by one');
      const out: Array<Solved | Error> = [];
      for (const item of items) {
        const id = randomUUID();
        try {
          const [result] = await run([item]);
          out.push({ result, batchId: id, batchSize: 1 });
        } catch (err) {
          if (isFatalEngineError(err)) throw err;
          out.push(permanent(err));
        }
      }
      return out;
    }
  }

  /**
   * Before a batch runs, its jobs learn the batch size for a retry: half of this one. Memory grows with the batch,
   * and a batch that ends its process (a wasm out-of-memory abort, or a hang that the watchdog ends) may not live to
   * say so afterwards. A failed write only loses the hint.
   */
  private async markRetrySize(items: PreparedJob[]): Promise<void> {
    if (items.length < 2) return;
    const limit = Math.floor(items.length / 2);
    await Promise.allSettled(
      items.filter((p) => !(p.job.data.batchLimit !== undefined && p.job.data.batchLimit <= limit)).map((p) => p.job.limitBatch(limit)),
    );
  }

  private async render(p: PreparedJob, solved: Solved): Promise<Artifacts> {
    const { result } = solved;
    const shape = p.input.imageShape;
    const recon = rasterFromShape(result.image, shape as [number, number, number]);
    const truth = p.truth;
    let inputPsnr: number | null = null;
    if (truth && p.view && p.view.data.length === truth.length) inputPsnr = finiteOrNull(psnr(p.view.data, truth));
    const metrics: JobMetrics = {
      psnr: truth ? finiteOrNull(result.psnr ?? psnr(result.image, truth)) : null,
      ssim: truth ? finiteOrNull(result.ssim ?? ssim(result.image, truth, shape)) : null,
      inputPsnr,
      loss: result.loss,
      dataFit: result.dataFit,
      zNorm: result.zNorm,
      iterations: result.iterations,
      evaluations: result.evaluations,
      wallMs: Math.round(result.wallMs),
      backend: engineInfo()?.backend ?? 'unknown',
      batchId: solved.batchId,
      batchSize: solved.batchSize,
      diverged: result.diverged,
      stopReason: result.stopReason,
      method: p.input.method,
      model: p.input.model,
      attempt: p.job.attempt,
      note: p.input.groundTruthNote ?? null,
    };
    const tiles = [...(truth ? [rasterFromShape(truth, shape as [number, number, number])] : []), ...(p.view ? [p.view] : []), recon];
    const tile = Math.max(64, shape[0], shape[1]);
    return { result: await encodePng(recon), panel: await encodePanelPng(tiles, { tileSize: tile }), metrics };
  }

  private async upload(jobId: string, a: Artifacts): Promise<void> {
    const keys = jobKeys(jobId);
    await this.putWithRetry(keys.result, a.result, 'image/png');
    await this.putWithRetry(keys.panel, a.panel, 'image/png');
    await this.putWithRetry(keys.metrics, `${JSON.stringify(a.metrics, null, 2)}\n`, 'application/json');
  }

  private async putWithRetry(key: string, body: Uint8Array | string, type: string): Promise<void> {
    const tries = this.deps.uploadTries ?? 3;
    const backoff = this.deps.uploadBackoffMs ?? 250;
    for (let i = 1; ; i++) {
      try {
        await this.deps.store.put(key, body, type);
        return;
      } catch (e) {
        if (i >= tries || !(e instanceof StorageError)) throw e;
        this.deps.logger?.warn({ key, attempt: i, err: e.message }, 'upload failed; retrying');
        await new Promise((r) => setTimeout(r, backoff * 2 ** (i - 1)));
      }
    }
  }
}
