import { tf } from '../../engine/index.ts';
import type * as tfType from '@tensorflow/tfjs';
import type { ImageShape } from '../../models/prior.ts';
import type { SparsityBasis } from './basis.ts';

/** Number of 2-D Haar levels a H×W plane allows: halve while both sides are even (64×64 → 6 levels, down to 1×1). */
export function haarLevels(height: number, width: number): number {
  let levels = 0;
  while (height > 1 && width > 1 && height % 2 === 0 && width % 2 === 0) {
    height /= 2;
    width /= 2;
    levels++;
  }
  return levels;
}

/**
 * Forward full-depth 2-D Haar (Mallat's pyramid) of every channel of every image in `data` (flat HWC images, one
 * after another), in place. Each level maps the 2×2 blocks (x00 x01 / x10 x11) of the current approximation by the
 * orthonormal ½·[[1,1,1,1], [1,−1,1,−1], [1,1,−1,−1], [1,−1,−1,1]] and stores the approximation in the top-left
 * quadrant, horizontal / vertical / diagonal details in the top-right / bottom-left / bottom-right quadrants.
 */
export function haarForwardInPlace(data: Float32Array, shape: ImageShape, scratch: Float64Array): void {
  const [h, w, ch] = shape;
  const levels = haarLevels(h, w);
  const n = h * w * ch;
  const row = w * ch;
  for (let off = 0; off < data.length; off += n) {
    for (let l = 0, r = h, c = w; l < levels; l++, r >>= 1, c >>= 1) {
      const r2 = r >> 1;
      const c2 = c >> 1;
      const q = r2 * c2;
      for (let k = 0; k < ch; k++) {
        for (let i = 0; i < r2; i++) {
          const top = off + 2 * i * row + k;
          const bottom = top + row;
          for (let j = 0; j < c2; j++) {
            const x00 = data[top + 2 * j * ch];
            const x01 = data[top + (2 * j + 1) * ch];
            const x10 = data[bottom + 2 * j * ch];
            const x11 = data[bottom + (2 * j + 1) * ch];
            const s = i * c2 + j;
            scratch[s] = (x00 + x01 + x10 + x11) * 0.5;
            scratch[q + s] = (x00 - x01 + x10 - x11) * 0.5;
            scratch[2 * q + s] = (x00 + x01 - x10 - x11) * 0.5;
            scratch[3 * q + s] = (x00 - x01 - x10 + x11) * 0.5;
          }
        }
        for (let i = 0; i < r2; i++) {
          for (let j = 0; j < c2; j++) {
            const s = i * c2 + j;
            data[off + i * row + j * ch + k] = scratch[s];
            data[off + i * row + (c2 + j) * ch + k] = scratch[q + s];
            data[off + (r2 + i) * row + j * ch + k] = scratch[2 * q + s];
            data[off + (r2 + i) * row + (c2 + j) * ch + k] = scratch[3 * q + s];
          }
        }
      }
    }
  }
}

/** Exact inverse of haarForwardInPlace (the level matrix is symmetric and orthonormal: its own inverse). */
export function haarInverseInPlace(data: Float32Array, shape: ImageShape, scratch: Float64Array): void {
  const [h, w, ch] = shape;
  const levels = haarLevels(h, w);
  const n = h * w * ch;
  const row = w * ch;
  for (let off = 0; off < data.length; off += n) {
    for (let l = levels - 1; l >= 0; l--) {
      const r2 = h >> (l + 1);
      const c2 = w >> (l + 1);
      for (let k = 0; k < ch; k++) {
        for (let i = 0; i < r2; i++) {
          for (let j = 0; j < c2; j++) {
            const a = data[off + i * row + j * ch + k];
            const hd = data[off + i * row + (c2 + j) * ch + k];
            const vd = data[off + (r2 + i) * row + j * ch + k];
            const dd = data[off + (r2 + i) * row + (c2 + j) * ch + k];
            const s = 4 * (i * c2 + j);
            scratch[s] = (a + hd + vd + dd) * 0.5;
            scratch[s + 1] = (a - hd + vd - dd) * 0.5;
            scratch[s + 2] = (a + hd - vd - dd) * 0.5;
            scratch[s + 3] = (a - hd - vd + dd) * 0.5;
          }
        }
        for (let i = 0; i < r2; i++) {
          const top = off + 2 * i * row + k;
          const bottom = top + row;
          for (let j = 0; j < c2; j++) {
            const s = 4 * (i * c2 + j);
            data[top + 2 * j * ch] = scratch[s];
            data[top + (2 * j + 1) * ch] = scratch[s + 1];
            data[bottom + 2 * j * ch] = scratch[s + 2];
            data[bottom + (2 * j + 1) * ch] = scratch[s + 3];
          }
        }
      }
    }
  }
}

/**
 * Orthonormal full-depth 2-D Haar wavelet transform of each colour channel (the basis of pywt's wavedec2 with 'db1'
 * at full depth). The levels run as typed-array loops between one download and one upload of the batch: on the wasm
 * backend the same pyramid written as reshape/slice/add tensor ops, or as two small matrix products per level,
 * measured 10–100× slower than these loops (dozens of tiny kernels per level, each with a fixed cost). The
 * coefficients keep the HWC layout with Mallat's quadrants per channel.
 */
export function createHaarBasis(imageShape: ImageShape): SparsityBasis {
  const scratch = new Float64Array(imageShape[0] * imageShape[1]);
  const run = (x: tfType.Tensor2D, step: typeof haarForwardInPlace): tfType.Tensor2D => {
    const data = (x.dataSync() as Float32Array).slice();
    step(data, imageShape, scratch);
    return tf.tensor2d(data, x.shape);
  };
  return {
    name: 'haar',
    imageShape,
    analysis: (x) => run(x, haarForwardInPlace),
    synthesis: (c) => run(c, haarInverseInPlace),
    dispose(): void {},
  };
}
