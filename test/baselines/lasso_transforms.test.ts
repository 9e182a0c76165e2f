import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initEngine } from '../../src/engine/index.ts';
import type { ImageShape } from '../../src/models/prior.ts';
import type { SparsityBasis } from '../../src/baselines/lasso/basis.ts';
import { createDctBasis, dctMatrix } from '../../src/baselines/lasso/dct.ts';
import { createHaarBasis, haarLevels } from '../../src/baselines/lasso/haar.ts';
import { Rng } from '../../src/util/random.ts';

await initEngine();

function randomImages(count: number, n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: count * n }, () => rng.normal());
}

function run(f: (t: tf.Tensor2D) => tf.Tensor2D, data: Float32Array, rows: number): Float32Array {
  const out = tf.tidy(() => f(tf.tensor2d(data, [rows, data.length / rows])));
  const values = out.dataSync() as Float32Array;
  out.dispose();
  return values;
}

function rowNorms(data: Float32Array, rows: number): number[] {
  const n = data.length / rows;
  return Array.from({ length: rows }, (_, r) => Math.hypot(...data.subarray(r * n, (r + 1) * n)));
}

const shapes: ImageShape[] = [
  [64, 64, 3],
  [8, 4, 2],
  [6, 12, 1],
];

for (const [name, make] of [
  ['dct', createDctBasis],
  ['haar', createHaarBasis],
] as const) {
  for (const shape of shapes) {
    test(`${name} ${shape.join('×')}: orthonormal (‖Ψᵀx‖ = ‖x‖) and Ψ·Ψᵀ = I to 1e-5`, () => {
      const basis: SparsityBasis = make(shape);
      const n = shape[0] * shape[1] * shape[2];
      const x = randomImages(3, n, 7);
      const c = run((t) => basis.analysis(t), x, 3);
      const back = run((t) => basis.synthesis(t), c, 3);
      const nx = rowNorms(x, 3);
      const nc = rowNorms(c, 3);
      nx.forEach((v, i) => assert.ok(Math.abs(v - nc[i]) <= 1e-5 * v, `norm ${v} vs ${nc[i]}`));
      let maxErr = 0;
      for (let i = 0; i < x.length; i++) maxErr = Math.max(maxErr, Math.abs(back[i] - x[i]));
      assert.ok(maxErr < 1e-5, `round trip error ${maxErr}`);
      // Synthesis is the adjoint of analysis: ⟨Ψᵀx, c'⟩ = ⟨x, Ψc'⟩ for an unrelated c'.
      const c2 = randomImages(3, n, 8);
      const psiC2 = run((t) => basis.synthesis(t), c2, 3);
      let lhs = 0;
      let rhs = 0;
      for (let i = 0; i < x.length; i++) {
        lhs += c[i] * c2[i];
        rhs += x[i] * psiC2[i];
      }
      assert.ok(Math.abs(lhs - rhs) < 1e-3, `${lhs} vs ${rhs}`);
      basis.dispose();
    });
  }
}

test('dct matches the DCT-II definition (scipy dct(norm="ortho") on both axes) per channel', () => {
  const shape: ImageShape = [4, 6, 2];
  const [h, w, ch] = shape;
  const x = randomImages(1, h * w * ch, 3);
  const basis = createDctBasis(shape);
  const c = run((t) => basis.analysis(t), x, 1);
  const got = Array.from(c).sort((a, b) => a - b);
  const want: number[] = [];
  for (let k = 0; k < ch; k++) {
    for (let u = 0; u < h; u++) {
      for (let v = 0; v < w; v++) {
        let s = 0;
        for (let i = 0; i < h; i++) {
          for (let j = 0; j < w; j++) {
            const au = Math.sqrt((u === 0 ? 1 : 2) / h);
            const av = Math.sqrt((v === 0 ? 1 : 2) / w);
            s += au * av * Math.cos((Math.PI * (2 * i + 1) * u) / (2 * h)) * Math.cos((Math.PI * (2 * j + 1) * v) / (2 * w)) * x[(i * w + j) * ch + k];
          }
        }
        want.push(s);
      }
    }
  }
  want.sort((a, b) => a - b);
  want.forEach((v, i) => assert.ok(Math.abs(v - got[i]) < 1e-5, `${v} vs ${got[i]}`));
  // The constant image has a single non-zero coefficient per channel: its mean times √(H·W).
  const ones = run((t) => basis.analysis(t), new Float32Array(h * w * ch).fill(1), 1);
  assert.equal(ones.filter((v) => Math.abs(v) > 1e-5).length, ch);
  assert.ok(ones.some((v) => Math.abs(v - Math.sqrt(h * w)) < 1e-5));
  const d = dctMatrix(5);
  for (let a = 0; a < 5; a++) {
    for (let b = 0; b < 5; b++) {
      let s = 0;
      for (let i = 0; i < 5; i++) s += d[a * 5 + i] * d[b * 5 + i];
      assert.ok(Math.abs(s - (a === b ? 1 : 0)) < 1e-12);
    }
  }
  basis.dispose();
});

test('haar basis functions are the full-depth Haar wavelets (pywt wavedec2 "db1")', () => {
  const shape: ImageShape = [8, 8, 1];
  assert.equal(haarLevels(8, 8), 3);
  assert.equal(haarLevels(64, 64), 6);
  assert.equal(haarLevels(6, 12), 1);
  const basis = createHaarBasis(shape);
  const atoms = run((t) => basis.synthesis(t), Float32Array.from({ length: 64 * 64 }, (_, i) => (i % 65 === 0 ? 1 : 0)), 64);
  const atom = (k: number) => atoms.subarray(k * 64, (k + 1) * 64);
  // The approximation atom is the constant 1/8 = 1/√64.
  assert.ok(atom(0).every((v) => Math.abs(v - 1 / 8) < 1e-6));
  // Every atom has unit norm and (except the constant) zero mean, and its non-zero values are ±1/(side of support):
  // an atom of level l is supported on a 2^l × 2^l square with values ±2^(−l).
  const supports = new Map<number, number>();
  for (let k = 0; k < 64; k++) {
    const a = atom(k);
    assert.ok(Math.abs(Math.hypot(...a) - 1) < 1e-5, `atom ${k} norm`);
    const nonzero = Array.from(a).filter((v) => Math.abs(v) > 1e-6);
    const side = Math.sqrt(nonzero.length);
    assert.ok(Number.isInteger(side), `atom ${k} support ${nonzero.length}`);
    nonzero.forEach((v) => assert.ok(Math.abs(Math.abs(v) - 1 / side) < 1e-6));
    if (k > 0) assert.ok(Math.abs(nonzero.reduce((s, v) => s + v, 0)) < 1e-5);
    supports.set(nonzero.length, (supports.get(nonzero.length) ?? 0) + 1);
  }
  // 1 constant + 3 atoms on the whole 8×8, 12 on 4×4 squares, 48 on 2×2 squares.
  assert.deepEqual([...supports.entries()].sort((a, b) => a[0] - b[0]), [
    [4, 48],
    [16, 12],
    [64, 4],
  ]);
  basis.dispose();
});
