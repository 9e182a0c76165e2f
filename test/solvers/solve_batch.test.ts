import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initEngine } from '../../src/engine/index.ts';
import { solveBatch } from '../../src/solvers/solve_batch.ts';
import { BatchObjective } from '../../src/solvers/objective.ts';
import type { Problem, SolveOptions } from '../../src/solvers/types.ts';
import type { OperatorSpec } from '../../src/physics/operator.ts';
import { createOperator } from '../../src/physics/registry.ts';
import { gaussianMatrixTransposed } from '../../src/physics/gaussian.ts';
import { simulateMeasurements } from '../../src/physics/noise.ts';
import { psnr, ssim } from '../../src/metrics/index.ts';
import { ValidationError } from '../../src/errors.ts';
import { Rng } from '../../src/util/random.ts';
import { AffinePrior, RosenbrockPrior, SigmoidPrior, UnstablePrior } from './toy_priors.ts';

before(async () => {
  await initEngine();
});

const LBFGS: SolveOptions = { optimizer: 'lbfgs', maxEvaluations: 300 };

/** Solves the d×d system M x = r by Gaussian elimination with partial pivoting (float64). */
function solveLinear(M: number[][], r: number[]): number[] {
  const n = r.length;
  const a = M.map((row, i) => [...row, r[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let i = c + 1; i < n; i++) if (Math.abs(a[i]![c]!) > Math.abs(a[p]![c]!)) p = i;
    [a[c], a[p]] = [a[p]!, a[c]!];
    for (let i = c + 1; i < n; i++) {
      const f = a[i]![c]! / a[c]![c]!;
      for (let j = c; j <= n; j++) a[i]![j]! -= f * a[c]![j]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = a[i]![n]!;
    for (let j = i + 1; j < n; j++) s -= a[i]![j]! * x[j]!;
    x[i] = s / a[i]![i]!;
  }
  return x;
}

function latentFrom(prior: { latentDim: number }, seed: number, scale = 1): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: prior.latentDim }, () => scale * rng.normal());
}

async function render(prior: { generate(z: tf.Tensor2D): tf.Tensor4D; latentDim: number }, z: Float32Array): Promise<Float32Array> {
  const x = tf.tidy(() => prior.generate(tf.tensor2d(z, [1, prior.latentDim])));
  const data = (await x.data()) as Float32Array;
  x.dispose();
  return data;
}

test('quadratic: affine prior + gaussian A + γ‖z‖² reaches the normal-equations minimiser', async () => {
  const shape = [4, 4, 3] as const;
  const n = 48;
  const d = 10;
  const m = 30;
  const gamma = 0.1;
  const prior = new AffinePrior(d, shape, 5);
  const spec: OperatorSpec = { type: 'gaussian', m, seed: 3 };
  const op = createOperator(spec, shape);
  const truth = await render(prior, latentFrom(prior, 8));
  const y = simulateMeasurements(op, truth, { type: 'gaussian', sigma: 0.05, seed: 1 });
  op.dispose();
  // closed form in float64: B = A·Wᵀ, z* = (BᵀB + γI)⁻¹ Bᵀ(y − A·b)
  const at = gaussianMatrixTransposed(m, n, 3);
  const A = (i: number, j: number) => at[j * m + i]!;
  const B = Array.from({ length: m }, (_, i) =>
    Array.from({ length: d }, (_, k) => {
      let s = 0;
      for (let j = 0; j < n; j++) s += A(i, j) * prior.w64[k * n + j]!;
      return s;
    }),
  );
  const r = Array.from({ length: m }, (_, i) => {
    let s = y[i]!;
    for (let j = 0; j < n; j++) s -= A(i, j) * prior.b64[j]!;
    return s;
  });
  const M = Array.from({ length: d }, (_, a) =>
    Array.from({ length: d }, (_, b) => B.reduce((s, row) => s + row[a]! * row[b]!, 0) + (a === b ? gamma : 0)),
  );
  const rhs = Array.from({ length: d }, (_, a) => B.reduce((s, row, i) => s + row[a]! * r[i]!, 0));
  const zStar = solveLinear(M, rhs);
  const fStar =
    B.reduce((s, row, i) => s + (row.reduce((t, v, k) => t + v * zStar[k]!, 0) - r[i]!) ** 2, 0) +
    gamma * zStar.reduce((s, v) => s + v * v, 0);

  const problem: Problem = { operator: spec, measurements: y, gamma, penalty: 'l2sq', init: { type: 'zeros' }, seed: 0 };
  for (const optimizer of ['lbfgs', 'reference'] as const) {
    const [res] = await solveBatch(prior, [problem], { optimizer, maxEvaluations: 200 });
    const err = Math.max(...zStar.map((v, k) => Math.abs(v - res!.z[k]!)));
    assert.ok(err < 2e-3, `${optimizer}: max |z − z*| = ${err}`);
    assert.ok(Math.abs(res!.loss - fStar) < 1e-4 * fStar + 1e-6, `${optimizer}: loss ${res!.loss} vs ${fStar}`);
    assert.equal(res!.diverged, false);
  }
  prior.dispose();
});

