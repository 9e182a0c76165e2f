import { tf } from '../../engine/index.ts';
import type * as tfType from '@tensorflow/tfjs';
import type { LinearOperator } from '../../physics/operator.ts';
import type { StopReason } from '../../solvers/types.ts';
import type { SparsityBasis } from './basis.ts';
import { operatorNormSquared } from './operator_norm.ts';

/** One lasso problem  min_c ‖W(y − A·Ψc)‖² + λ‖c‖₁  (W = 0/1 row selection, identity when absent). */
export interface LassoProblem {
  operator: LinearOperator;
  /** y, length operator.m. */
  measurements: Float32Array;
  lambda: number;
  /** 1 for rows that enter the fit, 0 for held-out rows (used by the automatic choice of λ). */
  rowWeights?: Float32Array;
}

export interface FistaOptions {
  /** Budget per problem in evaluations of A and Aᵀ (one per iteration, one per duality-gap check). */
  maxEvaluations: number;
  /**
   * Stop a problem when its relative duality gap (P − D)/P falls below this, or — with `criterion: 'change'` —
   * when ‖c_{k+1} − c_k‖ / ‖c_{k+1}‖ does.
   */
  tolerance: number;
  criterion?: 'gap' | 'change';
  /** Iterations between duality-gap checks (criterion 'gap'). */
  gapEvery?: number;
  /** Seed of the power iteration's start vector. */
  seed?: number;
  onProgress?: (p: { problemIndex: number; iteration: number; evaluations: number; loss: number }) => void;
  isCancelled?: (problemIndex: number) => boolean;
}

export interface LassoSolution {
  coefficients: Float32Array;
  /** Ψc, flat HWC, not clipped. */
  image: Float32Array;
  /** ‖W(y − AΨc)‖² + λ‖c‖₁ */
  objective: number;
  /** ‖y − AΨc‖² over all rows. */
  dataFit: number;
  /** ‖(1 − W)(y − AΨc)‖²: the error on held-out rows (0 without row weights). */
  heldOutError: number;
  l1: number;
  /** Last relative duality gap measured (NaN when never measured). */
  relativeGap: number;
  iterations: number;
  evaluations: number;
  stopReason: StopReason;
  diverged: boolean;
}

/** Per-problem state that lives in JS; the vectors live in the batched tensors. */
interface Track {
  index: number;
  t: number;
  iterations: number;
  evaluations: number;
  relativeGap: number;
  stopReason: StopReason | null;
}

interface Group {
  operator: LinearOperator;
  /** Rows of the active batch that use this operator, in order. */
  rows: number[];
  y: tfType.Tensor2D;
  weights: tfType.Tensor2D | null;
}

const SOFT_EPS = 1e-30;

/**
 * Batched FISTA with gradient-based adaptive restart (O'Donoghue & Candès 2015) for lasso problems that share a
 * basis Ψ and may each have their own operator. Each problem has its own step 1/L (L = 2‖A‖², from a power
 * iteration), its own momentum, its own stopping test and its own budget; a finished problem leaves the batch.
 * The product A·Ψ is applied as the fast transform followed by the operator, never as a matrix.
 */
