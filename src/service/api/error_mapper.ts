import {
  AuthError,
  CancelledError,
  ConflictError,
  LimitExceededError,
  ModelError,
  NotFoundError,
  PayloadTooLargeError,
  QueueUnavailableError,
  StorageError,
  ValidationError,
} from '../../errors.ts';

/** The body of every error answer. */
/** Longest path parameter the router accepts (job ids are at most 128 characters). */
export const MAX_PARAM_LENGTH = 200;

export interface ErrorBody {
  error: {
    code: string;
    message: string;
    /** Dotted path of the offending request field, when one is to blame. */
    field?: string;
    limit?: number;
  };
  requestId: string;
}

export interface MappedError {
  status: number;
  code: string;
  message: string;
  field?: string;
  limit?: number;
  /** Whether the failure is ours (logged as an error) rather than the client's. */
  internal: boolean;
}

interface AjvError {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

interface FastifyLikeError extends Error {
  code?: string;
  statusCode?: number;
  validation?: AjvError[];
  validationContext?: string;
}

function ajvField(context: string | undefined, e: AjvError): string {
  const path = (e.instancePath ?? '')
    .split('/')
    .filter(Boolean)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (e.keyword === 'required' && typeof e.params?.missingProperty === 'string') path.push(e.params.missingProperty);
  if (e.keyword === 'additionalProperties' && typeof e.params?.additionalProperty === 'string') path.push(e.params.additionalProperty);
  const field = path.join('.');
  if (context && context !== 'body') return field ? `${context}.${field}` : context;
  return field || 'body';
}

function ajvLimit(e: AjvError): number | undefined {
  const l = e.params?.limit;
  return typeof l === 'number' ? l : undefined;
}

function ajvMessage(e: AjvError): string {
  if (e.keyword === 'additionalProperties') return 'unknown field';
  if (e.keyword === 'enum' && Array.isArray(e.params?.allowedValues)) {
    return `must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return e.message ?? 'is invalid';
}

/** The one place where failures become HTTP statuses. Never exposes a stack trace or an internal message. */
export function mapError(err: unknown): MappedError {
  if (err instanceof ValidationError) {
    return { status: 400, code: 'VALIDATION', message: err.message, field: err.field, internal: false };
  }
  if (err instanceof PayloadTooLargeError) {
    return { status: 413, code: 'PAYLOAD_TOO_LARGE', message: err.message, field: err.field, limit: err.limit, internal: false };
  }
  if (err instanceof NotFoundError) return { status: 404, code: 'NOT_FOUND', message: err.message, internal: false };
  if (err instanceof ConflictError) return { status: 409, code: 'CONFLICT', message: err.message, internal: false };
  if (err instanceof AuthError) return { status: 401, code: 'UNAUTHORIZED', message: err.message, internal: false };
  if (err instanceof LimitExceededError) {
    return { status: 429, code: 'RATE_LIMITED', message: err.message, limit: err.limit, internal: false };
  }
  if (err instanceof CancelledError) return { status: 409, code: 'CANCELLED', message: err.message, internal: false };
  if (err instanceof QueueUnavailableError) {
    return { status: 503, code: 'QUEUE_UNAVAILABLE', message: 'the job queue is unavailable; retry later', internal: true };
  }
  if (err instanceof StorageError) {
    return { status: 503, code: 'STORAGE_UNAVAILABLE', message: 'result storage is unavailable; retry later', internal: true };
  }
  if (err instanceof ModelError) return { status: 503, code: 'MODEL_UNAVAILABLE', message: err.message, internal: true };

  const f = err as FastifyLikeError;
  if (f && Array.isArray(f.validation) && f.validation.length > 0) {
    const first = f.validation[0];
    const field = ajvField(f.validationContext, first);
    const limit = ajvLimit(first);
    return {
      status: 400,
      code: 'VALIDATION',
      message: `${field}: ${ajvMessage(first)}`,
      field,
      ...(limit !== undefined ? { limit } : {}),
      internal: false,
    };
  }
  if (f?.code === 'FST_ERR_BAD_URL') {
    return { status: 400, code: 'BAD_URL', message: 'the URL path is not valid percent-encoding', field: 'url', internal: false };
  }
  if (f?.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return {
      status: 414,
      code: 'URI_TOO_LONG',
      message: `a path parameter is longer than ${MAX_PARAM_LENGTH} characters`,
      field: 'url',
      limit: MAX_PARAM_LENGTH,
      internal: false,
    };
  }
  if (f?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return { status: 413, code: 'PAYLOAD_TOO_LARGE', message: 'request body is larger than the limit', field: 'body', internal: false };
  }
  if (f?.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: 'send application/json', internal: false };
  }
  if (f instanceof SyntaxError || f?.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || f?.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return { status: 400, code: 'INVALID_JSON', message: 'request body is not valid JSON', field: 'body', internal: false };
  }
  const status = typeof f?.statusCode === 'number' ? f.statusCode : 500;
  if (status === 429) return { status, code: 'RATE_LIMITED', message: f.message, internal: false };
  if (status >= 400 && status < 500) {
    // Fastify's own client errors (bad content length, bad URL…): their messages describe the request only.
    return { status, code: f.code ?? 'BAD_REQUEST', message: f.message, internal: false };
  }
  return { status: status >= 500 && status < 600 ? status : 500, code: 'INTERNAL', message: 'internal error', internal: true };
}
