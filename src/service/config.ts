import { SHIPPED_MODELS_DIR } from '../paths.ts';
import { ConfigError } from '../errors.ts';
import { METHOD_NAMES, type MethodName } from '../methods/types.ts';

/** Which process the configuration is for; it decides what is required (API keys outside standalone). */
export type ServiceMode = 'api' | 'worker' | 'standalone';
export type BackendChoice = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface S3Config {
  endpoint: string | null;
  /** Host clients use to fetch presigned URLs (presigned URLs embed the host they were signed for). */
  publicEndpoint: string | null;
  region: string;
  bucket: string;
  accessKey: string | null;
  secretKey: string | null;
  presignSeconds: number;
}

export interface ServiceConfig {
  mode: ServiceMode;
  port: number;
  host: string;
  redisUrl: string;
  queueName: string;
  storage: 's3' | 'local';
  resultsDir: string;
  s3: S3Config;
  apiKeys: string[];
  rateLimitPerMin: number;
  maxQueuedPerKey: number;
  bodyLimitBytes: number;
  maxImageBytes: number;
  maxImagePixels: number;
  maxEvaluations: number;
  batchMax: number;
  batchWaitMs: number;
  modelsDir: string;
  glowModel: string;
  dcganModel: string;
  workerMethods: MethodName[];
  jobAttempts: number;
  jobBackoffMs: number;
  jobLockMs: number;
  stalledIntervalMs: number;
  keepJobsSeconds: number;
  workerMetricsPort: number;
  logLevel: LogLevel;
  backend: BackendChoice | null;
  /** Fault injection: MiB of wasm heap a worker holds from the start, so that real batches reach the 4 GiB ceiling. */
  wasmBallastMb: number;
  /** A worker whose event loop is blocked this long kills itself (0: never). */
  watchdogSeconds: number;
}

/** Every variable with its default and meaning; docs/configuration.md is written from the same facts. */
export const CONFIG_VARIABLES = [
  'PORT', 'HOST', 'REDIS_URL', 'QUEUE_NAME', 'STORAGE', 'RESULTS_DIR', 'S3_ENDPOINT', 'S3_PUBLIC_ENDPOINT', 'S3_REGION',
  'S3_BUCKET', 'S3_ACCESS_KEY', 'S3_SECRET_KEY', 'S3_PRESIGN_SECONDS', 'API_KEYS', 'RATE_LIMIT_PER_MIN',
  'MAX_QUEUED_PER_KEY', 'BODY_LIMIT_BYTES', 'MAX_IMAGE_BYTES', 'MAX_IMAGE_PIXELS', 'MAX_EVALUATIONS', 'BATCH_MAX',
  'BATCH_WAIT_MS', 'MODELS_DIR', 'GLOW_MODEL', 'DCGAN_MODEL', 'WORKER_METHODS', 'JOB_ATTEMPTS', 'JOB_BACKOFF_MS',
  'JOB_LOCK_MS', 'STALLED_INTERVAL_MS', 'KEEP_JOBS_SECONDS', 'WORKER_METRICS_PORT', 'LOG_LEVEL', 'FLOWPRIOR_BACKEND',
  'WASM_BALLAST_MB', 'WATCHDOG_SECONDS',
] as const;

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const BACKENDS: readonly BackendChoice[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

class Reader {
  readonly problems: string[] = [];
  constructor(private readonly env: Record<string, string | undefined>) {}

  private raw(name: string): string | undefined {
    const v = this.env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  }

  str(name: string, fallback: string, pattern?: RegExp): string {
    const v = this.raw(name) ?? fallback;
    if (pattern && !pattern.test(v)) this.problems.push(`${name}=${JSON.stringify(v)} must match ${pattern}`);
    return v;
  }

  optional(name: string): string | null {
    return this.raw(name) ?? null;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max) {
      this.problems.push(`${name}=${JSON.stringify(v)} must be an integer in [${min}, ${max}]`);
      return fallback;
    }
    return n;
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(v)) {
      this.problems.push(`${name}=${JSON.stringify(v)} must be one of ${allowed.join(', ')}`);
      return fallback;
    }
    return v as T;
  }

  url(name: string, fallback: string | null, protocols: string[]): string | null {
    const v = this.raw(name) ?? fallback;
    if (v === null) return null;
    try {
      const u = new URL(v);
      if (!protocols.includes(u.protocol)) throw new Error('protocol');
    } catch {
      this.problems.push(`${name}=${JSON.stringify(redactUrl(v))} must be a URL (${protocols.join(' or ')})`);
    }
    return v;
  }

  list(name: string): string[] {
    const v = this.raw(name);
    return v === undefined ? [] : v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  }
}

function redactUrl(v: string): string {
  return v.replace(/\/\/[^@/]*@/, '//***@');
}

