import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initEngine, tf } from '../../src/engine/index.ts';
import { glowConfig } from '../../src/models/glow/random_glow.ts';
import { squeeze } from '../../src/models/glow/squeeze.ts';
import { dequantizeBatch } from '../../src/train/batches.ts';
import { glowValidationBitsPerDim } from '../../src/train/glow/evaluate.ts';
import { GlowTrainer } from '../../src/train/glow/trainer.ts';
import { loadImageFolder, type ImageSet } from '../../src/train/image_folder.ts';
import { TrainRandom } from '../../src/train/rng.ts';
import { tempDir, writeFixtureImages } from './helpers.ts';

const config = glowConfig({ K: 1, L: 2, hidden: 8, size: 16 });
let tmp: Awaited<ReturnType<typeof tempDir>>;
let images: ImageSet;

before(async () => {
  await initEngine({ log: false });
  tmp = await tempDir('glow-trainer');
  await writeFixtureImages(join(tmp.path, 'train'), 8, 16, 11);
  images = await loadImageFolder(join(tmp.path, 'train'));
});
after(async () => tmp.cleanup());

function batch(indices: number[], seed: number): tf.Tensor4D {
  return tf.tensor4d(dequantizeBatch(images, indices, 5, new TrainRandom(seed)), [indices.length, 16, 16, 3]);
}

function assertStandardised(h: tf.Tensor4D, what: string): void {
  const { mean, variance } = tf.moments(h, [0, 1, 2]);
  const n = h.shape[0] * h.shape[1] * h.shape[2];
  for (const m of mean.dataSync()) assert.ok(Math.abs(m) < 1e-4, `${what}: channel mean ${m}`);
  // The reference divides by the unbiased standard deviation.
  for (const v of variance.dataSync()) assert.ok(Math.abs((v * n) / (n - 1) - 1) < 2e-3, `${what}: channel variance ${v}`);
}

describe('Glow trainer', () => {
  it('data-dependent ActNorm initialisation standardises every ActNorm input of the initialisation batch', () => {
    const trainer = new GlowTrainer(config, { seed: 1 });
    const x = batch([0, 1, 2, 3, 4, 5, 6, 7], 5);
    trainer.initActNorm(x);
    const w = trainer.weights.vars;
    const actnorm = (h: tf.Tensor4D, p: string): tf.Tensor4D => tf.mul(tf.add(h, w[`${p}.bias`]!), tf.exp(w[`${p}.logs`]!)) as tf.Tensor4D;
    tf.tidy(() => {
      // Level 0, step 0: ActNorm on the squeezed input.
      const n0 = actnorm(squeeze(x, 'spatial'), 'level0.step0.actnorm');
      assertStandardised(n0, 'level0 actnorm');
      // Its 1×1 convolution (row = output channel) and the coupling network's first convolution + ActNorm.
      const W = w['level0.step0.invconv.weight']! as tf.Tensor2D;
      const y = tf.reshape(tf.matMul(tf.reshape(n0, [-1, 12]), W, false, true), n0.shape) as tf.Tensor4D;
      const [a, c] = tf.split(y, 2, 3) as [tf.Tensor4D, tf.Tensor4D];
      const pre1 = tf.add(tf.conv2d(c, w['level0.step0.coupling.conv1.kernel'] as tf.Tensor4D, 1, 'same'), w['level0.step0.coupling.conv1.bias']!) as tf.Tensor4D;
      assertStandardised(actnorm(pre1, 'level0.step0.coupling.actnorm1'), 'level0 coupling actnorm1');
      // The output convolution starts at zero, so the coupling is a ×σ(2) scale; the kept half goes on to level 1.
      const kept = tf.mul(a, 1 / (1 + Math.exp(-2))) as tf.Tensor4D;
      assertStandardised(actnorm(squeeze(kept, 'spatial'), 'level1.step0.actnorm'), 'level1 actnorm');
    });
    assert.equal(trainer.average?.values['level1.step0.actnorm.logs']!.dataSync()[0], w['level1.step0.actnorm.logs']!.dataSync()[0], 'the weight average starts at the initialised weights');
    trainer.dispose();
  });

  it('the training gradient matches central finite differences of the loss', () => {
    const trainer = new GlowTrainer(config, { seed: 2 }, { ema: 0 });
    trainer.initActNorm(batch([0, 1, 2, 3, 4, 5, 6, 7], 1));
    // A few updates first: at initialisation the output convolutions are zero and most gradients vanish.
    for (let s = 0; s < 6; s++) trainer.step(batch([s % 8, (s + 3) % 8, (s + 5) % 8, (s + 6) % 8], 20 + s), 1e-2);
    const x = batch([0, 2, 4, 6], 99);
    const { value, grads } = trainer.lossAndGrads(x);
    const loss = (): number => tf.tidy(() => trainer.lossAndGrads(x).value.dataSync()[0]!);
    assert.ok(Math.abs(loss() - value.dataSync()[0]!) < 1e-6, 'the loss is deterministic');
    const checked = ['level0.step0.coupling.conv1.kernel', 'level0.step0.invconv.weight', 'level1.step0.actnorm.logs', 'level1.step0.coupling.conv3.kernel'];
    for (const name of checked) {
      const v = trainer.weights.vars[name]!;
      const g = grads[name]!.dataSync();
      // The entry with the largest gradient: far above the float32 noise of the difference quotient.
      let i = 0;
      for (let j = 1; j < g.length; j++) if (Math.abs(g[j]!) > Math.abs(g[i]!)) i = j;
      const base = v.dataSync().slice();
      const eps = 1e-2;
      const at = (delta: number): number => {
        const w = base.slice();
        w[i]! += delta;
        v.assign(tf.tensor(w, v.shape));
        return loss();
      };
      const fd = (at(eps) - at(-eps)) / (2 * eps);
      v.assign(tf.tensor(base, v.shape));
      assert.ok(Math.abs(g[i]!) > 1e-3, `${name}: gradient ${g[i]} is large enough to check`);
      assert.ok(Math.abs(fd - g[i]!) < 3e-2 * Math.abs(g[i]!) + 5e-4, `${name}[${i}]: finite difference ${fd} vs gradient ${g[i]}`);
    }
    trainer.dispose();
  });

  it('the bits/dim of the training images decrease over a few steps', () => {
    const trainer = new GlowTrainer(config, { seed: 3 }, { ema: 0 });
    trainer.initActNorm(batch([0, 1, 2, 3, 4, 5, 6, 7], 7));
    const before = glowValidationBitsPerDim(trainer.weights.vars, config, images, 8);
    const rng = new TrainRandom(4);
    const losses: number[] = [];
    for (let s = 0; s < 20; s++) {
      const idx = rng.permutation(8).slice(0, 4);
      const x = tf.tensor4d(dequantizeBatch(images, idx, 5, rng), [4, 16, 16, 3]);
      losses.push(trainer.step(x, 2e-3).loss);
      x.dispose();
    }
    const afterBpd = glowValidationBitsPerDim(trainer.weights.vars, config, images, 8);
    assert.ok(losses.every(Number.isFinite));
    assert.ok(afterBpd < before - 0.2, `bits/dim ${before.toFixed(3)} → ${afterBpd.toFixed(3)}`);
    const mean = (a: number[]): number => a.reduce((s, v) => s + v, 0) / a.length;
    assert.ok(mean(losses.slice(-5)) < mean(losses.slice(0, 5)), 'the training loss falls too');
    trainer.dispose();
  });
});
