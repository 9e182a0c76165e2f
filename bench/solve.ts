// Solve benchmark: the reverse pass G(z) and one solve evaluation (value + gradient of ‖A G(z) − y‖², CS m = 2500)
// at batch 1 and 6, and the wall time of a full CS solve at m = 2500, with the shipped Glow (a random Glow of the same
// architecture when none is shipped). Variants alternate within each repeat; medians are reported.
//
//   node --import tsx bench/solve.ts [--quick]   prints a table, writes bench/results/solve.json
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { tf, initEngine } from '../src/engine/index.ts';
import type { LatentPrior } from '../src/models/prior.ts';
import { createRandomGlow, glowConfig } from '../src/models/glow/random_glow.ts';
import { loadModel } from '../src/models/store.ts';
import { DEFAULT_GLOW_MODEL } from '../src/paths.ts';
import { simulateMeasurements } from '../src/physics/noise.ts';
import { createOperator } from '../src/physics/registry.ts';
import { BatchObjective } from '../src/solvers/objective.ts';
import { solveBatch } from '../src/solvers/solve_batch.ts';
import type { Problem } from '../src/solvers/types.ts';
import { median, printRows, writeRows, type Row } from './table.ts';

async function timeMs(fn: () => Promise<void> | void): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

export async function benchSolve(opts: { quick: boolean }): Promise<Row[]> {
  const engine = await initEngine();
  const shipped = existsSync(path.join(DEFAULT_GLOW_MODEL, 'config.json'));
  const prior: LatentPrior = shipped ? await loadModel(DEFAULT_GLOW_MODEL) : createRandomGlow(glowConfig({ K: 8, L: 4, hidden: 128 }), 0);
  const model = shipped ? prior.name : 'random K8 L4 h128';
  const repeats = opts.quick ? 3 : 7;
  const rows: Row[] = [];
  const common = { backend: engine.backend, threads: engine.threads, model };

  // Reverse pass.
  const gen: Record<number, number[]> = { 1: [], 6: [] };
  for (let r = 0; r < repeats + 1; r++) {
    for (const b of [1, 6]) {
      const z = tf.randomNormal([b, prior.latentDim], 0, 0.7) as tf.Tensor2D;
      const ms = await timeMs(async () => {
        const x = prior.generate(z);
        await x.data();
        x.dispose();
      });
      z.dispose();
      if (r > 0) gen[b]!.push(ms);
    }
  }
  for (const b of [1, 6]) rows.push({ name: `reverse pass G(z), batch ${b}`, unit: 'ms', median: median(gen[b]!), perImage: median(gen[b]!) / b, ...common });

  // One solve evaluation (value + gradient), CS m = 2500.
  const spec = { type: 'gaussian' as const, m: 2500, seed: 0 };
  const op = createOperator(spec, prior.imageShape);
  const x0 = new Float32Array(op.n).fill(0.5);
  const y = simulateMeasurements(op, x0, { type: 'gaussian-norm', norm: 0.1, seed: 1 });
  op.dispose();
  const problem = (i: number): Problem => ({ operator: spec, measurements: y, gamma: 0, penalty: 'l2', init: { type: 'zeros' }, seed: i });
  const evals: Record<number, number[]> = { 1: [], 6: [] };
  const objectives = { 1: new BatchObjective(prior, [problem(0)]), 6: new BatchObjective(prior, Array.from({ length: 6 }, (_, i) => problem(i))) };
  for (let r = 0; r < repeats + 1; r++) {
    for (const b of [1, 6] as const) {
      const idx = Array.from({ length: b }, (_, i) => i);
      const zs = idx.map(() => Float64Array.from({ length: prior.latentDim }, () => 0.3 * (Math.random() - 0.5)));
      const ms = await timeMs(async () => {
        await objectives[b].evaluate(idx, zs);
      });
      if (r > 0) evals[b]!.push(ms);
    }
  }
  objectives[1].dispose();
  objectives[6].dispose();
  for (const b of [1, 6]) rows.push({ name: `solve evaluation (value+grad, CS m=2500), batch ${b}`, unit: 'ms', median: median(evals[b]!), perImage: median(evals[b]!) / b, ...common });

  // A full CS solve at m = 2500 (batch 1). --quick caps the budget so the row still runs end to end.
  const budget = opts.quick ? 20 : 300;
  const t = performance.now();
  const [res] = await solveBatch(prior, [problem(0)], { optimizer: 'lbfgs', maxEvaluations: budget });
  rows.push({ name: `full CS solve m=2500, batch 1, ≤${budget} evaluations`, unit: 's', median: (performance.now() - t) / 1000, evaluations: res!.evaluations, ...common });
  prior.dispose();
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rows = await benchSolve({ quick: process.argv.includes('--quick') });
  printRows('solve', rows);
  writeRows('solve', rows);
}
