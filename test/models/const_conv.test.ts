import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { initEngine, tf } from '../../src/engine/index.ts';
import { applyConstConv, disposeConstConv, makeConstConv, type ConstConv } from '../../src/models/const_conv.ts';
import { SeededRandom } from '../../src/models/random.ts';
import { maxAbsDiff } from './helpers/fixtures.ts';

before(async () => {
  await initEngine();
});

describe('constant-weight convolution', () => {
  for (const [k, relu] of [
    [3, true],
    [3, false],
    [1, true],
    [5, false],
  ] as Array<[number, boolean]>) {
    it(`matches tf.conv2d in value and input gradient (${k}×${k}, relu ${relu})`, () => {
      const rng = new SeededRandom(k + (relu ? 10 : 0));
      const kernel = tf.tensor4d(rng.normals(k * k * 5 * 7), [k, k, 5, 7]);
      const bias = tf.tensor1d(rng.normals(7));
      const x = tf.tensor4d(rng.normals(2 * 6 * 5 * 5), [2, 6, 5, 5]);
      const w = tf.tensor4d(rng.normals(2 * 6 * 5 * 7), [2, 6, 5, 7]);
      const reference = (xx: tf.Tensor): tf.Tensor => {
        const y = tf.add(tf.conv2d(xx as tf.Tensor4D, kernel, 1, 'same'), bias);
        return relu ? tf.relu(y) : y;
      };
      const op = makeConstConv(kernel.clone(), bias.clone(), relu);
      const ours = (xx: tf.Tensor): tf.Tensor => applyConstConv(op, xx as tf.Tensor4D);
      assert.ok(maxAbsDiff(ours(x).dataSync(), reference(x).dataSync()) < 1e-4);
      const gOurs = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(ours(xx), w)))(x);
      const gRef = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(reference(xx), w)))(x);
      assert.ok(maxAbsDiff(gOurs.dataSync(), gRef.dataSync()) < 1e-4);
      disposeConstConv(op);
    });
  }

  it('keeps its weights alive when created inside a caller’s tf.tidy', () => {
    let op: ConstConv | undefined;
    tf.tidy(() => {
      op = makeConstConv(tf.ones([3, 3, 2, 2]) as tf.Tensor4D, tf.zeros([2]) as tf.Tensor1D);
    });
    if (!op) throw new Error('not created');
    assert.equal(op.kernel.isDisposed || op.adjointKernel.isDisposed || op.bias!.isDisposed, false);
    disposeConstConv(op);
  });
});
