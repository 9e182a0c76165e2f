// The comparison methods of the paper, selectable by name next to the Glow prior.
import type { BaselineMethod, MethodName } from '../methods/types.ts';
import { bm3d } from './bm3d/method.ts';
import { lassoDct, lassoWvt } from './lasso/method.ts';

export { bm3d } from './bm3d/method.ts';
export { bm3dDenoise, bm3dStages, bm3dParamsFor, BM3D_PARAMS_LOW_NOISE, BM3D_PARAMS_HIGH_NOISE } from './bm3d/bm3d.ts';
export type { Bm3dParams, Bm3dStageParams } from './bm3d/bm3d.ts';
export { estimateNoiseSigma } from './bm3d/noise_estimate.ts';
export { lassoDct, lassoWvt, createLassoMethod, DEFAULT_LASSO_TOLERANCE } from './lasso/method.ts';
export { REFERENCE_LAMBDA, AUTO_LAMBDA_FRACTIONS, chooseLambdas, lambdaMax } from './lasso/lambda.ts';
export { solveLassoBatch } from './lasso/fista.ts';
export type { LassoProblem, LassoSolution, FistaOptions } from './lasso/fista.ts';
export { createDctBasis } from './lasso/dct.ts';
export { createHaarBasis } from './lasso/haar.ts';
export type { SparsityBasis } from './lasso/basis.ts';
export { solveDcganPrior, restartLatents, DEFAULT_DCGAN_RESTARTS, DCGAN_INIT_STD } from './dcgan_prior.ts';
export { DEFAULT_IMAGE_SHAPE, type BaselineOptions } from './options.ts';

/** The baselines that need no trained model, by method name (the DCGAN prior needs one: solveDcganPrior). */
export const BASELINE_METHODS: Partial<Record<MethodName, BaselineMethod>> = {
  'lasso-dct': lassoDct,
  'lasso-wvt': lassoWvt,
  bm3d,
};