export async function solveLassoBatch(
  problems: LassoProblem[],
  basis: SparsityBasis,
  options: FistaOptions,
): Promise<LassoSolution[]> {
  const n = basis.imageShape[0] * basis.imageShape[1] * basis.imageShape[2];
  for (const p of problems) {
    if (p.operator.n !== n) throw new Error(`operator size ${p.operator.n} does not match the basis size ${n}`);
    if (p.measurements.length !== p.operator.m) throw new Error(`expected ${p.operator.m} measurements, got ${p.measurements.length}`);
  }
  const criterion = options.criterion ?? 'gap';
  const gapEvery = Math.max(1, options.gapEvery ?? 10);
  const results: Array<LassoSolution | null> = problems.map(() => null);
  if (problems.length === 0) return [];

  // A 5 % margin over the power-iteration estimate (which approaches ‖A‖² from below) keeps the step safe.
  const lipschitz = problems.map((p) => 2 * 1.05 * operatorNormSquared(p.operator, options.seed ?? 0));
  const lambdas = problems.map((p) => p.lambda);

  let tracks: Track[] = problems.map((_, index) => ({
    index,
    t: 1,
    iterations: 0,
    evaluations: 0,
    relativeGap: Number.NaN,
    stopReason: null,
  }));
  let coeffs = tf.zeros([problems.length, n]) as tfType.Tensor2D;
  let momentum = tf.zeros([problems.length, n]) as tfType.Tensor2D;
  let groups = buildGroups(problems, tracks);
  let stepCol = column(tracks.map((t) => 1 / lipschitz[t.index]));
  let thresholdCol = column(tracks.map((t) => lambdas[t.index] / lipschitz[t.index]));

  const residualOf = (c: tfType.Tensor2D, weighted: boolean): tfType.Tensor2D[] => {
    const x = basis.synthesis(c);
    return groups.map((g) => {
      // Rows are collected in batch order, so a group holding every row needs no gather.
      const xg: tfType.Tensor2D = g.rows.length === c.shape[0] ? x : tf.gather(x, g.rows);
      const r: tfType.Tensor2D = tf.sub(g.operator.apply(xg), g.y);
      return weighted && g.weights ? tf.mul(r, g.weights) : r;
    });
  };
  // Gradient of the data term, 2·ΨᵀAᵀW(AΨc − y), assembled back into batch order.
  const gradientFrom = (residuals: tfType.Tensor2D[], batch: number): tfType.Tensor2D => {
    const parts = groups.map((g, i) => g.operator.adjoint(residuals[i]));
    const stacked = parts.length === 1 ? parts[0] : tf.concat(parts, 0);
    const order = groups.flatMap((g) => g.rows);
    const inverse = new Array<number>(batch);
    order.forEach((row, k) => (inverse[row] = k));
    const inBatchOrder = isIdentityOrder(order) ? stacked : tf.gather(stacked, inverse);
    return tf.mul(basis.analysis(inBatchOrder as tfType.Tensor2D), 2);
  };

  try {
    while (tracks.length > 0) {
      const batch = tracks.length;
      const momentumCoefs: number[] = [];
      // One FISTA step for the whole active batch.
      const [nextCoeffs, restartDot, changeSq, normSq] = tf.tidy(() => {
        const grad = gradientFrom(residualOf(momentum, true), batch);
        const stepped = tf.sub(momentum, tf.mul(grad, stepCol));
        const next = tf.mul(tf.sign(stepped), tf.relu(tf.sub(tf.abs(stepped), thresholdCol))) as tfType.Tensor2D;
        const delta = tf.sub(next, coeffs);
        return [
          next,
          tf.sum(tf.mul(tf.sub(momentum, next), delta), 1),
          tf.sum(tf.square(delta), 1),
          tf.sum(tf.square(next), 1),
        ] as const;
      });
      const dots = restartDot.dataSync();
      const changes = changeSq.dataSync();
      const norms = normSq.dataSync();
      restartDot.dispose();
      changeSq.dispose();
      normSq.dispose();

      const checkGap: boolean[] = [];
      for (let k = 0; k < batch; k++) {
        const tr = tracks[k];
        tr.iterations++;
        tr.evaluations++;
        const tNext = (1 + Math.sqrt(1 + 4 * tr.t * tr.t)) / 2;
        if (dots[k] > 0) {
          tr.t = 1; // the momentum points uphill: restart it
          momentumCoefs.push(0);
        } else {
          momentumCoefs.push((tr.t - 1) / tNext);
          tr.t = tNext;
        }
        const rel = Math.sqrt(changes[k]) / Math.max(Math.sqrt(norms[k]), SOFT_EPS);
        if (!Number.isFinite(changes[k]) || !Number.isFinite(norms[k])) tr.stopReason = 'diverged';
        else if (options.isCancelled?.(tr.index)) tr.stopReason = 'cancelled';
        else if (criterion === 'change' && tr.iterations > 1 && rel < options.tolerance) tr.stopReason = 'converged';
        checkGap.push(criterion === 'gap' && tr.stopReason === null && tr.iterations % gapEvery === 0);
      }

      const newMomentum = tf.tidy(() =>
        tf.add(nextCoeffs, tf.mul(tf.sub(nextCoeffs, coeffs), column(momentumCoefs))),
      ) as tfType.Tensor2D;
      // A problem that went non-finite keeps its last finite iterate.
      const divergedRows = tracks.map((tr, k) => (tr.stopReason === 'diverged' ? k : -1)).filter((k) => k >= 0);
      const next =
        divergedRows.length === 0
          ? (nextCoeffs as tfType.Tensor2D)
          : (tf.tidy(() => {
              const keepOld = column(tracks.map((tr) => (tr.stopReason === 'diverged' ? 1 : 0)));
              return tf.where(tf.cast(tf.broadcastTo(keepOld, coeffs.shape), 'bool'), coeffs, nextCoeffs);
            }) as tfType.Tensor2D);
      if (next !== nextCoeffs) nextCoeffs.dispose();
      coeffs.dispose();
      momentum.dispose();
      coeffs = next;
      momentum = newMomentum;

      if (checkGap.some(Boolean)) {
        const { gaps, primals } = dualityGaps(coeffs, groups, residualOf, gradientFrom, tracks.map((t) => lambdas[t.index]));
        for (let k = 0; k < batch; k++) {
          if (!checkGap[k]) continue;
          const tr = tracks[k];
          tr.evaluations++;
          tr.relativeGap = gaps[k];
          options.onProgress?.({ problemIndex: tr.index, iteration: tr.iterations, evaluations: tr.evaluations, loss: primals[k] });
          if (!Number.isFinite(primals[k])) tr.stopReason = 'diverged';
          else if (gaps[k] < options.tolerance) tr.stopReason = 'converged';
        }
      }
      for (const tr of tracks) {
        if (tr.stopReason === null && tr.evaluations >= options.maxEvaluations) tr.stopReason = 'max-evaluations';
      }

      const leaving = tracks.map((tr, k) => (tr.stopReason !== null ? k : -1)).filter((k) => k >= 0);
      if (leaving.length > 0) {
        const sub = tf.tidy(() => tf.gather(coeffs, leaving)) as tfType.Tensor2D;
        const finals = finalize(sub, leaving.map((k) => tracks[k]), problems, basis, lambdas);
        sub.dispose();
        finals.forEach((f, i) => (results[tracks[leaving[i]].index] = f));
        const staying = tracks.map((_, k) => k).filter((k) => tracks[k].stopReason === null);
        const keep = (t: tfType.Tensor2D): tfType.Tensor2D => {
          const kept = staying.length > 0 ? (tf.gather(t, staying) as tfType.Tensor2D) : (tf.zeros([0, n]) as tfType.Tensor2D);
          t.dispose();
          return kept;
        };
        coeffs = keep(coeffs);
        momentum = keep(momentum);
        tracks = staying.map((k) => tracks[k]);
        disposeGroups(groups);
        stepCol.dispose();
        thresholdCol.dispose();
        groups = buildGroups(problems, tracks);
        stepCol = column(tracks.map((t) => 1 / lipschitz[t.index]));
        thresholdCol = column(tracks.map((t) => lambdas[t.index] / lipschitz[t.index]));
      }
      // Let other work (progress reporting, cancellation requests) run between iterations.
      if (tracks.length > 0 && tracks[0].iterations % 25 === 0) await new Promise((r) => setImmediate(r));
    }
  } finally {
    coeffs.dispose();
    momentum.dispose();
    disposeGroups(groups);
    stepCol.dispose();
    thresholdCol.dispose();
  }
  return results as LassoSolution[];
}

