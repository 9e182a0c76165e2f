// torch.optim.LBFGS(lr, max_iter, history_size, tolerance_grad, tolerance_change, line_search_fn=None), called
// step() after step() until the evaluation budget is spent — the reference code's solver, reproduced step for
// step (same history update, two-loop recursion, first-step scaling, break conditions and evaluation count)
// so that results are comparable with the paper's. One addition, since torch raises on NaN: a non-finite
// evaluation is retried with a halved step from the point before the move, then the problem stops.
import {
  DEFAULT_MAX_BACKOFFS,
  evaluateAt,
  guardBudget,
  type Evaluation,
  type OptimizerRun,
  type RunStats,
} from './optimizer.ts';
import { dot, maxAbs, norm1, scale, step, sub } from './vector.ts';

export interface ReferenceLbfgsOptions {
  lr: number;
  maxEvaluations: number;
  history?: number; // torch default 100
  maxIter?: number; // iterations per step(), torch default 20
  toleranceGrad?: number; // 1e-7
  toleranceChange?: number; // 1e-9
  maxBackoffs?: number;
}

class Diverged {}
const DIVERGED = new Diverged();

export function referenceLbfgs(x0: Float64Array, opts: ReferenceLbfgsOptions, stats: RunStats): OptimizerRun {
  const ctx = { stats, maxEvaluations: opts.maxEvaluations };
  const lr = opts.lr;
  const historySize = opts.history ?? 100;
  const maxIter = opts.maxIter ?? 20;
  const maxEvalPerStep = Math.floor((maxIter * 5) / 4);
  const tolGrad = opts.toleranceGrad ?? 1e-7;
  const tolChange = opts.toleranceChange ?? 1e-9;
  const maxBackoffs = opts.maxBackoffs ?? DEFAULT_MAX_BACKOFFS;

  let x: Float64Array = Float64Array.from(x0);
  // torch's optimizer state, persistent across step() calls
  let nIterTotal = 0;
  let d: Float64Array = new Float64Array(x.length);
  let t = 0;
  const oldDirs: Float64Array[] = [];
  const oldStps: Float64Array[] = [];
  const ro: number[] = [];
  let hDiag = 1;
  let prevFlatGrad: Float64Array | null = null;
  let prevLoss = 0;
  /** The point before the last move (x = base + t·d), where a non-finite evaluation backs off to. */
  let base: Float64Array | null = null;

  function* evaluateHere(): Generator<Float64Array, Evaluation, Evaluation> {
    let ev = yield* evaluateAt(ctx, x);
    for (let tries = 0; !ev.finite; tries++) {
      if (!base || tries >= maxBackoffs) throw DIVERGED;
      t /= 2;
      x = step(base, t, d);
      ev = yield* evaluateAt(ctx, x);
    }
    return ev;
  }

  function* oneStep(): Generator<Float64Array, boolean, Evaluation> {
    let ev = yield* evaluateHere();
    let loss = ev.f;
    let flatGrad = ev.g;
    let currentEvals = 1;
    if (maxAbs(flatGrad) <= tolGrad) return false;
    let moved = false;
    let nIter = 0;
    while (nIter < maxIter) {
      nIter++;
      nIterTotal++;
      stats.iterations = nIterTotal;
      if (nIterTotal === 1) {
        d = scale(flatGrad, -1);
        hDiag = 1;
      } else {
        const y = sub(flatGrad, prevFlatGrad as Float64Array);
        const s = scale(d, t);
        const ys = dot(y, s);
        if (ys > 1e-10) {
          if (oldDirs.length === historySize) {
            oldDirs.shift();
            oldStps.shift();
            ro.shift();
          }
          oldDirs.push(y);
          oldStps.push(s);
          ro.push(1 / ys);
          hDiag = ys / dot(y, y);
        }
        const numOld = oldDirs.length;
        const al = new Float64Array(numOld);
        const q = scale(flatGrad, -1);
        for (let i = numOld - 1; i >= 0; i--) {
          const a = dot(oldStps[i] as Float64Array, q) * (ro[i] as number);
          al[i] = a;
          const yi = oldDirs[i] as Float64Array;
          for (let j = 0; j < q.length; j++) q[j] = (q[j] as number) - a * (yi[j] as number);
        }
        for (let j = 0; j < q.length; j++) q[j] = (q[j] as number) * hDiag;
        for (let i = 0; i < numOld; i++) {
          const be = dot(oldDirs[i] as Float64Array, q) * (ro[i] as number);
          const si = oldStps[i] as Float64Array;
          const c = (al[i] as number) - be;
          for (let j = 0; j < q.length; j++) q[j] = (q[j] as number) + c * (si[j] as number);
        }
        d = q;
      }
      prevFlatGrad = Float64Array.from(flatGrad);
      prevLoss = loss;
      t = nIterTotal === 1 ? Math.min(1, 1 / norm1(flatGrad)) * lr : lr;
      const gtd = dot(flatGrad, d);
      if (gtd > -tolChange) break;
      base = x;
      x = step(x, t, d);
      moved = true;
      let lsEvals = 0;
      let optCond = false;
      if (nIter !== maxIter) {
        ev = yield* evaluateHere();
        loss = ev.f;
        flatGrad = ev.g;
        optCond = maxAbs(flatGrad) <= tolGrad;
        lsEvals = 1;
      }
      currentEvals += lsEvals;
      if (nIter === maxIter) break;
      if (currentEvals >= maxEvalPerStep) break;
      if (optCond) break;
      if (maxAbs(d) * Math.abs(t) <= tolChange) break;
      if (Math.abs(loss - prevLoss) < tolChange) break;
    }
    return moved;
  }

  function* body(): OptimizerRun {
    try {
      // step() until the budget runs out (guardBudget); a step that cannot move is a fixed point: every later
      // step() would re-evaluate the same point and return.
      while (yield* oneStep());
      return { x, reason: 'converged' };
    } catch (err) {
      if (err === DIVERGED) return { x: base ?? x, reason: 'diverged' };
      throw err;
    }
  }
  return guardBudget(body(), () => x);
}
