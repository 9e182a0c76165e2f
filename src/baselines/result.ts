import { ValidationError } from '../errors.ts';
import { psnr, ssim } from '../metrics/index.ts';
import type { ImageShape } from '../models/prior.ts';

/** A copy of x clipped to [0,1] (the reconstruction every method returns); NaN becomes 0. */
export function clip01(x: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    out[i] = v > 1 ? 1 : v > 0 ? v : 0;
  }
  return out;
}

/** PSNR and SSIM of a reconstruction against a known ground truth (both HWC in [0,1]); nothing when unknown. */
export function scoreAgainstTruth(
  image: Float32Array,
  truth: Float32Array | undefined,
  shape: ImageShape,
): { psnr?: number; ssim?: number } {
  if (!truth) return {};
  return { psnr: psnr(image, truth), ssim: ssim(image, truth, shape) };
}

/** Ground truths, when given, must be images of the shape being solved for. */
export function checkGroundTruths(problems: ReadonlyArray<{ groundTruth?: Float32Array }>, shape: ImageShape): void {
  const n = shape[0] * shape[1] * shape[2];
  problems.forEach((p, i) => {
    if (p.groundTruth && p.groundTruth.length !== n) {
      throw new ValidationError(`problems[${i}].groundTruth`, `must have ${n} values (${shape.join('×')}), got ${p.groundTruth.length}`);
    }
  });
}