/**
 * Relative duality gaps at c. With r = W(y − AΨc), the dual point u = 2s·r, s = min(1, λ/‖2ΨᵀAᵀr‖∞), is feasible
 * for  max_u ⟨u, y⟩ − ‖u‖²/4  s.t. ‖ΨᵀAᵀWu‖∞ ≤ λ, so P(c) − D(u) ≥ P(c) − P* ≥ 0 certifies the distance to the optimum.
 */
function dualityGaps(
  c: tfType.Tensor2D,
  groups: Group[],
  residualOf: (c: tfType.Tensor2D, weighted: boolean) => tfType.Tensor2D[],
  gradientFrom: (r: tfType.Tensor2D[], batch: number) => tfType.Tensor2D,
  lambdas: number[],
): { gaps: number[]; primals: number[] } {
  const batch = c.shape[0];
  const tensors = tf.tidy(() => {
    const residuals = residualOf(c, true); // W(AΨc − y) per group
    const grad = gradientFrom(residuals, batch); // 2ΨᵀAᵀW(AΨc − y), batch order
    const perGroup = residuals.map((r, i) => tf.stack([tf.sum(tf.square(r), 1), tf.sum(tf.mul(r, groups[i].y), 1)], 1));
    return { perGroup, l1: tf.sum(tf.abs(c), 1), corr: tf.max(tf.abs(grad), 1) };
  });
  const fit = new Array<number>(batch);
  const residualDotY = new Array<number>(batch);
  tensors.perGroup.forEach((t, i) => {
    const v = t.dataSync();
    groups[i].rows.forEach((row, k) => {
      fit[row] = v[2 * k];
      residualDotY[row] = v[2 * k + 1];
    });
    t.dispose();
  });
  const l1 = tensors.l1.dataSync();
  const corr = tensors.corr.dataSync();
  tensors.l1.dispose();
  tensors.corr.dispose();
  const gaps: number[] = [];
  const primals: number[] = [];
  for (let k = 0; k < batch; k++) {
    const primal = fit[k] + lambdas[k] * l1[k];
    const s = corr[k] > 0 ? Math.min(1, lambdas[k] / corr[k]) : 1;
    // u = −2s·W(AΨc − y): ⟨u, y⟩ = −2s·⟨W(AΨc − y), y⟩ and ‖u‖²/4 = s²·fit.
    const dual = -2 * s * residualDotY[k] - s * s * fit[k];
    primals.push(primal);
    gaps.push(primal > 0 ? Math.max(0, primal - dual) / primal : 0);
  }
  return { gaps, primals };
}

