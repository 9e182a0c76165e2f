import { tf } from '../../engine/index.ts';
import type * as tfType from '@tensorflow/tfjs';
import type { ImageShape } from '../../models/prior.ts';
import type { SparsityBasis } from './basis.ts';

/** Orthonormal DCT-II matrix D (N×N, row k = frequency k), computed in float64: D·Dᵀ = I. */
export function dctMatrix(size: number): Float64Array {
  const d = new Float64Array(size * size);
  for (let k = 0; k < size; k++) {
    const alpha = Math.sqrt((k === 0 ? 1 : 2) / size);
    for (let i = 0; i < size; i++) d[k * size + i] = alpha * Math.cos((Math.PI * (2 * i + 1) * k) / (2 * size));
  }
  return d;
}

function transposed(m: Float64Array, size: number): Float32Array {
  const t = new Float32Array(size * size);
  for (let r = 0; r < size; r++) for (let c = 0; c < size; c++) t[c * size + r] = m[r * size + c];
  return t;
}

/**
 * Orthonormal 2-D DCT-II of each colour channel (what scipy's dct(norm='ortho') along both axes computes), as two
 * small matrix products per channel. Both orientations of each matrix are kept as constants because a plain
 * a·b is much faster on wasm than a matMul with a transpose flag.
 * Coefficient layout: [channel, column frequency, row frequency].
 */
export function createDctBasis(imageShape: ImageShape): SparsityBasis {
  const [h, w, ch] = imageShape;
  const dh = dctMatrix(h);
  const dw = dctMatrix(w);
  const dhMat = tf.tensor2d(Float32Array.from(dh), [h, h]);
  const dhT = tf.tensor2d(transposed(dh, h), [h, h]);
  const dwMat = tf.tensor2d(Float32Array.from(dw), [w, w]);
  const dwT = tf.tensor2d(transposed(dw, w), [w, w]);
  const n = h * w * ch;

  return {
    name: 'dct',
    imageShape,
    analysis(x: tfType.Tensor2D): tfType.Tensor2D {
      return tf.tidy(() => {
        const b = x.shape[0];
        const planes = tf.transpose(tf.reshape(x, [b, h, w, ch]), [0, 3, 1, 2]); // [B, C, H, W]
        const alongW = tf.matMul(tf.reshape(planes, [b * ch * h, w]), dwT); // rows: Σ_w x[w]·D[k,w]
        const swapped = tf.transpose(tf.reshape(alongW, [b * ch, h, w]), [0, 2, 1]); // [BC, Kw, H]
        const alongH = tf.matMul(tf.reshape(swapped, [b * ch * w, h]), dhT);
        return tf.reshape(alongH, [b, n]);
      });
    },
    synthesis(c: tfType.Tensor2D): tfType.Tensor2D {
      return tf.tidy(() => {
        const b = c.shape[0];
        const alongH = tf.matMul(tf.reshape(c, [b * ch * w, h]), dhMat); // [BC·Kw, H]
        const swapped = tf.transpose(tf.reshape(alongH, [b * ch, w, h]), [0, 2, 1]); // [BC, H, Kw]
        const alongW = tf.matMul(tf.reshape(swapped, [b * ch * h, w]), dwMat); // [BC·H, W]
        const hwc = tf.transpose(tf.reshape(alongW, [b, ch, h, w]), [0, 2, 3, 1]);
        return tf.reshape(hwc, [b, n]);
      });
    },
    dispose(): void {
      dhMat.dispose();
      dhT.dispose();
      dwMat.dispose();
      dwT.dispose();
    },
  };
}
