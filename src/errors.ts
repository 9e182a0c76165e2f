// One error class per failure class; the service maps each class to an HTTP status in one place.

/** A request or spec is invalid. `field` is a dotted path to the offending value (e.g. "operator.m"). */
export class ValidationError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'ValidationError';
    this.field = field;
  }
}

/** Something named (a model, a job, an operator type) does not exist. */
export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

/** The request conflicts with the current state (e.g. a job that already finished). */
export class ConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}

/** A model could not be loaded or does not fit the request. */
export class ModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelError';
  }
}

/** A solver could not produce any finite result (every problem in the call failed). */
export class SolverError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SolverError';
  }
}

/** Reading or writing results failed. */
export class StorageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StorageError';
  }
}

/** The queue backend (Redis) is unreachable; the request may succeed later. */
export class QueueUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'QueueUnavailableError';
  }
}

/** Missing or unknown credentials. The message never echoes the credential. */
export class AuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthError';
  }
}

/** A per-client limit (queued jobs, request rate) was reached. */
export class LimitExceededError extends Error {
  readonly limit: number;
  constructor(message: string, limit: number) {
    super(message);
    this.name = 'LimitExceededError';
    this.limit = limit;
  }
}

/** A request body or an embedded file exceeds its size limit. */
export class PayloadTooLargeError extends Error {
  readonly field: string;
  readonly limit: number;
  constructor(field: string, limit: number, message?: string) {
    super(message ?? `${field}: larger than the limit of ${limit} bytes`);
    this.name = 'PayloadTooLargeError';
    this.field = field;
    this.limit = limit;
  }
}

/** The service configuration (environment variables) is invalid; lists every problem at once. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** A job was cancelled by its owner before it finished. */
export class CancelledError extends Error {
  constructor(message = 'cancelled') {
    super(message);
    this.name = 'CancelledError';
  }
}
