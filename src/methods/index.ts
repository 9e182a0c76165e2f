import { ModelError, ValidationError } from '../errors.ts';
import type { LatentPrior } from '../models/prior.ts';
import { solveBatch } from '../solvers/solve_batch.ts';
import type { Problem, SolveResult } from '../solvers/types.ts';
import { METHOD_NAMES, MODEL_METHODS, type BaselineMethod, type MethodName, type MethodOptions } from './types.ts';

export * from './types.ts';

/** Baselines are loaded on first use: BM3D and the Lasso transforms cost nothing until a job asks for them. */
const BASELINES: Record<Exclude<MethodName, 'glow' | 'dcgan'>, () => Promise<BaselineMethod>> = {
  'lasso-dct': async () => (await import('../baselines/lasso/method.ts')).lassoDct,
  'lasso-wvt': async () => (await import('../baselines/lasso/method.ts')).lassoWvt,
  bm3d: async () => (await import('../baselines/bm3d/method.ts')).bm3d,
};

export function isMethodName(name: string): name is MethodName {
  return (METHOD_NAMES as readonly string[]).includes(name);
}

export function methodNeedsModel(method: MethodName): boolean {
  return MODEL_METHODS.includes(method);
}

/** Throws ValidationError when `method` cannot solve `problem` (e.g. BM3D on compressive sensing). */
export async function checkMethod(method: MethodName, problem: Problem): Promise<void> {
  if (methodNeedsModel(method)) return;
  (await BASELINES[method as keyof typeof BASELINES]()).check(problem);
}

/**
 * The one numerical entry point of the service and the CLI: solves a batch of problems with a named method.
 * glow uses the latent solver directly; dcgan adds random restarts (Bora et al.); the baselines need no model.
 */
export async function solveWithMethod(
  method: MethodName,
  prior: LatentPrior | null,
  problems: Problem[],
  options: MethodOptions,
): Promise<SolveResult[]> {
  if (!isMethodName(method)) throw new ValidationError('method', `unknown method "${method}"; one of ${METHOD_NAMES.join(', ')}`);
  if (methodNeedsModel(method)) {
    if (!prior) throw new ModelError(`method ${method} needs a loaded ${method} model`);
    if (prior.kind !== method) throw new ModelError(`method ${method} was given a ${prior.kind} model (${prior.name})`);
    if (method === 'dcgan') {
      const { solveDcganPrior } = await import('../baselines/dcgan_prior.ts');
      return solveDcganPrior(prior, problems, options);
    }
    return solveBatch(prior, problems, options);
  }
  const baseline = await BASELINES[method as keyof typeof BASELINES]();
  for (const p of problems) baseline.check(p);
  return baseline.solveBatch(problems, options);
}
