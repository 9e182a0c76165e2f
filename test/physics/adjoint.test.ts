import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { tf, initEngine } from '../../src/engine/index.ts';
import { createOperator, measurementCount } from '../../src/physics/registry.ts';
import type { OperatorSpec } from '../../src/physics/operator.ts';
import type { ImageShape } from '../../src/models/prior.ts';
import { Rng } from '../../src/util/random.ts';

const SHAPE: ImageShape = [8, 8, 3];
const N = 8 * 8 * 3;

async function checkerMaskPng(): Promise<string> {
  const raw = Buffer.alloc(8 * 8);
  for (let r = 0; r < 8; r++) for (let c = 0; c < 8; c++) raw[r * 8 + c] = (r + c) % 3 === 0 ? 0 : 255;
  const png = await sharp(raw, { raw: { width: 8, height: 8, channels: 1 } }).png().toBuffer();
  return png.toString('base64');
}

let specs: OperatorSpec[] = [];

before(async () => {
  await initEngine();
  specs = [
    { type: 'identity' },
    { type: 'gaussian', m: 50, seed: 3 },
    { type: 'gaussian', m: N, seed: 11 },
    { type: 'mask', box: [2, 3, 4, 2] },
    { type: 'mask', fraction: 0.4, seed: 5 },
    { type: 'mask', mask: await checkerMaskPng(), box: [0, 0, 1, 8] },
    { type: 'downsample', factor: 2 },
    { type: 'downsample', factor: 4 },
    { type: 'blur', sigma: 1 },
    { type: 'blur', sigma: 0.7, size: 5 },
  ];
});

function randomArray(len: number, rng: Rng): Float32Array {
  const a = new Float32Array(len);
  for (let i = 0; i < len; i++) a[i] = rng.normal();
  return a;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

test('adjoint identity ⟨Ax, y⟩ = ⟨x, Aᵀy⟩ for every operator (batch of 3)', () => {
  const rng = new Rng(2024);
  for (const spec of specs) {
    const op = createOperator(spec, SHAPE);
    const B = 3;
    const x = randomArray(B * op.n, rng);
    const y = randomArray(B * op.m, rng);
    const ax = tf.tidy(() => op.apply(tf.tensor2d(x, [B, op.n])));
    const aty = tf.tidy(() => op.adjoint(tf.tensor2d(y, [B, op.m])));
    assert.deepEqual(ax.shape, [B, op.m]);
    assert.deepEqual(aty.shape, [B, op.n]);
    const lhs = dot(ax.dataSync(), y);
    const rhs = dot(x, aty.dataSync());
    const scale = Math.sqrt(dot(ax.dataSync(), ax.dataSync()) * dot(y, y));
    assert.ok(Math.abs(lhs - rhs) <= 1e-4 * scale, `${JSON.stringify(spec).slice(0, 60)}: ${lhs} vs ${rhs}`);
    ax.dispose();
    aty.dispose();
    op.dispose();
  }
});

test('the gradient of ⟨A x, y⟩ through apply() is Aᵀy (autodiff path used by the solver)', () => {
  const rng = new Rng(7);
  for (const spec of specs) {
    const op = createOperator(spec, SHAPE);
    const x = tf.tensor2d(randomArray(2 * op.n, rng), [2, op.n]);
    const y = tf.tensor2d(randomArray(2 * op.m, rng), [2, op.m]);
    const g = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(op.apply(xx as tf.Tensor2D), y)))(x);
    const aty = op.adjoint(y);
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(g, aty))).dataSync()[0]!);
    assert.ok(diff < 1e-5, `${spec.type}: ${diff}`);
    tf.dispose([x, y, g, aty]);
    op.dispose();
  }
});

