import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initEngine } from '../../src/engine/index.ts';
import { ValidationError } from '../../src/errors.ts';
import type { ImageShape } from '../../src/models/prior.ts';
import { createOperator } from '../../src/physics/registry.ts';
import { simulateMeasurements } from '../../src/physics/noise.ts';
import type { OperatorSpec } from '../../src/physics/operator.ts';
import type { Problem } from '../../src/solvers/types.ts';
import { createDctBasis } from '../../src/baselines/lasso/dct.ts';
import { createHaarBasis } from '../../src/baselines/lasso/haar.ts';
import { solveLassoBatch } from '../../src/baselines/lasso/fista.ts';
import { AUTO_LAMBDA_FRACTIONS, chooseLambdas, REFERENCE_LAMBDA } from '../../src/baselines/lasso/lambda.ts';
import { lassoDct, lassoWvt } from '../../src/baselines/lasso/method.ts';
import type { BaselineOptions } from '../../src/baselines/options.ts';
import { Rng } from '../../src/util/random.ts';

await initEngine();

function smoothImage(shape: ImageShape, seed: number): Float32Array {
  const [h, w, ch] = shape;
  const rng = new Rng(seed);
  const phase = [rng.uniform(), rng.uniform(), rng.uniform()];
  const x = new Float32Array(h * w * ch);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      for (let k = 0; k < ch; k++) {
        x[(i * w + j) * ch + k] = 0.5 + 0.3 * Math.sin((i / h) * 3 + phase[k] * 6) * Math.cos((j / w) * 2 + k);
      }
    }
  }
  return x;
}

function soft(v: number, t: number): number {
  return Math.sign(v) * Math.max(0, Math.abs(v) - t);
}

test('orthonormal design (A = I): FISTA returns the closed form, soft thresholding of Ψᵀy at λ/2', async () => {
  const shape: ImageShape = [8, 8, 3];
  const n = 8 * 8 * 3;
  const op = createOperator({ type: 'identity' }, shape);
  const basis = createDctBasis(shape);
  const rng = new Rng(1);
  const y = Float32Array.from({ length: n }, () => rng.normal() * 0.3);
  const lambda = 0.2;
  const [sol] = await solveLassoBatch([{ operator: op, measurements: y, lambda }], basis, { maxEvaluations: 200, tolerance: 1e-6 });
  const coeffT = tf.tidy(() => basis.analysis(tf.tensor2d(y, [1, n])));
  const psiTy = coeffT.dataSync();
  coeffT.dispose();
  let maxErr = 0;
  let kept = 0;
  for (let i = 0; i < n; i++) {
    const want = soft(psiTy[i], lambda / 2);
    if (want !== 0) kept++;
    maxErr = Math.max(maxErr, Math.abs(sol.coefficients[i] - want));
  }
  assert.ok(kept > 10 && kept < n - 10, `the test λ should keep some coefficients and kill others (kept ${kept})`);
  assert.ok(maxErr < 1e-5, `max coefficient error ${maxErr}`);
  assert.equal(sol.stopReason, 'converged');
  assert.ok(sol.relativeGap <= 1e-6);
  op.dispose();
  basis.dispose();
});

/** min_c ‖y − Bc‖² + λ‖c‖₁ by cyclic coordinate descent in float64, to a tiny change. */
function coordinateDescent(b: Float64Array[], y: Float64Array, lambda: number): Float64Array {
  const n = b.length;
  const m = y.length;
  const c = new Float64Array(n);
  const r = Float64Array.from(y);
  const colSq = b.map((col) => col.reduce((s, v) => s + v * v, 0));
  for (let sweep = 0; sweep < 100000; sweep++) {
    let change = 0;
    for (let k = 0; k < n; k++) {
      const col = b[k];
      let rho = 0;
      for (let i = 0; i < m; i++) rho += col[i] * (r[i] + col[i] * c[k]);
      // ∂/∂c_k: −2·rho + 2·c_k·‖b_k‖² + λ·sign(c_k) = 0
      const next = soft(rho, lambda / 2) / colSq[k];
      const delta = next - c[k];
      if (delta !== 0) {
        for (let i = 0; i < m; i++) r[i] -= col[i] * delta;
        c[k] = next;
        change = Math.max(change, Math.abs(delta));
      }
    }
    if (change < 1e-13) break;
  }
  return c;
}

function objective(b: Float64Array[], y: Float64Array, c: ArrayLike<number>, lambda: number): number {
  const r = Float64Array.from(y);
  let l1 = 0;
  b.forEach((col, k) => {
    for (let i = 0; i < r.length; i++) r[i] -= col[i] * c[k];
    l1 += Math.abs(c[k]);
  });
  return r.reduce((s, v) => s + v * v, 0) + lambda * l1;
}