test('Rosenbrock through a toy prior: L-BFGS reaches (1, 1) from (−1.2, 1)', async () => {
  const prior = new RosenbrockPrior();
  const [res] = await solveBatch(
    prior,
    [{ operator: { type: 'identity' }, measurements: Float32Array.from([1, 0]), gamma: 0, penalty: 'l2', init: { type: 'given', z: Float32Array.from([-1.2, 1]) }, seed: 0 }],
    { optimizer: 'lbfgs', maxEvaluations: 400, tolerance: 1e-12 },
  );
  assert.ok(Math.abs(res!.z[0]! - 1) < 2e-3 && Math.abs(res!.z[1]! - 1) < 4e-3, `z = ${res!.z}`);
  assert.ok(res!.loss < 1e-5, `loss ${res!.loss}`);
  assert.equal(res!.stopReason, 'converged');
});

test('objective gradient matches central finite differences (both penalties, mixed operators)', async () => {
  const shape = [3, 3, 2] as const;
  const prior = new SigmoidPrior(6, shape, 11);
  const rng = new Rng(4);
  const specs: OperatorSpec[] = [{ type: 'mask', box: [0, 0, 1, 2] }, { type: 'gaussian', m: 7, seed: 2 }];
  const problems: Problem[] = [];
  for (const penalty of ['l2', 'l2sq'] as const) {
    for (const spec of specs) {
      const op = createOperator(spec, shape);
      problems.push({
        operator: spec,
        measurements: Float32Array.from({ length: op.m }, () => rng.uniform()),
        gamma: 0.7,
        penalty,
        init: { type: 'zeros' },
        seed: 0,
      });
      op.dispose();
    }
  }
  const objective = new BatchObjective(prior, problems);
  const idx = problems.map((_, i) => i);
  const z = problems.map(() => Float64Array.from({ length: 6 }, () => rng.normal()));
  const values = await objective.evaluate(idx, z);
  const h = 1e-2;
  for (let j = 0; j < 6; j++) {
    const plus = z.map((v) => v.map((x, k) => (k === j ? x + h : x)));
    const minus = z.map((v) => v.map((x, k) => (k === j ? x - h : x)));
    const [fp, fm] = await Promise.all([objective.forward(idx, plus), objective.forward(idx, minus)]);
    idx.forEach((i) => {
      const fd = (fp[i]!.loss - fm[i]!.loss) / (2 * h);
      const g = values[i]!.g[j]!;
      assert.ok(Math.abs(fd - g) < 2e-3 * Math.max(1, Math.abs(g)), `problem ${i} (${problems[i]!.penalty}) ∂/∂z${j}: ${g} vs FD ${fd}`);
    });
  }
  // at z = 0 the ‖z‖ penalty contributes the zero subgradient (torch's convention), ‖z‖² contributes 0 anyway
  const zero = await objective.evaluate([0, 2], [new Float64Array(6), new Float64Array(6)]);
  const plain = new BatchObjective(prior, [{ ...problems[0]!, gamma: 0 }, { ...problems[2]!, gamma: 0 }]);
  const dataOnly = await plain.evaluate([0, 1], [new Float64Array(6), new Float64Array(6)]);
  for (const k of [0, 1]) {
    assert.ok(zero[k]!.g.some((v) => v !== 0));
    zero[k]!.g.forEach((v, j) => assert.ok(Math.abs(v - dataOnly[k]!.g[j]!) < 1e-6, `${problems[k * 2]!.penalty} at 0`));
  }
  plain.dispose();
  objective.dispose();
  prior.dispose();
});

