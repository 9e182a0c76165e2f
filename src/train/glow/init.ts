import { tf } from '../../engine/index.ts';
import { validateGlowConfig, type GlowConfig } from '../../models/glow/config.ts';
import { orthonormalize } from '../../models/glow/linalg.ts';
import { glowParamShapes } from '../../models/glow/params.ts';
import type { WeightArrays } from '../../models/tensor_data.ts';
import { TrainRandom } from '../rng.ts';

/**
 * Starting weights as the reference initialises them: 1×1 convolutions a random rotation (QR of a Gaussian),
 * the hidden convolutions N(0, 0.05²) with zero bias, the coupling's output convolution and every ActNorm zero
 * (so each coupling starts as a fixed scale σ(2) and the ActNorms wait for the data-dependent initialisation).
 */
export function initialGlowArrays(config: GlowConfig, seed: number): WeightArrays {
  validateGlowConfig(config);
  const rng = new TrainRandom(seed);
  const out: WeightArrays = new Map();
  for (const [name, shape] of glowParamShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    if (name.endsWith('invconv.weight')) data = Float32Array.from(orthonormalize(rng.normals(n), shape[0]!));
    else if (name.endsWith('conv1.kernel') || name.endsWith('conv2.kernel')) data = rng.normals(n, 0.05);
    else data = new Float32Array(n);
    out.set(name, { shape, data });
  }
  return out;
}

export function initialGlowParams(config: GlowConfig, seed: number): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const [k, v] of initialGlowArrays(config, seed)) out[k] = tf.tensor(v.data, v.shape, 'float32');
  return out;
}