test('random small design: FISTA reaches the float64 coordinate-descent solution', async () => {
  const shape: ImageShape = [4, 4, 2];
  const n = 32;
  const m = 20;
  const op = createOperator({ type: 'gaussian', m, seed: 5 }, shape);
  for (const basis of [createDctBasis(shape), createHaarBasis(shape)]) {
    // Columns of B = A·Ψ: the operator applied to each basis atom.
    const bT = tf.tidy(() => op.apply(basis.synthesis(tf.eye(n) as tf.Tensor2D)));
    const rows = bT.dataSync();
    bT.dispose();
    const b = Array.from({ length: n }, (_, k) => Float64Array.from(rows.subarray(k * m, (k + 1) * m)));
    const rng = new Rng(9);
    const y = Float64Array.from({ length: m }, () => rng.normal());
    let corr = 0;
    for (const col of b) corr = Math.max(corr, Math.abs(2 * col.reduce((s, v, i) => s + v * y[i], 0)));
    const lambda = 0.15 * corr; // below λ_max = ‖2Bᵀy‖∞, so the solution is sparse but not zero
    const cd = coordinateDescent(b, y, lambda);
    const [sol] = await solveLassoBatch([{ operator: op, measurements: Float32Array.from(y), lambda }], basis, {
      maxEvaluations: 20000,
      tolerance: 1e-6,
    });
    const best = objective(b, y, cd, lambda);
    const got = objective(b, y, sol.coefficients, lambda);
    assert.ok(cd.some((v) => v === 0) && cd.some((v) => v !== 0), 'a sparse, non-trivial solution');
    assert.ok(got - best <= 1e-5 * best, `${basis.name}: objective ${got} vs optimum ${best}`);
    const scale = Math.max(...cd.map(Math.abs));
    cd.forEach((v, k) => assert.ok(Math.abs(v - sol.coefficients[k]) < 2e-3 * scale, `${basis.name} c[${k}] ${sol.coefficients[k]} vs ${v}`));
    assert.equal(sol.stopReason, 'converged');
    basis.dispose();
  }
  op.dispose();
});

test("λ: the reference's sklearn objective on √(2m)-scaled data is ours with λ = alpha", () => {
  const rng = new Rng(2);
  const m = 7;
  const n = 5;
  const b = Array.from({ length: n }, () => Float64Array.from({ length: m }, () => rng.normal()));
  const y = Float64Array.from({ length: m }, () => rng.normal());
  const c = Float64Array.from({ length: n }, () => rng.normal());
  const alpha = 0.01;
  const s = Math.sqrt(2 * m);
  const scaledB = b.map((col) => col.map((v) => v * s));
  const scaledY = y.map((v) => v * s);
  const sklearn = (objective(scaledB, scaledY, c, 0) / (2 * m)) + alpha * c.reduce((t, v) => t + Math.abs(v), 0);
  assert.ok(Math.abs(sklearn - objective(b, y, c, REFERENCE_LAMBDA)) < 1e-12);
});

const SHAPE: ImageShape = [16, 16, 3];

function problemFor(spec: OperatorSpec, seed: number, noise: number): Problem {
  const op = createOperator(spec, SHAPE);
  const x = smoothImage(SHAPE, seed);
  const y = simulateMeasurements(op, x, { type: 'gaussian', sigma: noise, seed });
  op.dispose();
  return { operator: spec, measurements: y, gamma: 0, penalty: 'l2', init: { type: 'zeros' }, seed, groundTruth: x };
}

test('a batch of mixed operators gives the same results as solving each problem alone', async () => {
  const problems = [
    problemFor({ type: 'gaussian', m: 300, seed: 1 }, 1, 0.01),
    problemFor({ type: 'identity' }, 2, 0.05),
    problemFor({ type: 'mask', box: [4, 4, 6, 6] }, 3, 0.01),
    problemFor({ type: 'gaussian', m: 300, seed: 1 }, 4, 0.01),
  ];
  for (const method of [lassoDct, lassoWvt]) {
    const options = { optimizer: 'lbfgs' as const, maxEvaluations: 120, tolerance: 1e-3, imageShape: SHAPE, lambda: 0.01 };
    const together = await method.solveBatch(problems, options);
    for (const [i, p] of problems.entries()) {
      const [alone] = await method.solveBatch([p], options);
      const r = together[i];
      assert.equal(r.iterations, alone.iterations, `${method.name} problem ${i}: iterations`);
      assert.equal(r.stopReason, alone.stopReason);
      let maxDiff = 0;
      for (let k = 0; k < r.image.length; k++) maxDiff = Math.max(maxDiff, Math.abs(r.image[k] - alone.image[k]));
      assert.ok(maxDiff < 1e-4, `${method.name} problem ${i}: max difference ${maxDiff}`);
      assert.ok(Math.abs(r.loss - alone.loss) <= 1e-4 * alone.loss);
      assert.ok(r.psnr !== undefined && r.psnr > 15, `${method.name} problem ${i}: PSNR ${r.psnr}`);
      assert.equal(r.z.length, 0);
    }
  }
});

