import { Type, type Static, type TSchema } from 'typebox';
import { METHOD_NAMES } from '../../methods/types.ts';

const strEnum = <T extends string>(values: readonly T[], description?: string) =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], ...(description ? { description } : {}) });

const nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

/** Upper bounds that keep a hostile request cheap to reject. */
export const LIMITS = {
  /** Measurements per request (n of a 512×512×3 image; the models here have n = 12288). */
  maxMeasurements: 786_432,
  idempotencyKeyLength: 200,
  modelNameLength: 100,
  maxSeed: 4_294_967_295,
  maxGamma: 1e6,
  maxRestarts: 16,
  maxInitStd: 10,
};

export const JOB_ID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

export const GAUSSIAN_OPERATOR_DOC =
  'Measurement operator, one of the specs listed by GET /v1/operators (identity, gaussian, mask, downsample, blur). ' +
  'Images are flattened in HWC order: index = (row·W + col)·C + channel, pixels in [0,1]; y = A·x (+ noise), length m. ' +
  'gaussian {type:"gaussian", m, seed}: A ∈ R^{m×n} with i.i.d. N(0, 1/m) entries; A[i, j] = N_{i·n+j}/√m, where N_k is ' +
  'standard normal number k of the counter-based stream (seed, stream 0): keys k1 = mix32(seed ^ mix32(0)), ' +
  'k2 = mix32(k1 ^ 0x68e31da4); word w(k) = mix32(mix32(k + k1) ^ k2) with mix32 the lowbias32 integer mixer; ' +
  'normals 2p and 2p+1 are r·cos(2π·u2) and r·sin(2π·u2) with r = √(−2·ln u1), u1 = (w(2p) + 1)/2³², ' +
  'u2 = w(2p+1)/2³², computed in float64 and rounded to float32. docs/operators.md has the full definition and a NumPy version to regenerate A.';

export const SolveOptionsSchema = Type.Object(
  {
    gamma: Type.Optional(Type.Number({ minimum: 0, maximum: LIMITS.maxGamma, description: 'weight γ of the latent penalty (0 for compressive sensing and inpainting, as in the paper)' })),
    penalty: Type.Optional(strEnum(['l2', 'l2sq'] as const, 'γ·‖z‖ (l2) or γ·‖z‖² (l2sq)')),
    optimizer: Type.Optional(strEnum(['lbfgs', 'reference', 'adam'] as const, 'lbfgs (line search, stopping rule), reference (GlowIP fixed-step L-BFGS) or adam')),
    maxEvaluations: Type.Optional(Type.Integer({ minimum: 1, description: 'budget of objective evaluations (value + gradient); bounded by the server (MAX_EVALUATIONS)' })),
    init: Type.Optional(
      Type.Union([
        Type.Object({ type: Type.Literal('zeros') }, { additionalProperties: false }),
        Type.Object({ type: Type.Literal('normal'), std: Type.Number({ exclusiveMinimum: 0, maximum: LIMITS.maxInitStd }) }, { additionalProperties: false }),
      ], { description: 'starting latent: zeros (glow default, the paper’s z₀ = 0) or normal(std) from the seed (dcgan default std 0.1)' }),
    ),
    seed: Type.Optional(Type.Integer({ minimum: 0, maximum: LIMITS.maxSeed })),
    restarts: Type.Optional(Type.Integer({ minimum: 1, maximum: LIMITS.maxRestarts, description: 'dcgan: random restarts, best kept' })),
    lambda: Type.Optional(
      Type.Union([Type.Number({ minimum: 0, maximum: LIMITS.maxGamma }), Type.Literal('auto')], { description: 'lasso-*: λ, or "auto"' }),
    ),
  },
  { additionalProperties: false },
);

