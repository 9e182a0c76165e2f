import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { initEngine, tf } from '../../src/engine/index.ts';
import { latentShapes, levelGeometry, type GlowConfig, type SqueezeVariant } from '../../src/models/glow/config.ts';
import { inverse } from '../../src/models/glow/linalg.ts';
import { stepPrefix, type GlowParams } from '../../src/models/glow/params.ts';
import { createRandomGlow, glowConfig } from '../../src/models/glow/random_glow.ts';
import { unflattenChannelMajor, unsqueeze } from '../../src/models/glow/squeeze.ts';
import { SeededRandom } from '../../src/models/random.ts';
import { maxAbsDiff } from './helpers/fixtures.ts';

before(async () => {
  await initEngine();
});

/**
 * The reference decoder written plainly from the architecture (unfolded ActNorms, W⁻¹ as a 1×1 convolution,
 * split/concat, standard tfjs ops and gradients): an independent oracle for the optimised one.
 */
function referenceGenerate(params: GlowParams, config: GlowConfig, z: tf.Tensor2D): tf.Tensor4D {
  const B = z.shape[0];
  const parts: tf.Tensor4D[] = [];
  let off = 0;
  for (const [c, h, w] of latentShapes(config)) {
    parts.push(unflattenChannelMajor(tf.slice(z, [0, off], [B, c * h * w]) as tf.Tensor2D, c, h, w));
    off += c * h * w;
  }
  const P = (name: string): tf.Tensor => params[name]!;
  let h = parts.pop()!;
  const geo = levelGeometry(config);
  for (let l = config.L - 1; l >= 0; l--) {
    if (l < config.L - 1) h = tf.concat([h, parts.pop()!], 3);
    for (let k = geo[l]!.steps - 1; k >= 0; k--) {
      const p = stepPrefix(l, k);
      const C = h.shape[3];
      const [a2, c] = tf.split(h, 2, 3) as [tf.Tensor4D, tf.Tensor4D];
      let r: tf.Tensor4D = tf.add(tf.conv2d(c, P(p + 'coupling.conv1.kernel') as tf.Tensor4D, 1, 'same'), P(p + 'coupling.conv1.bias'));
      r = tf.relu(tf.mul(tf.add(r, P(p + 'coupling.actnorm1.bias')), tf.exp(P(p + 'coupling.actnorm1.logs')))) as tf.Tensor4D;
      r = tf.add(tf.conv2d(r, P(p + 'coupling.conv2.kernel') as tf.Tensor4D, 1, 'same'), P(p + 'coupling.conv2.bias'));
      r = tf.relu(tf.mul(tf.add(r, P(p + 'coupling.actnorm2.bias')), tf.exp(P(p + 'coupling.actnorm2.logs')))) as tf.Tensor4D;
      r = tf.add(tf.conv2d(r, P(p + 'coupling.conv3.kernel') as tf.Tensor4D, 1, 'same'), P(p + 'coupling.conv3.bias'));
      r = tf.mul(r, tf.exp(tf.mul(P(p + 'coupling.logs'), 3)));
      const [, hh, ww] = r.shape;
      const pairs = tf.reshape(r, [B, hh, ww, C / 2, 2]);
      const even = tf.reshape(tf.slice(pairs, [0, 0, 0, 0, 0], [B, hh, ww, C / 2, 1]), [B, hh, ww, C / 2]);
      const odd = tf.reshape(tf.slice(pairs, [0, 0, 0, 0, 1], [B, hh, ww, C / 2, 1]), [B, hh, ww, C / 2]);
      const bias = l === config.L - 1 ? config.topStepCouplingBias : 0;
      const s = tf.add(tf.sigmoid(tf.add(even, 2)), bias);
      const a = tf.div(tf.sub(a2, odd), s);
      const y = tf.concat([a, c], 3) as tf.Tensor4D;
      const Winv = inverse(P(p + 'invconv.weight').dataSync(), C);
      const kernel = tf.transpose(tf.tensor2d(Float32Array.from(Winv), [C, C])).reshape([1, 1, C, C]) as tf.Tensor4D;
      h = tf.sub(tf.mul(tf.conv2d(y, kernel, 1, 'valid'), tf.exp(tf.neg(P(p + 'actnorm.logs')))), P(p + 'actnorm.bias'));
    }
    h = unsqueeze(h, config.squeeze);
  }
  return tf.add(h, 0.5);
}

