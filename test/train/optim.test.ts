import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { initEngine, tf } from '../../src/engine/index.ts';
import { Adam } from '../../src/train/adam.ts';
import { clipGradients } from '../../src/train/clip.ts';
import { warmupLr } from '../../src/train/glow/run.ts';
import { TrainRandom } from '../../src/train/rng.ts';

before(async () => {
  await initEngine({ log: false });
});

describe('Adam', () => {
  it('follows PyTorch’s update rule (float64 reference) over several steps, and resumes exactly from saved moments', () => {
    const rng = new TrainRandom(3);
    const n = 7;
    const p0 = rng.normals(n);
    const grads = Array.from({ length: 5 }, () => rng.normals(n, 0.3));
    const lrs = [1e-3, 5e-3, 1e-2, 1e-2, 2e-3];
    const [b1, b2, eps] = [0.5, 0.999, 1e-8];
    // Reference in float64.
    const p = Float64Array.from(p0);
    const m = new Float64Array(n);
    const v = new Float64Array(n);
    grads.forEach((g, s) => {
      const t = s + 1;
      for (let i = 0; i < n; i++) {
        m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
        v[i] = b2 * v[i]! + (1 - b2) * g[i]! ** 2;
        p[i] -= (lrs[s]! / (1 - b1 ** t)) * (m[i]! / (Math.sqrt(v[i]!) / Math.sqrt(1 - b2 ** t) + eps));
      }
    });
    const run = (from: number, to: number, adam: Adam, w: tf.Variable): void => {
      for (let s = from; s < to; s++) adam.update({ w }, { w: tf.tensor1d(grads[s]!) }, lrs[s]!);
    };
    const w = tf.variable(tf.tensor1d(p0));
    const adam = new Adam({ beta1: b1 });
    run(0, 5, adam, w);
    const got = w.dataSync();
    for (let i = 0; i < n; i++) assert.ok(Math.abs(got[i]! - p[i]!) < 1e-6 * Math.max(1, Math.abs(p[i]!)), `p[${i}] ${got[i]} vs ${p[i]}`);
    // Interrupted after 2 steps and continued from the saved moments: bit-identical to the straight run.
    const w2 = tf.variable(tf.tensor1d(p0));
    const first = new Adam({ beta1: b1 });
    run(0, 2, first, w2);
    const second = new Adam({ beta1: b1 });
    second.loadState(first.stateArrays(), first.t);
    run(2, 5, second, w2);
    assert.deepEqual(w2.dataSync(), got);
  });
});

describe('gradient clipping', () => {
  it('clips entries to ±value, then rescales to the maximum norm, reporting the norm after value clipping', () => {
    const a = tf.tensor1d([10, -3, 0.5]);
    const b = tf.tensor2d([[-7, 2], [1, 4]]);
    const { grads, norm } = clipGradients({ a, b }, 5, 6);
    const byValue = [5, -3, 0.5, -5, 2, 1, 4];
    const expectedNorm = Math.hypot(...byValue);
    assert.ok(Math.abs(norm - expectedNorm) < 1e-5);
    const coef = 6 / (expectedNorm + 1e-6);
    const got = [...grads.a!.dataSync(), ...grads.b!.dataSync()];
    byValue.forEach((x, i) => assert.ok(Math.abs(got[i]! - x * coef) < 1e-5, `${got[i]} vs ${x * coef}`));
    assert.ok(Math.abs(Math.hypot(...got) - 6) < 1e-4);
    assert.deepEqual([...a.dataSync()], [10, -3, 0.5], 'inputs are untouched');
    const small = clipGradients({ a }, 100, 100);
    assert.deepEqual([...small.grads.a!.dataSync()], [10, -3, 0.5], 'no rescaling below the maximum norm');
  });
});

describe('learning-rate schedule', () => {
  it('warms up linearly over the given steps, then stays constant', () => {
    assert.equal(warmupLr(1e-3, 4, 0), 2.5e-4);
    assert.equal(warmupLr(1e-3, 4, 3), 1e-3);
    assert.equal(warmupLr(1e-3, 4, 100), 1e-3);
    assert.equal(warmupLr(1e-3, 0, 0), 1e-3);
  });
});
