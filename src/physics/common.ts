// Helpers shared by the operator files: spec checks with field names, the adjoint-as-gradient wrapper, views.
import { tf } from '../engine/index.ts';
import type * as tfType from '@tensorflow/tfjs';
import { ValidationError } from '../errors.ts';
import type { ImageShape } from '../models/prior.ts';

export const FIELD = 'operator';

export function imageSize(shape: ImageShape): number {
  return shape[0] * shape[1] * shape[2];
}

export function checkImageShape(shape: ImageShape): void {
  if (shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new ValidationError('imageShape', `must be [height, width, channels] of positive integers, got ${JSON.stringify(shape)}`);
  }
}

/** `field` is the full dotted path reported to the client, e.g. "operator.m". */
export function requireInteger(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new ValidationError(field, `must be an integer, got ${JSON.stringify(value)}`);
  }
  if (value < min || value > max) {
    throw new ValidationError(field, `must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

export function requireNumber(value: unknown, field: string, min: number, max: number, minExclusive = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new ValidationError(field, `must be a finite number, got ${JSON.stringify(value)}`);
  }
  if ((minExclusive ? value <= min : value < min) || value > max) {
    const lo = minExclusive ? `greater than ${min}` : `at least ${min}`;
    throw new ValidationError(field, `must be ${lo} and at most ${max}, got ${value}`);
  }
  return value;
}

/** Rejects keys a spec does not define, so typos ("sigam") fail loudly instead of silently using defaults. */
export function rejectUnknownKeys(spec: object, allowed: readonly string[]): void {
  for (const key of Object.keys(spec)) {
    if (!allowed.includes(key)) {
      throw new ValidationError(`${FIELD}.${key}`, `unknown field for this operator type (allowed: ${allowed.join(', ')})`);
    }
  }
}

export const SEED_MAX = 4294967295;

/**
 * Wraps a linear map so that its gradient is the given adjoint. Autodiff through a linear map computes exactly
 * the adjoint anyway; doing it explicitly keeps backprop on the fast kernels (no transposed matMul, no
 * gather-gradient kernel, which the wasm backend lacks) and makes "gradient correct" ⇔ "adjoint correct",
 * which the adjoint tests check.
 */
export function withAdjointGradient(
  forward: (x: tfType.Tensor2D) => tfType.Tensor2D,
  adjoint: (y: tfType.Tensor2D) => tfType.Tensor2D,
): (x: tfType.Tensor2D) => tfType.Tensor2D {
  const op = tf.customGrad((...inputs) => {
    const x = inputs[0] as tfType.Tensor2D;
    return { value: forward(x), gradFunc: (dy: tfType.Tensor2D) => adjoint(dy) };
  });
  return (x) => op(x) as tfType.Tensor2D;
}

export function clip01(data: Float32Array): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    out[i] = v > 1 ? 1 : v > 0 ? v : 0; // NaN → 0
  }
  return out;
}

/** Affine rescale of the finite range to [0,1] (for back-projections whose scale means nothing). */
export function rescale01(data: Float32Array): Float32Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of data) {
    if (Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  const out = new Float32Array(data.length);
  if (!(hi > lo)) return out.fill(0.5);
  const s = 1 / (hi - lo);
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    out[i] = Number.isFinite(v) ? (v - lo) * s : 0;
  }
  return out;
}

/** Shape mismatches inside the math are programming errors, not user input: plain Error. */
export function checkBatch(x: tfType.Tensor2D, width: number, what: string): void {
  if (x.rank !== 2 || x.shape[1] !== width) {
    throw new Error(`${what}: expected shape [B, ${width}], got [${x.shape.join(', ')}]`);
  }
}

/** A JSON Schema (2020-12 / OpenAPI 3.1) object. */
export type JsonSchema = Record<string, unknown>;
