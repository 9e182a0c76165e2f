import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../../src/errors.ts';
import { psnr } from '../../src/metrics/index.ts';
import type { Problem } from '../../src/solvers/types.ts';
import { bm3dStages } from '../../src/baselines/bm3d/bm3d.ts';
import { fromPlanes, toPlanes } from '../../src/baselines/bm3d/color.ts';
import { matchBlocks, matchBuffers } from '../../src/baselines/bm3d/matching.ts';
import { bm3d } from '../../src/baselines/bm3d/method.ts';
import type { BaselineOptions } from '../../src/baselines/options.ts';
import { estimateNoiseSigma } from '../../src/baselines/bm3d/noise_estimate.ts';
import { BlockSpectra } from '../../src/baselines/bm3d/spectra.ts';
import {
  dctMatrix,
  floorPowerOfTwo,
  haarAlongGroup,
  inverseBlockTransform,
  inverseHaarAlongGroup,
  kaiserWindow,
} from '../../src/baselines/bm3d/transforms.ts';
import { fillNormal, Rng, Stream } from '../../src/util/random.ts';

/** 64×64 colour image of flat squares on a flat background. */
function squares(): Float32Array {
  const x = new Float32Array(64 * 64 * 3);
  const colours = [
    [0.8, 0.2, 0.2],
    [0.2, 0.7, 0.3],
    [0.1, 0.3, 0.9],
    [0.9, 0.9, 0.2],
  ];
  for (let i = 0; i < 64; i++) {
    for (let j = 0; j < 64; j++) {
      let col = [0.45, 0.45, 0.5];
      if (i >= 6 && i < 28 && j >= 6 && j < 28) col = colours[0];
      if (i >= 8 && i < 30 && j >= 36 && j < 58) col = colours[1];
      if (i >= 36 && i < 58 && j >= 4 && j < 30) col = colours[2];
      if (i >= 38 && i < 60 && j >= 38 && j < 60) col = colours[3];
      for (let k = 0; k < 3; k++) x[(i * 64 + j) * 3 + k] = col[k];
    }
  }
  return x;
}

function withNoise(x: Float32Array, sigma: number, seed: number): Float32Array {
  const noise = new Float32Array(x.length);
  fillNormal(noise, seed, Stream.noise, sigma);
  return x.map((v, i) => v + noise[i]);
}

function denoisingProblem(truth: Float32Array, noisy: Float32Array): Problem {
  return { operator: { type: 'identity' }, measurements: noisy, gamma: 0, penalty: 'l2', init: { type: 'zeros' }, seed: 0, groundTruth: truth };
}

test('bm3d on a piecewise-constant colour image (σ = 25/255) beats the noisy input by more than 8 dB', async () => {
  const truth = squares();
  const sigma = 25 / 255;
  const noisy = withNoise(truth, sigma, 1);
  const before = psnr(noisy, truth);
  const withSigma: BaselineOptions = { optimizer: 'lbfgs', maxEvaluations: 1, noiseSigma: sigma };
  const [known] = await bm3d.solveBatch([denoisingProblem(truth, noisy)], withSigma);
  assert.ok(known.psnr! > before + 8, `bm3d ${known.psnr!.toFixed(2)} dB vs noisy ${before.toFixed(2)} dB`);
  assert.equal(known.stopReason, 'converged');
  // Without σ the method estimates it from the image; the result stays far above the input.
  const [estimated] = await bm3d.solveBatch([denoisingProblem(truth, noisy)], { optimizer: 'lbfgs', maxEvaluations: 1 });
  assert.ok(estimated.psnr! > before + 8, `bm3d with estimated σ ${estimated.psnr!.toFixed(2)} dB`);
  // The Wiener stage improves on the hard-thresholding stage alone.
  const { basic, final } = bm3dStages(noisy, [64, 64, 3], sigma);
  assert.ok(psnr(final, truth) > psnr(basic, truth), `final ${psnr(final, truth)} vs basic ${psnr(basic, truth)}`);
  assert.ok(psnr(basic, truth) > before + 5);
});

