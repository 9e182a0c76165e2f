// Seeded measurement noise and y = A·x + η simulation.
import { tf } from '../engine/index.ts';
import { ValidationError } from '../errors.ts';
import { fillNormal, Stream } from '../util/random.ts';
import { requireInteger, requireNumber, SEED_MAX, type JsonSchema } from './common.ts';
import type { LinearOperator, NoiseSpec } from './operator.ts';

export const NOISE_MAX = 1e3;

/** Throws ValidationError (field "noise.…") unless `noise` is a valid NoiseSpec. */
export function validateNoiseSpec(noise: unknown): asserts noise is NoiseSpec {
  if (typeof noise !== 'object' || noise === null) throw new ValidationError('noise', 'must be an object with a "type" field');
  const n = noise as Record<string, unknown>;
  const allowed: Record<string, string[]> = {
    none: ['type'],
    gaussian: ['type', 'sigma', 'seed'],
    'gaussian-norm': ['type', 'norm', 'seed'],
  };
  const keys = typeof n.type === 'string' ? allowed[n.type] : undefined;
  if (!keys) throw new ValidationError('noise.type', `must be one of ${Object.keys(allowed).join(', ')}, got ${JSON.stringify(n.type)}`);
  for (const k of Object.keys(n)) if (!keys.includes(k)) throw new ValidationError(`noise.${k}`, 'unknown field for this noise type');
  if (n.type === 'gaussian') requireNumber(n.sigma, 'noise.sigma', 0, NOISE_MAX);
  if (n.type === 'gaussian-norm') requireNumber(n.norm, 'noise.norm', 0, NOISE_MAX);
  if (n.type !== 'none') requireInteger(n.seed, 'noise.seed', 0, SEED_MAX);
}

export function noiseJsonSchema(): JsonSchema {
  const seed = { type: 'integer', minimum: 0, maximum: SEED_MAX };
  return {
    description: 'Additive measurement noise, seeded (generator in docs/operators.md).',
    oneOf: [
      { type: 'object', properties: { type: { const: 'none' } }, required: ['type'], additionalProperties: false },
      {
        type: 'object',
        description: 'η ~ N(0, σ² I)',
        properties: { type: { const: 'gaussian' }, sigma: { type: 'number', minimum: 0, maximum: NOISE_MAX }, seed },
        required: ['type', 'sigma', 'seed'],
        additionalProperties: false,
      },
      {
        type: 'object',
        description: 'η = N(0, I_m)·norm/√m, so ‖η‖ ≈ norm (the paper’s compressive-sensing noise, norm 0.1)',
        properties: { type: { const: 'gaussian-norm' }, norm: { type: 'number', minimum: 0, maximum: NOISE_MAX }, seed },
        required: ['type', 'norm', 'seed'],
        additionalProperties: false,
      },
    ],
  };
}

/** A new array y + η. η_k = scale·(normal number k of the (seed, noise) stream). */
export function addNoise(y: Float32Array, noise: NoiseSpec): Float32Array {
  validateNoiseSpec(noise);
  const out = new Float32Array(y);
  if (noise.type === 'none') return out;
  const scale = noise.type === 'gaussian' ? noise.sigma : noise.norm / Math.sqrt(Math.max(1, y.length));
  const eta = new Float64Array(y.length);
  fillNormal(eta, noise.seed, Stream.noise, scale);
  for (let i = 0; i < out.length; i++) out[i] = (y[i] as number) + (eta[i] as number);
  return out;
}

/** y = A·x + η for one image x (HWC, length n). */
export function simulateMeasurements(op: LinearOperator, x: Float32Array, noise: NoiseSpec): Float32Array {
  if (x.length !== op.n) throw new ValidationError('groundTruth', `expected ${op.n} values (${op.imageShape.join('×')}), got ${x.length}`);
  const yT = tf.tidy(() => op.apply(tf.tensor2d(x, [1, op.n])));
  const clean = yT.dataSync() as Float32Array;
  yT.dispose();
  return addNoise(clean, noise);
}
