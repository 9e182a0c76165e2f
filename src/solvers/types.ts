import type { OperatorCache } from '../physics/cache.ts';
import type { OperatorSpec } from '../physics/operator.ts';

export type Penalty = 'l2' | 'l2sq'; // γ·‖z‖ or γ·‖z‖²

export type InitSpec =
  | { type: 'zeros' }
  | { type: 'normal'; std: number } // uses the problem's seed
  | { type: 'given'; z: Float32Array };

/** One inverse problem as plain data. */
export interface Problem {
  id?: string;
  operator: OperatorSpec;
  /** y, length m. */
  measurements: Float32Array;
  gamma: number;
  penalty: Penalty;
  init: InitSpec;
  seed: number;
  /** Known ground truth (HWC [0,1], length n) to report PSNR/SSIM; never used by the solve. */
  groundTruth?: Float32Array;
}

export type OptimizerName = 'lbfgs' | 'reference' | 'adam';

export interface SolveOptions {
  optimizer: OptimizerName;
  /** Budget in objective evaluations (value + gradient) per problem. */
  maxEvaluations: number;
  /** lbfgs: history size; reference: torch.optim.LBFGS history (100). */
  history?: number;
  /** reference mode: lr (paper: 0.1 CS, 1 denoise/inpaint); adam: learning rate. */
  learningRate?: number;
  /** Relative tolerances for the stopping rule (lbfgs). */
  tolerance?: number;
  /** Called after each batched evaluation. */
  onProgress?: (p: { problemIndex: number; iteration: number; evaluations: number; loss: number }) => void;
  /** Polled between evaluations; a cancelled problem stops and returns its best iterate with stopReason 'cancelled'. */
  isCancelled?: (problemIndex: number) => boolean;
  /** Reuse operators across calls (e.g. one per worker process); without it each call builds and frees its own. */
  operatorCache?: OperatorCache;
}

export type StopReason = 'converged' | 'max-evaluations' | 'diverged' | 'cancelled';

export interface SolveResult {
  /** Reconstruction, HWC, clipped to [0,1], length n. */
  image: Float32Array;
  /** Final latent (empty for methods without one). */
  z: Float32Array;
  loss: number;
  dataFit: number;
  zNorm: number;
  iterations: number;
  evaluations: number;
  stopReason: StopReason;
  /** True when a non-finite value was met; the best finite iterate was returned. */
  diverged: boolean;
  wallMs: number;
  psnr?: number;
  ssim?: number;
}
