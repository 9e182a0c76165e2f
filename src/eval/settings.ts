// What a sweep is made of: measurement settings (what is measured) × priors × solver settings (how each prior
// solves) × images. Each combination is a cell, named by the string fields results.csv records.
import { methodNeedsModel, type MethodName } from '../methods/index.ts';
import type { ProblemKind } from '../physics/presets.ts';
import type { OptimizerName, Penalty } from '../solvers/types.ts';

/** A start for the latent: the solver's own starts plus the paper's two ablation starts. */
export type EvalInit =
  | { type: 'zeros' }
  | { type: 'normal'; std: number }
  /** Encode the Lasso-DCT reconstruction with the Glow: start where the classical method ended. */
  | { type: 'lasso' }
  /** A fixed random direction (the problem's normal draw, normalised) scaled to this norm. */
  | { type: 'norm'; norm: number };

export function initLabel(init: EvalInit): string {
  switch (init.type) {
    case 'zeros':
      return 'zeros';
    case 'normal':
      return `normal:${init.std}`;
    case 'lasso':
      return 'lasso';
    case 'norm':
      return `norm:${init.norm}`;
  }
}

/** The DCGAN's start when a sweep asks for one it cannot use (Bora et al.: z₀ ~ N(0, 0.1²), restarts). */
export const DCGAN_DEFAULT_INIT: EvalInit = { type: 'normal', std: 0.1 };

export interface EvalConfig {
  problem: ProblemKind;
  /** Image folders; each is a dataset named by its folder name. */
  images: string[];
  /** First N images of each folder (natural order of file names): one N for all folders, or one per folder. */
  limit?: number | number[];
  priors: MethodName[];
  /** cs: numbers of measurements. */
  m: number[];
  /** Gaussian noise levels; absent: the problem's default (cs: noise of norm noiseNorm). */
  sigma?: number[];
  /** cs noise ‖η‖ when no σ is given (paper: 0.1). */
  noiseNorm?: number;
  box?: [number, number, number, number];
  factor?: number;
  blurSigma?: number;
  gamma: number[];
  penalty: Penalty[];
  init: EvalInit[];
  optimizer: OptimizerName[];
  /** Objective evaluations per glow/dcgan solve. */
  evaluations: number;
  /** Iteration budget of the baselines (FISTA is cheap per step and stops on its duality gap). */
  baselineEvaluations: number;
  restarts?: number;
  /** reference/adam step; reference default: 0.1 for cs, 1 otherwise (the paper's). */
  learningRate?: number;
  lambda?: number | 'auto';
  /** Images per solver call (≤ 6: the batched solver's sweet spot). */
  batchSize: number;
  glowModel?: string;
  dcganModel?: string;
  seed: number;
  out: string;
  /** Columns of the reconstruction grids. */
  gridImages: number;
}

/** Paper-like defaults per problem; the CLI starts from these. */
export function evalDefaults(problem: ProblemKind): Omit<EvalConfig, 'images' | 'out'> {
  const base = {
    problem,
    m: [50, 200, 500, 1000, 2500, 5000, 7500, 12288],
    penalty: ['l2'] as Penalty[],
    init: [{ type: 'zeros' }] as EvalInit[],
    optimizer: ['lbfgs'] as OptimizerName[],
    evaluations: 300,
    baselineEvaluations: 1000,
    batchSize: 6,
    seed: 0,
    gridImages: 6,
  };
  switch (problem) {
    case 'cs':
      return { ...base, priors: ['glow', 'dcgan', 'lasso-dct', 'lasso-wvt'], gamma: [0] };
    case 'denoise':
      return { ...base, priors: ['glow', 'dcgan', 'bm3d'], sigma: [0.05, 0.1, 0.2], gamma: [0, 0.25, 0.5, 1, 2, 4] };
    case 'inpaint':
      return { ...base, priors: ['glow', 'dcgan'], gamma: [0, 0.05, 0.1, 0.5] };
    default:
      return { ...base, priors: ['glow', 'lasso-dct'], gamma: [0] };
  }
}

/** What is measured. `key` names it in seeds and file names; `operatorKey` names the operator alone. */
export interface MeasurementSetting {
  problem: ProblemKind;
  m?: number;
  sigma?: number;
  key: string;
  operatorKey: string;
}

export function measurementSettings(cfg: Pick<EvalConfig, 'problem' | 'm' | 'sigma'>): MeasurementSetting[] {
  const sigmas: (number | undefined)[] = cfg.sigma && cfg.sigma.length > 0 ? cfg.sigma : [undefined];
  const ms: (number | undefined)[] = cfg.problem === 'cs' ? cfg.m : [undefined];
  const out: MeasurementSetting[] = [];
  for (const m of ms) {
    for (const sigma of sigmas) {
      const operatorKey = m === undefined ? cfg.problem : `${cfg.problem}-m${m}`;
      const key = sigma === undefined ? operatorKey : `${operatorKey}-sigma${sigma}`;
      out.push({ problem: cfg.problem, m, sigma, key, operatorKey });
    }
  }
  return out;
}

/** How one prior solves; an absent field does not apply to that prior. */
export interface SolverSetting {
  gamma?: number;
  penalty?: Penalty;
  init?: EvalInit;
  optimizer?: OptimizerName;
}

/**
 * The solver settings a prior runs in a sweep. Baselines have none of γ, penalty, init or optimizer (one
 * setting). The DCGAN starts from random restarts only: an init it cannot use (zeros, lasso, norm) becomes
 * its default N(0, 0.1²), and duplicates collapse.
 */
export function solverSettings(prior: MethodName, cfg: Pick<EvalConfig, 'gamma' | 'penalty' | 'init' | 'optimizer'>): SolverSetting[] {
  if (!methodNeedsModel(prior)) return [{}];
  const inits = prior === 'dcgan' ? cfg.init.map((i) => (i.type === 'normal' ? i : DCGAN_DEFAULT_INIT)) : cfg.init;
  const seen = new Set<string>();
  const out: SolverSetting[] = [];
  for (const gamma of cfg.gamma) {
    for (const penalty of cfg.penalty) {
      for (const init of inits) {
        for (const optimizer of cfg.optimizer) {
          const s: SolverSetting = { gamma, penalty, init, optimizer };
          const key = JSON.stringify(solverFields(s));
          if (seen.has(key)) continue;
          seen.add(key);
          out.push(s);
        }
      }
    }
  }
  return out;
}

export function solverFields(s: SolverSetting): { gamma: string; penalty: string; init: string; optimizer: string } {
  return {
    gamma: s.gamma === undefined ? '' : String(s.gamma),
    penalty: s.penalty ?? '',
    init: s.init ? initLabel(s.init) : '',
    optimizer: s.optimizer ?? '',
  };
}

/** A file-name-safe slug of setting parts (letters, digits, '.', '-', '_'). */
export function slug(...parts: string[]): string {
  return parts
    .filter((p) => p !== '')
    .join('_')
    .replace(/:/g, '-')
    .replace(/[^A-Za-z0-9._-]+/g, '-');
}
