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

/**
 * The generator's training-mode forward pass: the same operations as dcganForward(…, 'train') (the test checks
 * they agree), and also each BatchNorm's batch moments, which the trainer folds into the running statistics.
 */
export function dcganTrainForward(params: Record<string, tf.Tensor>, c: DcganConfig, z: tf.Tensor2D): { images: tf.Tensor4D; moments: BatchMoments[] } {
  const moments: BatchMoments[] = [];
  const images = tf.tidy(() => {
    const B = z.shape[0];
    let h = tf.reshape(z, [B, 1, 1, c.latentDim]) as tf.Tensor4D;
    dcganLayerChannels(c).forEach(([, cout], i) => {
      const kernel = tf.transpose(params[`layers.${i}.kernel`]!, [0, 1, 3, 2]) as tf.Tensor4D;
      const size = i === 0 ? 4 : h.shape[1] * 2;
      h = tf.conv2dTranspose(h, kernel, [B, size, size, cout], i === 0 ? 1 : 2, i === 0 ? 'valid' : 'same');
      if (i < DCGAN_LAYERS - 1) {
        const p = `layers.${i}.bn.`;
        const { mean, variance } = tf.moments(h, [0, 1, 2]);
        moments.push({ mean: tf.keep(mean) as tf.Tensor1D, variance: tf.keep(variance) as tf.Tensor1D, count: B * size * size });
        const scale = tf.div(params[p + 'gamma']!, tf.sqrt(tf.add(variance, c.bnEps)));
        h = tf.relu(tf.add(tf.mul(tf.sub(h, mean), scale), params[p + 'beta']!)) as tf.Tensor4D;
      } else {
        h = tf.tanh(h);
      }
    });
    return h;
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
