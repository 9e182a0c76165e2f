// Baselines benchmark: wall time of one solve call at batch 1 and 6 for Lasso-DCT and Lasso-WVT (compressive
// sensing, m = 2500, 64×64×3, a fixed FISTA budget so every run does the same work), BM3D (64×64×3 denoising,
// σ = 0.1) and the DCGAN prior (CS m = 2500, 3 restarts, a fixed evaluation budget; the shipped
// models/dcgan-celeba64, skipped when absent). The gaussian operator is built once, outside the timings. Batch sizes alternate within each repeat;
// medians are reported.
//
//   node --import tsx bench/baselines.ts [--quick]   prints a table, writes bench/results/baselines.json
import { pathToFileURL } from 'node:url';
import { initEngine } from '../src/engine/index.ts';
import { existsSync } from 'node:fs';
import { solveWithMethod } from '../src/methods/index.ts';
import type { BaselineMethod } from '../src/methods/types.ts';
import { loadModel } from '../src/models/store.ts';
import { SHIPPED_MODELS_DIR } from '../src/paths.ts';
import type { ImageShape } from '../src/models/prior.ts';
import { OperatorCache } from '../src/physics/cache.ts';
import { simulateMeasurements } from '../src/physics/noise.ts';
import type { OperatorSpec } from '../src/physics/operator.ts';
import type { Problem } from '../src/solvers/types.ts';
import { bm3d } from '../src/baselines/bm3d/method.ts';
import { lassoDct, lassoWvt } from '../src/baselines/lasso/method.ts';
import type { BaselineOptions } from '../src/baselines/options.ts';
import { median, printRows, writeRows, type Row } from './table.ts';

const SHAPE: ImageShape = [64, 64, 3];

/** A smooth synthetic colour image with a few edges (benchmarks must not depend on the data sets). */
function syntheticImage(seed: number): Float32Array {
  const [h, w, c] = SHAPE;
  const x = new Float32Array(h * w * c);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      const edge = (i + 2 * j + 7 * seed) % 40 < 20 ? 0.15 : 0;
      for (let k = 0; k < c; k++) {
        x[(i * w + j) * c + k] = 0.4 + edge + 0.25 * Math.sin(i / (9 + seed) + k) * Math.cos(j / (13 - k) + seed);
      }
    }
  }
  return x;
}

function problems(cache: OperatorCache, spec: OperatorSpec, noise: number, count: number): Problem[] {
  const lease = cache.acquire(spec, SHAPE);
  try {
    return Array.from({ length: count }, (_, i) => {
      const truth = syntheticImage(i);
      const measurements = simulateMeasurements(lease.op, truth, { type: 'gaussian', sigma: noise, seed: i });
      return { operator: spec, measurements, gamma: 0, penalty: 'l2' as const, init: { type: 'zeros' as const }, seed: i, groundTruth: truth };
    });
  } finally {
    lease.release();
  }
}

export async function benchBaselines(opts: { quick: boolean }): Promise<Row[]> {
  const engine = await initEngine();
  const repeats = opts.quick ? 1 : 3;
  const fistaBudget = opts.quick ? 40 : 200;
  const cache = new OperatorCache();
  const cs: OperatorSpec = { type: 'gaussian', m: 2500, seed: 0 };
  const csNoise = 0.1 / Math.sqrt(2500); // ‖η‖ ≈ 0.1, the paper's compressive-sensing noise
  const cases: Array<{ method: BaselineMethod; label: string; problems: Problem[]; options: BaselineOptions; iterations?: number }> = [
    {
      method: lassoDct,
      label: 'lasso-dct CS m=2500',
      problems: problems(cache, cs, csNoise, 6),
      options: { optimizer: 'lbfgs', maxEvaluations: fistaBudget, tolerance: 0, operatorCache: cache },
      iterations: fistaBudget,
    },
    {
      method: lassoWvt,
      label: 'lasso-wvt CS m=2500',
      problems: problems(cache, cs, csNoise, 6),
      options: { optimizer: 'lbfgs', maxEvaluations: fistaBudget, tolerance: 0, operatorCache: cache },
      iterations: fistaBudget,
    },
    {
      method: bm3d,
      label: 'bm3d denoise σ=0.1',
      problems: problems(cache, { type: 'identity' }, 0.1, 6),
      options: { optimizer: 'lbfgs', maxEvaluations: 1, noiseSigma: 0.1 },
    },
  ];
  const dcganDir = `${SHIPPED_MODELS_DIR}/dcgan-celeba64`;
  if (existsSync(dcganDir)) {
    const prior = await loadModel(dcganDir);
    const budget = opts.quick ? 20 : 100;
    cases.push({
      method: { name: 'dcgan', check: () => {}, solveBatch: (ps, o) => solveWithMethod('dcgan', prior, ps, o) },
      label: 'dcgan CS m=2500, 3 restarts',
      problems: problems(cache, cs, csNoise, 6),
      options: { optimizer: 'lbfgs', maxEvaluations: budget, tolerance: 0, restarts: 3, operatorCache: cache },
      iterations: budget,
    });
  }
  const rows: Row[] = [];
  for (const c of cases) {
    const samples: Record<number, number[]> = { 1: [], 6: [] };
    let psnr = Number.NaN;
    // One warm-up per batch size (operator norm estimate, kernel set-up), then alternate the batch sizes.
    for (let r = 0; r <= repeats; r++) {
      for (const b of r % 2 === 0 ? [1, 6] : [6, 1]) {
        const t0 = performance.now();
        const out = await c.method.solveBatch(c.problems.slice(0, b), c.options);
        const ms = performance.now() - t0;
        if (r > 0) samples[b].push(ms);
        if (b === 6) psnr = out.reduce((s, o) => s + (o.psnr ?? Number.NaN), 0) / out.length;
      }
    }
    for (const b of [1, 6]) {
      const ms = median(samples[b]);
      rows.push({
        name: `${c.label}, batch ${b}`,
        unit: 'ms',
        median: ms,
        perImage: ms / b,
        ...(c.iterations ? { iterations: c.iterations, perIteration: ms / c.iterations } : {}),
        meanPsnr: psnr,
        samples: samples[b],
        backend: engine.backend,
        threads: engine.threads,
      });
    }
  }
  cache.clear();
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await benchBaselines({ quick: process.argv.includes('--quick') });
  printRows('baselines', rows);
  process.stdout.write(`wrote ${writeRows('baselines', rows)}\n`);
}