test("lambda 'auto' picks a larger λ for noisier measurements, by the smallest held-out error", async () => {
  const spec: OperatorSpec = { type: 'gaussian', m: 400, seed: 3 };
  const quiet = problemFor(spec, 5, 0.005);
  const noisy = problemFor(spec, 5, 0.3);
  const op = createOperator(spec, SHAPE);
  const basis = createDctBasis(SHAPE);
  const choices = await chooseLambdas(
    [quiet, noisy].map((p) => ({ operator: op, measurements: p.measurements, seed: p.seed })),
    basis,
    { maxEvaluations: 150, tolerance: 1e-3 },
  );
  const m = quiet.measurements.length;
  const fitShare = (m - Math.round(0.1 * m)) / m;
  for (const c of choices) {
    assert.equal(c.grid.length, AUTO_LAMBDA_FRACTIONS.length);
    const best = c.scores.indexOf(Math.min(...c.scores));
    assert.ok(Math.abs(c.lambda - c.grid[best] / fitShare) < 1e-12 * c.lambda, 'the winner, rescaled from the kept rows to all rows');
  }
  assert.ok(choices[1].lambda > 10 * choices[0].lambda, `noisy λ ${choices[1].lambda} ≫ quiet λ ${choices[0].lambda}`);
  const options = { optimizer: 'lbfgs' as const, maxEvaluations: 150, imageShape: SHAPE };
  const [auto] = await lassoDct.solveBatch([noisy], { ...options, lambda: 'auto' });
  const [small] = await lassoDct.solveBatch([noisy], { ...options, lambda: choices[0].lambda });
  assert.ok(auto.psnr! > small.psnr! + 1, `auto ${auto.psnr} beats the quiet problem's λ (${small.psnr}) on noisy data`);
  op.dispose();
  basis.dispose();
});

test('lasso check() and solveBatch reject invalid problems and options with ValidationError', async () => {
  const good = problemFor({ type: 'gaussian', m: 50, seed: 1 }, 1, 0.01);
  assert.throws(
    () => lassoDct.check({ ...good, measurements: good.measurements.subarray(0, 10) }),
    (e: unknown) => e instanceof ValidationError && e.field === 'measurements',
  );
  assert.throws(
    () => lassoWvt.check({ ...good, measurements: Float32Array.of(1, Number.NaN) }),
    (e: unknown) => e instanceof ValidationError && e.field === 'measurements',
  );
  lassoDct.check(good);
  const opts = { optimizer: 'lbfgs' as const, maxEvaluations: 10, imageShape: SHAPE };
  await assert.rejects(lassoDct.solveBatch([good], { ...opts, lambda: -1 }), (e: unknown) => e instanceof ValidationError && e.field === 'lambda');
  await assert.rejects(lassoDct.solveBatch([good], { ...opts, maxEvaluations: 0 }), ValidationError);
  await assert.rejects(
    lassoDct.solveBatch([{ ...good, operator: { type: 'gaussian', m: 5000, seed: 1 }, measurements: new Float32Array(5000) }], opts),
    ValidationError,
  );
  await assert.rejects(
    lassoDct.solveBatch([{ ...good, operator: { type: 'identity' } }], opts),
    (e: unknown) => e instanceof ValidationError && e.field === 'measurements',
  );
});

test('cancellation stops only the cancelled problem; progress reports each problem by its index', async () => {
  const spec: OperatorSpec = { type: 'gaussian', m: 200, seed: 2 };
  const problems = [problemFor(spec, 1, 0.01), problemFor(spec, 2, 0.01)];
  const progress = new Map<number, number>();
  const options: BaselineOptions = {
    optimizer: 'lbfgs',
    maxEvaluations: 40,
    tolerance: 0,
    imageShape: SHAPE,
    isCancelled: (i) => i === 1,
    onProgress: (p) => progress.set(p.problemIndex, p.evaluations),
  };
  const [kept, cancelled] = await lassoWvt.solveBatch(problems, options);
  assert.equal(cancelled.stopReason, 'cancelled');
  assert.equal(cancelled.iterations, 1);
  assert.equal(kept.stopReason, 'max-evaluations');
  assert.ok(kept.evaluations >= 40);
  assert.ok((progress.get(0) ?? 0) >= 30, 'problem 0 reported its gap checks');
  assert.ok(!progress.has(1));
});
