// solveBatch: independent optimizers per problem, evaluated together. Each round collects the point every
// active problem wants evaluated, runs them as one batch through the prior (objective.ts), and hands each
// problem its own value and gradient back. A problem that stops (converged, budget, diverged, cancelled)
// drops out of the batch; the others continue unaffected.
import { initEngine } from '../engine/index.ts';
import { ValidationError } from '../errors.ts';
import { psnr } from '../metrics/psnr.ts';
import { ssim } from '../metrics/ssim.ts';
import type { LatentPrior } from '../models/prior.ts';
import { validateOperatorSpec } from '../physics/registry.ts';
import { fillNormal, Stream } from '../util/random.ts';
import { adam, DEFAULT_ADAM_LR } from './adam.ts';
import { DEFAULT_LBFGS_HISTORY, DEFAULT_TOLERANCE, lbfgs } from './lbfgs.ts';
import { BatchObjective } from './objective.ts';
import type { Evaluation, OptimizerRun, Outcome, RunStats } from './optimizer.ts';
import { referenceLbfgs } from './reference_lbfgs.ts';
import type { Problem, SolveOptions, SolveResult, StopReason } from './types.ts';
import { norm2 } from './vector.ts';

export const MAX_EVALUATIONS_LIMIT = 100_000;

interface Slot {
  run: OptimizerRun;
  stats: RunStats;
  /** The point this problem waits to have evaluated; null once it has stopped. */
  pending: Float64Array | null;
  outcome: Outcome | null;
  stopReason: StopReason | null;
  best: { x: Float64Array; loss: number } | null;
  finishedAt: number;
}

function initialLatent(problem: Problem, d: number, index: number): Float64Array {
  const init = problem.init;
  if (init.type === 'zeros') return new Float64Array(d);
  if (init.type === 'normal') {
    const z = new Float64Array(d);
    fillNormal(z, problem.seed, Stream.latentInit, init.std);
    return z;
  }
  if (init.z.length !== d) {
    throw new ValidationError(`problems[${index}].init.z`, `must have ${d} values (the prior's latent size), got ${init.z.length}`);
  }
  return Float64Array.from(init.z);
}

export function validateSolveOptions(options: SolveOptions): void {
  if (!['lbfgs', 'reference', 'adam'].includes(options.optimizer)) {
    throw new ValidationError('options.optimizer', `must be lbfgs, reference or adam, got ${JSON.stringify(options.optimizer)}`);
  }
  const intIn = (v: unknown, field: string, lo: number, hi: number) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
      throw new ValidationError(`options.${field}`, `must be an integer between ${lo} and ${hi}, got ${JSON.stringify(v)}`);
    }
  };
  intIn(options.maxEvaluations, 'maxEvaluations', 1, MAX_EVALUATIONS_LIMIT);
  if (options.history !== undefined) intIn(options.history, 'history', 1, 1000);
  if (options.learningRate !== undefined && !(options.learningRate > 0 && Number.isFinite(options.learningRate))) {
    throw new ValidationError('options.learningRate', `must be a positive number, got ${options.learningRate}`);
  }
  if (options.tolerance !== undefined && !(options.tolerance >= 0 && options.tolerance < 1)) {
    throw new ValidationError('options.tolerance', `must be in [0, 1), got ${options.tolerance}`);
  }
}

