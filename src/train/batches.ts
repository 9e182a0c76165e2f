import type { ImageSet } from './image_folder.ts';
import { epochPermutation, type TrainRandom } from './rng.ts';

/** Where the trainer is in its pass over the data: enough to continue the same order after a restart. */
export interface DataPosition {
  epoch: number;
  /** Images of this epoch's permutation already used. */
  pos: number;
}

/**
 * Batches of image indices in a new random order every epoch; an epoch ends when fewer than `batch` images are
 * left (they are skipped, as the reference trainer does), so every batch has the same size.
 */
export class BatchOrder {
  private perm: Int32Array | null = null;
  private permEpoch = -1;

  constructor(
    private readonly count: number,
    private readonly seed: number,
    public position: DataPosition = { epoch: 0, pos: 0 },
  ) {}

  next(batch: number): Int32Array {
    if (batch > this.count) throw new Error(`batch ${batch} is larger than the data set (${this.count} images)`);
    let { epoch, pos } = this.position;
    if (pos + batch > this.count) (epoch += 1), (pos = 0);
    if (this.permEpoch !== epoch) {
      this.perm = epochPermutation(this.count, this.seed, epoch);
      this.permEpoch = epoch;
    }
    const out = this.perm!.slice(pos, pos + batch);
    this.position = { epoch, pos: pos + batch };
    return out;
  }

  /** Epochs done, fractional. */
  epochs(): number {
    return this.position.epoch + this.position.pos / this.count;
  }
}

/**
 * n-bit dequantisation as the reference trains: k = ⌊v / 2^(8−nBits)⌋, x = k/2^nBits + U[0, 1/2^nBits), returned
 * in model space (x − 0.5), NHWC. `flip` (per image) mirrors horizontally. Noise is drawn image by image in NHWC
 * order, then the flips, one per image.
 */
export function dequantizeBatch(
  set: ImageSet,
  indices: ArrayLike<number>,
  nBits: number,
  rng: TrainRandom,
  opts: { flip?: boolean } = {},
): Float32Array {
  const { height: H, width: W, channels: C } = set;
  const per = H * W * C;
  const bins = 2 ** nBits;
  const shift = 8 - nBits;
  const out = new Float32Array(indices.length * per);
  for (let b = 0; b < indices.length; b++) {
    const src = indices[b]! * per;
    const dst = b * per;
    for (let i = 0; i < per; i++) out[dst + i] = ((set.data[src + i]! >> shift) + rng.next()) / bins - 0.5;
  }
  if (opts.flip) {
    for (let b = 0; b < indices.length; b++) if (rng.next() < 0.5) flipHorizontal(out, b * per, H, W, C);
  }
  return out;
}

function flipHorizontal(x: Float32Array, offset: number, H: number, W: number, C: number): void {
  for (let r = 0; r < H; r++) {
    const row = offset + r * W * C;
    for (let a = 0, b = W - 1; a < b; a++, b--) {
      for (let c = 0; c < C; c++) {
        const t = x[row + a * C + c]!;
        x[row + a * C + c] = x[row + b * C + c]!;
        x[row + b * C + c] = t;
      }
    }
  }
}

/** 8-bit images → [−1, 1] (the DCGAN's tanh range), NHWC, optionally mirrored per image (one draw per image). */
export function scaledBatch(set: ImageSet, indices: ArrayLike<number>, rng: TrainRandom, opts: { flip?: boolean } = {}): Float32Array {
  const { height: H, width: W, channels: C } = set;
  const per = H * W * C;
  const out = new Float32Array(indices.length * per);
  for (let b = 0; b < indices.length; b++) {
    const src = indices[b]! * per;
    for (let i = 0; i < per; i++) out[b * per + i] = set.data[src + i]! / 127.5 - 1;
    if (opts.flip && rng.next() < 0.5) flipHorizontal(out, b * per, H, W, C);
  }
  return out;
}
