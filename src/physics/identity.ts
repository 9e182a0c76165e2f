// A = I: denoising. y = x + η, m = n.
import { tf } from '../engine/index.ts';
import type * as tfType from '@tensorflow/tfjs';
import type { ImageShape } from '../models/prior.ts';
import { checkBatch, clip01, imageSize, rejectUnknownKeys } from './common.ts';
import type { OperatorDefinition } from './definition.ts';
import type { LinearOperator } from './operator.ts';

type IdentitySpec = { type: 'identity' };

class IdentityOperator implements LinearOperator {
  readonly spec: IdentitySpec = { type: 'identity' };
  readonly n: number;
  readonly m: number;

  constructor(readonly imageShape: ImageShape) {
    this.n = imageSize(imageShape);
    this.m = this.n;
  }

  apply(x: tfType.Tensor2D): tfType.Tensor2D {
    checkBatch(x, this.n, 'identity.apply');
    return tf.reshape(x, x.shape); // a new handle on the same data: callers may dispose input and output independently
  }

  adjoint(y: tfType.Tensor2D): tfType.Tensor2D {
    checkBatch(y, this.m, 'identity.adjoint');
    return tf.reshape(y, y.shape);
  }

  view(y: Float32Array): { data: Float32Array; shape: ImageShape } {
    return { data: clip01(y), shape: this.imageShape };
  }

  dispose(): void {}
}

export const identityOperator: OperatorDefinition<IdentitySpec> = {
  type: 'identity',
  description: 'Identity (denoising): y = x + noise, m = n.',
  jsonSchema: () => ({
    type: 'object',
    description: 'Identity (denoising): y = x + noise, m = n.',
    properties: { type: { const: 'identity' } },
    required: ['type'],
    additionalProperties: false,
  }),
  validate(spec) {
    rejectUnknownKeys(spec, ['type']);
  },
  create: (_spec, imageShape) => new IdentityOperator(imageShape),
};
