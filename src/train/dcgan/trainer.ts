import { tf } from '../../engine/index.ts';
import { dcganForward } from '../../models/dcgan/generator.ts';
import { validateDcganConfig, type DcganConfig } from '../../models/dcgan/config.ts';
import type { WeightArrays } from '../../models/tensor_data.ts';
import { Adam } from '../adam.ts';
import { pickPrefix, withPrefix } from '../checkpoint.ts';
import { TrainRandom } from '../rng.ts';
import { VariableSet } from '../variables.ts';
import { bceWithLogits, discriminatorForward, initialDiscriminatorArrays, type DiscriminatorConfig } from './discriminator.ts';
import { dcganTrainForward, initialGeneratorArrays, isRunningStat } from './generator_train.ts';

export interface DcganOptimOptions {
  beta1: number;
  /** Weight of the new batch in the running BatchNorm statistics (PyTorch's momentum). */
  bnMomentum: number;
}

export const DCGAN_OPTIM_DEFAULTS: DcganOptimOptions = { beta1: 0.5, bnMomentum: 0.1 };

export interface DcganStepResult {
  lossD: number;
  lossG: number;
}

/**
 * The numerical half of DCGAN training (the reference recipe): per step one discriminator update on a real and a
 * generated batch, then one generator update against the updated discriminator, both with the non-saturating
 * BCE loss and Adam. Running BatchNorm statistics of the generator follow PyTorch (momentum, unbiased variance).
 */
export class DcganTrainer {
  readonly config: DcganConfig;
  readonly dConfig: DiscriminatorConfig;
  readonly options: DcganOptimOptions;
  readonly G: VariableSet;
  readonly D: VariableSet;
  /** Running BatchNorm statistics of the generator. */
  readonly stats: Record<string, tf.Tensor> = {};
  readonly adamG: Adam;
  readonly adamD: Adam;

  constructor(config: DcganConfig, ndf: number, seed: number, options: Partial<DcganOptimOptions> = {}) {
    this.config = validateDcganConfig({ ...config });
    this.dConfig = { ndf, channels: this.config.channels, bnEps: this.config.bnEps };
    this.options = { ...DCGAN_OPTIM_DEFAULTS, ...options };
    const rng = new TrainRandom(seed);
    const g = initialGeneratorArrays(this.config, rng);
    const trained: WeightArrays = new Map();
    for (const [k, v] of g) {
      if (isRunningStat(k)) this.stats[k] = tf.tensor(v.data, v.shape, 'float32');
      else trained.set(k, v);
    }
    this.G = new VariableSet(trained, 'dcganG');
    this.D = new VariableSet(initialDiscriminatorArrays(this.dConfig, rng), 'dcganD');
    this.adamG = new Adam({ beta1: this.options.beta1 });
    this.adamD = new Adam({ beta1: this.options.beta1 });
  }

  /** Generator weights and running statistics together: what dcganForward and the model directory take. */
  generatorParams(): Record<string, tf.Tensor> {
    return { ...this.G.vars, ...this.stats };
  }

  /** real: images in [−1, 1], NHWC; z: latents [B, latentDim]. */
  step(real: tf.Tensor4D, z: tf.Tensor2D, lr: number): DcganStepResult {
    const { images: fake, moments } = dcganTrainForward(this.G.vars, this.config, z);
    this.updateRunningStats(moments);
    const d = this.D.valueAndGrads(() =>
      tf.add(
        bceWithLogits(discriminatorForward(this.D.vars, this.dConfig, real), 1),
        bceWithLogits(discriminatorForward(this.D.vars, this.dConfig, fake), 0),
      ) as tf.Scalar,
    );
    fake.dispose();
    this.adamD.update(this.D.vars, d.grads, lr);
    const g = this.G.valueAndGrads(() => {
      const out = dcganTrainForward(this.G.vars, this.config, z);
      for (const m of out.moments) m.mean.dispose(), m.variance.dispose();
      return bceWithLogits(discriminatorForward(this.D.vars, this.dConfig, out.images), 1);
    });
    this.adamG.update(this.G.vars, g.grads, lr);
    const result = { lossD: d.value.dataSync()[0]!, lossG: g.value.dataSync()[0]! };
    for (const t of [d.value, g.value, ...Object.values(d.grads), ...Object.values(g.grads)]) t.dispose();
    return result;
  }

  private updateRunningStats(moments: Array<{ mean: tf.Tensor1D; variance: tf.Tensor1D; count: number }>): void {
    const mom = this.options.bnMomentum;
    moments.forEach((m, i) => {
      const p = `layers.${i}.bn.`;
      const oldMean = this.stats[p + 'mean']!;
      const oldVar = this.stats[p + 'variance']!;
      const unbiased = m.count / Math.max(1, m.count - 1);
      this.stats[p + 'mean'] = tf.tidy(() => tf.add(tf.mul(oldMean, 1 - mom), tf.mul(m.mean, mom)));
      this.stats[p + 'variance'] = tf.tidy(() => tf.add(tf.mul(oldVar, 1 - mom), tf.mul(tf.mul(m.variance, unbiased), mom)));
      oldMean.dispose();
      oldVar.dispose();
      m.mean.dispose();
      m.variance.dispose();
    });
  }

  /** Evaluation-mode images in [0, 1] (running statistics), NHWC. */
  generate(z: tf.Tensor2D): tf.Tensor4D {
    return tf.tidy(() => tf.div(tf.add(dcganForward(this.generatorParams(), this.config, z, 'eval'), 1), 2) as tf.Tensor4D);
  }

  stateArrays(): WeightArrays {
    const out = withPrefix(this.G.arrays(), 'G/param');
    const stats: WeightArrays = new Map();
    for (const k of Object.keys(this.stats).sort()) stats.set(k, { shape: this.stats[k]!.shape.slice(), data: new Float32Array(this.stats[k]!.dataSync()) });
    withPrefix(stats, 'G/stats', out);
    withPrefix(this.adamG.stateArrays(), 'G/adam', out);
    withPrefix(this.D.arrays(), 'D/param', out);
    withPrefix(this.adamD.stateArrays(), 'D/adam', out);
    return out;
  }

  loadState(arrays: WeightArrays, adamSteps: number): void {
    this.G.load(pickPrefix(arrays, 'G/param'));
    this.D.load(pickPrefix(arrays, 'D/param'));
    const stats = pickPrefix(arrays, 'G/stats');
    for (const k of Object.keys(this.stats)) {
      const a = stats.get(k);
      if (!a) throw new Error(`dcgan checkpoint: missing running statistic ${k}`);
      this.stats[k]!.dispose();
      this.stats[k] = tf.tensor(a.data, a.shape, 'float32');
    }
    this.adamG.loadState(pickPrefix(arrays, 'G/adam'), adamSteps);
    this.adamD.loadState(pickPrefix(arrays, 'D/adam'), adamSteps);
  }

  dispose(): void {
    this.G.dispose();
    this.D.dispose();
    for (const t of Object.values(this.stats)) t.dispose();
    this.adamG.dispose();
    this.adamD.dispose();
  }
}
