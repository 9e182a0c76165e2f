import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initEngine } from '../../src/engine/index.ts';
import { createOperator } from '../../src/physics/registry.ts';
import { gaussianMatrixTransposed } from '../../src/physics/gaussian.ts';

before(async () => {
  await initEngine();
});

// Independent float64 reimplementation of the generator in docs/operators.md, with BigInt arithmetic
// (a different code path from the Math.imul one in src/util/random.ts).
const M32 = 0xffffffffn;
function mix(x: bigint): bigint {
  x &= M32;
  x ^= x >> 16n;
  x = (x * 0x7feb352dn) & M32;
  x ^= x >> 15n;
  x = (x * 0x846ca68bn) & M32;
  x ^= x >> 16n;
  return x;
}
function referenceEntry(seed: number, m: number, n: number, i: number, j: number): number {
  const stream = 0n; // gaussian operator stream
  const k1 = mix(BigInt(seed) ^ mix(stream));
  const k2 = mix(k1 ^ 0x68e31da4n);
  const word = (k: bigint) => mix(mix((k + k1) & M32) ^ k2);
  const k = BigInt(i * n + j);
  const p = k - (k & 1n);
  const u1 = (Number(word(p)) + 1) / 2 ** 32;
  const u2 = Number(word(p + 1n)) / 2 ** 32;
  const r = Math.sqrt(-2 * Math.log(u1));
  const z = (k & 1n) === 0n ? r * Math.cos(2 * Math.PI * u2) : r * Math.sin(2 * Math.PI * u2);
  return Math.fround(z / Math.sqrt(m));
}

test('entries match an independent float64 reimplementation of the documented generator', () => {
  const m = 7;
  const n = 5; // odd n: Box–Muller pairs straddle rows
  const at = gaussianMatrixTransposed(m, n, 42);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) assert.equal(at[j * m + i], referenceEntry(42, m, n, i, j), `A[${i},${j}]`);
  const big = gaussianMatrixTransposed(100, 12288, 7);
  for (const [i, j] of [[0, 0], [0, 1], [0, 2], [1, 0], [57, 12287], [99, 4321]] as const) {
    assert.equal(big[j * 100 + i], referenceEntry(7, 100, 12288, i, j));
  }
});

test('same seed → same bytes; another seed → another matrix', () => {
  const a = gaussianMatrixTransposed(30, 192, 5);
  const b = gaussianMatrixTransposed(30, 192, 5);
  assert.deepEqual(Buffer.from(a.buffer), Buffer.from(b.buffer));
  const c = gaussianMatrixTransposed(30, 192, 6);
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === c[i]) same++;
  assert.ok(same < 3);
});

test('entries are i.i.d. N(0, 1/m): mean, variance, kurtosis, row/column correlation', () => {
  const m = 100;
  const n = 12288;
  const at = gaussianMatrixTransposed(m, n, 123);
  const N = at.length;
  let s1 = 0;
  let s2 = 0;
  let s4 = 0;
  for (const v of at) {
    s1 += v;
    s2 += v * v;
    s4 += v ** 4;
  }
  const mean = s1 / N;
  const variance = s2 / N - mean * mean;
  const sd = 1 / Math.sqrt(m);
  assert.ok(Math.abs(mean) < (4 * sd) / Math.sqrt(N), `mean ${mean}`);
  // var of the sample variance ≈ 2σ⁴/N → relative sd √(2/N) ≈ 0.0013
  assert.ok(Math.abs(variance * m - 1) < 0.006, `variance·m ${variance * m}`);
  const kurt = s4 / N / (variance * variance);
  assert.ok(Math.abs(kurt - 3) < 0.03, `kurtosis ${kurt}`);
  // neighbouring entries (one Box–Muller pair shares u1/u2) must be uncorrelated
  let c = 0;
  for (let j = 0; j + 1 < n; j += 2) for (let i = 0; i < m; i++) c += at[j * m + i]! * at[(j + 1) * m + i]!;
  const corr = c / ((n / 2) * m) / variance;
  assert.ok(Math.abs(corr) < 4 / Math.sqrt((n / 2) * m), `pair correlation ${corr}`);
});

test('apply is x·Aᵀ with A[i, j] as documented; adjoint is Aᵀ y', () => {
  const m = 20;
  const shape = [4, 4, 3] as const;
  const n = 48;
  const op = createOperator({ type: 'gaussian', m, seed: 9 }, shape);
  const x = Float32Array.from({ length: n }, (_, j) => Math.sin(j));
  const y = tf.tidy(() => op.apply(tf.tensor2d(x, [1, n])));
  const yv = y.dataSync();
  for (let i = 0; i < m; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += referenceEntry(9, m, n, i, j) * x[j]!;
    assert.ok(Math.abs(yv[i]! - s) < 1e-5, `y[${i}] ${yv[i]} vs ${s}`);
  }
  y.dispose();
  op.dispose();
});