function finalize(
  c: tfType.Tensor2D,
  tracks: Track[],
  problems: LassoProblem[],
  basis: SparsityBasis,
  lambdas: number[],
): LassoSolution[] {
  const coeffData = c.dataSync();
  const imageT = tf.tidy(() => basis.synthesis(c));
  const imageData = imageT.dataSync();
  imageT.dispose();
  const n = c.shape[1];
  return tracks.map((tr, k) => {
    const p = problems[tr.index];
    const coefficients = coeffData.slice(k * n, (k + 1) * n) as Float32Array;
    const image = imageData.slice(k * n, (k + 1) * n) as Float32Array;
    const [residual] = tf.tidy(() => {
      const x = tf.tensor2d(image, [1, n]);
      return [tf.sub(p.operator.apply(x), tf.tensor2d(p.measurements, [1, p.measurements.length]))];
    });
    const r = residual.dataSync();
    residual.dispose();
    let fitAll = 0;
    let fitHeld = 0;
    for (let i = 0; i < r.length; i++) {
      const sq = r[i] * r[i];
      fitAll += sq;
      if (p.rowWeights && p.rowWeights[i] === 0) fitHeld += sq;
    }
    let l1 = 0;
    let finite = true;
    for (let i = 0; i < n; i++) {
      l1 += Math.abs(coefficients[i]);
      if (!Number.isFinite(coefficients[i])) finite = false;
    }
    return {
      coefficients,
      image,
      objective: fitAll - fitHeld + lambdas[tr.index] * l1,
      dataFit: fitAll,
      heldOutError: fitHeld,
      l1,
      relativeGap: tr.relativeGap,
      iterations: tr.iterations,
      evaluations: tr.evaluations,
      stopReason: tr.stopReason ?? 'max-evaluations',
      diverged: tr.stopReason === 'diverged' || !finite,
    };
  });
}

function buildGroups(problems: LassoProblem[], tracks: Track[]): Group[] {
  const byOperator = new Map<LinearOperator, number[]>();
  tracks.forEach((tr, row) => {
    const op = problems[tr.index].operator;
    const rows = byOperator.get(op);
    if (rows) rows.push(row);
    else byOperator.set(op, [row]);
  });
  return [...byOperator.entries()].map(([operator, rows]) => {
    const m = operator.m;
    const y = new Float32Array(rows.length * m);
    let weights: Float32Array | null = null;
    rows.forEach((row, k) => {
      const p = problems[tracks[row].index];
      y.set(p.measurements, k * m);
      if (p.rowWeights) {
        weights ??= new Float32Array(rows.length * m).fill(1);
        weights.set(p.rowWeights, k * m);
      }
    });
    return {
      operator,
      rows,
      y: tf.tensor2d(y, [rows.length, m]),
      weights: weights ? tf.tensor2d(weights, [rows.length, m]) : null,
    };
  });
}

function disposeGroups(groups: Group[]): void {
  for (const g of groups) {
    g.y.dispose();
    g.weights?.dispose();
  }
}

function column(values: number[]): tfType.Tensor2D {
  return tf.tensor2d(values, [values.length, 1]);
}

function isIdentityOrder(order: number[]): boolean {
  return order.every((v, i) => v === i);
}
