// Operators by name. Adding an operator = one file exporting an OperatorDefinition + one line in OPERATORS.
import { createHash } from 'node:crypto';
import type { ImageShape } from '../models/prior.ts';
import { ValidationError } from '../errors.ts';
import { blurOperator } from './blur.ts';
import { checkImageShape, FIELD, type JsonSchema } from './common.ts';
import type { OperatorDefinition } from './definition.ts';
import { downsampleOperator } from './downsample.ts';
import { gaussianOperator } from './gaussian.ts';
import { identityOperator } from './identity.ts';
import type { LinearOperator, OperatorSpec } from './operator.ts';
import { maskOperator, observedPixels } from './mask.ts';

export type OperatorType = OperatorSpec['type'];

const OPERATORS: { [T in OperatorType]: OperatorDefinition<Extract<OperatorSpec, { type: T }>> } = {
  identity: identityOperator,
  gaussian: gaussianOperator,
  mask: maskOperator,
  downsample: downsampleOperator,
  blur: blurOperator,
};

export const OPERATOR_TYPES = Object.keys(OPERATORS) as OperatorType[];

function definitionOf(spec: unknown): OperatorDefinition {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    throw new ValidationError(FIELD, 'must be an object with a "type" field');
  }
  const type = (spec as { type?: unknown }).type;
  if (typeof type !== 'string' || !Object.hasOwn(OPERATORS, type)) {
    throw new ValidationError(`${FIELD}.type`, `must be one of ${OPERATOR_TYPES.join(', ')}, got ${JSON.stringify(type)}`);
  }
  return OPERATORS[type as OperatorType] as OperatorDefinition;
}

/** Throws ValidationError (field + limit) unless `spec` is a valid operator for images of `imageShape`. */
export function validateOperatorSpec(spec: unknown, imageShape: ImageShape): asserts spec is OperatorSpec {
  checkImageShape(imageShape);
  definitionOf(spec).validate(spec as OperatorSpec, imageShape);
}

/** Validates and builds. The caller owns the result and must dispose() it (the gaussian A can be 600 MB). */
/** m for a valid spec, without building the operator (a gaussian A can be 600 MB). */
export function measurementCount(spec: OperatorSpec, imageShape: ImageShape): number {
  const [h, w, c] = imageShape;
  switch (spec.type) {
    case 'identity':
    case 'blur':
      return h * w * c;
    case 'gaussian':
      return spec.m;
    case 'downsample':
      return (h / spec.factor) * (w / spec.factor) * c;
    case 'mask': {
      let observed = 0;
      for (const v of observedPixels(spec, imageShape)) observed += v;
      return observed * c;
    }
  }
}

export function createOperator(spec: OperatorSpec, imageShape: ImageShape): LinearOperator {
  validateOperatorSpec(spec, imageShape);
  return definitionOf(spec).create(spec, imageShape);
}

/** JSON Schema of each operator spec by type; with an image shape, the shape-dependent limits are filled in. */
export function operatorJsonSchemas(imageShape?: ImageShape): Record<OperatorType, JsonSchema> {
  const out = {} as Record<OperatorType, JsonSchema>;
  for (const type of OPERATOR_TYPES) out[type] = OPERATORS[type].jsonSchema(imageShape);
  return out;
}

/**
 * A canonical string per operator: equal keys ⇔ the same matrix A (for one image shape). Used to share one
 * operator between problems of a batch; a mask PNG enters by its SHA-256.
 */
export function operatorKey(spec: OperatorSpec): string {
  const entries = Object.entries(spec)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => [k, k === 'mask' && typeof v === 'string' ? sha256(v) : v] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify(entries);
}

function sha256(s: string): string {
  return 'sha256:' + createHash('sha256').update(s).digest('hex');
}
