import { tf } from '../../engine/index.ts';
import { DCGAN_LAYERS, dcganLayerChannels, dcganParamShapes, type DcganConfig } from '../../models/dcgan/config.ts';
import type { WeightArrays } from '../../models/tensor_data.ts';
import type { TrainRandom } from '../rng.ts';

export interface BatchMoments {
  mean: tf.Tensor1D;
  /** Biased (1/n) variance, the one used for normalising. */
  variance: tf.Tensor1D;
  /** Values per channel the moments were taken over. */
  count: number;
}

let selection: tf.Tensor2D | null = null;

/**
 * [36, 16] 0/1 matrix: row ((u+1)·3 + (v+1))·4 + (dy·2 + dx) picks the 4×4 tap (ky, kx) = (dy + 1 − 2u, dx + 1 − 2v)
 * that output phase (dy, dx) reads from input offset (u, v), or nothing (the mapping of subPixelKernel).
 */
function subPixelSelection(): tf.Tensor2D {
  if (!selection) {
    const s = new Float32Array(36 * 16);
    for (let u = -1; u <= 1; u++) {
      for (let v = -1; v <= 1; v++) {
        for (let dy = 0; dy < 2; dy++) {
          for (let dx = 0; dx < 2; dx++) {
            const ky = dy + 1 - 2 * u;
            const kx = dx + 1 - 2 * v;
            if (ky < 0 || ky > 3 || kx < 0 || kx > 3) continue;
            s[(((u + 1) * 3 + (v + 1)) * 4 + dy * 2 + dx) * 16 + ky * 4 + kx] = 1;
          }
        }
      }
    }
    selection = tf.keep(tf.tensor2d(s, [36, 16]));
  }
  return selection;
}

/**
 * A 4×4, stride-2 'same' transposed convolution (kernel [4, 4, in, out]) as a 3×3 forward convolution to the four
 * output phases and a pixel shuffle, differentiable in both the input and the kernel. The backend's transposed
 * convolution and its stride-2 input gradient are scalar loops on wasm; forward convolutions are not.
 */
export function upsampleConv4x4(h: tf.Tensor4D, kernel: tf.Tensor4D): tf.Tensor4D {
  const [, , cin, cout] = kernel.shape;
  const taps = tf.matMul(subPixelSelection(), tf.reshape(kernel, [16, cin * cout]));
  // Contiguous axes are merged so every transpose is rank ≤ 4 (the backend's fast path).
  const k3 = tf.reshape(tf.transpose(tf.reshape(taps, [9, 4, cin, cout]), [0, 2, 1, 3]), [3, 3, cin, 4 * cout]) as tf.Tensor4D;
  const phases = tf.conv2d(h, k3, 1, 'same');
  const [b, hh, ww] = h.shape;
  const shuffled = tf.transpose(tf.reshape(phases, [b * hh, ww, 2, 2 * cout]), [0, 2, 1, 3]);
  return tf.reshape(shuffled, [b, 2 * hh, 2 * ww, cout]);
}

/**
 * The generator's training-mode forward pass: the function dcganForward(…, 'train') computes (the test checks they
 * agree), built from forward convolutions only, and also each BatchNorm's batch moments, which the trainer folds
 * into the running statistics.
 */
export function dcganTrainForward(params: Record<string, tf.Tensor>, c: DcganConfig, z: tf.Tensor2D): { images: tf.Tensor4D; moments: BatchMoments[] } {
  const moments: BatchMoments[] = [];
  const images = tf.tidy(() => {
    const B = z.shape[0];
    let h: tf.Tensor4D;
    dcganLayerChannels(c).forEach(([cin, cout], i) => {
      const kernel = params[`layers.${i}.kernel`]! as tf.Tensor4D;
      if (i === 0) {
        // From a 1×1 input, the 4×4 'valid' transposed convolution is an outer product: out[y, x, o] = Σᵢ z[i]·k[y, x, i, o].
        const projection = tf.reshape(tf.transpose(tf.reshape(kernel, [16, cin, cout]), [1, 0, 2]), [cin, 16 * cout]);
        h = tf.reshape(tf.matMul(z, projection), [B, 4, 4, cout]);
      } else {
        h = upsampleConv4x4(h!, kernel);
      }
      if (i < DCGAN_LAYERS - 1) {
        const p = `layers.${i}.bn.`;
        const { mean, variance } = tf.moments(h!, [0, 1, 2]);
        moments.push({ mean: tf.keep(mean) as tf.Tensor1D, variance: tf.keep(variance) as tf.Tensor1D, count: B * h!.shape[1] * h!.shape[2] });
        const scale = tf.div(params[p + 'gamma']!, tf.sqrt(tf.add(variance, c.bnEps)));
        h = tf.relu(tf.add(tf.mul(tf.sub(h!, mean), scale), params[p + 'beta']!)) as tf.Tensor4D;
      } else {
        h = tf.tanh(h!);
      }
    });
    return h!;
  });
  return { images, moments };
}

/** The reference initialisation: kernels N(0, 0.02²), BatchNorm scales N(1, 0.02²), shifts 0; running mean 0, variance 1. */
export function initialGeneratorArrays(c: DcganConfig, rng: TrainRandom): WeightArrays {
  const out: WeightArrays = new Map();
  for (const [name, shape] of dcganParamShapes(c)) {
    const n = shape.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    if (name.endsWith('.kernel')) data = rng.normals(n, 0.02);
    else if (name.endsWith('.gamma')) data = rng.normals(n, 0.02).map((v) => 1 + v);
    else if (name.endsWith('.variance')) data = new Float32Array(n).fill(1);
    else data = new Float32Array(n);
    out.set(name, { shape, data });
  }
  return out;
}

/** Running statistics are buffers, not trained weights. */
export function isRunningStat(name: string): boolean {
  return name.endsWith('.bn.mean') || name.endsWith('.bn.variance');
}
