import { tf } from '../../engine/index.ts';
import type * as tfType from '@tensorflow/tfjs';
import type { LinearOperator } from '../../physics/operator.ts';

const POWER_ITERATIONS = 40;

// Operators built from the same spec and image shape are the same matrix: estimate once per process.
const bySpec = new Map<string, number>();

/**
 * ‖A‖² (largest eigenvalue of AᵀA) by power iteration from a seeded random start. The Rayleigh quotient
 * approaches the true value from below, so callers add a small margin before using 1/L as a step.
 */
export function operatorNormSquared(op: LinearOperator, seed = 0): number {
  const key = `${JSON.stringify(op.spec)}|${op.imageShape.join('x')}`;
  const cached = bySpec.get(key);
  if (cached !== undefined) return cached;
  let v = tf.tidy(() => {
    const r = tf.randomNormal([1, op.n], 0, 1, 'float32', seed + 1);
    return tf.div(r, tf.norm(r));
  }) as tfType.Tensor2D;
  let estimate = 0;
  try {
    for (let i = 0; i < POWER_ITERATIONS; i++) {
      const [next, norm] = tf.tidy(() => {
        const w = op.adjoint(op.apply(v));
        const nrm = tf.norm(w);
        return [tf.div(w, tf.maximum(nrm, 1e-30)), nrm] as const;
      });
      estimate = norm.dataSync()[0];
      norm.dispose();
      v.dispose();
      v = next as tfType.Tensor2D;
      if (!Number.isFinite(estimate)) throw new Error(`operator ${op.spec.type} gives a non-finite norm`);
    }
  } finally {
    v.dispose();
  }
  bySpec.set(key, estimate);
  return estimate;
}
