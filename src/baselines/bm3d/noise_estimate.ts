/**
 * Noise level of an HWC image with additive white Gaussian noise, by Donoho's robust estimator: the median absolute
 * value of the finest diagonal Haar coefficients, (x00 − x01 − x10 + x11)/2 over disjoint 2×2 blocks, divided by
 * 0.6745 (the median of |N(0,1)|). The orthonormal diagonal filter passes white noise with its σ unchanged and
 * nearly cancels smooth content; the median ignores the few coefficients that edges and texture make large, so the
 * estimate errs high only on strongly textured images. All channels are pooled.
 */
export function estimateNoiseSigma(hwc: Float32Array, height: number, width: number, channels: number): number {
  const h2 = height >> 1;
  const w2 = width >> 1;
  const values = new Float64Array(h2 * w2 * channels);
  let k = 0;
  const row = width * channels;
  for (let i = 0; i < h2; i++) {
    for (let j = 0; j < w2; j++) {
      const base = 2 * i * row + 2 * j * channels;
      for (let c = 0; c < channels; c++) {
        const x00 = hwc[base + c];
        const x01 = hwc[base + channels + c];
        const x10 = hwc[base + row + c];
        const x11 = hwc[base + row + channels + c];
        values[k++] = Math.abs(x00 - x01 - x10 + x11) / 2;
      }
    }
  }
  if (k === 0) return 0;
  values.sort();
  const mid = k >> 1;
  const median = k % 2 === 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
  return median / 0.6745;
}