test('bm3d high-noise profile (σ = 0.2 > 40/255: 12×12 blocks) still gains more than 8 dB', () => {
  const truth = squares();
  const noisy = withNoise(truth, 0.2, 2);
  const { final } = bm3dStages(noisy, [64, 64, 3], 0.2);
  assert.ok(psnr(final, truth) > psnr(noisy, truth) + 8, `${psnr(final, truth)} vs ${psnr(noisy, truth)}`);
});

test('noise estimate: Donoho MAD of the finest diagonal Haar coefficients recovers σ on a smooth image', () => {
  const truth = squares();
  for (const sigma of [0.02, 0.1, 0.2]) {
    const est = estimateNoiseSigma(withNoise(truth, sigma, 3), 64, 64, 3);
    assert.ok(Math.abs(est - sigma) < 0.1 * sigma, `σ ${sigma}: estimated ${est}`);
  }
  assert.ok(estimateNoiseSigma(truth, 64, 64, 3) < 0.01, 'a clean piecewise-constant image has almost no noise');
});

test('block transforms: DCT spectra of every block invert exactly; Haar along a group is orthonormal', () => {
  const rng = new Rng(4);
  const h = 13;
  const w = 11;
  const plane = Float32Array.from({ length: h * w }, () => rng.normal());
  const d = dctMatrix(8);
  const spectra = new BlockSpectra(plane, h, w, d, 8);
  const out = new Float32Array(64);
  const tmp = new Float64Array(64);
  for (let r = 0; r < spectra.positionsH; r++) {
    const row = spectra.row(r);
    for (let c = 0; c < spectra.positionsW; c++) {
      inverseBlockTransform(row, c * 64, out, 0, d, 8, tmp);
      let energy = 0;
      let blockEnergy = 0;
      for (let x = 0; x < 8; x++) {
        for (let y = 0; y < 8; y++) {
          assert.ok(Math.abs(out[x * 8 + y] - plane[(r + x) * w + c + y]) < 1e-5);
          blockEnergy += plane[(r + x) * w + c + y] ** 2;
          energy += row[c * 64 + x * 8 + y] ** 2;
        }
      }
      assert.ok(Math.abs(energy - blockEnergy) < 1e-4 * blockEnergy);
    }
  }
  for (const n of [1, 2, 4, 8, 16, 32]) {
    // Block-major group of n blocks with 3 coefficients each: g[j·3 + k].
    const g = Float32Array.from({ length: 3 * n }, () => rng.normal());
    const orig = g.slice();
    const t = new Float32Array(3 * n);
    haarAlongGroup(g, 3, n, t);
    const norm = (a: Float32Array) => Math.hypot(...a);
    assert.ok(Math.abs(norm(g) - norm(orig)) < 1e-5 * norm(orig));
    // The first slot holds each coefficient's mean over the group times √n.
    for (let k = 0; k < 3; k++) {
      let mean = 0;
      for (let j = 0; j < n; j++) mean += orig[j * 3 + k] / n;
      assert.ok(Math.abs(g[k] - mean * Math.sqrt(n)) < 1e-5);
    }
    inverseHaarAlongGroup(g, 3, n, t);
    g.forEach((v, i) => assert.ok(Math.abs(v - orig[i]) < 1e-5));
  }
  assert.deepEqual([1, 2, 3, 5, 16, 31].map(floorPowerOfTwo), [1, 2, 2, 4, 16, 16]);
});

test('kaiser window: symmetric, peak 1 at the centre for β = 0 everywhere, tapering for β > 0', () => {
  assert.ok(kaiserWindow(8, 0).every((v) => Math.abs(v - 1) < 1e-12));
  const k = kaiserWindow(8, 2);
  for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) assert.ok(Math.abs(k[i * 8 + j] - k[(7 - i) * 8 + (7 - j)]) < 1e-7);
  assert.ok(k[0] < k[3 * 8 + 3] && k[3 * 8 + 3] <= 1);
  // 1-D Kaiser(8, β=2) end value: I0(0)/I0(2) = 1/2.2795853.
  assert.ok(Math.abs(Math.sqrt(k[0]) - 1 / 2.2795853) < 1e-6);
});

