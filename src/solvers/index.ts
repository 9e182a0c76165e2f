export { solveBatch, validateProblem, validateSolveOptions, MAX_EVALUATIONS_LIMIT } from './solve_batch.ts';
export { lbfgsMinimize, lbfgs, DEFAULT_LBFGS_HISTORY, DEFAULT_TOLERANCE } from './lbfgs.ts';
export { referenceLbfgs } from './reference_lbfgs.ts';
export { adam, DEFAULT_ADAM_LR } from './adam.ts';
export { runSequential, type Evaluation, type Outcome, type OptimizerRun, type RunStats } from './optimizer.ts';
export { BatchObjective, penaltyValue, penaltyGradient } from './objective.ts';
export type * from './types.ts';
