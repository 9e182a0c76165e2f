import type * as tfType from '@tensorflow/tfjs';
import type { ImageShape } from '../../models/prior.ts';

/**
 * An orthonormal basis Ψ of the image space, applied as a fast transform on a batch of flat HWC images.
 * Orthonormality (Ψᵀ = Ψ⁻¹) is what lets FISTA use `synthesis` as Ψ and `analysis` as Ψᵀ, and keeps the
 * Lipschitz constant of c ↦ A·Ψc equal to that of A.
 */
export interface SparsityBasis {
  readonly name: 'dct' | 'haar';
  readonly imageShape: ImageShape;
  /** Coefficients c = Ψᵀx: [B, n] images → [B, n] coefficients (layout private to the basis). */
  analysis(x: tfType.Tensor2D): tfType.Tensor2D;
  /** Images x = Ψc: [B, n] coefficients → [B, n] flat HWC images. */
  synthesis(c: tfType.Tensor2D): tfType.Tensor2D;
  dispose(): void;
}
