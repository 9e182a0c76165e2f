import type { MethodName } from '../../methods/types.ts';
import type { ImageShape } from '../../models/prior.ts';
import type { NoiseSpec, OperatorSpec } from '../../physics/operator.ts';
import type { OptimizerName, Penalty, StopReason } from '../../solvers/types.ts';

/** Per-problem solver settings (may differ inside a batch). */
export interface ProblemOptions {
  gamma: number;
  penalty: Penalty;
  init: { type: 'zeros' } | { type: 'normal'; std: number };
  seed: number;
}

/** Settings shared by every problem of one solve call; jobs batch together only when these match. */
export interface BatchSettings {
  optimizer: OptimizerName;
  maxEvaluations: number;
  restarts?: number;
  lambda?: number | 'auto';
  /** bm3d: the noise σ when the request simulated gaussian noise (else it is estimated). */
  noiseSigma?: number;
}

/** Everything a worker needs to solve one job: stored as jobs/<id>/input.json. */
export interface JobInput {
  version: 1;
  jobId: string;
  method: MethodName;
  /** Model name for methods with a generative prior; null for the baselines. */
  model: string | null;
  imageShape: ImageShape;
  operator: OperatorSpec;
  /** m, as checked against the operator when the job was accepted. */
  measurementCount: number;
  /** y as base64 little-endian float32; absent when it is simulated from the ground truth. */
  measurements?: string;
  /** Ground truth HWC [0,1] as base64 little-endian float32, already brought to the image shape. */
  groundTruth?: string;
  /** What was done to the uploaded ground-truth image (resize, crop), if anything. */
  groundTruthNote?: string;
  noise?: NoiseSpec;
  problem: ProblemOptions;
  batch: BatchSettings;
}

/** What travels through the queue: small; the input itself is in the result store. */
export interface JobData {
  jobId: string;
  method: MethodName;
  model: string | null;
  /** Jobs with equal keys can be solved in one call. */
  batchKey: string;
  /** Opaque id of the API key that submitted the job (a hash, never the key). */
  owner: string;
  inputKey: string;
  /** SHA-256 of the canonical request, for idempotent resubmission. */
  requestHash: string;
  createdAt: number;
  requestId?: string;
  /**
   * Written before the job's batch runs (half its size): should that batch end the process (wasm out of memory),
   * later attempts solve the job in batches of at most this many problems.
   */
  batchLimit?: number;
}

export type JobState = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
export const TERMINAL_STATES: readonly JobState[] = ['completed', 'failed', 'cancelled'];

export interface JobProgress {
  iteration: number;
  evaluations: number;
  loss: number;
}

export interface JobMetrics {
  psnr: number | null;
  ssim: number | null;
  /** PSNR of the measurement view against the truth (e.g. the noisy image for denoising), when both exist. */
  inputPsnr: number | null;
  loss: number;
  dataFit: number;
  zNorm: number;
  iterations: number;
  evaluations: number;
  wallMs: number;
  backend: string;
  batchId: string;
  batchSize: number;
  diverged: boolean;
  stopReason: StopReason;
  method: MethodName;
  model: string | null;
  attempt: number;
  note: string | null;
}

export interface JobResult {
  keys: { result: string; panel: string; metrics: string };
  metrics: JobMetrics;
}

export interface JobStatus {
  id: string;
  /** The owner id from JobData: only that owner may see or cancel the job. */
  owner: string;
  state: JobState;
  method: MethodName;
  model: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  /** Attempts started so far (retries after infrastructure errors add to it). */
  attempts: number;
  progress: JobProgress | null;
  result: JobResult | null;
  error: string | null;
}

export function batchKeyOf(method: MethodName, model: string | null, batch: BatchSettings): string {
  return JSON.stringify([method, model, batch.optimizer, batch.maxEvaluations, batch.restarts ?? null, batch.lambda ?? null, batch.noiseSigma ?? null]);
}

export function encodeFloat32(values: Float32Array): string {
  const bytes = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) bytes.writeFloatLE(values[i], i * 4);
  return bytes.toString('base64');
}

export function decodeFloat32(base64: string): Float32Array {
  const bytes = Buffer.from(base64, 'base64');
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}
