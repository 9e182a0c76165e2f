import type { ImageShape } from '../models/prior.ts';
import type { JsonSchema } from './common.ts';
import type { LinearOperator, OperatorSpec } from './operator.ts';

/** What one operator file contributes to the registry. */
export interface OperatorDefinition<S extends OperatorSpec = OperatorSpec> {
  readonly type: S['type'];
  readonly description: string;
  /** JSON Schema of the spec; with an image shape, the shape-dependent limits (m ≤ n, box inside) are included. */
  jsonSchema(imageShape?: ImageShape): JsonSchema;
  /** Throws ValidationError naming the field and the limit. */
  validate(spec: S, imageShape: ImageShape): void;
  /** Builds the operator from a validated spec. */
  create(spec: S, imageShape: ImageShape): LinearOperator;
}
