import { createHash, randomUUID } from 'node:crypto';
import { ConflictError, LimitExceededError, ModelError, ValidationError } from '../../errors.ts';
import { checkMethod } from '../../methods/index.ts';
import type { Problem } from '../../solvers/types.ts';
import { decodeImageTo } from '../../imaging/index.ts';
import { MODEL_METHODS, type MethodName } from '../../methods/types.ts';
import type { ImageShape } from '../../models/prior.ts';
import type { NoiseSpec } from '../../physics/operator.ts';
import type { ModelCatalog } from '../catalog.ts';
import type { ServiceConfig } from '../config.ts';
import {
  batchKeyOf,
  encodeFloat32,
  type BatchSettings,
  type JobData,
  type JobInput,
  type ProblemOptions,
} from '../jobs/model.ts';
import type { JobQueue } from '../jobs/queue.ts';
import { jobKeys } from '../storage/keys.ts';
import type { ResultStore } from '../storage/types.ts';
import type { OperatorCatalog } from './operators.ts';
import type { SolveRequest } from './schemas.ts';

/** Image shape of the methods without a model (the priors' working size). */
export const BASELINE_IMAGE_SHAPE: [number, number, number] = [64, 64, 3];
const DEFAULT_EVALUATIONS = 600;

export interface SubmitContext {
  config: ServiceConfig;
  catalog: ModelCatalog;
  operators: OperatorCatalog;
  queue: JobQueue;
  store: ResultStore;
  owner: string;
  requestId: string;
}

