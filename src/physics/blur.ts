// Deblurring: per-channel Gaussian blur, 'same' output size with zero padding. The kernel is symmetric and odd-
// sized, so the padding is symmetric and A is a symmetric matrix: the adjoint is the same blur, exactly.
import { tf } from '../engine/index.ts';
import type * as tfType from '@tensorflow/tfjs';
import type { ImageShape } from '../models/prior.ts';
import { ValidationError } from '../errors.ts';
import {
  checkBatch,
  clip01,
  FIELD,
  imageSize,
  rejectUnknownKeys,
  requireInteger,
  requireNumber,
  withAdjointGradient,
} from './common.ts';
import type { OperatorDefinition } from './definition.ts';
import type { LinearOperator } from './operator.ts';

type BlurSpec = { type: 'blur'; sigma: number; size?: number };

export const BLUR_MAX_SIGMA = 16;

/** Default kernel size: ⌈6σ⌉ made odd (covers ±3σ). */
export function defaultBlurSize(sigma: number): number {
  return Math.ceil(6 * sigma) | 1;
}

/** The kernel size used: the given one, else the default capped at the largest useful size (2·min(H, W) − 1). */
export function blurSize(spec: BlurSpec, imageShape: ImageShape): number {
  return spec.size ?? Math.min(defaultBlurSize(spec.sigma), 2 * Math.min(imageShape[0], imageShape[1]) - 1);
}

/** The normalised 1-D Gaussian taps g[i] ∝ exp(−(i − c)²/(2σ²)), i = 0 … size−1, c = (size−1)/2; the 2-D kernel is g gᵀ. */
export function gaussianTaps(sigma: number, size: number): Float64Array {
  const taps = new Float64Array(size);
  const c = (size - 1) / 2;
  let sum = 0;
  for (let i = 0; i < size; i++) {
    taps[i] = Math.exp(-((i - c) ** 2) / (2 * sigma * sigma));
    sum += taps[i] as number;
  }
  for (let i = 0; i < size; i++) taps[i] = (taps[i] as number) / sum;
  return taps;
}

class BlurOperator implements LinearOperator {
  readonly n: number;
  readonly m: number;
  private readonly vertical: tfType.Tensor4D;
  private readonly horizontal: tfType.Tensor4D;
  readonly apply: (x: tfType.Tensor2D) => tfType.Tensor2D;

  constructor(
    readonly spec: BlurSpec,
    readonly imageShape: ImageShape,
  ) {
    this.n = imageSize(imageShape);
    this.m = this.n;
    const size = blurSize(spec, imageShape);
    const taps = Float32Array.from(gaussianTaps(spec.sigma, size));
    const c = imageShape[2];
    // depthwise filters [kh, kw, C, 1]: the same taps for every channel
    const perChannel = new Float32Array(size * c);
    for (let i = 0; i < size; i++) perChannel.fill(taps[i] as number, i * c, (i + 1) * c);
    this.vertical = tf.tensor4d(perChannel, [size, 1, c, 1]);
    this.horizontal = tf.tensor4d(perChannel, [1, size, c, 1]);
    this.apply = withAdjointGradient(
      (x) => {
        checkBatch(x, this.n, 'blur.apply');
        return this.blur(x);
      },
      (y) => this.adjoint(y),
    );
  }

  private blur(x: tfType.Tensor2D): tfType.Tensor2D {
    const [h, w, c] = this.imageShape;
    const b = x.shape[0];
    return tf.tidy(() => {
      const img = tf.reshape(x, [b, h, w, c]) as tfType.Tensor4D;
      const v = tf.depthwiseConv2d(img, this.vertical, 1, 'same');
      return tf.reshape(tf.depthwiseConv2d(v, this.horizontal, 1, 'same'), [b, this.n]);
    });
  }

  adjoint(y: tfType.Tensor2D): tfType.Tensor2D {
    checkBatch(y, this.m, 'blur.adjoint');
    return this.blur(y);
  }

  view(y: Float32Array): { data: Float32Array; shape: ImageShape } {
    return { data: clip01(y), shape: this.imageShape };
  }

  dispose(): void {
    this.vertical.dispose();
    this.horizontal.dispose();
  }
}

export const blurOperator: OperatorDefinition<BlurSpec> = {
  type: 'blur',
  description: 'Deblurring: per-channel Gaussian blur, same size, zero padding (exact adjoint).',
  jsonSchema: (imageShape) => ({
    type: 'object',
    description: 'Deblurring: separable Gaussian blur per channel, output of the same size, zero padding, m = n.',
    properties: {
      type: { const: 'blur' },
      sigma: { type: 'number', exclusiveMinimum: 0, maximum: BLUR_MAX_SIGMA, description: 'standard deviation in pixels' },
      size: {
        type: 'integer',
        minimum: 1,
        ...(imageShape ? { maximum: 2 * Math.min(imageShape[0], imageShape[1]) - 1 } : {}),
        description: 'odd kernel size; default ⌈6σ⌉ made odd (capped at 2·min(H, W) − 1)',
      },
    },
    required: ['type', 'sigma'],
    additionalProperties: false,
  }),
  validate(spec, imageShape) {
    rejectUnknownKeys(spec, ['type', 'sigma', 'size']);
    requireNumber(spec.sigma, `${FIELD}.sigma`, 0, BLUR_MAX_SIGMA, true);
    const maxSize = 2 * Math.min(imageShape[0], imageShape[1]) - 1;
    const size = blurSize(spec, imageShape);
    requireInteger(size, `${FIELD}.size`, 1, maxSize);
    if (size % 2 === 0) throw new ValidationError(`${FIELD}.size`, `must be odd, got ${size}`);
  },
  create: (spec, imageShape) => new BlurOperator(spec, imageShape),
};
