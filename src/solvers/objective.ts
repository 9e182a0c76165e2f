// The objective ‖A·G(z) − y‖² + γ·penalty(z) for a batch of problems that share a prior (and image shape) but
// may each have their own operator: one pass of the whole batch through the generator, then each operator on
// its own rows. Problems with the same operator are grouped so that one matMul serves them all.
import { tf } from '../engine/index.ts';
import type * as tfType from '@tensorflow/tfjs';
import type { LatentPrior } from '../models/prior.ts';
import type { OperatorCache } from '../physics/cache.ts';
import type { LinearOperator } from '../physics/operator.ts';
import { createOperator, operatorKey } from '../physics/registry.ts';
import type { Penalty, Problem } from './types.ts';
import { norm2 } from './vector.ts';

export function penaltyValue(z: ArrayLike<number>, penalty: Penalty): number {
  const r = norm2(z);
  return penalty === 'l2' ? r : r * r;
}

/** ∇ of ‖z‖ (0 at z = 0, the subgradient torch uses) or of ‖z‖². */
export function penaltyGradient(z: Float64Array, penalty: Penalty): Float64Array {
  if (penalty === 'l2sq') return z.map((v) => 2 * v);
  const r = norm2(z);
  return r > 0 ? z.map((v) => v / r) : new Float64Array(z.length);
}

export interface PointValue {
  loss: number;
  dataFit: number;
  g: Float64Array;
  /** False when the loss, the gradient or any pixel of G(z) is NaN/Inf. */
  finite: boolean;
}

export interface ForwardValue {
  /** G(z), HWC, not clipped. */
  image: Float32Array;
  dataFit: number;
  loss: number;
  finite: boolean;
}

interface Group {
  op: LinearOperator;
  /** Set when the operator is borrowed from a cache. */
  release?: () => void;
}

export class BatchObjective {
  readonly latentDim: number;
  readonly n: number;
  private readonly groups: Group[] = [];
  /** Group of each problem. */
  private readonly groupOf: number[] = [];

  constructor(
    private readonly prior: LatentPrior,
    private readonly problems: readonly Problem[],
    cache?: OperatorCache,
  ) {
    this.latentDim = prior.latentDim;
    const [h, w, c] = prior.imageShape;
    this.n = h * w * c;
    const byKey = new Map<string, number>();
    try {
      for (const p of problems) {
        const key = operatorKey(p.operator);
        let gi = byKey.get(key);
        if (gi === undefined) {
          gi = this.groups.length;
          byKey.set(key, gi);
          if (cache) {
            const lease = cache.acquire(p.operator, prior.imageShape);
            this.groups.push({ op: lease.op, release: lease.release });
          } else {
            this.groups.push({ op: createOperator(p.operator, prior.imageShape) });
          }
        }
        this.groupOf.push(gi);
      }
    } catch (err) {
      this.dispose();
      throw err;
    }
  }

  operatorOf(problem: number): LinearOperator {
    return (this.groups[this.groupOf[problem] as number] as Group).op;
  }

  /** Rows ordered so that each operator's problems are contiguous, plus the run lengths. */
  private layout(indices: readonly number[]): { order: number[]; runs: Array<{ group: number; rows: number[] }> } {
    const order = indices.map((_, k) => k).sort((a, b) => {
      const ga = this.groupOf[indices[a] as number] as number;
      const gb = this.groupOf[indices[b] as number] as number;
      return ga - gb || a - b;
    });
    const runs: Array<{ group: number; rows: number[] }> = [];
    for (const k of order) {
      const g = this.groupOf[indices[k] as number] as number;
      const last = runs.at(-1);
      if (last && last.group === g) last.rows.push(k);
      else runs.push({ group: g, rows: [k] });
    }
    return { order, runs };
  }

  private stack(indices: readonly number[], zs: readonly ArrayLike<number>[], order: number[]): Float32Array {
    const d = this.latentDim;
    const flat = new Float32Array(order.length * d);
    order.forEach((k, row) => {
      const z = zs[k] as ArrayLike<number>;
      if (z.length !== d) throw new Error(`latent of problem ${indices[k]} has ${z.length} values, expected ${d}`);
      for (let j = 0; j < d; j++) flat[row * d + j] = z[j] as number;
    });
    return flat;
  }

  /** y of each run's problems as one [rows, m] tensor. */
  private measurementsFor(indices: readonly number[], rows: number[], op: LinearOperator): tfType.Tensor2D {
    const y = new Float32Array(rows.length * op.m);
    rows.forEach((k, r) => y.set(this.problems[indices[k] as number]!.measurements, r * op.m));
    return tf.tensor2d(y, [rows.length, op.m]);
  }

