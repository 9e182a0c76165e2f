// The wasm kernel overrides against the tfjs cpu backend (the reference implementation).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { tf, initEngine, activeWasmPatches, installWasmPatches, removeWasmPatches } from '../../src/engine/index.ts';
import { flippedFilterCache } from '../../src/engine/kernels/conv_backprop_input.ts';
import { setBackpropFilterStrategy, type BackpropFilterStrategy } from '../../src/engine/kernels/conv_backprop_filter.ts';
import { onActiveAndCpu, randn, relError } from './helpers.ts';

const TOL = 1e-4;

function resolvable(specifier: string): boolean {
  try {
    import.meta.resolve(specifier);
    return true;
  } catch {
    return false;
  }
}
type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

interface ConvCase {
  name: string;
  x: [number, number, number, number];
  k: [number, number];
  cout: number;
  stride: number;
  pad: Pad;
}

const CASES: ConvCase[] = [
  { name: '3x3 same', x: [2, 7, 6, 5], k: [3, 3], cout: 4, stride: 1, pad: 'same' },
  { name: '1x1', x: [2, 5, 5, 6], k: [1, 1], cout: 3, stride: 1, pad: 'valid' },
  { name: '3x3 valid', x: [1, 8, 8, 3], k: [3, 3], cout: 5, stride: 1, pad: 'valid' },
  { name: '5x3 asymmetric explicit pads', x: [2, 6, 7, 2], k: [5, 3], cout: 3, stride: 1, pad: [[0, 0], [1, 3], [2, 0], [0, 0]] },
  { name: '3x3 same stride 2', x: [2, 9, 8, 3], k: [3, 3], cout: 4, stride: 2, pad: 'same' },
  { name: '2x2 valid stride 2', x: [1, 8, 8, 4], k: [2, 2], cout: 6, stride: 2, pad: 'valid' },
];

function convOutShape(c: ConvCase): number[] {
  const w = tf.zeros([...c.k, c.x[3], c.cout]) as tf.Tensor4D;
  const y = tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, w, c.stride, c.pad);
  const shape = y.shape;
  tf.dispose([w, y]);
  return shape;
}

