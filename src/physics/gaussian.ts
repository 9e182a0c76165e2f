// Compressive sensing: A ∈ R^{m×n} with i.i.d. N(0, 1/m) entries, regenerable from (m, seed) by any client.
import { tf } from '../engine/index.ts';
import type * as tfType from '@tensorflow/tfjs';
import type { ImageShape } from '../models/prior.ts';
import { fillNormal, Stream } from '../util/random.ts';
import { checkBatch, FIELD, imageSize, rejectUnknownKeys, requireInteger, rescale01, SEED_MAX, withAdjointGradient } from './common.ts';
import type { OperatorDefinition } from './definition.ts';
import type { LinearOperator } from './operator.ts';

type GaussianSpec = { type: 'gaussian'; m: number; seed: number };

/** 2²⁸ float32 entries = 1 GiB: the wasm heap is 4 GiB and the solve needs room besides A. */
export const GAUSSIAN_MAX_ENTRIES = 2 ** 28;

/**
 * A in the orientation [n, m] (Aᵀ, row-major): entry A[i, j] (measurement i, HWC pixel index j) is normal number
 * i·n + j of the (seed, gaussian-operator) stream times 1/√m, computed in float64 and rounded to float32.
 */
export function gaussianMatrixTransposed(m: number, n: number, seed: number): Float32Array {
  const at = new Float32Array(m * n);
  const scale = 1 / Math.sqrt(m);
  // Rows are generated in tiles so that the transposed writes touch each destination page once per tile.
  const tile = 64;
  const block = new Float32Array(tile * n);
  for (let i0 = 0; i0 < m; i0 += tile) {
    const rows = Math.min(tile, m - i0);
    const view = rows === tile ? block : block.subarray(0, rows * n);
    fillNormal(view, seed, Stream.gaussianOperator, scale, i0 * n);
    for (let j = 0; j < n; j++) {
      const dst = j * m + i0;
      for (let r = 0; r < rows; r++) at[dst + r] = view[r * n + j] as number;
    }
  }
  return at;
}

class GaussianOperator implements LinearOperator {
  readonly n: number;
  readonly m: number;
  /** Aᵀ, [n, m]: only one orientation is stored (at 12288² it is 604 MB); both products stay plain matMuls. */
  private readonly at: tfType.Tensor2D;
  readonly apply: (x: tfType.Tensor2D) => tfType.Tensor2D;

  constructor(
    readonly spec: GaussianSpec,
    readonly imageShape: ImageShape,
  ) {
    this.n = imageSize(imageShape);
    this.m = spec.m;
    this.at = tf.tensor2d(gaussianMatrixTransposed(this.m, this.n, spec.seed), [this.n, this.m]);
    const forward = (x: tfType.Tensor2D): tfType.Tensor2D => {
      checkBatch(x, this.n, 'gaussian.apply');
      return tf.matMul(x, this.at);
    };
    this.apply = withAdjointGradient(forward, (y) => this.adjoint(y));
  }

  adjoint(y: tfType.Tensor2D): tfType.Tensor2D {
    checkBatch(y, this.m, 'gaussian.adjoint');
    // (y·A)ᵀ = Aᵀ·yᵀ: transposing the small [B, m] and [n, B] arrays is far cheaper than a transposed matMul
    // on the large one (the wasm backend runs those as a naive loop).
    return tf.tidy(() => tf.transpose(tf.matMul(this.at, tf.transpose(y))) as tfType.Tensor2D);
  }

  view(y: Float32Array): { data: Float32Array; shape: ImageShape } {
    const back = tf.tidy(() => this.adjoint(tf.tensor2d(y, [1, this.m])));
    const data = back.dataSync() as Float32Array;
    back.dispose();
    return { data: rescale01(data), shape: this.imageShape };
  }

  dispose(): void {
    this.at.dispose();
  }
}

function maxM(imageShape: ImageShape): number {
  const n = imageSize(imageShape);
  return Math.min(n, Math.floor(GAUSSIAN_MAX_ENTRIES / n));
}

export const gaussianOperator: OperatorDefinition<GaussianSpec> = {
  type: 'gaussian',
  description: 'Compressive sensing: y = A·x + noise, A ∈ R^{m×n} with i.i.d. N(0, 1/m) entries generated from seed.',
  jsonSchema: (imageShape) => ({
    type: 'object',
    description:
      'Compressive sensing with a seeded i.i.d. N(0, 1/m) matrix (generator documented in docs/operators.md).',
    properties: {
      type: { const: 'gaussian' },
      m: {
        type: 'integer',
        minimum: 1,
        ...(imageShape ? { maximum: maxM(imageShape) } : {}),
        description: 'number of measurements (at most n = H·W·C)',
      },
      seed: { type: 'integer', minimum: 0, maximum: SEED_MAX, description: 'seed of the matrix' },
    },
    required: ['type', 'm', 'seed'],
    additionalProperties: false,
  }),
  validate(spec, imageShape) {
    rejectUnknownKeys(spec, ['type', 'm', 'seed']);
    requireInteger(spec.m, `${FIELD}.m`, 1, maxM(imageShape));
    requireInteger(spec.seed, `${FIELD}.seed`, 0, SEED_MAX);
  },
  create: (spec, imageShape) => new GaussianOperator(spec, imageShape),
};
