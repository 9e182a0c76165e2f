import { ValidationError } from '../errors.ts';
import type { MethodOptions } from '../methods/types.ts';
import type { LatentPrior } from '../models/prior.ts';
import { solveBatch } from '../solvers/solve_batch.ts';
import type { Problem, SolveResult } from '../solvers/types.ts';
import { fillNormal, Stream } from '../util/random.ts';

/** Bora et al.'s (and the reference's) restarts and initial spread. */
export const DEFAULT_DCGAN_RESTARTS = 3;
export const DCGAN_INIT_STD = 0.1;
export const MAX_DCGAN_RESTARTS = 64;

/**
 * Initial latents of one problem's restarts: restart r takes normals r·d … (r+1)·d − 1 of the problem's
 * (seed, latent-init) stream, times the spread. Restart 0 is therefore exactly the latent solveBatch draws for
 * `init: {type: 'normal', std}` with the same seed, and one restart is a plain solve. A problem that brings its
 * own latent ('given') keeps it for restart 0.
 */
export function restartLatents(problem: Problem, latentDim: number, restarts: number): Float32Array[] {
  const std = problem.init.type === 'normal' ? problem.init.std : DCGAN_INIT_STD;
  return Array.from({ length: restarts }, (_, r) => {
    if (r === 0 && problem.init.type === 'given') return Float32Array.from(problem.init.z);
    const z = new Float32Array(latentDim);
    fillNormal(z, problem.seed, Stream.latentInit, std, r * latentDim);
    return z;
  });
}

/**
 * GAN prior (Bora et al. 2017): min_z ‖A·G(z) − y‖² + γ·penalty(z) over the DCGAN latent from several random starts
 * z₀ ~ N(0, 0.1²); all problems × restarts are one batch through solveBatch (independent optimizers, shared
 * forward passes), and each problem returns the restart with the smallest measurement loss ‖A·G(ẑ) − y‖².
 * A `'zeros'` init is replaced by the random starts (restarts from one point would all be the same solve).
 * wallMs is the whole batch's wall time.
 */
export async function solveDcganPrior(prior: LatentPrior, problems: Problem[], options: MethodOptions): Promise<SolveResult[]> {
  const restarts = options.restarts ?? DEFAULT_DCGAN_RESTARTS;
  if (!Number.isInteger(restarts) || restarts < 1 || restarts > MAX_DCGAN_RESTARTS) {
    throw new ValidationError('restarts', `must be an integer between 1 and ${MAX_DCGAN_RESTARTS}, got ${restarts}`);
  }
  if (prior.kind !== 'dcgan') throw new ValidationError('prior', `the DCGAN prior needs a dcgan model, got ${prior.kind}`);
  if (problems.length === 0) return [];
  const expanded: Problem[] = [];
  for (const p of problems) {
    for (const z of restartLatents(p, prior.latentDim, restarts)) expanded.push({ ...p, init: { type: 'given', z } });
  }
  const { onProgress, isCancelled } = options;
  const results = await solveBatch(prior, expanded, {
    ...options,
    // The caller numbers problems, not restarts.
    onProgress: onProgress && ((p) => onProgress({ ...p, problemIndex: Math.floor(p.problemIndex / restarts) })),
    isCancelled: isCancelled && ((i) => isCancelled(Math.floor(i / restarts))),
  });
  return problems.map((_, i) => {
    const mine = results.slice(i * restarts, (i + 1) * restarts);
    let best = mine[0];
    for (const r of mine) if (r.dataFit < best.dataFit || !Number.isFinite(best.dataFit)) best = r;
    const wallMs = Math.max(...mine.map((r) => r.wallMs));
    return { ...best, wallMs };
  });
}
