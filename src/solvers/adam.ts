// Adam on the latent, an alternative to L-BFGS (noisier, but one evaluation per step and no line search).
import {
  DEFAULT_MAX_BACKOFFS,
  evaluateAt,
  guardBudget,
  type OptimizerRun,
  type RunStats,
} from './optimizer.ts';
import { maxAbs } from './vector.ts';

export interface AdamOptions {
  lr: number;
  maxEvaluations: number;
  /** Stop when ‖∇f‖∞ ≤ tolerance·max(|f|, 1). */
  tolerance: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  maxBackoffs?: number;
}

export const DEFAULT_ADAM_LR = 0.01;

export function adam(x0: Float64Array, opts: AdamOptions, stats: RunStats): OptimizerRun {
  const ctx = { stats, maxEvaluations: opts.maxEvaluations };
  const b1 = opts.beta1 ?? 0.9;
  const b2 = opts.beta2 ?? 0.999;
  const eps = opts.epsilon ?? 1e-8;
  const maxBackoffs = opts.maxBackoffs ?? DEFAULT_MAX_BACKOFFS;
  let x: Float64Array = Float64Array.from(x0);

  function* body(): OptimizerRun {
    const first = yield* evaluateAt(ctx, x);
    if (!first.finite) return { x, reason: 'diverged' };
    let f = first.f;
    let g = first.g;
    const m = new Float64Array(x.length);
    const v = new Float64Array(x.length);
    // Shrinks for good after a non-finite step: the region ahead is unstable for this problem.
    let lrScale = 1;
    for (let k = 1; ; k++) {
      if (maxAbs(g) <= opts.tolerance * Math.max(Math.abs(f), 1)) return { x, reason: 'converged' };
      const c1 = 1 - b1 ** k;
      const c2 = 1 - b2 ** k;
      const dx = new Float64Array(x.length);
      for (let i = 0; i < x.length; i++) {
        const gi = g[i] as number;
        m[i] = b1 * (m[i] as number) + (1 - b1) * gi;
        v[i] = b2 * (v[i] as number) + (1 - b2) * gi * gi;
        dx[i] = (-opts.lr * ((m[i] as number) / c1)) / (Math.sqrt((v[i] as number) / c2) + eps);
      }
      for (let tries = 0; ; tries++) {
        const trial = x.map((xi, i) => xi + lrScale * (dx[i] as number));
        const ev = yield* evaluateAt(ctx, trial);
        if (ev.finite) {
          x = trial;
          f = ev.f;
          g = ev.g;
          break;
        }
        if (tries >= maxBackoffs) return { x, reason: 'diverged' };
        lrScale /= 2;
      }
      stats.iterations = k;
    }
  }
  return guardBudget(body(), () => x);
}
