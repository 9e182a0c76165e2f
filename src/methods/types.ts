import type { Problem, SolveOptions, SolveResult } from '../solvers/types.ts';

/** Every reconstruction method the product offers, selectable by name (CLI `--prior`, API `method`). */
export const METHOD_NAMES = ['glow', 'dcgan', 'lasso-dct', 'lasso-wvt', 'bm3d'] as const;
export type MethodName = (typeof METHOD_NAMES)[number];

/** Methods that need a trained model loaded in memory. */
export const MODEL_METHODS: readonly MethodName[] = ['glow', 'dcgan'];

export interface MethodOptions extends SolveOptions {
  /** dcgan: number of random restarts solved as one batch (best by measurement loss is returned). */
  restarts?: number;
  /** lasso-*: λ, or 'auto' (hold-out choice). Default: the reference's effective λ. */
  lambda?: number | 'auto';
}

/** A baseline (no generative model): solves a batch of problems. */
export interface BaselineMethod {
  readonly name: MethodName;
  /** Throws ValidationError when a problem is not one this method can solve (e.g. bm3d on compressive sensing). */
  check(problem: Problem): void;
  solveBatch(problems: Problem[], options: MethodOptions): Promise<SolveResult[]>;
}
