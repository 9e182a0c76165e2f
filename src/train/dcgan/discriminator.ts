import { tf } from '../../engine/index.ts';
import type { WeightArrays } from '../../models/tensor_data.ts';
import type { TrainRandom } from '../rng.ts';

/**
 * The standard DCGAN discriminator (used only for training): 64×64 → 32 → 16 → 8 → 4 with 4×4 stride-2
 * convolutions (ndf, 2·ndf, 4·ndf, 8·ndf channels, no bias), BatchNorm on all but the first, LeakyReLU 0.2, then a
 * 4×4 valid convolution to one logit. Weights (tfjs layout):
 *   layers.{i}.kernel [4, 4, in, out];  layers.{i}.bn.gamma / .beta [out] for i = 1, 2, 3.
 * BatchNorm always uses the batch's statistics: the discriminator is never run in evaluation mode.
 */
export interface DiscriminatorConfig {
  ndf: number;
  channels: number;
  bnEps: number;
}

export function discriminatorShapes(c: DiscriminatorConfig): Map<string, number[]> {
  const widths = [c.channels, c.ndf, 2 * c.ndf, 4 * c.ndf, 8 * c.ndf, 1];
  const out = new Map<string, number[]>();
  for (let i = 0; i < 5; i++) {
    out.set(`layers.${i}.kernel`, [4, 4, widths[i]!, widths[i + 1]!]);
    if (i >= 1 && i <= 3) {
      out.set(`layers.${i}.bn.gamma`, [widths[i + 1]!]);
      out.set(`layers.${i}.bn.beta`, [widths[i + 1]!]);
    }
  }
  return out;
}

/** The reference initialisation: kernels N(0, 0.02²), BatchNorm scales N(1, 0.02²), shifts 0. */
export function initialDiscriminatorArrays(c: DiscriminatorConfig, rng: TrainRandom): WeightArrays {
  const out: WeightArrays = new Map();
  for (const [name, shape] of discriminatorShapes(c)) {
    const n = shape.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    if (name.endsWith('.kernel')) data = rng.normals(n, 0.02);
    else if (name.endsWith('.gamma')) data = rng.normals(n, 0.02).map((v) => 1 + v);
    else data = new Float32Array(n);
    out.set(name, { shape, data });
  }
  return out;
}

/**
 * A 4×4, stride-2, pad-1 convolution as a stride-1 2×2 convolution of the 2×2 space-to-depth of the padded input
 * (tap (2a + dy, 2b + dx) of the kernel reads block (a, b), phase (dy, dx)). Same values, but its input gradient
 * is a stride-1 backprop, which the engine runs as a fast forward convolution; the backend's stride-2 backprop
 * is a scalar loop (most of a DCGAN step on wasm).
 */
export function stride2Conv4x4(x: tf.Tensor4D, kernel: tf.Tensor4D): tf.Tensor4D {
  const [B, H, W, C] = x.shape;
  const O = kernel.shape[3];
  if (H % 2 !== 0 || W % 2 !== 0) throw new Error(`stride-2 convolution needs an even size, got ${H}×${W}`);
  const padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]);
  // Contiguous axes are merged so every transpose is rank 4 (the backend's fast path; rank 6 is several times slower).
  const [Hb, Wb] = [H / 2 + 1, W / 2 + 1];
  const blocks = tf.reshape(tf.transpose(tf.reshape(padded, [B * Hb, 2, Wb, 2 * C]), [0, 2, 1, 3]), [B, Hb, Wb, 4 * C]);
  const k = tf.reshape(tf.transpose(tf.reshape(kernel, [2, 2, 2, 2 * C * O]), [0, 2, 1, 3]), [2, 2, 4 * C, O]);
  return tf.conv2d(blocks as tf.Tensor4D, k as tf.Tensor4D, 1, 'valid');
}

/** Images in [−1, 1], NHWC [B, 64, 64, C] → logits [B]. */
export function discriminatorForward(params: Record<string, tf.Tensor>, c: DiscriminatorConfig, x: tf.Tensor4D): tf.Tensor1D {
  return tf.tidy(() => {
    let h = x;
    for (let i = 0; i < 4; i++) {
      h = stride2Conv4x4(h, params[`layers.${i}.kernel`] as tf.Tensor4D);
      if (i >= 1) {
        const { mean, variance } = tf.moments(h, [0, 1, 2]);
        const scale = tf.div(params[`layers.${i}.bn.gamma`]!, tf.sqrt(tf.add(variance, c.bnEps)));
        h = tf.add(tf.mul(tf.sub(h, mean), scale), params[`layers.${i}.bn.beta`]!) as tf.Tensor4D;
      }
      h = tf.leakyRelu(h, 0.2);
    }
    // The last 4×4 'valid' convolution over a 4×4 map is one dot product per image.
    const [B, hh, ww, cc] = h.shape;
    const flat = tf.reshape(h, [B, hh * ww * cc]);
    return tf.reshape(tf.matMul(flat, tf.reshape(params['layers.4.kernel']!, [hh * ww * cc, 1])), [B]) as tf.Tensor1D;
  });
}

/** Mean binary cross-entropy of logits against a constant label, stably: softplus(−x) for 1, softplus(x) for 0. */
export function bceWithLogits(logits: tf.Tensor1D, label: 0 | 1): tf.Scalar {
  return tf.tidy(() => {
    const x = label === 1 ? tf.neg(logits) : logits;
    // softplus(x) = max(x, 0) + log(1 + e^−|x|)
    return tf.mean(tf.add(tf.relu(x), tf.log1p(tf.exp(tf.neg(tf.abs(x)))))) as tf.Scalar;
  });
}