export function validateProblem(problem: Problem, prior: LatentPrior, index: number): void {
  const f = (name: string) => `problems[${index}].${name}`;
  try {
    validateOperatorSpec(problem.operator, prior.imageShape);
  } catch (err) {
    if (err instanceof ValidationError) throw new ValidationError(f(err.field), err.message.replace(/^[^:]*: /, ''));
    throw err;
  }
  if (!(problem.gamma >= 0 && Number.isFinite(problem.gamma))) {
    throw new ValidationError(f('gamma'), `must be a finite number ≥ 0, got ${problem.gamma}`);
  }
  if (problem.penalty !== 'l2' && problem.penalty !== 'l2sq') {
    throw new ValidationError(f('penalty'), `must be l2 or l2sq, got ${JSON.stringify(problem.penalty)}`);
  }
  if (!Number.isInteger(problem.seed) || problem.seed < 0 || problem.seed > 0xffffffff) {
    throw new ValidationError(f('seed'), `must be an integer in [0, 2^32), got ${problem.seed}`);
  }
  if (problem.init.type === 'normal' && !(problem.init.std >= 0 && Number.isFinite(problem.init.std))) {
    throw new ValidationError(f('init.std'), `must be a finite number ≥ 0, got ${problem.init.std}`);
  }
  if (problem.init.type === 'given' && !problem.init.z.every(Number.isFinite)) {
    throw new ValidationError(f('init.z'), 'must be finite');
  }
  if (!problem.measurements.every(Number.isFinite)) throw new ValidationError(f('measurements'), 'must be finite');
  const [h, w, c] = prior.imageShape;
  if (problem.groundTruth && problem.groundTruth.length !== h * w * c) {
    throw new ValidationError(f('groundTruth'), `must have ${h * w * c} values (${h}×${w}×${c}), got ${problem.groundTruth.length}`);
  }
}

function startRun(x0: Float64Array, options: SolveOptions, stats: RunStats): OptimizerRun {
  const maxEvaluations = options.maxEvaluations;
  switch (options.optimizer) {
    case 'reference':
      return referenceLbfgs(x0, {
        lr: options.learningRate ?? 1,
        maxEvaluations,
        history: options.history ?? 100,
      }, stats);
    case 'adam':
      return adam(x0, { lr: options.learningRate ?? DEFAULT_ADAM_LR, maxEvaluations, tolerance: options.tolerance ?? 0 }, stats);
    case 'lbfgs':
      return lbfgs(x0, {
        history: options.history ?? DEFAULT_LBFGS_HISTORY,
        maxEvaluations,
        tolerance: options.tolerance ?? DEFAULT_TOLERANCE,
      }, stats);
  }
}

/**
 * Solves min_z ‖A_i·G(z) − y_i‖² + γ_i·penalty_i(z) for every problem, each with its own optimizer state;
 * every round evaluates all active problems in one pass through `prior.generate`. Never returns NaN: a
 * problem that meets non-finite values backs off, and if it still cannot continue it stops with
 * stopReason 'diverged' and its best finite iterate.
 */
export async function solveBatch(prior: LatentPrior, problems: Problem[], options: SolveOptions): Promise<SolveResult[]> {
  await initEngine();
  validateSolveOptions(options);
  problems.forEach((p, i) => validateProblem(p, prior, i));
  if (problems.length === 0) return [];
  const start = performance.now();
  const objective = new BatchObjective(prior, problems, options.operatorCache);
  try {
    problems.forEach((p, i) => {
      const m = objective.operatorOf(i).m;
      if (p.measurements.length !== m) {
        throw new ValidationError(`problems[${i}].measurements`, `must have ${m} values for this operator, got ${p.measurements.length}`);
      }
    });
    const slots: Slot[] = problems.map((p, i) => {
      const stats: RunStats = { iterations: 0, evaluations: 0, nonFinite: 0 };
      const run = startRun(initialLatent(p, prior.latentDim, i), options, stats);
      return { run, stats, pending: null, outcome: null, stopReason: null, best: null, finishedAt: 0 };
    });
    const advance = (slot: Slot, ev: Evaluation | undefined) => {
      const step = slot.run.next(ev as Evaluation);
      if (step.done) {
        slot.pending = null;
        slot.outcome = step.value;
        slot.stopReason = step.value.reason;
        slot.finishedAt = performance.now();
      } else {
        slot.pending = step.value;
      }
    };
    for (const slot of slots) advance(slot, undefined);

    for (;;) {
      slots.forEach((slot, i) => {
        if (slot.pending && options.isCancelled?.(i)) {
          slot.run.return({ x: slot.pending, reason: 'converged' });
          slot.pending = null;
          slot.stopReason = 'cancelled';
          slot.finishedAt = performance.now();
        }
      });
      const active = slots.flatMap((s, i) => (s.pending ? [i] : []));
      if (active.length === 0) break;
      const points = active.map((i) => slots[i]!.pending as Float64Array);
      const values = await objective.evaluate(active, points);
      active.forEach((i, k) => {
        const slot = slots[i]!;
        const v = values[k]!;
        if (v.finite && (!slot.best || v.loss < slot.best.loss)) slot.best = { x: Float64Array.from(points[k]!), loss: v.loss };
        advance(slot, { f: v.loss, g: v.g, finite: v.finite });
        if (v.finite) {
          options.onProgress?.({ problemIndex: i, iteration: slot.stats.iterations, evaluations: slot.stats.evaluations, loss: v.loss });
        }
      });
      // Let timers (job lock renewals, HTTP) run between rounds.
      await new Promise((resolve) => setImmediate(resolve));
    }

    return await finish(prior, problems, options, objective, slots, start);
  } finally {
    objective.dispose();
  }
}

