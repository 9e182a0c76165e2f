import type * as tfType from '@tensorflow/tfjs';

/** Image shape at the edges of the system: NHWC float32 in [0,1]. */
export type ImageShape = readonly [height: number, width: number, channels: number];

/**
 * A generative prior as the solvers see it: a differentiable map from a flat latent to images.
 * Images are NHWC in [0,1] (unclipped); each prior handles its own pixel offset (Glow: image − 0.5,
 * DCGAN: tanh output (G+1)/2).
 */
export interface LatentPrior {
  readonly kind: 'glow' | 'dcgan';
  readonly name: string;
  readonly latentDim: number;
  readonly imageShape: ImageShape;
  /** z: [B, latentDim] → x: [B, H, W, C]. Must be differentiable w.r.t. z (used inside tf.grad). */
  generate(z: tfType.Tensor2D): tfType.Tensor4D;
  dispose(): void;
}