  /** Per-row ‖A_i x_i − y_i‖² for x laid out as `runs` (x: [B, n]). */
  private dataFits(x: tfType.Tensor2D, indices: readonly number[], runs: Array<{ group: number; rows: number[] }>): tfType.Tensor1D {
    const parts = runs.length === 1 ? [x] : tf.split(x, runs.map((r) => r.rows.length), 0);
    const fits = runs.map((run, s) => {
      const op = (this.groups[run.group] as Group).op;
      const residual = tf.sub(op.apply(parts[s] as tfType.Tensor2D), this.measurementsFor(indices, run.rows, op));
      return tf.sum(tf.square(residual), 1) as tfType.Tensor1D;
    });
    return fits.length === 1 ? (fits[0] as tfType.Tensor1D) : tf.concat(fits, 0);
  }

  /**
   * Value and gradient at z_k for problems indices[k], in one batched pass through the prior.
   * The penalty is added in float64 outside the tape (its gradient is closed-form).
   */
  async evaluate(indices: readonly number[], zs: readonly Float64Array[]): Promise<PointValue[]> {
    const b = indices.length;
    if (b === 0) return [];
    const { order, runs } = this.layout(indices);
    const flat = this.stack(indices, zs, order);
    let finiteProbe: tfType.Tensor | null = null;
    const [value, grad] = tf.tidy(() => {
      const z = tf.tensor2d(flat, [b, this.latentDim]);
      const fn = (zz: tfType.Tensor): tfType.Tensor => {
        const x = tf.reshape(this.prior.generate(zz as tfType.Tensor2D), [b, this.n]) as tfType.Tensor2D;
        // 0·x is NaN exactly where x is NaN/Inf: one reduction flags rows whose image is not finite, including
        // pixels the operator does not see.
        finiteProbe = tf.keep(tf.sum(tf.mul(x, 0), 1));
        return this.dataFits(x, indices, runs);
      };
      const { value, grad } = tf.valueAndGrad(fn)(z, tf.ones([b]));
      return [value, grad];
    });
    try {
      const [fits, grads, probe] = await Promise.all([value.data(), grad.data(), (finiteProbe as unknown as tfType.Tensor).data()]);
      const out: PointValue[] = new Array(b);
      const d = this.latentDim;
      order.forEach((k, row) => {
        const p = this.problems[indices[k] as number] as Problem;
        const z = zs[k] as Float64Array;
        const dataFit = fits[row] as number;
        const pg = penaltyGradient(z, p.penalty);
        const g = new Float64Array(d);
        let finite = Number.isFinite(dataFit) && Number.isFinite(probe[row] as number);
        for (let j = 0; j < d; j++) {
          const v = (grads[row * d + j] as number) + p.gamma * (pg[j] as number);
          g[j] = v;
          if (!Number.isFinite(v)) finite = false;
        }
        const loss = dataFit + p.gamma * penaltyValue(z, p.penalty);
        out[k] = { loss, dataFit, g, finite: finite && Number.isFinite(loss) };
      });
      return out;
    } finally {
      value.dispose();
      grad.dispose();
      (finiteProbe as tfType.Tensor | null)?.dispose();
    }
  }

  /** G(z) and the objective without gradients (final images). */
  async forward(indices: readonly number[], zs: readonly ArrayLike<number>[]): Promise<ForwardValue[]> {
    const b = indices.length;
    if (b === 0) return [];
    const { order, runs } = this.layout(indices);
    const flat = this.stack(indices, zs, order);
    const [xT, fitT] = tf.tidy(() => {
      const x = tf.reshape(this.prior.generate(tf.tensor2d(flat, [b, this.latentDim])), [b, this.n]) as tfType.Tensor2D;
      return [x, this.dataFits(x, indices, runs)];
    });
    try {
      const [xs, fits] = await Promise.all([xT.data(), fitT.data()]);
      const out: ForwardValue[] = new Array(b);
      order.forEach((k, row) => {
        const p = this.problems[indices[k] as number] as Problem;
        const image = (xs as Float32Array).slice(row * this.n, (row + 1) * this.n);
        const dataFit = fits[row] as number;
        const loss = dataFit + p.gamma * penaltyValue(zs[k] as ArrayLike<number>, p.penalty);
        let finite = Number.isFinite(loss);
        for (let j = 0; finite && j < image.length; j++) finite = Number.isFinite(image[j] as number);
        out[k] = { image, dataFit, loss, finite };
      });
      return out;
    } finally {
      xT.dispose();
      fitT.dispose();
    }
  }

  dispose(): void {
    for (const g of this.groups) {
      if (g.release) g.release();
      else g.op.dispose();
    }
    this.groups.length = 0;
  }
}
