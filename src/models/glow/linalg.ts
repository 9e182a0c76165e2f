/**
 * Dense float64 linear algebra for the small (C×C) invertible 1×1-convolution matrices:
 * tfjs has neither a determinant nor an inverse.
 */

interface LU {
  lu: Float64Array;
  perm: Int32Array;
  sign: number;
}

function luDecompose(a: ArrayLike<number>, n: number): LU {
  if (a.length !== n * n) throw new Error(`linalg: expected ${n}×${n} values, got ${a.length}`);
  const lu = Float64Array.from(a);
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  let sign = 1;
  for (let k = 0; k < n; k++) {
    let p = k;
    let max = Math.abs(lu[k * n + k]!);
    for (let i = k + 1; i < n; i++) {
      const v = Math.abs(lu[i * n + k]!);
      if (v > max) (max = v), (p = i);
    }
    if (max === 0 || !Number.isFinite(max)) throw new Error('linalg: matrix is singular');
    if (p !== k) {
      for (let j = 0; j < n; j++) {
        const t = lu[k * n + j]!;
        lu[k * n + j] = lu[p * n + j]!;
        lu[p * n + j] = t;
      }
      const t = perm[k]!;
      perm[k] = perm[p]!;
      perm[p] = t;
      sign = -sign;
    }
    const pivot = lu[k * n + k]!;
    for (let i = k + 1; i < n; i++) {
      const f = (lu[i * n + k]! /= pivot);
      if (f === 0) continue;
      for (let j = k + 1; j < n; j++) lu[i * n + j]! -= f * lu[k * n + j]!;
    }
  }
  return { lu, perm, sign };
}

/** log|det A| of a row-major n×n matrix. */
export function logAbsDet(a: ArrayLike<number>, n: number): number {
  const { lu } = luDecompose(a, n);
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.log(Math.abs(lu[i * n + i]!));
  return s;
}

/** A⁻¹ of a row-major n×n matrix, row-major. */
export function inverse(a: ArrayLike<number>, n: number): Float64Array {
  const { lu, perm } = luDecompose(a, n);
  const inv = new Float64Array(n * n);
  const col = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    // Solve A x = e_j: P A = L U, so L U x = P e_j.
    for (let i = 0; i < n; i++) col[i] = perm[i] === j ? 1 : 0;
    for (let i = 0; i < n; i++) {
      let s = col[i]!;
      for (let k = 0; k < i; k++) s -= lu[i * n + k]! * col[k]!;
      col[i] = s;
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = col[i]!;
      for (let k = i + 1; k < n; k++) s -= lu[i * n + k]! * col[k]!;
      col[i] = s / lu[i * n + i]!;
    }
    for (let i = 0; i < n; i++) inv[i * n + j] = col[i]!;
  }
  return inv;
}

/** Q of the QR decomposition (modified Gram–Schmidt) of a row-major n×n matrix: a random rotation from a Gaussian one. */
export function orthonormalize(a: ArrayLike<number>, n: number): Float64Array {
  const q = Float64Array.from(a);
  for (let j = 0; j < n; j++) {
    for (let k = 0; k < j; k++) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += q[i * n + j]! * q[i * n + k]!;
      for (let i = 0; i < n; i++) q[i * n + j]! -= dot * q[i * n + k]!;
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += q[i * n + j]! ** 2;
    norm = Math.sqrt(norm);
    if (norm === 0) throw new Error('linalg: rank-deficient matrix');
    for (let i = 0; i < n; i++) q[i * n + j]! /= norm;
  }
  return q;
}
