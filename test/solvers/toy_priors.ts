// Small differentiable generators for math tests of the solver (not models: the solver only needs a
// differentiable z ↦ image map).
import { tf } from '../../src/engine/index.ts';
import type * as tfType from '@tensorflow/tfjs';
import type { ImageShape, LatentPrior } from '../../src/models/prior.ts';
import { Rng } from '../../src/util/random.ts';

abstract class ToyPrior implements LatentPrior {
  readonly kind = 'glow' as const;
  abstract readonly name: string;
  abstract readonly latentDim: number;
  abstract readonly imageShape: ImageShape;
  abstract generate(z: tfType.Tensor2D): tfType.Tensor4D;
  protected readonly owned: tfType.Tensor[] = [];
  dispose(): void {
    tf.dispose(this.owned);
  }
  protected toImage(x: tfType.Tensor, b: number): tfType.Tensor4D {
    return tf.reshape(x, [b, ...this.imageShape]) as tfType.Tensor4D;
  }
}

/** x = z·W + b (W: [d, n]); W, b in float64 too, for closed-form checks. */
export class AffinePrior extends ToyPrior {
  readonly name = 'affine';
  readonly w64: Float64Array;
  readonly b64: Float64Array;
  private readonly w: tfType.Tensor2D;
  private readonly b: tfType.Tensor1D;
  constructor(readonly latentDim: number, readonly imageShape: ImageShape, seed: number) {
    super();
    const n = imageShape[0] * imageShape[1] * imageShape[2];
    const rng = new Rng(seed);
    this.w64 = Float64Array.from({ length: latentDim * n }, () => Math.fround(rng.normal() * 0.3));
    this.b64 = Float64Array.from({ length: n }, () => Math.fround(0.5 + 0.1 * rng.normal()));
    this.w = tf.tensor2d(Float32Array.from(this.w64), [latentDim, n]);
    this.b = tf.tensor1d(Float32Array.from(this.b64));
    this.owned.push(this.w, this.b);
  }
  generate(z: tfType.Tensor2D): tfType.Tensor4D {
    return tf.tidy(() => this.toImage(tf.add(tf.matMul(z, this.w), this.b), z.shape[0]));
  }
}

/** x = sigmoid(z·W + b): a smooth non-linear generator with outputs in (0, 1). */
export class SigmoidPrior extends ToyPrior {
  readonly name = 'sigmoid';
  private readonly w: tfType.Tensor2D;
  private readonly b: tfType.Tensor1D;
  constructor(readonly latentDim: number, readonly imageShape: ImageShape, seed: number) {
    super();
    const n = imageShape[0] * imageShape[1] * imageShape[2];
    const rng = new Rng(seed);
    this.w = tf.tensor2d(Float32Array.from({ length: latentDim * n }, () => rng.normal() / Math.sqrt(latentDim)), [latentDim, n]);
    this.b = tf.tensor1d(Float32Array.from({ length: n }, () => 0.3 * rng.normal()));
    this.owned.push(this.w, this.b);
  }
  generate(z: tfType.Tensor2D): tfType.Tensor4D {
    return tf.tidy(() => this.toImage(tf.sigmoid(tf.add(tf.matMul(z, this.w), this.b)), z.shape[0]));
  }
}

/** A 1×1×2 "image" (z₀, 10(z₁ − z₀²)): with y = (1, 0), A = I and γ = 0 the objective is Rosenbrock's function. */
export class RosenbrockPrior extends ToyPrior {
  readonly name = 'rosenbrock';
  readonly latentDim = 2;
  readonly imageShape: ImageShape = [1, 1, 2];
  generate(z: tfType.Tensor2D): tfType.Tensor4D {
    return tf.tidy(() => {
      const [a, b] = tf.split(z, 2, 1) as [tfType.Tensor2D, tfType.Tensor2D];
      return this.toImage(tf.concat([a, tf.mul(10, tf.sub(b, tf.square(a)))], 1), z.shape[0]);
    });
  }
}

/** Wraps a prior so that G(z) is NaN wherever ‖z‖ > radius (like a flow that overflows far from the data). */
export class UnstablePrior implements LatentPrior {
  readonly kind = 'glow' as const;
  readonly name = 'unstable';
  constructor(private readonly inner: LatentPrior, private readonly radius: number) {}
  get latentDim() {
    return this.inner.latentDim;
  }
  get imageShape() {
    return this.inner.imageShape;
  }
  generate(z: tfType.Tensor2D): tfType.Tensor4D {
    // the factor is a constant (1 or NaN per row) read from z's values, so it stays off the gradient tape
    const zs = z.dataSync();
    const d = this.latentDim;
    const factor = new Float32Array(z.shape[0]).map((_, r) => {
      let s = 0;
      for (let j = 0; j < d; j++) s += zs[r * d + j]! ** 2;
      return Math.sqrt(s) <= this.radius ? 1 : NaN;
    });
    return tf.tidy(() => tf.mul(this.inner.generate(z), tf.tensor4d(factor, [z.shape[0], 1, 1, 1])) as tfType.Tensor4D);
  }
  dispose(): void {}
}
