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
  // tmp[x][v] = Σ_u D[u][x]·B[u][v]
  for (let x = 0; x < size; x++) {
    for (let v = 0; v < size; v++) {
      let s = 0;
      for (let u = 0; u < size; u++) s += d[u * size + x] * src[srcOff + u * size + v];
      tmp[x * size + v] = s;
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
 * In-place orthonormal full-depth 1-D Haar transform along the group axis of a group stored coefficient-major:
 * g[k·n + j] = 2-D coefficient k of block j, for k < coefficients, j < n (n a power of two). Averages first.
 */
export function haarAlongGroup(g: Float32Array, coefficients: number, n: number, tmp: Float32Array): void {
  if (n === 1) return;
  const r = Math.SQRT1_2;
  for (let k = 0; k < coefficients; k++) {
    const base = k * n;
    for (let len = n; len > 1; len >>= 1) {
      const half = len >> 1;
      for (let j = 0; j < half; j++) {
        const a = g[base + 2 * j];
        const b = g[base + 2 * j + 1];
        tmp[j] = (a + b) * r;
        tmp[half + j] = (a - b) * r;
      }
      for (let j = 0; j < len; j++) g[base + j] = tmp[j];
    }
  }
}

/** Inverse of haarAlongGroup. */
export function inverseHaarAlongGroup(g: Float32Array, coefficients: number, n: number, tmp: Float32Array): void {
  if (n === 1) return;
  const r = Math.SQRT1_2;
  for (let k = 0; k < coefficients; k++) {
    const base = k * n;
    for (let len = 2; len <= n; len <<= 1) {
      const half = len >> 1;
      for (let j = 0; j < half; j++) {
        const a = g[base + j];
        const b = g[base + half + j];
        tmp[2 * j] = (a + b) * r;
        tmp[2 * j + 1] = (a - b) * r;
      }
      for (let j = 0; j < len; j++) g[base + j] = tmp[j];
    }
  }
}

/** Largest power of two ≤ n (n ≥ 1). */
export function floorPowerOfTwo(n: number): number {
  let p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}
