import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initEngine } from '../../src/engine/index.ts';
import { ValidationError } from '../../src/errors.ts';
import { importDcgan } from '../../src/models/dcgan/import_dcgan.ts';
import { createRandomDcgan } from '../../src/models/dcgan/random_dcgan.ts';
import type { LatentPrior } from '../../src/models/prior.ts';
import { createOperator } from '../../src/physics/registry.ts';
import { simulateMeasurements } from '../../src/physics/noise.ts';
import type { OperatorSpec } from '../../src/physics/operator.ts';
import { solveBatch } from '../../src/solvers/solve_batch.ts';
import type { Problem } from '../../src/solvers/types.ts';
import { DCGAN_INIT_STD, restartLatents, solveDcganPrior } from '../../src/baselines/dcgan_prior.ts';
import { fillNormal, Stream } from '../../src/util/random.ts';

await initEngine();

const prior = createRandomDcgan(3, 4);

function problemFrom(spec: OperatorSpec, seed: number): Problem {
  const zTrue = new Float32Array(prior.latentDim);
  fillNormal(zTrue, 1000 + seed, Stream.general);
  const xT = tf.tidy(() => tf.reshape(prior.generate(tf.tensor2d(zTrue, [1, prior.latentDim])), [1, -1]));
  const x = xT.dataSync() as Float32Array;
  xT.dispose();
  const op = createOperator(spec, prior.imageShape);
  const y = simulateMeasurements(op, x, { type: 'gaussian-norm', norm: 0.01, seed });
  op.dispose();
  return { operator: spec, measurements: y, gamma: 0, penalty: 'l2', init: { type: 'normal', std: DCGAN_INIT_STD }, seed, groundTruth: x };
}

const options = { optimizer: 'lbfgs' as const, maxEvaluations: 6 };

test('restart latents: restart 0 is the plain N(0, 0.1²) init of the seed, the others are fresh draws', () => {
  const p = problemFrom({ type: 'mask', box: [0, 0, 8, 8] }, 4);
  const zs = restartLatents(p, 100, 3);
  const plain = new Float32Array(100);
  fillNormal(plain, p.seed, Stream.latentInit, 0.1);
  assert.deepEqual(zs[0], plain);
  assert.notDeepEqual(zs[1], zs[0]);
  assert.notDeepEqual(zs[2], zs[1]);
  const std = Math.sqrt(zs.flatMap((z) => Array.from(z)).reduce((s, v) => s + v * v, 0) / 300);
  assert.ok(std > 0.08 && std < 0.12, `spread ${std}`);
  const given = Float32Array.from({ length: 100 }, (_, i) => i / 100);
  assert.deepEqual(restartLatents({ ...p, init: { type: 'given', z: given } }, 100, 2)[0], given);
  assert.deepEqual(restartLatents({ ...p, init: { type: 'zeros' } }, 100, 1)[0], plain, "'zeros' falls back to the 0.1 spread");
});

test('dcgan prior: restarts solved as one batch, each problem gets its restart with the smallest measurement loss', async () => {
  const problems = [problemFrom({ type: 'gaussian', m: 60, seed: 2 }, 1), problemFrom({ type: 'mask', box: [10, 10, 20, 20] }, 2)];
  const restarts = 3;
  const seen = new Set<number>();
  const results = await solveDcganPrior(prior, problems, { ...options, restarts, onProgress: (p) => seen.add(p.problemIndex) });
  assert.equal(results.length, 2);
  assert.deepEqual([...seen].sort(), [0, 1], 'progress is reported per problem, not per restart');
  for (const [i, p] of problems.entries()) {
    // Each restart alone, through the plain batched solver.
    const alone = await solveBatch(
      prior,
      restartLatents(p, prior.latentDim, restarts).map((z) => ({ ...p, init: { type: 'given' as const, z } })),
      options,
    );
    const fits = alone.map((r) => r.dataFit);
    const best = fits.indexOf(Math.min(...fits));
    assert.ok(new Set(fits.map((f) => f.toPrecision(4))).size > 1, 'restarts reach different points');
    assert.ok(Math.abs(results[i].dataFit - fits[best]) <= 1e-4 * fits[best], `problem ${i}: ${results[i].dataFit} vs best ${fits[best]}`);
    let maxDiff = 0;
    for (let k = 0; k < prior.latentDim; k++) maxDiff = Math.max(maxDiff, Math.abs(results[i].z[k] - alone[best].z[k]));
    assert.ok(maxDiff < 1e-3, `problem ${i}: z of the best restart (max diff ${maxDiff})`);
    assert.ok(results[i].psnr !== undefined);
  }
});

