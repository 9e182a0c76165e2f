// Strong-Wolfe line search, after minFunc's / torch.optim's `_strong_wolfe` (bracketing with cubic
// extrapolation, then zoom with safeguarded cubic interpolation), written as a generator so that the trial
// points of many problems can be evaluated in one batch. Added: non-finite trial values are treated as
// "too far" — the step is halved back towards the last finite point — and the search gives up after
// `maxBackoffs` of them.
import { evaluateAt, type EvalContext, type Evaluation } from './optimizer.ts';
import { dot, maxAbs, step } from './vector.ts';

export interface LineSearchOptions {
  /** Sufficient decrease (Armijo) constant. */
  c1: number;
  /** Curvature constant. */
  c2: number;
  /** Stop zooming when the bracket is shorter than this (in ‖·‖∞ of the step). */
  tolChange: number;
  /** Evaluation cap for one search. */
  maxEvaluations: number;
  maxBackoffs: number;
}

export const DEFAULT_LINE_SEARCH: LineSearchOptions = {
  c1: 1e-4,
  c2: 0.9,
  tolChange: 1e-9,
  maxEvaluations: 25,
  maxBackoffs: 6,
};

export interface LineSearchResult {
  t: number;
  f: number;
  g: Float64Array;
  /** True when only non-finite values were met beyond the start point: the caller should stop. */
  diverged: boolean;
}

/** Minimiser of the cubic through (x1, f1, g1), (x2, f2, g2), clamped to bounds; midpoint when undefined. */
export function cubicInterpolate(
  x1: number, f1: number, g1: number,
  x2: number, f2: number, g2: number,
  bounds?: [number, number],
): number {
  const [lo, hi] = bounds ?? (x1 <= x2 ? [x1, x2] : [x2, x1]);
  const d1 = g1 + g2 - (3 * (f1 - f2)) / (x1 - x2);
  const d2sq = d1 * d1 - g1 * g2;
  if (d2sq >= 0) {
    const d2 = Math.sqrt(d2sq);
    const minPos = x1 <= x2
      ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
      : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
    if (Number.isFinite(minPos)) return Math.min(Math.max(minPos, lo), hi);
  }
  return (lo + hi) / 2;
}

interface Point {
  t: number;
  f: number;
  g: Float64Array;
  gtd: number;
}

export function* strongWolfe(
  ctx: EvalContext,
  x: Float64Array,
  t0: number,
  d: Float64Array,
  f: number,
  g: Float64Array,
  gtd: number,
  opts: LineSearchOptions = DEFAULT_LINE_SEARCH,
): Generator<Float64Array, LineSearchResult, Evaluation> {
  const dNorm = maxAbs(d);
  const start: Point = { t: 0, f, g, gtd };
  let nonFinite = 0;
  let evals = 0;
  const probe = function* (t: number): Generator<Float64Array, Point, Evaluation> {
    evals++;
    const ev = yield* evaluateAt(ctx, step(x, t, d));
    if (!ev.finite) {
      nonFinite++;
      return { t, f: Infinity, g: ev.g, gtd: NaN };
    }
    return { t, f: ev.f, g: ev.g, gtd: dot(ev.g, d) };
  };
  const armijoFails = (p: Point) => !(p.f <= f + opts.c1 * p.t * gtd);
  const curvatureHolds = (p: Point) => Math.abs(p.gtd) <= -opts.c2 * gtd;

  // Bracketing phase.
  let prev = start;
  let cur = yield* probe(t0);
  let bracket: [Point, Point] | null = null;
  let done = false;
  let found: Point | null = null;
  while (evals < opts.maxEvaluations) {
    if (!Number.isFinite(cur.f)) {
      if (nonFinite > opts.maxBackoffs) break;
      // Back off towards the last finite point on the line.
      cur = yield* probe(prev.t + (cur.t - prev.t) / 2);
      continue;
    }
    if (armijoFails(cur) || (evals > 2 && cur.f >= prev.f)) {
      bracket = [prev, cur];
      break;
    }
    if (curvatureHolds(cur)) {
      found = cur;
      done = true;
      break;
    }
    if (cur.gtd >= 0) {
      bracket = [prev, cur];
      break;
    }
    const minStep = cur.t + 0.01 * (cur.t - prev.t);
    const maxStep = cur.t * 10;
    const next = cubicInterpolate(prev.t, prev.f, prev.gtd, cur.t, cur.f, cur.gtd, [minStep, maxStep]);
    prev = cur;
    cur = yield* probe(next);
  }
  if (done && found) return { t: found.t, f: found.f, g: found.g, diverged: false };
  if (!bracket) {
    if (!Number.isFinite(cur.f)) {
      // Only non-finite values beyond `prev`: settle for prev (the start point when nothing finite was found).
      return { t: prev.t, f: prev.f, g: prev.g, diverged: prev.t === 0 };
    }
    // Budget spent while still extrapolating: take the best point seen.
    const best = cur.f <= prev.f ? cur : prev;
    return { t: best.t, f: best.f, g: best.g, diverged: false };
  }

  // Zoom phase: shrink [lo, hi] until a point satisfies the strong Wolfe conditions.
  let [lo, hi] = bracket[0].f <= bracket[1].f ? [bracket[0], bracket[1]] : [bracket[1], bracket[0]];
  let insufficientProgress = false;
  while (evals < opts.maxEvaluations) {
    if (Math.abs(hi.t - lo.t) * dNorm < opts.tolChange) break;
    const a = Math.min(lo.t, hi.t);
    const b = Math.max(lo.t, hi.t);
    let t: number;
    if (Number.isFinite(hi.f) && Number.isFinite(hi.gtd)) {
      t = cubicInterpolate(lo.t, lo.f, lo.gtd, hi.t, hi.f, hi.gtd);
      const eps = 0.1 * (b - a);
      if (Math.min(b - t, t - a) < eps) {
        // Interpolation too close to an end: move 10 % of the bracket inside (as torch does).
        if (insufficientProgress || t >= b || t <= a) {
          t = Math.abs(t - b) < Math.abs(t - a) ? b - eps : a + eps;
          insufficientProgress = false;
        } else {
          insufficientProgress = true;
        }
      } else {
        insufficientProgress = false;
      }
    } else {
      t = (a + b) / 2; // a non-finite end: bisect towards the finite one
    }
    const p = yield* probe(t);
    if (!Number.isFinite(p.f) && nonFinite > opts.maxBackoffs) break;
    if (armijoFails(p) || p.f >= lo.f) {
      hi = p;
      if (hi.f < lo.f) [lo, hi] = [hi, lo];
    } else {
      if (curvatureHolds(p)) {
        lo = p;
        break;
      }
      if (p.gtd * (hi.t - lo.t) >= 0) hi = lo;
      lo = p;
    }
  }
  return { t: lo.t, f: lo.f, g: lo.g, diverged: lo.t === 0 && nonFinite > opts.maxBackoffs };
}