describe('optimised Glow decoder', () => {
  for (const [squeeze, bias] of [
    ['spatial', 1],
    ['legacy2019', 0],
  ] as Array<[SqueezeVariant, number]>) {
    it(`equals the plain reference decoder in value and gradient (${squeeze}, top bias ${bias})`, () => {
      const config = glowConfig({ K: 2, L: 3, hidden: 8, size: 16, squeeze, topStepCouplingBias: bias });
      const glow = createRandomGlow(config, 21);
      const rng = new SeededRandom(3);
      const z = tf.tensor2d(rng.normals(2 * glow.latentDim, 0.7), [2, glow.latentDim]);
      const w = tf.tensor4d(rng.normals(2 * 16 * 16 * 3), [2, 16, 16, 3]);
      const ours = glow.generate(z);
      const ref = referenceGenerate(glow.params, config, z);
      const dv = maxAbsDiff(ours.dataSync(), ref.dataSync());
      assert.ok(dv < 1e-4, `value: max |Δ| = ${dv}`);
      const loss = (gen: (zz: tf.Tensor2D) => tf.Tensor4D) => (zz: tf.Tensor) => tf.sum(tf.mul(gen(zz as tf.Tensor2D), w));
      const gOurs = tf.grad(loss((zz) => glow.generate(zz)))(z);
      const gRef = tf.grad(loss((zz) => referenceGenerate(glow.params, config, zz)))(z);
      const scale = Math.max(...gRef.abs().dataSync());
      const dg = maxAbsDiff(gOurs.dataSync(), gRef.dataSync());
      assert.ok(dg < 1e-4 * Math.max(1, scale), `gradient: max |Δ| = ${dg} (max |g| = ${scale})`);
      glow.dispose();
    });
  }

  it('does not leak tensors across value-and-gradient evaluations, and dispose() frees everything', () => {
    const z = tf.zeros([1, 48]) as tf.Tensor2D;
    const atStart = tf.memory().numTensors;
    const glow = createRandomGlow(glowConfig({ K: 1, L: 2, hidden: 8, size: 4 }), 2);
    assert.equal(glow.latentDim, 48);
    const step = () => tf.tidy(() => tf.grad((zz: tf.Tensor) => tf.sum(tf.square(glow.generate(zz as tf.Tensor2D))))(z)).dispose();
    step(); // prepares the decoder weights once
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    assert.equal(tf.memory().numTensors, before);
    glow.dispose();
    assert.equal(tf.memory().numTensors, atStart);
  });

  it('re-derives its decoder after weightsChanged()', () => {
    const config = glowConfig({ K: 1, L: 2, hidden: 8, size: 8 });
    const glow = createRandomGlow(config, 5);
    const z = tf.tensor2d(new SeededRandom(1).normals(glow.latentDim, 0.5), [1, glow.latentDim]);
    const before = glow.generate(z).dataSync();
    const b = glow.params['level0.step0.actnorm.bias']!;
    const shifted = tf.add(b, 0.25);
    glow.params['level0.step0.actnorm.bias'] = shifted;
    b.dispose();
    assert.deepEqual(glow.generate(z).dataSync(), before, 'cached decoder until told');
    glow.weightsChanged();
    const after = glow.generate(z).dataSync();
    assert.ok(maxAbsDiff(after, referenceGenerate(glow.params, config, z).dataSync()) < 1e-5);
    assert.ok(maxAbsDiff(after, before) > 0.1);
    glow.dispose();
  });
});