test('block matching finds exact copies first, sorted, reference first, in power-of-two groups', () => {
  const h = 40;
  const w = 40;
  const rng = new Rng(6);
  const tile = Float32Array.from({ length: 64 }, () => rng.uniform() * 255);
  const plane = Float32Array.from({ length: h * w }, () => rng.uniform() * 255);
  const copies: Array<[number, number]> = [
    [2, 3],
    [20, 25],
    [10, 30],
  ];
  for (const [r, c] of copies) for (let x = 0; x < 8; x++) for (let y = 0; y < 8; y++) plane[(r + x) * w + c + y] = tile[x * 8 + y];
  const out = matchBuffers(16);
  const count = matchBlocks(plane, h, w, 8, 2, 3, 39, 16, 1e12, out);
  assert.equal(count, 16);
  assert.deepEqual([out.rows[0], out.cols[0]], [2, 3]);
  const exact = new Set([`${out.rows[1]},${out.cols[1]}`, `${out.rows[2]},${out.cols[2]}`]);
  assert.deepEqual(exact, new Set(['20,25', '10,30']));
  assert.equal(out.dist[1], 0);
  for (let k = 2; k < 16; k++) assert.ok(out.dist[k] >= out.dist[k - 1]);
  // A tight threshold keeps only the exact copies: 3 found → a group of 2.
  assert.equal(matchBlocks(plane, h, w, 8, 2, 3, 39, 16, 1, out), 2);
});

test('opponent colour transform is orthonormal and inverts exactly', () => {
  const rng = new Rng(8);
  const x = Float32Array.from({ length: 5 * 4 * 3 }, () => rng.uniform());
  const planes = toPlanes(x, 5, 4, 3, 255);
  const back = fromPlanes(planes, 5, 4, 255);
  back.forEach((v, i) => assert.ok(Math.abs(v - x[i]) < 1e-6));
  let e1 = 0;
  let e2 = 0;
  for (let i = 0; i < x.length; i++) e1 += (x[i] * 255) ** 2;
  for (const p of planes) for (const v of p) e2 += v * v;
  assert.ok(Math.abs(e1 - e2) < 1e-4 * e1);
  // Grey pixels have no chrominance.
  const grey = toPlanes(Float32Array.of(0.5, 0.5, 0.5), 1, 1, 3, 1);
  assert.ok(Math.abs(grey[1][0]) < 1e-7 && Math.abs(grey[2][0]) < 1e-7);
});

test('bm3d check() and solveBatch reject what BM3D cannot solve with ValidationError', async () => {
  const truth = squares();
  const problem = denoisingProblem(truth, truth);
  assert.throws(
    () => bm3d.check({ ...problem, operator: { type: 'gaussian', m: 100, seed: 1 } }),
    (e: unknown) => e instanceof ValidationError && e.field === 'operator' && /identity operator/.test(e.message),
  );
  assert.throws(() => bm3d.check({ ...problem, operator: { type: 'mask', box: [0, 0, 4, 4] } }), ValidationError);
  bm3d.check(problem);
  const opts: BaselineOptions = { optimizer: 'lbfgs', maxEvaluations: 1 };
  const badSigma: BaselineOptions = { ...opts, noiseSigma: -0.1 };
  const tiny: BaselineOptions = { ...opts, imageShape: [8, 8, 3] };
  await assert.rejects(bm3d.solveBatch([problem], badSigma), (e: unknown) => e instanceof ValidationError && e.field === 'noiseSigma');
  await assert.rejects(bm3d.solveBatch([{ ...problem, measurements: truth.subarray(0, 300) }], opts), ValidationError);
  await assert.rejects(bm3d.solveBatch([problem], tiny), ValidationError);
  await assert.rejects(bm3d.solveBatch([{ ...problem, groundTruth: truth.subarray(0, 30) }], opts), ValidationError);
});
