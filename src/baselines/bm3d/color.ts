// Luminance–chrominance decorrelation for CBM3D: the opponent colour transform, in its orthonormal form
// Y = (R+G+B)/√3, U = (R−B)/√2, V = (R−2G+B)/√6. Orthonormal rows keep white noise white with the same σ in every
// channel, so one threshold serves all three; Dabov et al.'s luminance (R+G+B)/3 is Y/√3, which is how their
// block-matching thresholds carry over (bm3d.ts).

const S3 = 1 / Math.sqrt(3);
const S2 = 1 / Math.sqrt(2);
const S6 = 1 / Math.sqrt(6);

/** Splits HWC pixels into planes (opponent colour space for 3 channels, as is otherwise), each scaled by `scale`. */
export function toPlanes(hwc: Float32Array, height: number, width: number, channels: number, scale: number): Float32Array[] {
  const count = height * width;
  if (channels === 3) {
    const y = new Float32Array(count);
    const u = new Float32Array(count);
    const v = new Float32Array(count);
    for (let p = 0; p < count; p++) {
      const r = hwc[3 * p] * scale;
      const g = hwc[3 * p + 1] * scale;
      const b = hwc[3 * p + 2] * scale;
      y[p] = (r + g + b) * S3;
      u[p] = (r - b) * S2;
      v[p] = (r - 2 * g + b) * S6;
    }
    return [y, u, v];
  }
  const planes: Float32Array[] = [];
  for (let k = 0; k < channels; k++) {
    const plane = new Float32Array(count);
    for (let p = 0; p < count; p++) plane[p] = hwc[channels * p + k] * scale;
    planes.push(plane);
  }
  return planes;
}

/** Inverse of toPlanes (the transpose of the orthonormal matrix), back to HWC divided by `scale`. */
export function fromPlanes(planes: Float32Array[], height: number, width: number, scale: number): Float32Array {
  const count = height * width;
  const channels = planes.length;
  const out = new Float32Array(count * channels);
  const inv = 1 / scale;
  if (channels === 3) {
    const [y, u, v] = planes;
    for (let p = 0; p < count; p++) {
      const ys = y[p] * S3;
      out[3 * p] = (ys + u[p] * S2 + v[p] * S6) * inv;
      out[3 * p + 1] = (ys - 2 * v[p] * S6) * inv;
      out[3 * p + 2] = (ys - u[p] * S2 + v[p] * S6) * inv;
    }
    return out;
  }
  for (let k = 0; k < channels; k++) for (let p = 0; p < count; p++) out[channels * p + k] = planes[k][p] * inv;
  return out;
}