export const SolveRequestSchema = Type.Object(
  {
    method: Type.Optional(strEnum(METHOD_NAMES, 'reconstruction method; default glow')),
    model: Type.Optional(
      Type.String({ minLength: 1, maxLength: LIMITS.modelNameLength, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', description: 'model for glow/dcgan (GET /v1/models); default the configured one' }),
    ),
    operator: Type.Object({ type: Type.String({ minLength: 1, maxLength: 32 }) }, { additionalProperties: true, description: GAUSSIAN_OPERATOR_DOC }),
    measurements: Type.Optional(
      Type.Union(
        [
          Type.String({ maxLength: Math.ceil((LIMITS.maxMeasurements * 4) / 3) + 4, description: 'y as base64 of little-endian float32' }),
          Type.Array(Type.Number(), { maxItems: LIMITS.maxMeasurements, description: 'y as numbers' }),
        ],
        { description: 'y, length m (the operator’s measurement count), finite values. Give either measurements or groundTruth.' },
      ),
    ),
    groundTruth: Type.Optional(
      Type.String({ minLength: 1, description: 'evaluation mode: a PNG or JPEG (base64, optionally a data: URL); resized/centre-cropped to the model’s size, y simulated server-side, PSNR/SSIM reported' }),
    ),
    noise: Type.Optional(
      Type.Object({ type: Type.String({ maxLength: 32 }) }, { additionalProperties: true, description: 'with groundTruth: {type:"none"} | {type:"gaussian", sigma, seed} | {type:"gaussian-norm", norm, seed}' }),
    ),
    options: Type.Optional(SolveOptionsSchema),
    idempotencyKey: Type.Optional(
      Type.String({ minLength: 1, maxLength: LIMITS.idempotencyKeyLength, pattern: '^[\\x21-\\x7e]+$', description: 'resubmitting the same request with the same key returns the same job' }),
    ),
  },
  { additionalProperties: false },
);
export type SolveRequest = Static<typeof SolveRequestSchema>;

export const JobLinksSchema = Type.Object({
  self: Type.String(),
  result: Type.String(),
  panel: Type.String(),
  metrics: Type.String(),
});

export const SubmitResponseSchema = Type.Object({
  jobId: Type.String(),
  status: Type.String({ description: 'queued, or the state of the earlier job for a repeated idempotency key' }),
  created: Type.Boolean({ description: 'false when an earlier request with the same idempotency key made the job' }),
  links: JobLinksSchema,
  note: nullable(Type.String({ description: 'what was done to the ground-truth image (resize, crop)' })),
});

export const JobMetricsSchema = Type.Object(
  {
    psnr: nullable(Type.Number()),
    ssim: nullable(Type.Number()),
    inputPsnr: nullable(Type.Number()),
    loss: Type.Number(),
    dataFit: Type.Number(),
    zNorm: Type.Number(),
    iterations: Type.Integer(),
    evaluations: Type.Integer(),
    wallMs: Type.Number(),
    backend: Type.String(),
    batchId: Type.String(),
    batchSize: Type.Integer(),
    diverged: Type.Boolean(),
    stopReason: Type.String(),
    method: Type.String(),
    model: nullable(Type.String()),
    attempt: Type.Integer(),
    note: nullable(Type.String()),
  },
  { additionalProperties: true },
);

export const JobResponseSchema = Type.Object({
  jobId: Type.String(),
  status: strEnum(['queued', 'running', 'completed', 'failed', 'cancelled'] as const),
  method: Type.String(),
  model: nullable(Type.String()),
  createdAt: Type.String({ format: 'date-time' }),
  startedAt: nullable(Type.String({ format: 'date-time' })),
  finishedAt: nullable(Type.String({ format: 'date-time' })),
  attempts: Type.Integer(),
  progress: nullable(Type.Object({ iteration: Type.Integer(), evaluations: Type.Integer(), loss: Type.Number() })),
  metrics: nullable(JobMetricsSchema),
  error: nullable(Type.String()),
  links: Type.Object({
    self: Type.String(),
    result: nullable(Type.String()),
    panel: nullable(Type.String()),
    metrics: nullable(Type.String()),
  }, { description: 'result links once completed: presigned S3 URLs, or URLs of this API' }),
});

export const CancelResponseSchema = Type.Object({
  jobId: Type.String(),
  status: strEnum(['cancelled', 'cancelling'] as const),
});

export const JobParamsSchema = Type.Object({
  id: Type.String({ pattern: JOB_ID_PATTERN, description: 'job id (UUID)' }),
});

export const FileQuerySchema = Type.Object(
  {
    redirect: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')], { description: 'false: stream through the API even when the store can presign' })),
  },
  { additionalProperties: false },
);

export const ErrorSchema = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    field: Type.Optional(Type.String()),
    limit: Type.Optional(Type.Number()),
  }),
  requestId: Type.String(),
});

export const ModelSchema = Type.Object({
  name: Type.String(),
  kind: Type.String(),
  imageShape: Type.Array(Type.Integer()),
  n: Type.Integer(),
  latentDim: Type.Integer(),
  parameters: Type.Integer(),
  isDefault: Type.Boolean(),
  metadata: Type.Record(Type.String(), Type.Unknown()),
});

export const MethodSchema = Type.Object({
  name: Type.String(),
  kind: strEnum(['prior', 'baseline'] as const),
  model: nullable(Type.String()),
  description: Type.String(),
  operators: Type.Array(Type.String()),
});

export const QueueResponseSchema = Type.Object({
  waiting: Type.Integer(),
  prioritized: Type.Integer(),
  active: Type.Integer(),
  delayed: Type.Integer(),
  completed: Type.Integer(),
  failed: Type.Integer(),
  total: Type.Integer({ description: 'waiting + prioritized + active: the load a worker autoscaler should follow' }),
});

export const HealthSchema = Type.Object({ status: Type.String() });
export const ReadySchema = Type.Object({
  status: strEnum(['ready', 'unavailable'] as const),
  checks: Type.Record(Type.String(), Type.String()),
});

export const errorResponses = {
  400: ErrorSchema,
  401: ErrorSchema,
  404: ErrorSchema,
  409: ErrorSchema,
  413: ErrorSchema,
  429: ErrorSchema,
  503: ErrorSchema,
} as const;