/** Picks each problem's returned latent, computes its image and metrics in one forward pass. */
async function finish(
  prior: LatentPrior,
  problems: Problem[],
  options: SolveOptions,
  objective: BatchObjective,
  slots: Slot[],
  start: number,
): Promise<SolveResult[]> {
  const d = prior.latentDim;
  // Reference mode returns torch's final parameters (the last move is not evaluated, as in the reference);
  // the other optimizers return their best evaluated point.
  const chosen = slots.map((s, i) => {
    if (options.optimizer === 'reference' && s.outcome && s.stopReason !== 'cancelled' && s.stopReason !== 'diverged') {
      return s.outcome.x;
    }
    return s.best?.x ?? s.outcome?.x ?? initialLatent(problems[i]!, d, i);
  });
  const indices = problems.map((_, i) => i);
  let finals = await objective.forward(indices, chosen);
  const retry = indices.filter((i) => !finals[i]!.finite && slots[i]!.best && chosen[i] !== slots[i]!.best!.x);
  if (retry.length > 0) {
    // The unevaluated final point of reference mode went non-finite: fall back to the best evaluated one.
    const again = await objective.forward(retry, retry.map((i) => slots[i]!.best!.x));
    finals = finals.slice();
    retry.forEach((i, k) => {
      finals[i] = again[k]!;
      chosen[i] = slots[i]!.best!.x;
      slots[i]!.stopReason = 'diverged';
    });
  }
  const [h, w, c] = prior.imageShape;
  return problems.map((p, i) => {
    const slot = slots[i]!;
    const fin = finals[i]!;
    const image = new Float32Array(fin.image.length);
    for (let j = 0; j < image.length; j++) {
      const v = fin.image[j]!;
      image[j] = v > 1 ? 1 : v > 0 ? v : 0; // NaN → 0: only when no finite point was ever found
    }
    const stopReason = slot.stopReason ?? 'max-evaluations';
    const result: SolveResult = {
      image,
      z: Float32Array.from(chosen[i]!),
      loss: fin.finite ? fin.loss : Infinity,
      dataFit: Number.isFinite(fin.dataFit) ? fin.dataFit : Infinity,
      zNorm: norm2(chosen[i]!),
      iterations: slot.stats.iterations,
      evaluations: slot.stats.evaluations,
      stopReason,
      diverged: stopReason === 'diverged' || slot.stats.nonFinite > 0 || !fin.finite,
      wallMs: (slot.finishedAt || performance.now()) - start,
    };
    if (p.groundTruth) {
      result.psnr = psnr(image, p.groundTruth);
      result.ssim = ssim(image, p.groundTruth, [h, w, c]);
    }
    return result;
  });
}
