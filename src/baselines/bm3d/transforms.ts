// The fixed transforms of BM3D: the 2-D block transform (orthonormal DCT-II on 8×8 blocks), the orthonormal Haar
// transform along a group, and the Kaiser window used in aggregation. Plain typed-array loops.

/** Orthonormal DCT-II matrix, row u = frequency u: D[u·N + x]. */
export function dctMatrix(size: number): Float64Array {
  const d = new Float64Array(size * size);
  for (let u = 0; u < size; u++) {
    const alpha = Math.sqrt((u === 0 ? 1 : 2) / size);
    for (let x = 0; x < size; x++) d[u * size + x] = alpha * Math.cos((Math.PI * (2 * x + 1) * u) / (2 * size));
  }
  return d;
}

/** Modified Bessel function of the first kind, order 0 (power series; converges fast for the β used here). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  for (let k = 1; k < 50; k++) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
    if (term < 1e-12 * sum) break;
  }
  return sum;
}

/** 2-D Kaiser window (outer product of two 1-D windows of parameter β), row-major size×size. */
export function kaiserWindow(size: number, beta: number): Float32Array {
  const w1 = new Float64Array(size);
  for (let i = 0; i < size; i++) {
    const r = size === 1 ? 0 : (2 * i) / (size - 1) - 1;
    w1[i] = besselI0(beta * Math.sqrt(Math.max(0, 1 - r * r))) / besselI0(beta);
  }
  const w = new Float32Array(size * size);
  for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) w[i * size + j] = w1[i] * w1[j];
  return w;
}

/**
 * Inverse 2-D transform of one block: x = Dᵀ·B·D, B row-major 8×8 at `src[srcOff..]`, result into `dst[dstOff..]`.
 * `tmp` holds 64 values.
 */
export function inverseBlockTransform(
  src: Float32Array,
  srcOff: number,
  dst: Float32Array,
  dstOff: number,
  d: Float64Array,
  size: number,
  tmp: Float64Array,
): void {
  // tmp[x][v] = Σ_u D[u][x]·B[u][v], skipping all-zero frequency rows (most of them after hard thresholding).
  tmp.fill(0, 0, size * size);
  for (let u = 0; u < size; u++) {
    const row = srcOff + u * size;
    let any = false;
    for (let v = 0; v < size; v++) if (src[row + v] !== 0) any = true;
    if (!any) continue;
    for (let x = 0; x < size; x++) {
      const dux = d[u * size + x];
      for (let v = 0; v < size; v++) tmp[x * size + v] += dux * src[row + v];
    }
  }
  // out[x][y] = Σ_v tmp[x][v]·D[v][y]
  for (let x = 0; x < size; x++) {
    for (let y = 0; y < size; y++) {
      let s = 0;
      for (let v = 0; v < size; v++) s += tmp[x * size + v] * d[v * size + y];
      dst[dstOff + x * size + y] = s;
    }
  }
}

/**
 * In-place orthonormal full-depth 1-D Haar transform along the group axis of a group stored block-major:
 * g[j·size + k] = 2-D coefficient k of block j, for j < n (a power of two), k < size. Averages first. The inner loop
 * runs over the coefficients of two blocks side by side, so memory is read in order. `tmp` holds n·size values.
 */
export function haarAlongGroup(g: Float32Array, size: number, n: number, tmp: Float32Array): void {
  const r = Math.SQRT1_2;
  for (let len = n; len > 1; len >>= 1) {
    const half = len >> 1;
    for (let j = 0; j < half; j++) {
      const a0 = 2 * j * size;
      const b0 = a0 + size;
      const s0 = j * size;
      const d0 = (half + j) * size;
      for (let k = 0; k < size; k++) {
        const a = g[a0 + k];
        const b = g[b0 + k];
        tmp[s0 + k] = (a + b) * r;
        tmp[d0 + k] = (a - b) * r;
      }
    }
    g.set(tmp.subarray(0, len * size));
  }
}

/** Inverse of haarAlongGroup. */
export function inverseHaarAlongGroup(g: Float32Array, size: number, n: number, tmp: Float32Array): void {
  const r = Math.SQRT1_2;
  for (let len = 2; len <= n; len <<= 1) {
    const half = len >> 1;
    for (let j = 0; j < half; j++) {
      const s0 = j * size;
      const d0 = (half + j) * size;
      const a0 = 2 * j * size;
      const b0 = a0 + size;
      for (let k = 0; k < size; k++) {
        const s = g[s0 + k];
        const d = g[d0 + k];
        tmp[a0 + k] = (s + d) * r;
        tmp[b0 + k] = (s - d) * r;
      }
    }
    g.set(tmp.subarray(0, len * size));
  }
}

/** Largest power of two ≤ n (n ≥ 1). */
export function floorPowerOfTwo(n: number): number {
  let p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}