test('operators compute their definitions (explicit float64 loops)', () => {
  const rng = new Rng(99);
  const [H, W, C] = SHAPE;
  const x = randomArray(N, rng);
  const run = (spec: OperatorSpec) => {
    const op = createOperator(spec, SHAPE);
    const t = tf.tidy(() => op.apply(tf.tensor2d(x, [1, N])));
    const out = Float32Array.from(t.dataSync());
    t.dispose();
    op.dispose();
    return out;
  };
  const close = (a: Float32Array, b: number[], what: string) => {
    assert.equal(a.length, b.length, what);
    for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-5, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
  };
  // downsample 2: block means
  const ds: number[] = [];
  for (let r = 0; r < H / 2; r++)
    for (let c = 0; c < W / 2; c++)
      for (let ch = 0; ch < C; ch++) {
        let s = 0;
        for (let dr = 0; dr < 2; dr++) for (let dc = 0; dc < 2; dc++) s += x[((2 * r + dr) * W + 2 * c + dc) * C + ch]!;
        ds.push(s / 4);
      }
  close(run({ type: 'downsample', factor: 2 }), ds, 'downsample');
  // mask box: every value outside rows 2..5 × cols 3..4, in HWC order
  const mk: number[] = [];
  for (let r = 0; r < H; r++)
    for (let c = 0; c < W; c++)
      if (!(r >= 2 && r < 6 && c >= 3 && c < 5)) for (let ch = 0; ch < C; ch++) mk.push(x[(r * W + c) * C + ch]!);
  close(run({ type: 'mask', box: [2, 3, 4, 2] }), mk, 'mask');
  // blur σ=1, size 7: 2-D zero-padded correlation with the normalised outer-product Gaussian
  const size = 7;
  const g = Array.from({ length: size }, (_, i) => Math.exp(-((i - 3) ** 2) / 2));
  const gs = g.reduce((a, b) => a + b);
  const bl: number[] = [];
  for (let r = 0; r < H; r++)
    for (let c = 0; c < W; c++)
      for (let ch = 0; ch < C; ch++) {
        let s = 0;
        for (let i = 0; i < size; i++)
          for (let j = 0; j < size; j++) {
            const rr = r + i - 3;
            const cc = c + j - 3;
            if (rr >= 0 && rr < H && cc >= 0 && cc < W) s += (g[i]! * g[j]! * x[(rr * W + cc) * C + ch]!) / (gs * gs);
          }
        bl.push(s);
      }
  close(run({ type: 'blur', sigma: 1 }), bl, 'blur');
  close(run({ type: 'identity' }), Array.from(x), 'identity');
});

test('mask operator: m counts observed values; random fraction removes exactly round(fraction·H·W) pixels', () => {
  const box = createOperator({ type: 'mask', box: [2, 3, 4, 2] }, SHAPE);
  assert.equal(box.m, (64 - 8) * 3);
  const frac = createOperator({ type: 'mask', fraction: 0.4, seed: 5 }, SHAPE);
  assert.equal(frac.m, (64 - Math.round(0.4 * 64)) * 3);
  const frac2 = createOperator({ type: 'mask', fraction: 0.4, seed: 6 }, SHAPE);
  const ones = (op: typeof frac) => op.view(new Float32Array(op.m).fill(1))!.data;
  const v1 = ones(frac);
  const v2 = ones(frac2);
  assert.notDeepEqual(v1, v2, 'different seeds remove different pixels');
  const v1b = createOperator({ type: 'mask', fraction: 0.4, seed: 5 }, SHAPE);
  assert.deepEqual(ones(v1b), v1, 'same seed, same mask');
  // the view shows observed pixels and leaves the removed ones black
  assert.equal(v1.filter((v) => v === 1).length, frac.m);
  for (const op of [box, frac, frac2, v1b]) op.dispose();
});

test('operator views have the documented shapes and stay in [0,1]', () => {
  const rng = new Rng(1);
  for (const spec of specs) {
    const op = createOperator(spec, SHAPE);
    const y = randomArray(op.m, rng);
    const v = op.view(y);
    if (!v) throw new Error(`${spec.type}: no view`);
    assert.equal(v.data.length, v.shape[0] * v.shape[1] * v.shape[2]);
    assert.ok(v.data.every((p) => p >= 0 && p <= 1));
    if (spec.type === 'downsample') assert.deepEqual(v.shape, [8 / spec.factor, 8 / spec.factor, 3]);
    else assert.deepEqual(v.shape, SHAPE);
    op.dispose();
  }
});

test('operators release their tensors', () => {
  const before = tf.memory().numTensors;
  for (const spec of specs) {
    const op = createOperator(spec, SHAPE);
    const x = tf.zeros([2, op.n]) as tf.Tensor2D;
    const y = op.apply(x);
    const back = op.adjoint(y);
    tf.dispose([x, y, back]);
    op.dispose();
  }
  assert.equal(tf.memory().numTensors, before);
});

test('measurementCount (no operator built) equals the built operator’s m for every spec', () => {
  for (const spec of specs) {
    const op = createOperator(spec, SHAPE);
    try {
      assert.equal(measurementCount(spec, SHAPE), op.m, JSON.stringify(spec).slice(0, 80));
    } finally {
      op.dispose();
    }
  }
});
