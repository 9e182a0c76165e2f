import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine } from '../../src/engine/index.ts';
import { addNoise, simulateMeasurements } from '../../src/physics/noise.ts';
import { createOperator } from '../../src/physics/registry.ts';
import { normalAt, Stream } from '../../src/util/random.ts';

before(async () => {
  await initEngine();
});

test('gaussian noise: seeded, σ-scaled normals of the noise stream', () => {
  const y = new Float32Array(20000).fill(0.5);
  const a = addNoise(y, { type: 'gaussian', sigma: 0.1, seed: 3 });
  assert.deepEqual(a, addNoise(y, { type: 'gaussian', sigma: 0.1, seed: 3 }));
  assert.notDeepEqual(a, addNoise(y, { type: 'gaussian', sigma: 0.1, seed: 4 }));
  for (const k of [0, 1, 2, 19999]) assert.equal(a[k], Math.fround(0.5 + 0.1 * normalAt(3, Stream.noise, k)));
  let s = 0;
  let s2 = 0;
  for (const v of a) {
    s += v - 0.5;
    s2 += (v - 0.5) ** 2;
  }
  assert.ok(Math.abs(s / a.length) < 4 * 0.1 / Math.sqrt(a.length));
  assert.ok(Math.abs(Math.sqrt(s2 / a.length) / 0.1 - 1) < 0.02);
  assert.equal(y[0], 0.5, 'input untouched');
});

test('gaussian-norm noise has ‖η‖ ≈ norm; none adds nothing', () => {
  for (const m of [50, 2500]) {
    const eta = addNoise(new Float32Array(m), { type: 'gaussian-norm', norm: 0.1, seed: 1 });
    const norm = Math.hypot(...eta);
    assert.ok(Math.abs(norm - 0.1) < 0.1 * 4 / Math.sqrt(2 * m), `m=${m}: ‖η‖ = ${norm}`);
  }
  const y = Float32Array.from([1, 2, 3]);
  assert.deepEqual(addNoise(y, { type: 'none' }), y);
});

test('simulateMeasurements = A·x + η', () => {
  const op = createOperator({ type: 'downsample', factor: 2 }, [4, 4, 1]);
  const x = Float32Array.from({ length: 16 }, (_, i) => i / 16);
  const y = simulateMeasurements(op, x, { type: 'gaussian', sigma: 0.01, seed: 2 });
  const clean = [(0 + 1 + 4 + 5) / 64, (2 + 3 + 6 + 7) / 64, (8 + 9 + 12 + 13) / 64, (10 + 11 + 14 + 15) / 64];
  const eta = addNoise(new Float32Array(4), { type: 'gaussian', sigma: 0.01, seed: 2 });
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(y[i]! - clean[i]! - eta[i]!) < 1e-6);
  assert.throws(() => simulateMeasurements(op, new Float32Array(3), { type: 'none' }), /16 values/);
  op.dispose();
});