/** Parses and validates the environment once, reporting every problem together. */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  opts: { mode?: ServiceMode } = {},
): ServiceConfig {
  const mode = opts.mode ?? 'api';
  const r = new Reader(env);
  const storage = mode === 'standalone' ? 'local' : r.oneOf('STORAGE', 'local', ['s3', 'local'] as const);
  const apiKeys = r.list('API_KEYS');
  for (const k of apiKeys) {
    if (k.length < 16) r.problems.push('API_KEYS: every key must be at least 16 characters');
  }
  if (mode === 'api' && apiKeys.length === 0) {
    r.problems.push('API_KEYS is required for the API (comma-separated keys); only standalone mode may run without keys');
  }
  const methods = r.list('WORKER_METHODS');
  const workerMethods = (methods.length ? methods : [...METHOD_NAMES]) as MethodName[];
  for (const m of workerMethods) {
    if (!(METHOD_NAMES as readonly string[]).includes(m)) {
      r.problems.push(`WORKER_METHODS: unknown method ${JSON.stringify(m)} (known: ${METHOD_NAMES.join(', ')})`);
    }
  }
  const s3: S3Config = {
    endpoint: r.url('S3_ENDPOINT', null, ['http:', 'https:']),
    publicEndpoint: r.url('S3_PUBLIC_ENDPOINT', null, ['http:', 'https:']),
    region: r.str('S3_REGION', 'us-east-1', /^[a-z0-9-]{2,40}$/),
    bucket: r.str('S3_BUCKET', 'flowprior', /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/),
    accessKey: r.optional('S3_ACCESS_KEY'),
    secretKey: r.optional('S3_SECRET_KEY'),
    presignSeconds: r.int('S3_PRESIGN_SECONDS', 900, 1, 7 * 24 * 3600),
  };
  if (storage === 's3' && (s3.accessKey === null) !== (s3.secretKey === null)) {
    r.problems.push('S3_ACCESS_KEY and S3_SECRET_KEY must be set together (or both left out to use the default AWS credential chain)');
  }
  const backendRaw = env.FLOWPRIOR_BACKEND?.trim();
  const config: ServiceConfig = {
    mode,
    port: r.int('PORT', 8080, 0, 65535),
    host: r.str('HOST', mode === 'standalone' ? '127.0.0.1' : '0.0.0.0'),
    redisUrl: r.url('REDIS_URL', 'redis://127.0.0.1:6379', ['redis:', 'rediss:']) as string,
    queueName: r.str('QUEUE_NAME', 'flowprior', /^[A-Za-z0-9_-]{1,64}$/),
    storage,
    resultsDir: r.str('RESULTS_DIR', './.flowprior/results'),
    s3,
    apiKeys,
    rateLimitPerMin: r.int('RATE_LIMIT_PER_MIN', 120, 1, 1_000_000),
    maxQueuedPerKey: r.int('MAX_QUEUED_PER_KEY', 50, 1, 1_000_000),
    bodyLimitBytes: r.int('BODY_LIMIT_BYTES', 8 * 1024 * 1024, 1024, 256 * 1024 * 1024),
    maxImageBytes: r.int('MAX_IMAGE_BYTES', 4 * 1024 * 1024, 1024, 256 * 1024 * 1024),
    maxImagePixels: r.int('MAX_IMAGE_PIXELS', 2048 * 2048, 64 * 64, 100_000_000),
    maxEvaluations: r.int('MAX_EVALUATIONS', 2000, 1, 1_000_000),
    batchMax: r.int('BATCH_MAX', 6, 1, 64),
    batchWaitMs: r.int('BATCH_WAIT_MS', 250, 0, 60_000),
    modelsDir: r.str('MODELS_DIR', SHIPPED_MODELS_DIR),
    glowModel: r.str('GLOW_MODEL', 'glow-celeba64', NAME),
    dcganModel: r.str('DCGAN_MODEL', 'dcgan-celeba64', NAME),
    workerMethods,
    jobAttempts: r.int('JOB_ATTEMPTS', 3, 1, 100),
    jobBackoffMs: r.int('JOB_BACKOFF_MS', 2000, 0, 3_600_000),
    jobLockMs: r.int('JOB_LOCK_MS', 60_000, 1000, 3_600_000),
    stalledIntervalMs: r.int('STALLED_INTERVAL_MS', 30_000, 500, 3_600_000),
    keepJobsSeconds: r.int('KEEP_JOBS_SECONDS', 24 * 3600, 1, 365 * 24 * 3600),
    workerMetricsPort: r.int('WORKER_METRICS_PORT', 9464, 0, 65535),
    logLevel: r.oneOf('LOG_LEVEL', 'info', LOG_LEVELS),
    backend: backendRaw ? r.oneOf('FLOWPRIOR_BACKEND', 'wasm', BACKENDS) : null,
    wasmBallastMb: r.int('WASM_BALLAST_MB', 0, 0, 4000),
    watchdogSeconds: r.int('WATCHDOG_SECONDS', 300, 0, 86_400),
  };
  if (r.problems.length) throw new ConfigError(r.problems);
  return config;
}
