import { tf } from '../engine/index.ts';

export interface ClippedGradients {
  grads: Record<string, tf.Tensor>;
  /** Global L2 norm after value clipping, before norm clipping (what PyTorch's clip_grad_norm_ returns). */
  norm: number;
}

/**
 * The reference's clipping: every entry to [−value, value], then the whole gradient scaled by
 * maxNorm / (‖g‖ + 1e-6) when that is below 1. Returns new tensors; the inputs are left alone.
 */
export function clipGradients(grads: Record<string, tf.Tensor>, value: number, maxNorm: number): ClippedGradients {
  const names = Object.keys(grads);
  const clippedByValue = names.map((n) => tf.clipByValue(grads[n]!, -value, value));
  const norm = tf.tidy(() => {
    const sq = clippedByValue.map((g) => tf.sum(tf.square(g)));
    return tf.sqrt(tf.addN(sq));
  });
  const total = norm.dataSync()[0]!;
  norm.dispose();
  const coef = maxNorm / (total + 1e-6);
  const out: Record<string, tf.Tensor> = {};
  names.forEach((n, i) => {
    const g = clippedByValue[i]!;
    if (coef < 1) {
      out[n] = tf.mul(g, coef);
      g.dispose();
    } else {
      out[n] = g;
    }
  });
  return { grads: out, norm: total };
}
