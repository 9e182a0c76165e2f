import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { initEngine, tf } from '../../src/engine/index.ts';
import type { SqueezeVariant } from '../../src/models/glow/config.ts';
import { inverse, logAbsDet, orthonormalize } from '../../src/models/glow/linalg.ts';
import { createRandomGlow, glowConfig } from '../../src/models/glow/random_glow.ts';
import { flattenChannelMajor, squeeze, unflattenChannelMajor, unsqueeze } from '../../src/models/glow/squeeze.ts';
import { SeededRandom } from '../../src/models/random.ts';
import { maxAbsDiff } from './helpers/fixtures.ts';

before(async () => {
  await initEngine();
});

describe('float64 linear algebra', () => {
  it('inverts and takes log-determinants of general matrices', () => {
    const n = 7;
    const rng = new SeededRandom(4);
    const a = Float64Array.from({ length: n * n }, () => rng.normal());
    const inv = inverse(a, n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += a[i * n + k]! * inv[k * n + j]!;
        assert.ok(Math.abs(s - (i === j ? 1 : 0)) < 1e-12);
      }
    }
    // det(A·B) = det A · det B with B = diag(d) → log|det| adds Σ log|d|.
    const d = [2, -0.5, 3, 1.5, -4, 0.25, 7];
    const ad = a.map((v, idx) => v * d[idx % n]!);
    const expected = logAbsDet(a, n) + d.reduce((s, v) => s + Math.log(Math.abs(v)), 0);
    assert.ok(Math.abs(logAbsDet(ad, n) - expected) < 1e-12);
    // A rotation has |det| = 1; a permutation needs pivoting and still has |det| = 1.
    assert.ok(Math.abs(logAbsDet(orthonormalize(a, n), n)) < 1e-12);
    assert.equal(logAbsDet([0, 1, 0, 0, 0, 1, 1, 0, 0], 3), 0);
    assert.throws(() => inverse([1, 2, 2, 4], 2), /singular/);
  });
});

describe('squeeze', () => {
  const N = 2;
  const C = 3;
  const H = 8;
  const W = 8;
  const data = Float32Array.from({ length: N * H * W * C }, (_, i) => i);
  /** NCHW value of the NHWC test tensor. */
  const at = (n: number, c: number, y: number, x: number): number => data[((n * H + y) * W + x) * C + c]!;

  it('spatial: out[n, 4c + 2dy + dx, i, j] = in[n, c, 2i + dy, 2j + dx]', () => {
    const out = squeeze(tf.tensor4d(data, [N, H, W, C]), 'spatial');
    assert.deepEqual(out.shape, [N, H / 2, W / 2, 4 * C]);
    const o = out.dataSync();
    for (let n = 0; n < N; n++)
      for (let c = 0; c < C; c++)
        for (let q = 0; q < 4; q++)
          for (let i = 0; i < H / 2; i++)
            for (let j = 0; j < W / 2; j++) {
              const got = o[((n * (H / 2) + i) * (W / 2) + j) * 4 * C + 4 * c + q];
              assert.equal(got, at(n, c, 2 * i + (q >> 1), 2 * j + (q & 1)));
            }
  });

  it("legacy2019: out[n, 4c + q, i, j] = in[n, c, q·H/4 + ⌊i/2⌋, (i mod 2)·W/2 + j]", () => {
    const o = squeeze(tf.tensor4d(data, [N, H, W, C]), 'legacy2019').dataSync();
    for (let n = 0; n < N; n++)
      for (let c = 0; c < C; c++)
        for (let q = 0; q < 4; q++)
          for (let i = 0; i < H / 2; i++)
            for (let j = 0; j < W / 2; j++) {
              const got = o[((n * (H / 2) + i) * (W / 2) + j) * 4 * C + 4 * c + q];
              assert.equal(got, at(n, c, (q * H) / 4 + Math.floor(i / 2), (i % 2) * (W / 2) + j));
            }
  });

  it('unsqueeze inverts squeeze exactly; channel-major flattening round-trips', () => {
    const x = tf.tensor4d(data, [N, H, W, C]);
    for (const v of ['spatial', 'legacy2019'] as SqueezeVariant[]) {
      assert.deepEqual(unsqueeze(squeeze(x, v), v).dataSync(), x.dataSync());
    }
    const flat = flattenChannelMajor(x).dataSync();
    assert.equal(flat[1 * H * W + 2 * W + 5], at(0, 1, 2, 5));
    assert.deepEqual(unflattenChannelMajor(flattenChannelMajor(x), C, H, W).dataSync(), x.dataSync());
  });
});