function mixedProblems(prior: SigmoidPrior, truths: Float32Array[]): Problem[] {
  const specs: OperatorSpec[] = [
    { type: 'identity' },
    { type: 'gaussian', m: 60, seed: 1 },
    { type: 'mask', box: [2, 2, 4, 4] },
    { type: 'downsample', factor: 2 },
    { type: 'blur', sigma: 1 },
    { type: 'gaussian', m: 60, seed: 2 },
  ];
  return specs.map((spec, i) => {
    const op = createOperator(spec, prior.imageShape);
    const y = simulateMeasurements(op, truths[i]!, { type: 'gaussian', sigma: 0.01, seed: 10 + i });
    op.dispose();
    return {
      operator: spec,
      measurements: y,
      gamma: i % 2 ? 0.002 : 0.001,
      penalty: i % 3 ? 'l2' : 'l2sq',
      init: i === 4 ? { type: 'normal', std: 0.1 } : { type: 'zeros' },
      seed: i,
      groundTruth: truths[i]!,
    } satisfies Problem;
  });
}

test('a batch of 6 problems with mixed operators gives the answers of 6 single solves', async () => {
  const prior = new SigmoidPrior(12, [8, 8, 3], 21);
  const truths = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => render(prior, latentFrom(prior, 100 + i, 0.8))));
  const problems = mixedProblems(prior, truths);
  const options: SolveOptions = { optimizer: 'lbfgs', maxEvaluations: 150 };
  const batch = await solveBatch(prior, problems, options);
  for (let i = 0; i < 6; i++) {
    const [single] = await solveBatch(prior, [problems[i]!], options);
    const b = batch[i]!;
    assert.ok(Math.abs(b.loss - single!.loss) <= 1e-4 * single!.loss, `problem ${i}: loss ${b.loss} vs ${single!.loss}`);
    const dz = Math.max(...b.z.map((v, k) => Math.abs(v - single!.z[k]!)));
    assert.ok(dz < 1e-2, `problem ${i}: max |Δz| ${dz}`);
    assert.ok(Math.abs(b.psnr! - single!.psnr!) < 0.05, `problem ${i}: PSNR ${b.psnr} vs ${single!.psnr}`);
    assert.equal(b.diverged, false);
    // the solve solved: the truth is in the prior's range and the noise is small
    assert.ok(b.psnr! > 30, `problem ${i}: PSNR ${b.psnr}`);
    assert.ok(b.image.every((v) => v >= 0 && v <= 1));
    assert.equal(b.psnr, psnr(b.image, truths[i]!));
    assert.equal(b.ssim, ssim(b.image, truths[i]!, [8, 8, 3]));
  }
  prior.dispose();
});

test('NaN guard: a prior that is NaN beyond ‖z‖ > R gives a finite image, diverged=true, and leaves batch-mates alone', async () => {
  const base = new SigmoidPrior(12, [8, 8, 3], 21);
  const prior = new UnstablePrior(base, 1.5);
  const truths = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => render(base, latentFrom(base, 100 + i, 0.8))));
  // problem 0 wants a latent far outside the ball (its truth needs ‖z‖ ≫ 1.5); problem 1 lives inside it
  const far = await render(base, latentFrom(base, 300, 3));
  const problems = mixedProblems(base, [far, truths[1]!, ...truths.slice(2)]).slice(0, 2);
  for (const optimizer of ['lbfgs', 'reference', 'adam'] as const) {
    const options: SolveOptions = { optimizer, maxEvaluations: 120, learningRate: optimizer === 'adam' ? 0.2 : 1 };
    const results = await solveBatch(prior, problems, options);
    const r0 = results[0]!;
    assert.equal(r0.diverged, true, optimizer);
    assert.ok(r0.image.every(Number.isFinite) && Number.isFinite(r0.loss) && Number.isFinite(r0.zNorm), optimizer);
    assert.ok(r0.zNorm <= 1.5 + 1e-6, `${optimizer}: ‖z‖ = ${r0.zNorm}`);
    assert.ok(r0.z.every(Number.isFinite));
    // problem 1 met NaNs or not on its own; it must give the same answer as when solved alone
    const [alone] = await solveBatch(prior, [problems[1]!], options);
    assert.ok(Math.abs(results[1]!.loss - alone!.loss) <= 1e-4 * alone!.loss, `${optimizer}: ${results[1]!.loss} vs ${alone!.loss}`);
  }
  // a prior that is finite only at z = 0: every move fails, the problem stops 'diverged' at its start
  const nowhere = new UnstablePrior(base, 0);
  const [stuck] = await solveBatch(nowhere, [problems[0]!], LBFGS);
  assert.equal(stuck!.stopReason, 'diverged');
  assert.equal(stuck!.zNorm, 0);
  assert.ok(stuck!.image.every(Number.isFinite));
  assert.ok(stuck!.evaluations <= 1 + 7 + 1, `${stuck!.evaluations} evaluations`);
  base.dispose();
});

