import type { ImageShape } from '../../models/prior.ts';
import type { OperatorSpec } from '../../physics/operator.ts';
import { measurementCount, operatorJsonSchemas, validateOperatorSpec } from '../../physics/registry.ts';
import { validateNoiseSpec, noiseJsonSchema } from '../../physics/noise.ts';
import type { NoiseSpec } from '../../physics/operator.ts';

/** What the API needs to know about operators without building one (a gaussian A can be 600 MB). */
export interface OperatorCatalog {
  validate(spec: unknown, imageShape: ImageShape): asserts spec is OperatorSpec;
  /** m for a valid spec. */
  measurementCount(spec: OperatorSpec, imageShape: ImageShape): number;
  validateNoise(noise: unknown): asserts noise is NoiseSpec;
  schemas(imageShape?: ImageShape): Record<string, unknown>;
  noiseSchema(): Record<string, unknown>;
}

export const physicsOperatorCatalog: OperatorCatalog = {
  validate(spec: unknown, imageShape: ImageShape): asserts spec is OperatorSpec {
    validateOperatorSpec(spec, imageShape);
  },
  measurementCount,
  validateNoise(noise: unknown): asserts noise is NoiseSpec {
    validateNoiseSpec(noise);
  },
  schemas: (imageShape) => operatorJsonSchemas(imageShape),
  noiseSchema: () => noiseJsonSchema(),
};