describe('random Glow', () => {
  for (const squeezeVariant of ['spatial', 'legacy2019'] as SqueezeVariant[]) {
    for (const topStepCouplingBias of [0, 1]) {
      it(`inverts in both directions (${squeezeVariant}, top bias ${topStepCouplingBias})`, () => {
        const glow = createRandomGlow(glowConfig({ K: 2, L: 3, hidden: 12, size: 16, squeeze: squeezeVariant, topStepCouplingBias }), 11);
        const rng = new SeededRandom(5);
        const x = tf.tensor4d(rng.uniforms(3 * 16 * 16 * 3, 0, 1), [3, 16, 16, 3]);
        const { z, logdet } = glow.encode(x);
        const x2 = glow.generate(z);
        const ex = maxAbsDiff(x2.dataSync(), x.dataSync());
        assert.ok(ex < 1e-4, `‖G(G⁻¹(x)) − x‖∞ = ${ex}`);
        // Not the identity: the latent differs from the input and the volume changes.
        assert.ok(logdet.dataSync().every((v) => Math.abs(v) > 1));
        const z0 = tf.tensor2d(rng.normals(2 * glow.latentDim, 0.7), [2, glow.latentDim]);
        const z2 = glow.encode(glow.generate(z0)).z;
        const ez = maxAbsDiff(z2.dataSync(), z0.dataSync());
        assert.ok(ez < 1e-3, `‖G⁻¹(G(z)) − z‖∞ = ${ez}`);
        tf.dispose([x, z, logdet, x2, z0, z2]);
        glow.dispose();
      });
    }
  }

  it('samples reproducibly from a seed', () => {
    const glow = createRandomGlow(glowConfig({ K: 1, L: 2, hidden: 8, size: 8 }), 2);
    const a = glow.sample(2, 0.7, 9).dataSync();
    const b = glow.sample(2, 0.7, 9).dataSync();
    const c = glow.sample(2, 0.7, 10).dataSync();
    assert.deepEqual(a, b);
    assert.ok(maxAbsDiff(a, c) > 1e-3);
    glow.dispose();
  });
});

/** log|det ∂z/∂x| from the full Jacobian: row b of J is the gradient of z_b, all rows in one batched pass. */
function bruteForceLogdet(glowEncode: (x: tf.Tensor4D) => tf.Tensor2D, x: Float32Array, shape: [number, number, number]): number {
  const n = x.length;
  const J = tf.tidy(() => {
    const xs = tf.tile(tf.tensor4d(x, [1, ...shape]), [n, 1, 1, 1]);
    const eye = tf.eye(n);
    // Samples do not interact, so ∂(Σ_b z_b[b])/∂x_b = ∂z_b[b]/∂x_b: row b of the Jacobian.
    return tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(glowEncode(xx as tf.Tensor4D), eye)))(xs);
  });
  const rowsByPixel = J.dataSync();
  J.dispose();
  // Rows are NHWC gradients; z coordinates are rows, input coordinates columns: any fixed column order keeps |det|.
  return logAbsDet(Float64Array.from(rowsByPixel), n);
}

describe('log-determinant', () => {
  for (const [squeezeVariant, topStepCouplingBias] of [
    ['spatial', 0],
    ['spatial', 1],
    ['legacy2019', 1],
  ] as Array<[SqueezeVariant, number]>) {
    it(`matches log|det| of the brute-force Jacobian (8×8×3, ${squeezeVariant}, top bias ${topStepCouplingBias})`, () => {
      const glow = createRandomGlow(glowConfig({ K: 2, L: 2, hidden: 8, size: 8, squeeze: squeezeVariant, topStepCouplingBias }), 3);
      const x = new SeededRandom(8).uniforms(8 * 8 * 3, 0, 1);
      const { z, logdet } = glow.encode(tf.tensor4d(x, [1, 8, 8, 3]));
      const ld = logdet.dataSync()[0]!;
      const brute = bruteForceLogdet((xx) => glow.encode(xx).z, x, [8, 8, 3]);
      assert.ok(Math.abs(ld - brute) < 1e-3 * Math.max(1, Math.abs(brute)), `log-det ${ld} vs brute force ${brute}`);
      assert.ok(Math.abs(brute) > 0.1, 'the test model changes volume');
      tf.dispose([z, logdet]);
      glow.dispose();
    });
  }
});
