import { ValidationError } from '../errors.ts';
import type { NoiseSpec, OperatorSpec } from './operator.ts';

/** The paper's problem families, as named on the command line and in `flowprior eval`. */
export const PROBLEM_KINDS = ['cs', 'denoise', 'inpaint', 'superres', 'deblur'] as const;
export type ProblemKind = (typeof PROBLEM_KINDS)[number];

export interface PresetOptions {
  m?: number;
  sigma?: number;
  noiseNorm?: number;
  box?: [number, number, number, number];
  fraction?: number;
  factor?: number;
  blurSigma?: number;
  seed?: number;
}

export interface ProblemPreset {
  operator: OperatorSpec;
  noise: NoiseSpec;
  /** γ that suits the problem with the ‖z‖ penalty (PAPER.md): 0 where starting at z₀ = 0 regularises enough. */
  gamma: number;
}

/**
 * Defaults follow the paper: CS with A ~ N(0, 1/m) and ‖η‖ ≈ 0.1; denoising at σ = 0.1 with γ = 1 (‖z‖ penalty);
 * inpainting a 19×19 hole at rows/columns 22–40 with no noise; super-resolution ×4 and Gaussian deblurring
 * (σ_blur = 1.5) with light noise (σ = 0.01).
 */
export function problemPreset(kind: string, o: PresetOptions = {}): ProblemPreset {
  const seed = o.seed ?? 0;
  const gaussian = (sigma: number): NoiseSpec => (sigma > 0 ? { type: 'gaussian', sigma, seed: seed + 1 } : { type: 'none' });
  switch (kind) {
    case 'cs':
      return {
        operator: { type: 'gaussian', m: o.m ?? 2500, seed },
        noise: o.sigma !== undefined ? gaussian(o.sigma) : { type: 'gaussian-norm', norm: o.noiseNorm ?? 0.1, seed: seed + 1 },
        gamma: 0,
      };
    case 'denoise':
      return { operator: { type: 'identity' }, noise: gaussian(o.sigma ?? 0.1), gamma: 1 };
    case 'inpaint':
      return {
        operator: o.fraction !== undefined ? { type: 'mask', fraction: o.fraction, seed } : { type: 'mask', box: o.box ?? [22, 22, 19, 19] },
        noise: gaussian(o.sigma ?? 0),
        gamma: 0,
      };
    case 'superres':
      return { operator: { type: 'downsample', factor: o.factor ?? 4 }, noise: gaussian(o.sigma ?? 0.01), gamma: 0 };
    case 'deblur':
      return { operator: { type: 'blur', sigma: o.blurSigma ?? 1.5 }, noise: gaussian(o.sigma ?? 0.01), gamma: 0 };
    default:
      throw new ValidationError('problem', `unknown problem "${kind}"; one of ${PROBLEM_KINDS.join(', ')}`);
  }
}
