import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { tf, initEngine, memoryStats, withBackend } from '../../src/engine/index.ts';
import { flippedFilterCache } from '../../src/engine/kernels/conv_backprop_input.ts';

const WASM_PAGE = 65536;

describe('memoryStats', () => {
  before(async () => {
    await initEngine({ backend: 'wasm', strict: true, log: false });
  });

  it('reports tfjs counts and the real wasm heap, which grows to hold tensors and never shrinks', () => {
    const s0 = memoryStats();
    assert.equal(s0.backend, 'wasm');
    assert.equal(s0.wasmHeapLimitBytes, 4 * 1024 ** 3);
    assert.ok(s0.wasmHeapBytes! > 0 && s0.wasmHeapBytes! % WASM_PAGE === 0);

    const n = 16 * 1024 * 1024; // 64 MB: more than the initial 16 MB heap
    const big = tf.zeros([n]);
    const s1 = memoryStats();
    assert.equal(s1.numTensors, s0.numTensors + 1);
    assert.equal(s1.numBytes, s0.numBytes + 4 * n);
    assert.ok(s1.wasmHeapBytes! >= s0.wasmHeapBytes! + 4 * n - 16 * 1024 * 1024, 'the heap grew by about the tensor');
    assert.ok(s1.wasmHeapBytes! >= s1.numBytes);

    big.dispose();
    const s2 = memoryStats();
    assert.equal(s2.numTensors, s0.numTensors);
    assert.equal(s2.numBytes, s0.numBytes);
    assert.equal(s2.wasmHeapBytes, s1.wasmHeapBytes, 'wasm memory is a high-water mark');
    assert.ok(s2.rssBytes > 0);
  });

  it('counts the flipped filters held by the backprop-input cache', () => {
    flippedFilterCache.clear();
    assert.equal(memoryStats().kernelCacheBytes, 0);
    const w = tf.ones([3, 3, 4, 5]) as tf.Tensor4D;
    const dy = tf.ones([1, 6, 6, 5]) as tf.Tensor4D;
    tf.conv2dTranspose(dy, w, [1, 6, 6, 4], 1, 'same').dispose();
    assert.equal(memoryStats().kernelCacheBytes, 3 * 3 * 4 * 5 * 4);
    tf.dispose([w, dy]);
    flippedFilterCache.clear();
    assert.equal(memoryStats().kernelCacheBytes, 0);
  });

  it('reports no wasm heap on another backend', async () => {
    const s = await withBackend('cpu', () => memoryStats());
    assert.equal(s.backend, 'cpu');
    assert.equal(s.wasmHeapBytes, null);
    assert.equal(s.wasmHeapLimitBytes, null);
  });
});
