// SSIM (Wang et al. 2004) with the usual settings: 11×11 Gaussian window, σ = 1.5, K1 = 0.01, K2 = 0.03,
// data range 1, population (not sample) statistics, mean over the 'valid' windows, per channel, then averaged
// over channels. This matches skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5,
// use_sample_covariance=False, data_range=1, channel_axis=-1).
import type { ImageShape } from '../models/prior.ts';

export interface SsimOptions {
  sigma?: number;
  /** Window size (odd); shrunk to the largest odd size that fits images smaller than it. */
  windowSize?: number;
  k1?: number;
  k2?: number;
}

function clip(v: number): number {
  return v > 1 ? 1 : v > 0 ? v : 0;
}

function window1d(size: number, sigma: number): Float64Array {
  const w = new Float64Array(size);
  const c = (size - 1) / 2;
  let s = 0;
  for (let i = 0; i < size; i++) s += w[i] = Math.exp(-((i - c) ** 2) / (2 * sigma * sigma));
  for (let i = 0; i < size; i++) w[i] = (w[i] as number) / s;
  return w;
}

/** Separable 'valid' filtering of a [h, w] plane. */
function filterValid(plane: Float64Array, h: number, w: number, win: Float64Array): Float64Array {
  const k = win.length;
  const ow = w - k + 1;
  const oh = h - k + 1;
  const rows = new Float64Array(h * ow);
  for (let r = 0; r < h; r++)
    for (let c = 0; c < ow; c++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += (win[i] as number) * (plane[r * w + c + i] as number);
      rows[r * ow + c] = s;
    }
  const out = new Float64Array(oh * ow);
  for (let r = 0; r < oh; r++)
    for (let c = 0; c < ow; c++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += (win[i] as number) * (rows[(r + i) * ow + c] as number);
      out[r * ow + c] = s;
    }
  return out;
}

/** Mean SSIM of two HWC images (both clipped to [0,1]). */
export function ssim(x: ArrayLike<number>, y: ArrayLike<number>, shape: ImageShape, options: SsimOptions = {}): number {
  const [h, w, ch] = shape;
  if (x.length !== h * w * ch || y.length !== h * w * ch) {
    throw new RangeError(`ssim: expected ${h * w * ch} values, got ${x.length} and ${y.length}`);
  }
  const sigma = options.sigma ?? 1.5;
  let size = options.windowSize ?? 11;
  const fit = Math.min(h, w) % 2 === 1 ? Math.min(h, w) : Math.min(h, w) - 1;
  size = Math.min(size, fit);
  const win = window1d(size, sigma);
  const c1 = (options.k1 ?? 0.01) ** 2;
  const c2 = (options.k2 ?? 0.03) ** 2;
  let total = 0;
  for (let c = 0; c < ch; c++) {
    const px = new Float64Array(h * w);
    const py = new Float64Array(h * w);
    for (let p = 0; p < h * w; p++) {
      px[p] = clip(x[p * ch + c] as number);
      py[p] = clip(y[p * ch + c] as number);
    }
    const prod = (a: Float64Array, b: Float64Array) => a.map((v, i) => v * (b[i] as number));
    const mx = filterValid(px, h, w, win);
    const my = filterValid(py, h, w, win);
    const mxx = filterValid(prod(px, px), h, w, win);
    const myy = filterValid(prod(py, py), h, w, win);
    const mxy = filterValid(prod(px, py), h, w, win);
    let s = 0;
    for (let i = 0; i < mx.length; i++) {
      const ux = mx[i] as number;
      const uy = my[i] as number;
      const vx = (mxx[i] as number) - ux * ux;
      const vy = (myy[i] as number) - uy * uy;
      const cxy = (mxy[i] as number) - ux * uy;
      s += ((2 * ux * uy + c1) * (2 * cxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
    }
    total += s / mx.length;
  }
  return total / ch;
}
