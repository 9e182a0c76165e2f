import { ValidationError } from '../../errors.ts';
import type { BaselineMethod, MethodOptions } from '../../methods/types.ts';
import type { Problem, SolveResult } from '../../solvers/types.ts';
import { imageShapeOf, type BaselineOptions } from '../options.ts';
import { checkGroundTruths, clip01, scoreAgainstTruth } from '../result.ts';
import { BM3D_MIN_SIDE, bm3dDenoise } from './bm3d.ts';
import { estimateNoiseSigma } from './noise_estimate.ts';

function checkBm3dProblem(problem: Problem): void {
  if (problem.operator.type !== 'identity') {
    throw new ValidationError('operator', 'bm3d solves denoising (identity operator) only');
  }
  const y = problem.measurements;
  if (!(y instanceof Float32Array) || y.length === 0) throw new ValidationError('measurements', 'must be a non-empty Float32Array');
  for (let i = 0; i < y.length; i++) {
    if (!Number.isFinite(y[i])) throw new ValidationError('measurements', `value ${i} is not finite`);
  }
}

function sigmaOption(options: MethodOptions): number | undefined {
  const sigma = (options as BaselineOptions).noiseSigma;
  if (sigma !== undefined && !(typeof sigma === 'number' && Number.isFinite(sigma) && sigma >= 0 && sigma <= 1)) {
    throw new ValidationError('noiseSigma', `must be a number in [0, 1] (pixel scale [0,1]), got ${JSON.stringify(sigma)}`);
  }
  return sigma;
}

/**
 * BM3D (colour: CBM3D) as a denoising baseline. σ is options.noiseSigma when given (the problem itself carries no
 * σ), otherwise estimated from each noisy image (noise_estimate.ts). Problems run one after another on the
 * calling thread; the event loop gets a turn between them.
 */
export const bm3d: BaselineMethod = {
  name: 'bm3d',
  check: checkBm3dProblem,
  async solveBatch(problems: Problem[], options: MethodOptions): Promise<SolveResult[]> {
    problems.forEach(checkBm3dProblem);
    const givenSigma = sigmaOption(options);
    const shape = imageShapeOf(options);
    const [h, w, c] = shape;
    checkGroundTruths(problems, shape);
    if (h < BM3D_MIN_SIDE || w < BM3D_MIN_SIDE) {
      throw new ValidationError('imageShape', `bm3d needs images of at least ${BM3D_MIN_SIDE}×${BM3D_MIN_SIDE} pixels`);
    }
    problems.forEach((p, i) => {
      if (p.measurements.length !== h * w * c) {
        throw new ValidationError(`problems[${i}].measurements`, `must have ${h * w * c} values (${h}×${w}×${c}), got ${p.measurements.length}`);
      }
    });
    const results: SolveResult[] = [];
    for (const [i, p] of problems.entries()) {
      const started = performance.now();
      const y = p.measurements;
      const cancelled = options.isCancelled?.(i) ?? false;
      const sigma = givenSigma ?? estimateNoiseSigma(y, h, w, c);
      const image = clip01(cancelled ? y : bm3dDenoise(y, shape, sigma));
      let dataFit = 0;
      for (let k = 0; k < y.length; k++) dataFit += (image[k] - y[k]) ** 2;
      const stages = cancelled ? 0 : 2;
      options.onProgress?.({ problemIndex: i, iteration: stages, evaluations: 0, loss: dataFit });
      results.push({
        image,
        z: new Float32Array(0),
        loss: dataFit,
        dataFit,
        zNorm: 0,
        iterations: stages,
        evaluations: 0,
        stopReason: cancelled ? 'cancelled' : 'converged',
        diverged: false,
        wallMs: performance.now() - started,
        ...scoreAgainstTruth(image, p.groundTruth, shape),
      });
      await new Promise((resolve) => setImmediate(resolve));
    }
    return results;
  },
};
