import type { ImageShape } from '../../models/prior.ts';
import { observedPixels } from '../../physics/mask.ts';
import type { OperatorSpec } from '../../physics/operator.ts';
import { operatorJsonSchemas, validateOperatorSpec } from '../../physics/registry.ts';
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
