import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { initEngine, tf } from '../../src/engine/index.ts';
import { glowBitsPerDim, glowEncode, glowInitActNorm, logAbsDetOp } from '../../src/models/glow/flow.ts';
import { inverse } from '../../src/models/glow/linalg.ts';
import { glowParamShapes } from '../../src/models/glow/params.ts';
import { glowConfig, initialGlowParams, randomGlowParams } from '../../src/models/glow/random_glow.ts';
import { squeeze } from '../../src/models/glow/squeeze.ts';
import { SeededRandom } from '../../src/models/random.ts';

before(async () => {
  await initEngine();
});

const config = glowConfig({ K: 2, L: 2, hidden: 8, size: 8 });

function batch(seed: number, n = 4): tf.Tensor4D {
  // Model space: dequantised images − 0.5.
  return tf.tensor4d(new SeededRandom(seed).uniforms(n * 8 * 8 * 3, -0.5, 0.5), [n, 8, 8, 3]);
}

describe('Glow training path', () => {
  it('log|det W| has gradient W⁻ᵀ', () => {
    const n = 5;
    const w = new SeededRandom(1).normals(n * n);
    const g = tf.grad((m: tf.Tensor) => logAbsDetOp(m as tf.Tensor2D))(tf.tensor2d(w, [n, n])).dataSync();
    const inv = inverse(w, n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) assert.ok(Math.abs(g[i * n + j]! - inv[j * n + i]!) < 1e-4);
  });

  it('data-dependent ActNorm initialisation normalises each ActNorm input of the batch', () => {
    const params = randomGlowParams(config, 4);
    const x = batch(2, 16);
    const init = glowInitActNorm(params, config, x);
    const names = [...glowParamShapes(config).keys()].filter((k) => /actnorm\d?\.(bias|logs)$/.test(k));
    assert.deepEqual([...init.keys()].sort(), names.sort());
    // The first ActNorm sees the squeezed input: after init it must be zero-mean, unit-std per channel.
    const h = tf.tidy(() => {
      const s = squeeze(x, config.squeeze);
      return tf.mul(tf.add(s, init.get('level0.step0.actnorm.bias')!), tf.exp(init.get('level0.step0.actnorm.logs')!));
    });
    const { mean, variance } = tf.moments(h, [0, 1, 2]);
    const count = 16 * 4 * 4;
    for (const m of mean.dataSync()) assert.ok(Math.abs(m) < 1e-5);
    for (const v of variance.dataSync()) assert.ok(Math.abs((v * count) / (count - 1) - 1) < 1e-3);
    // Later steps are initialised on their own inputs, so the flow output is not blown up: z is O(1).
    const merged = { ...params, ...Object.fromEntries(init) };
    const { z } = glowEncode(merged, config, x);
    const zs = tf.moments(z);
    assert.ok(Math.abs(zs.mean.dataSync()[0]!) < 0.5 && zs.variance.dataSync()[0]! < 4, 'latents stay O(1)');
  });

  it('bits/dim is differentiable with respect to every weight (directional derivatives match finite differences)', () => {
    const params = randomGlowParams(config, 6);
    const vars: Record<string, tf.Variable> = {};
    for (const [k, t] of Object.entries(params)) vars[k] = tf.variable(t, true, `glow_test_${k}`);
    const x = batch(3);
    const loss = (): tf.Scalar => tf.sum(glowBitsPerDim(vars, config, x));
    const { grads } = tf.variableGrads(loss);
    assert.deepEqual(Object.keys(grads).length, Object.keys(vars).length);
    for (const [k, g] of Object.entries(grads)) assert.ok(g.dataSync().every(Number.isFinite), k);
    const rng = new SeededRandom(7);
    const checked = [
      'level0.step0.actnorm.logs',
      'level0.step1.invconv.weight',
      'level0.step0.coupling.conv1.kernel',
      'level0.step1.coupling.actnorm2.bias',
      'level1.step0.coupling.conv3.kernel',
      'level1.step0.coupling.logs',
    ];
    for (const name of checked) {
      const v = vars[name]!;
      const base = v.clone();
      const d = tf.tensor(rng.normals(v.size), v.shape);
      const eps = 1e-2;
      v.assign(tf.add(base, tf.mul(d, eps)));
      const fp = loss().dataSync()[0]!;
      v.assign(tf.sub(base, tf.mul(d, eps)));
      const fm = loss().dataSync()[0]!;
      v.assign(base);
      const fd = (fp - fm) / (2 * eps);
      const ad = tf.sum(tf.mul(grads[v.name]!, d)).dataSync()[0]!; // keyed by variable name
      // Float32 central differences: a 2 % relative error plus an absolute noise floor.
      assert.ok(Math.abs(fd - ad) < 2e-2 * Math.abs(ad) + 2e-3, `${name}: finite difference ${fd} vs gradient ${ad}`);
    }
    for (const v of Object.values(vars)) v.dispose();
  });

  it('trains: reference initialisation, ActNorm from data, then Adam steps lower the bits/dim', () => {
    const x = batch(9, 8);
    const init = initialGlowParams(config, 1);
    const fromData = glowInitActNorm(init, config, x);
    const vars: Record<string, tf.Variable> = {};
    for (const [k, t] of Object.entries({ ...init, ...Object.fromEntries(fromData) })) vars[k] = tf.variable(t, true, `glow_train_${k}`);
    const loss = (): tf.Scalar => tf.mean(glowBitsPerDim(vars, config, x));
    const opt = tf.train.adam(1e-2);
    const first = loss().dataSync()[0]!;
    for (let i = 0; i < 10; i++) opt.minimize(loss, false, Object.values(vars));
    const last = loss().dataSync()[0]!;
    assert.ok(Number.isFinite(first) && last < first - 0.05, `bits/dim ${first} → ${last}`);
    for (const v of Object.values(vars)) v.dispose();
    opt.dispose();
  });
});