test('dcgan prior with one restart is the plain solve from the seeded N(0, 0.1²) start', async () => {
  const p = problemFrom({ type: 'gaussian', m: 40, seed: 5 }, 3);
  const [one] = await solveDcganPrior(prior, [p], { ...options, restarts: 1 });
  const [plain] = await solveBatch(prior, [p], options);
  one.z.forEach((v, k) => assert.ok(Math.abs(v - plain.z[k]) < 1e-5));
  assert.equal(one.evaluations, plain.evaluations);
});

test('dcgan prior rejects bad restarts and non-DCGAN priors', async () => {
  const p = problemFrom({ type: 'identity' }, 6);
  await assert.rejects(solveDcganPrior(prior, [p], { ...options, restarts: 0 }), (e: unknown) => e instanceof ValidationError && e.field === 'restarts');
  await assert.rejects(solveDcganPrior(prior, [p], { ...options, restarts: 2.5 }), ValidationError);
  const notDcgan: LatentPrior = { ...prior, kind: 'glow', generate: (z) => prior.generate(z), dispose: () => {} };
  await assert.rejects(solveDcganPrior(notDcgan, [p], options), (e: unknown) => e instanceof ValidationError && e.field === 'prior');
});

const REFERENCE_DCGAN = fileURLToPath(new URL('../../../shared/fixtures/glowip/dcgan_G.pt', import.meta.url));

test('dcgan prior works with the imported reference DCGAN: the best restart fits better than any start', { skip: !existsSync(REFERENCE_DCGAN) }, async () => {
  const reference = await importDcgan(REFERENCE_DCGAN);
  try {
    const spec: OperatorSpec = { type: 'mask', box: [16, 16, 32, 32] };
    const zTrue = new Float32Array(reference.latentDim);
    fillNormal(zTrue, 77, Stream.general);
    const xT = tf.tidy(() => tf.reshape(reference.generate(tf.tensor2d(zTrue, [1, reference.latentDim])), [1, -1]));
    const x = xT.dataSync() as Float32Array;
    xT.dispose();
    const op = createOperator(spec, reference.imageShape);
    const y = simulateMeasurements(op, x, { type: 'none' });
    const problem: Problem = { operator: spec, measurements: y, gamma: 0, penalty: 'l2', init: { type: 'normal', std: DCGAN_INIT_STD }, seed: 9 };
    const starts = restartLatents(problem, reference.latentDim, 2);
    const startFits = tf.tidy(() => {
      const images = tf.reshape(reference.generate(tf.tensor2d(Float32Array.from(starts.flatMap((z) => Array.from(z))), [2, reference.latentDim])), [2, -1]);
      return tf.sum(tf.square(tf.sub(op.apply(images as tf.Tensor2D), tf.tensor2d(y, [1, y.length]))), 1);
    });
    const fits = Array.from(startFits.dataSync());
    startFits.dispose();
    op.dispose();
    const [result] = await solveDcganPrior(reference, [problem], { optimizer: 'lbfgs', maxEvaluations: 4, restarts: 2 });
    assert.ok(Number.isFinite(result.dataFit));
    assert.ok(result.dataFit < Math.min(...fits), `${result.dataFit} vs starts ${fits}`);
    assert.equal(result.z.length, 100);
  } finally {
    reference.dispose();
  }
});