export interface SubmitOutcome {
  jobId: string;
  created: boolean;
  status: string;
  note: string | null;
  method: MethodName;
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const keys = Object.keys(v as object).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** A fixed UUID per (owner, idempotency key): the same key from another owner is another job. */
export function idempotentJobId(owner: string, key: string): string {
  const h = createHash('sha256').update(`${owner}\u0000${key}`).digest('hex');
  // Shaped as a version-8 (custom) UUID.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The baseline's own applicability check (e.g. what BM3D can solve), without solving anything. */
async function checkBaseline(method: MethodName, problem: Problem): Promise<void> {
  try {
    await checkMethod(method, problem);
  } catch (e) {
    if (e instanceof ValidationError) throw e;
    throw new ModelError(`method ${method} is unavailable: ${(e as Error).message}`);
  }
}

function base64Bytes(s: string, field: string): Buffer {
  const body = s.replace(/^data:[a-z/+.-]+;base64,/i, '').replace(/\s+/g, '');
  if (body.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(body)) throw new ValidationError(field, 'must be base64');
  return Buffer.from(body, 'base64');
}

function parseMeasurements(raw: string | number[], m: number): Float32Array {
  let y: Float32Array;
  if (typeof raw === 'string') {
    const bytes = base64Bytes(raw, 'measurements');
    if (bytes.length % 4 !== 0) throw new ValidationError('measurements', `base64 data must hold float32 values (byte length ${bytes.length} is not a multiple of 4)`);
    if (bytes.length / 4 !== m) throw new ValidationError('measurements', `expected m = ${m} values for this operator, got ${bytes.length / 4}`);
    y = new Float32Array(m);
    for (let i = 0; i < m; i++) y[i] = bytes.readFloatLE(i * 4);
  } else {
    if (raw.length !== m) throw new ValidationError('measurements', `expected m = ${m} values for this operator, got ${raw.length}`);
    y = Float32Array.from(raw);
  }
  for (let i = 0; i < y.length; i++) {
    if (!Number.isFinite(y[i])) throw new ValidationError(`measurements.${i}`, 'must be a finite float32 value');
  }
  return y;
}

async function resolveModel(method: MethodName, requested: string | undefined, catalog: ModelCatalog): Promise<{ model: string | null; shape: ImageShape }> {
  if (!MODEL_METHODS.includes(method)) {
    if (requested !== undefined) throw new ValidationError('model', `method ${method} uses no model`);
    return { model: null, shape: BASELINE_IMAGE_SHAPE };
  }
  const name = requested ?? catalog.defaultFor(method);
  const info = name ? await catalog.get(name) : null;
  if (!info) {
    const available = (await catalog.list()).filter((m) => m.kind === method).map((m) => m.name);
    throw new ValidationError('model', `unknown ${method} model ${JSON.stringify(name)}; available: ${available.join(', ') || 'none'}`);
  }
  if (info.kind !== method) throw new ValidationError('model', `${info.name} is a ${info.kind} model; method ${method} needs a ${method} model`);
  return { model: info.name, shape: info.imageShape };
}

/**
 * Validates a solve request against the schema's leftovers, the model and the operator (lengths, m ≤ n, finite
 * values, image decodable and within limits), stores input.json and enqueues the job.
 */
export async function submitSolve(body: SolveRequest, ctx: SubmitContext): Promise<SubmitOutcome> {
  const config = ctx.config;
  const operators: OperatorCatalog = ctx.operators;
  const method: MethodName = body.method ?? 'glow';
  const { model, shape } = await resolveModel(method, body.model, ctx.catalog);
  const operator: unknown = body.operator;
  operators.validate(operator, shape);
  const m = operators.measurementCount(operator, shape);
  if (method === 'bm3d' && operator.type !== 'identity') {
    throw new ValidationError('operator.type', 'bm3d solves denoising only: use operator {"type":"identity"}');
  }

  if ((body.measurements === undefined) === (body.groundTruth === undefined)) {
    throw new ValidationError('measurements', 'give exactly one of measurements (y) or groundTruth (an image to simulate y from)');
  }
  let noise: NoiseSpec | undefined;
  if (body.noise !== undefined) {
    if (body.groundTruth === undefined) throw new ValidationError('noise', 'noise is only used with groundTruth (y is simulated server-side)');
    const n: unknown = body.noise;
    operators.validateNoise(n);
    noise = n;
  }
  const o = body.options ?? {};
  if (o.maxEvaluations !== undefined && o.maxEvaluations > config.maxEvaluations) {
    throw new ValidationError('options.maxEvaluations', `must be <= ${config.maxEvaluations} (server limit MAX_EVALUATIONS)`);
  }
  if (o.restarts !== undefined && method !== 'dcgan') throw new ValidationError('options.restarts', 'only the dcgan method uses restarts');
  if (o.lambda !== undefined && !method.startsWith('lasso')) throw new ValidationError('options.lambda', 'only the lasso methods use lambda');

  let measurements: string | undefined;
  let groundTruth: string | undefined;
  let note: string | null = null;
  let y: Float32Array | null = null;
  if (body.measurements !== undefined) {
    y = parseMeasurements(body.measurements, m);
    measurements = encodeFloat32(y);
  } else {
    const bytes = base64Bytes(body.groundTruth as string, 'groundTruth');
    if (shape[2] !== 3) throw new ValidationError('groundTruth', `the model works on ${shape[2]}-channel images; only RGB images are supported`);
    const decoded = await decodeImageTo(bytes, shape[1], shape[0], {
      field: 'groundTruth',
      limits: { maxInputBytes: config.maxImageBytes, maxPixels: config.maxImagePixels },
    });
    groundTruth = encodeFloat32(decoded.image.data);
    note = decoded.note;
  }

  const problem: ProblemOptions = {
    gamma: o.gamma ?? 0,
    penalty: o.penalty ?? 'l2',
    init: o.init ?? (method === 'dcgan' ? { type: 'normal', std: 0.1 } : { type: 'zeros' }),
    seed: o.seed ?? 0,
  };
  const batch: BatchSettings = {
    optimizer: o.optimizer ?? 'lbfgs',
    maxEvaluations: o.maxEvaluations ?? Math.min(DEFAULT_EVALUATIONS, config.maxEvaluations),
    ...(o.restarts !== undefined ? { restarts: o.restarts } : {}),
    ...(o.lambda !== undefined ? { lambda: o.lambda } : {}),
    ...(method === 'bm3d' && noise?.type === 'gaussian' ? { noiseSigma: noise.sigma } : {}),
  };

  if (!MODEL_METHODS.includes(method)) {
    await checkBaseline(method, { operator, measurements: y ?? new Float32Array(m), ...problem });
  }

  const { idempotencyKey, ...request } = body;
  const requestHash = createHash('sha256').update(canonical(request)).digest('hex');
  const jobId = idempotencyKey ? idempotentJobId(ctx.owner, idempotencyKey) : randomUUID();
  if (idempotencyKey) {
    const earlier = await ctx.queue.reserve(jobId, requestHash);
    if (earlier !== null) {
      if (earlier !== requestHash) throw new ConflictError('idempotencyKey was already used for a different request');
      const status = await ctx.queue.get(jobId);
      return { jobId, created: false, status: status?.state ?? 'queued', note, method };
    }
  }
  try {
    const pending = await ctx.queue.pendingForOwner(ctx.owner);
    if (pending >= config.maxQueuedPerKey) {
      throw new LimitExceededError(`this API key already has ${pending} queued or running jobs (limit ${config.maxQueuedPerKey})`, config.maxQueuedPerKey);
    }
    const keys = jobKeys(jobId);
    const input: JobInput = {
      version: 1,
      jobId,
      method,
      model,
      imageShape: shape,
      operator,
      measurementCount: m,
      ...(measurements !== undefined ? { measurements } : {}),
      ...(groundTruth !== undefined ? { groundTruth } : {}),
      ...(note ? { groundTruthNote: note } : {}),
      ...(noise ? { noise } : {}),
      problem,
      batch,
    };
    await ctx.store.put(keys.input, JSON.stringify(input), 'application/json');
    const data: JobData = {
      jobId,
      method,
      model,
      batchKey: batchKeyOf(method, model, batch),
      owner: ctx.owner,
      inputKey: keys.input,
      requestHash,
      createdAt: Date.now(),
      requestId: ctx.requestId,
    };
    await ctx.queue.add(data);
  } catch (e) {
    if (idempotencyKey) await ctx.queue.release(jobId).catch(() => {});
    throw e;
  }
  return { jobId, created: true, status: 'queued', note, method };
}
