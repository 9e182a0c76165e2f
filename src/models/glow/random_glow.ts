import { tf } from '../../engine/index.ts';
import { SeededRandom } from '../random.ts';
import { validateGlowConfig, type GlowConfig } from './config.ts';
import { Glow } from './glow.ts';
import { orthonormalize } from './linalg.ts';
import { glowParamShapes, type GlowParams } from './params.ts';

/**
 * Random but non-trivial weights (for tests and benchmarks): every ActNorm, 1×1 convolution (a rotation times a
 * perturbation, so log|det W| ≠ 0) and coupling layer (non-zero output convolution) changes its input, while the
 * activations stay O(1) so the flow is well conditioned in both directions.
 */
export function randomGlowParams(config: GlowConfig, seed = 0): GlowParams {
  validateGlowConfig(config);
  const rng = new SeededRandom(seed);
  const out: GlowParams = {};
  for (const [name, shape] of glowParamShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    if (name.endsWith('invconv.weight')) {
      const C = shape[0]!;
      const q = orthonormalize(rng.normals(C * C), C);
      const w = new Float32Array(C * C);
      // W = Q·(I + 0.2·G/√C): invertible, condition number close to 1, determinant away from ±1.
      const g = rng.normals(C * C, 0.2 / Math.sqrt(C));
      for (let i = 0; i < C; i++) {
        for (let j = 0; j < C; j++) {
          let s = q[i * C + j]!;
          for (let k = 0; k < C; k++) s += q[i * C + k]! * g[k * C + j]!;
          w[i * C + j] = s;
        }
      }
      data = w;
    } else if (name.endsWith('.kernel')) {
      const fanIn = shape[0]! * shape[1]! * shape[2]!;
      const isOutput = name.endsWith('conv3.kernel');
      data = rng.normals(n, (isOutput ? 0.3 : 1) / Math.sqrt(fanIn));
    } else if (name.endsWith('.logs')) {
      data = rng.uniforms(n, -0.25, 0.25);
    } else {
      data = rng.normals(n, 0.1);
    }
    out[name] = tf.tensor(data, shape, 'float32');
  }
  return out;
}

/**
 * The reference's initialisation, the starting point for training: random rotations for the 1×1 convolutions,
 * N(0, 0.05) for the first two coupling convolutions, zeros for the last one (each coupling starts as the
 * identity) and for every ActNorm (set them from data with glowInitActNorm before the first step).
 */
export function initialGlowParams(config: GlowConfig, seed = 0): GlowParams {
  validateGlowConfig(config);
  const rng = new SeededRandom(seed);
  const out: GlowParams = {};
  for (const [name, shape] of glowParamShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    let data: Float32Array = new Float32Array(n);
    if (name.endsWith('invconv.weight')) data = Float32Array.from(orthonormalize(rng.normals(n), shape[0]!));
    else if (name.endsWith('conv1.kernel') || name.endsWith('conv2.kernel')) data = rng.normals(n, 0.05);
    out[name] = tf.tensor(data, shape, 'float32');
  }
  return out;
}

export function createRandomGlow(config: GlowConfig, seed = 0, opts: { name?: string } = {}): Glow {
  return new Glow(config, randomGlowParams(config, seed), { name: opts.name ?? `random-glow-${seed}` });
}

/** A complete config from the few fields tests care about. */
export function glowConfig(c: Partial<GlowConfig> & Pick<GlowConfig, 'K' | 'L' | 'hidden'>): GlowConfig {
  return validateGlowConfig({
    nBits: 5,
    size: 64,
    channels: 3,
    squeeze: 'spatial',
    topStepCouplingBias: 0,
    ...c,
  });
}
