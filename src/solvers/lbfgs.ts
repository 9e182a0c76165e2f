// L-BFGS with a strong-Wolfe line search, one problem per generator (see optimizer.ts for the batching).
import { DEFAULT_LINE_SEARCH, strongWolfe, type LineSearchOptions } from './line_search.ts';
import {
  DEFAULT_MAX_BACKOFFS,
  evaluateAt,
  guardBudget,
  runSequential,
  type Evaluation,
  type Outcome,
  type OptimizerRun,
  type RunStats,
} from './optimizer.ts';
import { dot, maxAbs, norm1, scale, step, sub } from './vector.ts';

export interface LbfgsOptions {
  /** Curvature pairs kept. */
  history: number;
  /** Budget of objective evaluations (the line search's included). */
  maxEvaluations: number;
  /**
   * Relative tolerance: stop when one iteration lowers f by at most tolerance·max(|f|, 1), or when
   * ‖∇f‖∞ ≤ tolerance·max(|f|, 1).
   */
  tolerance: number;
  maxBackoffs?: number;
  lineSearch?: Partial<LineSearchOptions>;
}

export const DEFAULT_LBFGS_HISTORY = 20;
export const DEFAULT_TOLERANCE = 1e-8;

/** Two-loop recursion: −H·g for the L-BFGS inverse-Hessian approximation. */
export function lbfgsDirection(
  g: Float64Array,
  s: readonly Float64Array[],
  y: readonly Float64Array[],
  rho: readonly number[],
  hDiag: number,
): Float64Array {
  const k = s.length;
  const q = scale(g, -1);
  const alpha = new Float64Array(k);
  for (let i = k - 1; i >= 0; i--) {
    const si = s[i] as Float64Array;
    const yi = y[i] as Float64Array;
    const a = (rho[i] as number) * dot(si, q);
    alpha[i] = a;
    for (let j = 0; j < q.length; j++) q[j] = (q[j] as number) - a * (yi[j] as number);
  }
  for (let j = 0; j < q.length; j++) q[j] = (q[j] as number) * hDiag;
  for (let i = 0; i < k; i++) {
    const si = s[i] as Float64Array;
    const yi = y[i] as Float64Array;
    const b = (alpha[i] as number) - (rho[i] as number) * dot(yi, q);
    for (let j = 0; j < q.length; j++) q[j] = (q[j] as number) + b * (si[j] as number);
  }
  return q;
}

export function lbfgs(x0: Float64Array, opts: LbfgsOptions, stats: RunStats): OptimizerRun {
  const ctx = { stats, maxEvaluations: opts.maxEvaluations };
  const lineSearch: LineSearchOptions = {
    ...DEFAULT_LINE_SEARCH,
    maxBackoffs: opts.maxBackoffs ?? DEFAULT_MAX_BACKOFFS,
    ...opts.lineSearch,
  };
  let x: Float64Array = Float64Array.from(x0);

  function* body(): OptimizerRun {
    const first = yield* evaluateAt(ctx, x);
    if (!first.finite) return { x, reason: 'diverged' };
    let f = first.f;
    let g = first.g;
    const S: Float64Array[] = [];
    const Y: Float64Array[] = [];
    const rho: number[] = [];
    let hDiag = 1;
    const reset = () => {
      S.length = 0;
      Y.length = 0;
      rho.length = 0;
      hDiag = 1;
    };
    for (;;) {
      if (maxAbs(g) <= opts.tolerance * Math.max(Math.abs(f), 1)) return { x, reason: 'converged' };
      let d = S.length > 0 ? lbfgsDirection(g, S, Y, rho, hDiag) : scale(g, -1);
      let gtd = dot(g, d);
      if (!(gtd < 0)) {
        // Not a descent direction (rounding in a stale history): restart from steepest descent.
        reset();
        d = scale(g, -1);
        gtd = -dot(g, g);
      }
      // Without curvature information the step length has no scale: start from a unit ℓ₁ move, as torch does.
      const t0 = S.length === 0 ? Math.min(1, 1 / norm1(g)) : 1;
      const ls = yield* strongWolfe(ctx, x, t0, d, f, g, gtd, lineSearch);
      if (ls.diverged) return { x, reason: 'diverged' };
      if (!(ls.f < f)) {
        if (S.length > 0) {
          reset();
          continue;
        }
        return { x, reason: 'converged' }; // no decrease along −∇f at working precision
      }
      const s = scale(d, ls.t);
      const yv = sub(ls.g, g);
      const ys = dot(yv, s);
      const yy = dot(yv, yv);
      if (ys > 1e-10 * yy && ys > 0) {
        if (S.length === opts.history) {
          S.shift();
          Y.shift();
          rho.shift();
        }
        S.push(s);
        Y.push(yv);
        rho.push(1 / ys);
        hDiag = ys / yy;
      }
      x = step(x, ls.t, d);
      const fOld = f;
      f = ls.f;
      g = ls.g;
      stats.iterations++;
      if (fOld - f <= opts.tolerance * Math.max(Math.abs(fOld), Math.abs(f), 1)) return { x, reason: 'converged' };
    }
  }
  return guardBudget(body(), () => x);
}

/** Lower-level API: minimise a plain float64 function with L-BFGS (no tensors, no batching). */
export function lbfgsMinimize(
  fn: (x: Float64Array) => { f: number; g: Float64Array },
  x0: Float64Array,
  opts: Partial<LbfgsOptions> = {},
  onEvaluation?: (x: Float64Array, ev: Evaluation) => void,
): Outcome & RunStats {
  const stats: RunStats = { iterations: 0, evaluations: 0, nonFinite: 0 };
  const run = lbfgs(
    x0,
    {
      history: opts.history ?? DEFAULT_LBFGS_HISTORY,
      maxEvaluations: opts.maxEvaluations ?? 1000,
      tolerance: opts.tolerance ?? DEFAULT_TOLERANCE,
      ...(opts.maxBackoffs !== undefined ? { maxBackoffs: opts.maxBackoffs } : {}),
      ...(opts.lineSearch ? { lineSearch: opts.lineSearch } : {}),
    },
    stats,
  );
  return { ...runSequential(run, fn, onEvaluation), ...stats };
}
