import type * as tfType from '@tensorflow/tfjs';
import type { ImageShape } from '../models/prior.ts';

/**
 * Operator specs, as JSON. Images are flattened in HWC order (row, column, colour) of [0,1] pixels:
 * index = (row·W + col)·C + channel. Every operator works on a batch of flat images [B, n].
 */
export type OperatorSpec =
  | { type: 'identity' }
  | { type: 'gaussian'; m: number; seed: number }
  | { type: 'mask'; box?: [row: number, col: number, height: number, width: number]; fraction?: number; seed?: number; mask?: string /* PNG base64: white = observed */ }
  | { type: 'downsample'; factor: number }
  | { type: 'blur'; sigma: number; size?: number };

export interface LinearOperator {
  readonly spec: OperatorSpec;
  /** Image size n = H·W·C. */
  readonly n: number;
  /** Number of measurements. */
  readonly m: number;
  readonly imageShape: ImageShape;
  /** [B, n] → [B, m]. Differentiable (used inside tf.grad). */
  apply(x: tfType.Tensor2D): tfType.Tensor2D;
  /** [B, m] → [B, n]. ⟨A x, y⟩ = ⟨x, Aᵀ y⟩. */
  adjoint(y: tfType.Tensor2D): tfType.Tensor2D;
  /**
   * What the measurements look like as an image [H', W', C] in [0,1], for panels
   * (e.g. the masked image, the low-resolution image, Aᵀy rescaled); null when nothing sensible exists.
   */
  view(y: Float32Array): { data: Float32Array; shape: ImageShape } | null;
  dispose(): void;
}

/** Additive noise on the measurements, seeded. */
export type NoiseSpec =
  | { type: 'none' }
  | { type: 'gaussian'; sigma: number; seed: number } // η ~ N(0, σ² I)
  | { type: 'gaussian-norm'; norm: number; seed: number }; // η = N(0, I_m)·norm/√m (‖η‖ ≈ norm), the paper's CS noise
