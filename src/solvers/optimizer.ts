// The protocol between the optimizers and whoever evaluates the objective.
//
// Each optimizer is a generator that yields the point it wants evaluated and receives the value and gradient
// there. One problem's algorithm reads sequentially, while the driver (solve_batch.ts) advances every active
// problem's generator by one request per round and evaluates all requested points in one batched pass. Each
// problem keeps its own history, step and stopping state; a finished generator simply stops asking.

export interface Evaluation {
  /** Objective value; meaningful only when `finite`. */
  f: number;
  /** Gradient; meaningful only when `finite`. */
  g: Float64Array;
  /** False when the value, the gradient or the generated image had a NaN/Inf. */
  finite: boolean;
}

export type OutcomeReason = 'converged' | 'max-evaluations' | 'diverged';

export interface Outcome {
  /** The optimizer's current iterate (the last accepted point; reference mode: torch's final parameters). */
  x: Float64Array;
  reason: OutcomeReason;
}

export interface RunStats {
  iterations: number;
  evaluations: number;
  /** Evaluations that came back non-finite. */
  nonFinite: number;
}

export type OptimizerRun = Generator<Float64Array, Outcome, Evaluation>;

/** How many times a non-finite evaluation is retried with a halved step from the last good point. */
export const DEFAULT_MAX_BACKOFFS = 6;

/** Thrown inside a generator when its evaluation budget is spent; caught by `guardBudget`. */
class BudgetSpent {}
const BUDGET_SPENT = new BudgetSpent();

export interface EvalContext {
  readonly stats: RunStats;
  readonly maxEvaluations: number;
}

/** Requests one evaluation, counting it against the budget. */
export function* evaluateAt(ctx: EvalContext, x: Float64Array): Generator<Float64Array, Evaluation, Evaluation> {
  if (ctx.stats.evaluations >= ctx.maxEvaluations) throw BUDGET_SPENT;
  const ev = yield x;
  // counted on arrival, so a request that is never answered (cancellation) is not counted
  ctx.stats.evaluations++;
  if (!ev.finite) ctx.stats.nonFinite++;
  return ev;
}

/** Runs an optimizer body; when the budget runs out, returns its current iterate as 'max-evaluations'. */
export function* guardBudget(
  body: OptimizerRun,
  current: () => Float64Array,
): OptimizerRun {
  try {
    return yield* body;
  } catch (err) {
    if (err === BUDGET_SPENT) return { x: current(), reason: 'max-evaluations' };
    throw err;
  }
}

/**
 * Drives one optimizer sequentially against a plain function (no batching): the lower-level API, used for
 * tests on textbook functions and by callers that already have f and ∇f.
 */
export function runSequential(
  run: OptimizerRun,
  fn: (x: Float64Array) => { f: number; g: Float64Array },
  onEvaluation?: (x: Float64Array, ev: Evaluation) => void,
): Outcome {
  let req = run.next(undefined as unknown as Evaluation);
  while (!req.done) {
    const x = req.value;
    const { f, g } = fn(x);
    let finite = Number.isFinite(f);
    for (let i = 0; finite && i < g.length; i++) finite = Number.isFinite(g[i] as number);
    const ev = { f, g, finite };
    onEvaluation?.(x, ev);
    req = run.next(ev);
  }
  return req.value;
}
