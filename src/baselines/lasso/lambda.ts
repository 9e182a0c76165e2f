import { tf } from '../../engine/index.ts';
import type { LinearOperator } from '../../physics/operator.ts';
import { Rng, sampleWithoutReplacement, Stream } from '../../util/random.ts';
import type { SparsityBasis } from './basis.ts';
import { solveLassoBatch, type FistaOptions, type LassoProblem } from './fista.ts';

/**
 * The reference's λ in our objective ‖y − AΨc‖² + λ‖c‖₁ (docs/baselines.md): it runs sklearn's Lasso(alpha=0.01),
 * whose objective is (1/(2·n_samples))‖y' − X'c‖² + α‖c‖₁, on X' = √(2m)·AΨ and y' = √(2m)·y with n_samples = m.
 * (1/(2m))·2m·‖y − AΨc‖² + α‖c‖₁ is our objective with λ = α: the √(2m) scaling exactly undoes sklearn's 1/(2m).
 */
export const REFERENCE_LAMBDA = 0.01;

/**
 * λ grid of the automatic choice, as fractions of λ_max = ‖2ΨᵀAᵀy‖∞ (the smallest λ whose solution is c = 0):
 * powers of √10 from λ_max/10 down to λ_max/10⁵. Relative to λ_max the grid follows the scale of the data; the
 * reference's 0.01 sits near 1.6·10⁻⁴·λ_max for 64×64 faces at m = 2500.
 */
export const AUTO_LAMBDA_FRACTIONS: readonly number[] = [2, 3, 4, 5, 6, 7, 8, 9, 10].map((k) => 10 ** (-k / 2));

/** Share of the measurements held out to score each λ of the grid. */
export const HOLDOUT_FRACTION = 0.1;
/** Below this many measurements a hold-out set is too small to say anything: keep the reference λ. */
export const MIN_MEASUREMENTS_FOR_AUTO = 40;

export interface AutoLambdaChoice {
  lambda: number;
  /** The grid tried (λ values of the fit on the kept rows), empty when the problem was too small to hold rows out. */
  grid: number[];
  /** Held-out squared error per grid value. */
  scores: number[];
}

/**
 * Picks λ for each problem by hold-out validation: a seeded random 10 % of the measurements is left out of the fit,
 * every grid value is solved (all problems × grid as one batch), and the value with the smallest error on the
 * held-out rows wins. The fit used 90 % of the rows, so the data term of the final solve on all rows is larger by
 * m/m_fit; the chosen λ is scaled by the same factor to keep the balance it was selected for.
 */
export async function chooseLambdas(
  problems: Array<{ operator: LinearOperator; measurements: Float32Array; seed: number }>,
  basis: SparsityBasis,
  options: FistaOptions,
): Promise<AutoLambdaChoice[]> {
  const batch: LassoProblem[] = [];
  const owners: number[] = [];
  const fitShare: number[] = [];
  const grids: number[][] = [];
  for (const [i, p] of problems.entries()) {
    const m = p.measurements.length;
    if (m < MIN_MEASUREMENTS_FOR_AUTO) {
      fitShare.push(1);
      grids.push([]);
      continue;
    }
    const held = Math.max(1, Math.round(HOLDOUT_FRACTION * m));
    const rowWeights = new Float32Array(m).fill(1);
    for (const r of sampleWithoutReplacement(m, held, new Rng(p.seed, Stream.general))) rowWeights[r] = 0;
    fitShare.push((m - held) / m);
    const grid = AUTO_LAMBDA_FRACTIONS.map((f) => f * lambdaMax(p.operator, basis, p.measurements, rowWeights));
    grids.push(grid);
    for (const lambda of grid) {
      batch.push({ operator: p.operator, measurements: p.measurements, lambda, rowWeights });
      owners.push(i);
    }
  }
  const solutions = await solveLassoBatch(batch, basis, { ...options, onProgress: undefined, isCancelled: undefined });
  return problems.map((_, i) => {
    const scores = solutions.filter((_, k) => owners[k] === i).map((s) => s.heldOutError);
    if (scores.length === 0) return { lambda: REFERENCE_LAMBDA, grid: [], scores: [] };
    let best = 0;
    scores.forEach((s, k) => {
      if (s < scores[best]) best = k;
    });
    return { lambda: grids[i][best] / fitShare[i], grid: grids[i], scores };
  });
}

/** ‖2ΨᵀAᵀWy‖∞: the gradient of the data term at c = 0, the smallest λ for which c = 0 is optimal. */
export function lambdaMax(operator: LinearOperator, basis: SparsityBasis, y: Float32Array, rowWeights?: Float32Array): number {
  const t = tf.tidy(() => {
    let yt = tf.tensor2d(y, [1, y.length]);
    if (rowWeights) yt = tf.mul(yt, tf.tensor2d(rowWeights, [1, y.length]));
    return tf.max(tf.abs(basis.analysis(operator.adjoint(yt))));
  });
  const v = 2 * t.dataSync()[0];
  t.dispose();
  return v;
}
