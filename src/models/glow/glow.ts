import { tf } from '../../engine/index.ts';
import type { ImageShape, LatentPrior } from '../prior.ts';
import { SeededRandom } from '../random.ts';
import { disposeRecord } from '../tensor_data.ts';
import { latentDim, latentShapes, validateGlowConfig, type GlowConfig, type LatentShape } from './config.ts';
import {
  disposeGlowDecoder,
  glowBitsPerDim,
  glowDecode,
  glowEncode,
  prepareGlowDecoder,
  type EncodeResult,
  type GlowDecoder,
} from './flow.ts';
import { checkGlowParams, type GlowParams } from './params.ts';

/**
 * A Glow prior with fixed weights. Images at its edges are NHWC in [0,1]; the flow itself works on image − 0.5.
 * Owns its weight tensors (dispose() frees them).
 */
export class Glow implements LatentPrior {
  readonly kind = 'glow' as const;
  readonly name: string;
  readonly config: GlowConfig;
  readonly latentDim: number;
  readonly latentShapes: LatentShape[];
  readonly imageShape: ImageShape;
  readonly params: GlowParams;
  private decoder: GlowDecoder | null = null;

  constructor(config: GlowConfig, params: GlowParams, opts: { name?: string } = {}) {
    this.config = validateGlowConfig({ ...config });
    checkGlowParams(this.config, params);
    this.params = params;
    this.name = opts.name ?? 'glow';
    this.latentDim = latentDim(this.config);
    this.latentShapes = latentShapes(this.config);
    this.imageShape = [this.config.size, this.config.size, this.config.channels];
  }

  private checkImages(x: tf.Tensor4D): void {
    const [, h, w, c] = x.shape;
    const [H, W, C] = this.imageShape;
    if (h !== H || w !== W || c !== C) throw new Error(`glow: images must be [B, ${H}, ${W}, ${C}], got [${x.shape.join(', ')}]`);
  }

  /** Images (NHWC, [0,1]) → latent z [B, latentDim] and log-det [B] of the flow on x − 0.5 (no quantisation). */
  encode(x: tf.Tensor4D): EncodeResult {
    this.checkImages(x);
    const shifted = tf.sub(x, 0.5) as tf.Tensor4D;
    try {
      return glowEncode(this.params, this.config, shifted);
    } finally {
      shifted.dispose();
    }
  }

  /** Inverse-flow weights, derived once. */
  private getDecoder(): GlowDecoder {
    this.decoder ??= prepareGlowDecoder(this.params, this.config, 0.5);
    return this.decoder;
  }

  /** Drops the derived decoder weights: call after changing `params` in place (e.g. trainer variables). */
  weightsChanged(): void {
    if (this.decoder) disposeGlowDecoder(this.decoder);
    this.decoder = null;
  }

  /** z → image in [0,1] (unclipped) = decode(z) + 0.5. Differentiable with respect to z. */
  generate(z: tf.Tensor2D): tf.Tensor4D {
    return glowDecode(this.getDecoder(), z);
  }

  /** z → model-space image (x − 0.5). */
  decode(z: tf.Tensor2D): tf.Tensor4D {
    return tf.tidy(() => tf.sub(this.generate(z), 0.5) as tf.Tensor4D);
  }

  /** n images from z ~ N(0, temperature²·I), reproducible from the seed. */
  sample(n: number, temperature = 1, seed = 0): tf.Tensor4D {
    const z = new SeededRandom(seed).normals(n * this.latentDim, temperature);
    return tf.tidy(() => this.generate(tf.tensor2d(z, [n, this.latentDim])));
  }

  /** Bits per dimension of images in [0,1] at nBits, no +3 offset: −(log p(x) − n·ln 2^nBits)/(n·ln 2). */
  bitsPerDim(x: tf.Tensor4D, nBits = this.config.nBits): tf.Tensor1D {
    this.checkImages(x);
    return tf.tidy(() => glowBitsPerDim(this.params, this.config, tf.sub(x, 0.5) as tf.Tensor4D, nBits));
  }

  dispose(): void {
    this.weightsChanged();
    disposeRecord(this.params);
  }
}
