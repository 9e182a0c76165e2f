import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initEngine } from '../../src/engine/index.ts';
import { OperatorCache } from '../../src/physics/cache.ts';

before(async () => {
  await initEngine();
});

test('operator cache: one operator per spec, shared while in use, evicted LRU beyond the budget', () => {
  const baseline = tf.memory().numTensors;
  const shape = [8, 8, 3] as const;
  const bytesA = 40 * 192 * 4;
  const cache = new OperatorCache({ maxBytes: bytesA + 100 });
  const a1 = cache.acquire({ type: 'gaussian', m: 40, seed: 1 }, shape);
  const a2 = cache.acquire({ seed: 1, m: 40, type: 'gaussian' } as never, shape);
  assert.equal(a1.op, a2.op, 'same spec, same operator');
  const b = cache.acquire({ type: 'gaussian', m: 40, seed: 2 }, shape);
  assert.notEqual(b.op, a1.op);
  assert.equal(cache.size, 2);
  a1.release();
  a1.release(); // idempotent
  assert.equal(cache.size, 2, 'a is still in use through a2');
  // over budget (2 × bytesA), but nothing idle yet
  a2.release(); // a idle and least recently used → evicted
  assert.equal(cache.size, 1);
  b.release();
  assert.equal(cache.size, 1, 'b fits the budget and stays cached');
  const b2 = cache.acquire({ type: 'gaussian', m: 40, seed: 2 }, shape);
  assert.equal(b2.op, b.op, 'cached operator reused');
  // the shared operator still works after the other lease was released
  const y = tf.tidy(() => b2.op.apply(tf.ones([1, 192])));
  assert.deepEqual(y.shape, [1, 40]);
  y.dispose();
  b2.release();
  cache.clear();
  assert.equal(cache.size, 0);
  assert.equal(tf.memory().numTensors, baseline, 'evicted and cleared operators freed their tensors');
});
