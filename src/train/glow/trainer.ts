import { tf } from '../../engine/index.ts';
import { validateGlowConfig, type GlowConfig } from '../../models/glow/config.ts';
import { glowBitsPerDim, glowInitActNorm } from '../../models/glow/flow.ts';
import { checkGlowParams } from '../../models/glow/params.ts';
import type { WeightArrays } from '../../models/tensor_data.ts';
import { Adam } from '../adam.ts';
import { pickPrefix, withPrefix } from '../checkpoint.ts';
import { clipGradients } from '../clip.ts';
import { VariableSet, WeightAverage } from '../variables.ts';
import { initialGlowArrays } from './init.ts';

export interface GlowOptimOptions {
  /** Entry-wise gradient clip (the reference: 5). */
  clipValue: number;
  /** Global gradient-norm clip (the reference: 100). */
  clipNorm: number;
  /** Decay of the exported weight average; 0 exports the raw weights. */
  ema: number;
}

export const GLOW_OPTIM_DEFAULTS: GlowOptimOptions = { clipValue: 5, clipNorm: 100, ema: 0.999 };

export interface GlowStepResult {
  /** Mean training bits/dim of the batch (before the update). */
  loss: number;
  /** Gradient norm after value clipping. */
  gradNorm: number;
  /** True when the loss or gradient was not finite and the update was skipped. */
  skipped: boolean;
}

/**
 * The numerical half of Glow training: weights as variables, Adam, the weight average, one maximum-likelihood
 * step on a given batch. Knows nothing about files, data order or time (the run loop does).
 */
export class GlowTrainer {
  readonly config: GlowConfig;
  readonly options: GlowOptimOptions;
  readonly weights: VariableSet;
  readonly adam = new Adam();
  readonly average: WeightAverage | null;
  /** Whether the ActNorms have their data-dependent values yet. */
  actnormInitialised = false;

  constructor(config: GlowConfig, init: WeightArrays | { seed: number }, options: Partial<GlowOptimOptions> = {}) {
    this.config = validateGlowConfig({ ...config });
    this.options = { ...GLOW_OPTIM_DEFAULTS, ...options };
    const arrays = init instanceof Map ? init : initialGlowArrays(this.config, init.seed);
    this.weights = new VariableSet(arrays, 'glow');
    checkGlowParams(this.config, this.weights.vars);
    this.average = this.options.ema > 0 ? new WeightAverage(this.weights.vars) : null;
  }

  /** Data-dependent ActNorm initialisation on a batch (model space), as the reference does on its first batch. */
  initActNorm(x: tf.Tensor4D): void {
    const init = glowInitActNorm(this.weights.vars, this.config, x);
    for (const [name, t] of init) {
      this.weights.vars[name]!.assign(t);
      t.dispose();
    }
    this.average?.load(this.weights.arrays());
    this.actnormInitialised = true;
  }

  /** Mean bits/dim of a model-space batch and its gradient with respect to every weight. */
  lossAndGrads(x: tf.Tensor4D): { value: tf.Scalar; grads: Record<string, tf.Tensor> } {
    return this.weights.valueAndGrads(() => tf.mean(glowBitsPerDim(this.weights.vars, this.config, x)) as tf.Scalar);
  }

  step(x: tf.Tensor4D, lr: number): GlowStepResult {
    const { value, grads } = this.lossAndGrads(x);
    const loss = value.dataSync()[0]!;
    value.dispose();
    const clipped = clipGradients(grads, this.options.clipValue, this.options.clipNorm);
    for (const g of Object.values(grads)) g.dispose();
    const skipped = !Number.isFinite(loss) || !Number.isFinite(clipped.norm);
    if (!skipped) {
      this.adam.update(this.weights.vars, clipped.grads, lr);
      this.average?.update(this.weights.vars, this.options.ema);
    }
    for (const g of Object.values(clipped.grads)) g.dispose();
    return { loss, gradNorm: clipped.norm, skipped };
  }

  /** The weights to validate, sample and export: the average when there is one. */
  exportWeights(): Record<string, tf.Tensor> {
    return this.average ? this.average.values : this.weights.vars;
  }

  /** Every tensor of the state: `param/…`, `adam/m/…`, `adam/v/…`, `ema/…`. */
  stateArrays(): WeightArrays {
    const out = withPrefix(this.weights.arrays(), 'param');
    withPrefix(this.adam.stateArrays(), 'adam', out);
    if (this.average) withPrefix(this.average.arrays(), 'ema', out);
    return out;
  }

  loadState(arrays: WeightArrays, adamSteps: number): void {
    this.weights.load(pickPrefix(arrays, 'param'));
    this.adam.loadState(pickPrefix(arrays, 'adam'), adamSteps);
    if (this.average) {
      const ema = pickPrefix(arrays, 'ema');
      this.average.load(ema.size > 0 ? ema : this.weights.arrays());
    }
    this.actnormInitialised = true;
  }

  dispose(): void {
    this.weights.dispose();
    this.adam.dispose();
    this.average?.dispose();
  }
}