describe('wasm kernel overrides', () => {
  before(async () => {
    // A misconfiguration or a strict request that cannot be met must reject, leaving the engine free to start.
    const saved = process.env.FLOWPRIOR_BACKEND;
    process.env.FLOWPRIOR_BACKEND = 'gpu';
    try {
      await assert.rejects(initEngine({ log: false }), /FLOWPRIOR_BACKEND="gpu" is not one of tensorflow-gpu, tensorflow, wasm, cpu/);
    } finally {
      if (saved === undefined) delete process.env.FLOWPRIOR_BACKEND;
      else process.env.FLOWPRIOR_BACKEND = saved;
    }
    if (!resolvable('@tensorflow/tfjs-node-gpu')) {
      await assert.rejects(initEngine({ backend: 'tensorflow-gpu', strict: true, log: false }), /tensorflow-gpu: not installed/);
    }
    const info = await initEngine({ backend: 'wasm', strict: true, log: false });
    assert.equal(info.backend, 'wasm');
    assert.deepEqual(info.patches, activeWasmPatches());
    assert.ok(info.patches.includes('Conv2DBackpropInput') && info.patches.includes('Conv2DBackpropFilter'));
  });

  for (const c of CASES) {
    it(`Conv2DBackpropInput matches cpu: ${c.name}`, async () => {
      const w = randn(c.k[0] * c.k[1] * c.x[3] * c.cout, 11);
      const yShape = convOutShape(c);
      const dy = randn(yShape.reduce((a, b) => a * b, 1), 12);
      const r = await onActiveAndCpu(() =>
        tf.conv2dTranspose(tf.tensor4d(dy, yShape as never), tf.tensor4d(w, [...c.k, c.x[3], c.cout]), c.x, c.stride, c.pad),
      );
      assert.deepEqual(r.shape, r.cpuShape);
      assert.ok(relError(r.active, r.cpu) <= TOL, `rel error ${relError(r.active, r.cpu)}`);
    });

    for (const strategy of ['auto', 'im2col', 'conv'] as BackpropFilterStrategy[]) {
      it(`Conv2DBackpropFilter (${strategy}) matches cpu: ${c.name}`, async () => {
        setBackpropFilterStrategy(strategy);
        try {
          const x = randn(c.x.reduce((a, b) => a * b, 1), 21);
          const yShape = convOutShape(c);
          const dy = randn(yShape.reduce((a, b) => a * b, 1), 22);
          const r = await onActiveAndCpu(() =>
            tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.tensor4d(x, c.x), dy: tf.tensor4d(dy, yShape as never) }, {
              strides: [c.stride, c.stride], pad: c.pad, dataFormat: 'NHWC', filterShape: [...c.k, c.x[3], c.cout],
            } as never) as tf.Tensor,
          );
          assert.deepEqual(r.shape, [...c.k, c.x[3], c.cout]);
          assert.ok(relError(r.active, r.cpu) <= TOL, `rel error ${relError(r.active, r.cpu)}`);
        } finally {
          setBackpropFilterStrategy('auto');
        }
      });
    }
  }

  it('gives conv2d gradients (input and filter) equal to cpu, so training works on wasm', async () => {
    const xs = randn(2 * 8 * 8 * 6, 31);
    const w1 = randn(3 * 3 * 6 * 8, 32);
    const w2 = randn(1 * 1 * 8 * 4, 33);
    const build = () => {
      const x = tf.tensor4d(xs, [2, 8, 8, 6]);
      const f1 = tf.tensor4d(w1, [3, 3, 6, 8]);
      const f2 = tf.tensor4d(w2, [1, 1, 8, 4]);
      const loss = (a: tf.Tensor4D, b: tf.Tensor4D, c: tf.Tensor4D) =>
        tf.sum(tf.square(tf.conv2d(tf.relu(tf.conv2d(a, b, 1, 'same')), c, 1, 'valid')));
      const [gx, g1, g2] = tf.grads(loss as (...t: tf.Tensor[]) => tf.Tensor)([x, f1, f2]);
      return tf.concat([gx!.flatten(), g1!.flatten(), g2!.flatten()]);
    };
    const r = await onActiveAndCpu(build);
    assert.ok(relError(r.active, r.cpu) <= TOL, `rel error ${relError(r.active, r.cpu)}`);
  });

  it('caches the flipped filter per weight buffer and never serves a stale one', async () => {
    flippedFilterCache.clear();
    const dy = tf.tensor4d(randn(1 * 5 * 5 * 4, 41), [1, 5, 5, 4]);
    const w0 = tf.tensor4d(randn(3 * 3 * 2 * 4, 42), [3, 3, 2, 4]);
    const w = tf.variable(w0);
    w0.dispose(); // the variable now holds the only reference to its buffer
    const dx = () => tf.conv2dTranspose(dy, w as tf.Variable<tf.Rank.R4>, [1, 5, 5, 2], 1, 'same');
    const first = dx();
    const hits0 = flippedFilterCache.hits;
    const second = dx();
    assert.equal(flippedFilterCache.hits, hits0 + 1);
    assert.deepEqual(await second.data(), await first.data());
    assert.equal(flippedFilterCache.size, 1);

    // New weight values (a Variable assign swaps in a new buffer) must give new results.
    const w2 = randn(3 * 3 * 2 * 4, 43);
    const w2t = tf.tensor4d(w2, [3, 3, 2, 4]);
    w.assign(w2t);
    w2t.dispose();
    const third = dx();
    const dyValues = await dy.data();
    const reference = await onActiveAndCpu(() =>
      tf.conv2dTranspose(tf.tensor4d(dyValues, [1, 5, 5, 4]), tf.tensor4d(w2, [3, 3, 2, 4]), [1, 5, 5, 2], 1, 'same'),
    );
    assert.ok(relError(await third.data(), reference.cpu) <= TOL);

    // Entries of freed weights are released on the next miss.
    const other = tf.tensor4d(randn(3 * 3 * 2 * 4, 44), [3, 3, 2, 4]);
    tf.conv2dTranspose(dy, other, [1, 5, 5, 2], 1, 'same').dispose();
    assert.equal(flippedFilterCache.size, 2, 'the original weight buffer was freed by assign');
    tf.dispose([first, second, third, dy, w, other]);
    assert.ok(flippedFilterCache.sizeBytes > 0);
    flippedFilterCache.sweep(tf.backend() as never);
    assert.equal(flippedFilterCache.size, 0, 'swept after their weights were disposed');
    assert.equal(flippedFilterCache.sizeBytes, 0);
  });

  // Shapes of op(a) and op(b); the stored operands are transposed where the flag is set.
  const MATMUL_SHAPES: [number[], number[]][] = [
    [[6, 40], [40, 30]], // x·Aᵀ with a larger A: the swapped form
    [[7, 5], [5, 9]],
    [[3, 4, 5], [3, 5, 6]],
    [[1, 4, 5], [3, 5, 6]], // broadcast batch
    [[2, 300, 4], [2, 4, 3]],
  ];
  for (const [sa, sb] of MATMUL_SHAPES) {
    for (const [tA, tB] of [[false, true], [true, false], [true, true]] as const) {
      it(`BatchMatMul transposeA=${tA} transposeB=${tB} matches cpu: ${sa}·${sb}`, async () => {
        const r2 = (s: number[], t: boolean) => (t ? [...s.slice(0, -2), s[s.length - 1]!, s[s.length - 2]!] : s);
        const shapeA = r2(sa, tA);
        const shapeB = r2(sb, tB);
        const a = randn(shapeA.reduce((p, d) => p * d, 1), 51);
        const b = randn(shapeB.reduce((p, d) => p * d, 1), 52);
        const r = await onActiveAndCpu(() => tf.matMul(tf.tensor(a, shapeA), tf.tensor(b, shapeB), tA, tB));
        assert.deepEqual(r.shape, r.cpuShape);
        assert.ok(relError(r.active, r.cpu) <= TOL, `rel error ${relError(r.active, r.cpu)}`);
      });
    }
  }

  it('_FusedMatMul with transposes, bias and relu matches cpu', async () => {
    const a = randn(5 * 8, 61);
    const b = randn(6 * 5, 62);
    const bias = randn(6, 63);
    const r = await onActiveAndCpu(() =>
      tf.fused.matMul({ a: tf.tensor2d(a, [5, 8]), b: tf.tensor2d(b, [6, 5]), transposeA: true, transposeB: true, bias: tf.tensor1d(bias), activation: 'relu' }),
    );
    assert.ok(relError(r.active, r.cpu) <= TOL, `rel error ${relError(r.active, r.cpu)}`);
  });

  it('Identity shares the buffer and reference-counts it', async () => {
    const values = randn(64, 71);
    const a = tf.tensor(values, [8, 8]);
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const buffers = backend.numDataIds();
    const b = tf.clone(a);
    assert.equal(b.dataId, a.dataId, 'no copy');
    assert.equal(backend.numDataIds(), buffers, 'no new buffer');
    a.dispose();
    assert.deepEqual(await b.data(), values, 'the clone outlives the original');
    b.dispose();
    assert.equal(backend.numDataIds(), buffers - 1, 'freed with the last reference');
  });

  it('frees every intermediate buffer it allocates', () => {
    flippedFilterCache.clear();
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const x = tf.tensor4d(randn(2 * 6 * 6 * 3, 81), [2, 6, 6, 3]);
    const w = tf.tensor4d(randn(3 * 3 * 3 * 4, 82), [3, 3, 3, 4]);
    const A = tf.tensor2d(randn(20 * 30, 83), [20, 30]);
    const v = tf.tensor2d(randn(2 * 30, 84), [2, 30]);
    const base = backend.numDataIds();
    for (const strategy of ['im2col', 'conv'] as BackpropFilterStrategy[]) {
      setBackpropFilterStrategy(strategy);
      tf.dispose(tf.tidy(() => tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.conv2d(p as tf.Tensor4D, q as tf.Tensor4D, 1, 'same')) as tf.Scalar)([x, w])));
    }
    setBackpropFilterStrategy('auto');
    tf.dispose(tf.tidy(() => [tf.matMul(v, A, false, true), tf.matMul(A, v, false, true), tf.matMul(A, A, true, false)]));
    flippedFilterCache.clear();
    assert.equal(backend.numDataIds(), base);
    tf.dispose([x, w, A, v]);
  });

  it('can be removed and reinstalled (stock kernels come back)', async () => {
    removeWasmPatches(['Conv2DBackpropInput', 'Conv2DBackpropFilter']);
    assert.ok(!activeWasmPatches().includes('Conv2DBackpropInput'));
    assert.equal(tf.getKernel('Conv2DBackpropFilter', 'wasm'), undefined, 'wasm ships no backprop-filter');
    const dy = randn(1 * 4 * 4 * 2, 91);
    const w = randn(3 * 3 * 3 * 2, 92);
    const stock = await onActiveAndCpu(() => tf.conv2dTranspose(tf.tensor4d(dy, [1, 4, 4, 2]), tf.tensor4d(w, [3, 3, 3, 2]), [1, 4, 4, 3], 1, 'same'));
    assert.ok(relError(stock.active, stock.cpu) <= TOL);
    installWasmPatches();
    assert.ok(activeWasmPatches().includes('Conv2DBackpropFilter'));
  });
});
