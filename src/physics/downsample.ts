// Super-resolution: k×k average pooling per channel; y is the low-resolution image [H/k, W/k, C] in HWC order.
import { tf } from '../engine/index.ts';
import type * as tfType from '@tensorflow/tfjs';
import type { ImageShape } from '../models/prior.ts';
import { ValidationError } from '../errors.ts';
import { checkBatch, clip01, FIELD, imageSize, rejectUnknownKeys, requireInteger, withAdjointGradient } from './common.ts';
import type { OperatorDefinition } from './definition.ts';
import type { LinearOperator } from './operator.ts';

type DownsampleSpec = { type: 'downsample'; factor: number };

class DownsampleOperator implements LinearOperator {
  readonly n: number;
  readonly m: number;
  private readonly k: number;
  private readonly low: ImageShape;
  readonly apply: (x: tfType.Tensor2D) => tfType.Tensor2D;

  constructor(
    readonly spec: DownsampleSpec,
    readonly imageShape: ImageShape,
  ) {
    const [h, w, c] = imageShape;
    this.k = spec.factor;
    this.low = [h / this.k, w / this.k, c];
    this.n = imageSize(imageShape);
    this.m = imageSize(this.low);
    const forward = (x: tfType.Tensor2D): tfType.Tensor2D => {
      checkBatch(x, this.n, 'downsample.apply');
      const [lh, lw] = this.low;
      return tf.tidy(() =>
        tf.reshape(tf.mean(tf.reshape(x, [x.shape[0], lh, this.k, lw, this.k, c]), [2, 4]), [x.shape[0], this.m]),
      );
    };
    this.apply = withAdjointGradient(forward, (y) => this.adjoint(y));
  }

  /** Each low-resolution value spread over its k×k block with weight 1/k². */
  adjoint(y: tfType.Tensor2D): tfType.Tensor2D {
    checkBatch(y, this.m, 'downsample.adjoint');
    const [lh, lw, c] = this.low;
    const b = y.shape[0];
    return tf.tidy(() => {
      const blocks = tf.tile(tf.reshape(y, [b, lh, 1, lw, 1, c]), [1, 1, this.k, 1, this.k, 1]);
      return tf.reshape(tf.mul(blocks, 1 / (this.k * this.k)), [b, this.n]);
    });
  }

  view(y: Float32Array): { data: Float32Array; shape: ImageShape } {
    return { data: clip01(y), shape: this.low };
  }

  dispose(): void {}
}

export const downsampleOperator: OperatorDefinition<DownsampleSpec> = {
  type: 'downsample',
  description: 'Super-resolution: k×k average pooling (factor k divides height and width).',
  jsonSchema: (imageShape) => ({
    type: 'object',
    description: 'Super-resolution: y is the k×k average-pooled image, HWC order, m = n/k².',
    properties: {
      type: { const: 'downsample' },
      factor: {
        type: 'integer',
        minimum: 1,
        ...(imageShape ? { maximum: Math.min(imageShape[0], imageShape[1]) } : {}),
        description: 'pooling factor k; must divide the image height and width (64: 1, 2, 4, 8, 16, 32, 64)',
      },
    },
    required: ['type', 'factor'],
    additionalProperties: false,
  }),
  validate(spec, imageShape) {
    rejectUnknownKeys(spec, ['type', 'factor']);
    const [h, w] = imageShape;
    const k = requireInteger(spec.factor, `${FIELD}.factor`, 1, Math.min(h, w));
    if (h % k !== 0 || w % k !== 0) {
      throw new ValidationError(`${FIELD}.factor`, `must divide the image size ${h}×${w}, got ${k}`);
    }
  },
  create: (spec, imageShape) => new DownsampleOperator(spec, imageShape),
};
