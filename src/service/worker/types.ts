import type { MethodName, MethodOptions } from '../../methods/types.ts';
import type { LatentPrior } from '../../models/prior.ts';
import type { Problem, SolveResult } from '../../solvers/types.ts';

/** The one numerical entry point the service calls (methods/index.ts solveWithMethod). */
export type SolveFn = (method: MethodName, prior: LatentPrior | null, problems: Problem[], options: MethodOptions) => Promise<SolveResult[]>;

/** Loads a named model (a folder of MODELS_DIR). */
export type LoadPrior = (name: string) => Promise<LatentPrior>;

/** What the worker reports to Prometheus. */
export interface WorkerMetricsSink {
  batch(method: MethodName, size: number, seconds: number): void;
  job(outcome: 'completed' | 'failed' | 'cancelled' | 'retry'): void;
}
