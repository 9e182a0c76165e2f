import { tf } from '../../engine/index.ts';
import { encodePng } from '../../imaging/index.ts';
import type { GlowConfig } from '../../models/glow/config.ts';
import { latentDim } from '../../models/glow/config.ts';
import { disposeGlowDecoder, glowBitsPerDim, glowDecode, prepareGlowDecoder } from '../../models/glow/flow.ts';
import type { GlowParams } from '../../models/glow/params.ts';
import { dequantizeBatch } from '../batches.ts';
import { imageGrid } from '../grid.ts';
import type { ImageSet } from '../image_folder.ts';
import { TrainRandom } from '../rng.ts';

/** The dequantisation seed of validation: fixed, so successive evaluations differ only by the weights. */
export const VALIDATION_SEED = 1234;

/** Mean bits/dim of a whole image set at nBits (no +3 offset), in chunks of `batch` images. */
export function glowValidationBitsPerDim(params: GlowParams, config: GlowConfig, set: ImageSet, batch: number): number {
  const rng = new TrainRandom(VALIDATION_SEED);
  let total = 0;
  for (let i = 0; i < set.count; i += batch) {
    const idx = Array.from({ length: Math.min(batch, set.count - i) }, (_, j) => i + j);
    const x = dequantizeBatch(set, idx, config.nBits, rng);
    const bpd = tf.tidy(() => tf.sum(glowBitsPerDim(params, config, tf.tensor4d(x, [idx.length, set.height, set.width, set.channels]))));
    total += bpd.dataSync()[0]!;
    bpd.dispose();
  }
  return total / set.count;
}

/** n samples at a temperature from fixed latents (the same faces at every call, so grids show progress), as a PNG. */
export async function glowSampleGridPng(params: GlowParams, config: GlowConfig, n: number, temperature: number, seed = 7, chunk = 16): Promise<Buffer> {
  const dim = latentDim(config);
  const z = new TrainRandom(seed).normals(n * dim, temperature);
  const dec = prepareGlowDecoder(params, config, 0.5);
  const per = config.size * config.size * config.channels;
  const images = new Float32Array(n * per);
  try {
    for (let i = 0; i < n; i += chunk) {
      const m = Math.min(chunk, n - i);
      const x = tf.tidy(() => glowDecode(dec, tf.tensor2d(z.subarray(i * dim, (i + m) * dim), [m, dim])));
      images.set(x.dataSync(), i * per);
      x.dispose();
    }
  } finally {
    disposeGlowDecoder(dec);
  }
  return encodePng(imageGrid(images, n, config.size, config.size, config.channels));
}