test('no tensor leaks: the tensor count is the same at every evaluation and after the solve', async () => {
  const prior = new SigmoidPrior(12, [8, 8, 3], 21);
  const truths = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => render(prior, latentFrom(prior, 100 + i, 0.8))));
  const problems = mixedProblems(prior, truths);
  const before = tf.memory().numTensors;
  const counts = new Set<number>();
  await solveBatch(prior, problems, { ...LBFGS, maxEvaluations: 30, onProgress: () => counts.add(tf.memory().numTensors) });
  assert.equal(counts.size, 1, `tensor counts seen during the solve: ${[...counts]}`);
  assert.equal(tf.memory().numTensors, before);
  prior.dispose();
});

test('progress and cancellation are per problem', async () => {
  const prior = new SigmoidPrior(12, [8, 8, 3], 21);
  const truths = await Promise.all([0, 1, 2].map((i) => render(prior, latentFrom(prior, 100 + i, 0.8))));
  const problems = mixedProblems(prior, [...truths, ...truths]).slice(0, 3);
  const seen = new Map<number, number[]>();
  const results = await solveBatch(prior, problems, {
    optimizer: 'lbfgs',
    maxEvaluations: 60,
    onProgress: (p) => seen.set(p.problemIndex, [...(seen.get(p.problemIndex) ?? []), p.evaluations]),
    isCancelled: (i) => i === 1 && (seen.get(1)?.length ?? 0) >= 5,
  });
  assert.equal(results[1]!.stopReason, 'cancelled');
  assert.equal(results[1]!.evaluations, 5);
  assert.deepEqual(seen.get(1), [1, 2, 3, 4, 5]);
  for (const i of [0, 2]) {
    assert.notEqual(results[i]!.stopReason, 'cancelled');
    const evs = seen.get(i)!;
    assert.ok(evs.every((v, k) => v === k + 1), 'evaluations counted one by one');
    assert.equal(evs.at(-1), results[i]!.evaluations);
    assert.ok(results[i]!.evaluations > 5);
  }
  prior.dispose();
});

test('invalid problems are rejected with the field named', async () => {
  const prior = new SigmoidPrior(4, [4, 4, 3], 1);
  const ok: Problem = { operator: { type: 'identity' }, measurements: new Float32Array(48), gamma: 0, penalty: 'l2', init: { type: 'zeros' }, seed: 0 };
  const bad = async (p: Partial<Problem>, field: string, opts: Partial<SolveOptions> = {}) =>
    assert.rejects(solveBatch(prior, [ok, { ...ok, ...p }], { ...LBFGS, ...opts }), (e: unknown) => e instanceof ValidationError && e.field === field);
  await bad({ measurements: new Float32Array(47) }, 'problems[1].measurements');
  await bad({ operator: { type: 'gaussian', m: 100, seed: 1 } }, 'problems[1].operator.m');
  await bad({ gamma: -1 }, 'problems[1].gamma');
  await bad({ init: { type: 'given', z: new Float32Array(3) } }, 'problems[1].init.z');
  await bad({ groundTruth: new Float32Array(5) }, 'problems[1].groundTruth');
  await bad({}, 'options.maxEvaluations', { maxEvaluations: 0 });
  assert.deepEqual(await solveBatch(prior, [], LBFGS), []);
  prior.dispose();
});

test('an operator cache shared across calls gives the same results and keeps the operators', async () => {
  const { OperatorCache } = await import('../../src/physics/cache.ts');
  const prior = new SigmoidPrior(12, [8, 8, 3], 21);
  const truths = await Promise.all([0, 1].map((i) => render(prior, latentFrom(prior, 100 + i, 0.8))));
  const problems = mixedProblems(prior, [truths[0]!, truths[1]!, truths[0]!, truths[1]!, truths[0]!, truths[1]!]).slice(0, 2);
  const cache = new OperatorCache();
  const plain = await solveBatch(prior, problems, { ...LBFGS, maxEvaluations: 40 });
  const cached1 = await solveBatch(prior, problems, { ...LBFGS, maxEvaluations: 40, operatorCache: cache });
  const cached2 = await solveBatch(prior, problems, { ...LBFGS, maxEvaluations: 40, operatorCache: cache });
  assert.equal(cache.size, 2);
  for (let i = 0; i < 2; i++) {
    assert.deepEqual(cached1[i]!.z, plain[i]!.z);
    assert.deepEqual(cached2[i]!.z, plain[i]!.z);
  }
  cache.clear();
  prior.dispose();
});
