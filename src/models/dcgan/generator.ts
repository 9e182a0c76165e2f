import { tf } from '../../engine/index.ts';
import { applyConstConv, disposeConstConv, makeConstConv, type ConstConv } from '../const_conv.ts';
import type { ImageShape, LatentPrior } from '../prior.ts';
import { SeededRandom } from '../random.ts';
import { disposeRecord, type TensorRecord } from '../tensor_data.ts';
import { DCGAN_LAYERS, dcganLayerChannels, dcganParamShapes, validateDcganConfig, type DcganConfig } from './config.ts';

export type DcganParams = TensorRecord;

export function checkDcganParams(c: DcganConfig, params: DcganParams): void {
  const expected = dcganParamShapes(c);
  for (const [name, shape] of expected) {
    const t = params[name];
    if (!t) throw new Error(`dcgan weights: missing ${name}`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`dcgan weights: ${name} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
  }
  for (const name of Object.keys(params)) if (!expected.has(name)) throw new Error(`dcgan weights: unexpected ${name}`);
}

/**
 * Reference forward pass with standard ops (tf.conv2dTranspose), differentiable with respect to the weights.
 * mode 'eval' uses the running BatchNorm statistics; 'train' the batch's own (biased variance, as PyTorch).
 * Returns the tanh output in [−1, 1], NHWC.
 */
export function dcganForward(params: DcganParams, c: DcganConfig, z: tf.Tensor2D, mode: 'eval' | 'train' = 'eval'): tf.Tensor4D {
  return tf.tidy(() => {
    const B = z.shape[0];
    let h = tf.reshape(z, [B, 1, 1, c.latentDim]) as tf.Tensor4D;
    dcganLayerChannels(c).forEach(([, cout], i) => {
      const kernel = tf.transpose(params[`layers.${i}.kernel`]!, [0, 1, 3, 2]) as tf.Tensor4D;
      const size = i === 0 ? 4 : h.shape[1] * 2;
      h = tf.conv2dTranspose(h, kernel, [B, size, size, cout], i === 0 ? 1 : 2, i === 0 ? 'valid' : 'same');
      if (i < DCGAN_LAYERS - 1) {
        const p = `layers.${i}.bn.`;
        let mean = params[p + 'mean']!;
        let variance = params[p + 'variance']!;
        if (mode === 'train') ({ mean, variance } = tf.moments(h, [0, 1, 2]));
        const scale = tf.div(params[p + 'gamma']!, tf.sqrt(tf.add(variance, c.bnEps)));
        h = tf.relu(tf.add(tf.mul(tf.sub(h, mean), scale), params[p + 'beta']!)) as tf.Tensor4D;
      } else {
        h = tf.tanh(h);
      }
    });
    return h;
  });
}

/**
 * A stride-2, pad-1, 4×4 transposed convolution as one forward 3×3 convolution producing the four output phases
 * (out[2m+dy, 2n+dx] reads in[m+u, n+v], u, v ∈ {−1, 0, 1}, tap ky = dy + 1 − 2u), followed by a pixel shuffle.
 * Forward convolutions are far faster than the backend's transposed ones, in both directions.
 */
export function subPixelKernel(kernel: Float32Array, cin: number, cout: number, outScale: Float32Array): Float32Array {
  const out = new Float32Array(9 * cin * 4 * cout);
  for (let u = -1; u <= 1; u++) {
    for (let v = -1; v <= 1; v++) {
      for (let dy = 0; dy < 2; dy++) {
        const ky = dy + 1 - 2 * u;
        if (ky < 0 || ky > 3) continue;
        for (let dx = 0; dx < 2; dx++) {
          const kx = dx + 1 - 2 * v;
          if (kx < 0 || kx > 3) continue;
          for (let i = 0; i < cin; i++) {
            const src = ((ky * 4 + kx) * cin + i) * cout;
            const dst = (((u + 1) * 3 + (v + 1)) * cin + i) * 4 * cout + (dy * 2 + dx) * cout;
            for (let o = 0; o < cout; o++) out[dst + o] = kernel[src + o]! * outScale[o]!;
          }
        }
      }
    }
  }
  return out;
}

function pixelShuffle(x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c4] = x.shape;
  const c = c4 / 4;
  const t = tf.transpose(tf.reshape(x, [b, h, w, 2, 2, c]), [0, 1, 3, 2, 4, 5]);
  return tf.reshape(t, [b, 2 * h, 2 * w, c]);
}

interface PreparedDcgan {
  /** [latent, 16·C0] with BatchNorm folded, and its transpose for the input gradient. */
  projection3d: tf.Tensor3D;
  projectionT: tf.Tensor2D;
  projectionBias: tf.Tensor1D;
  convs: ConstConv[];
}

function bnFold(params: DcganParams, c: DcganConfig, i: number, cout: number): { scale: Float32Array; shift: Float32Array } {
  if (i === DCGAN_LAYERS - 1) {
    // (tanh(v) + 1)/2 = sigmoid(2v): the image-space output is one sigmoid of a doubled kernel.
    return { scale: new Float32Array(cout).fill(2), shift: new Float32Array(cout) };
  }
  const p = `layers.${i}.bn.`;
  const g = params[p + 'gamma']!.dataSync();
  const b = params[p + 'beta']!.dataSync();
  const m = params[p + 'mean']!.dataSync();
  const v = params[p + 'variance']!.dataSync();
  const scale = new Float32Array(cout);
  const shift = new Float32Array(cout);
  for (let o = 0; o < cout; o++) {
    const s = g[o]! / Math.sqrt(v[o]! + c.bnEps);
    scale[o] = s;
    shift[o] = b[o]! - m[o]! * s;
  }
  return { scale, shift };
}

function prepare(params: DcganParams, c: DcganConfig): PreparedDcgan {
  const layers = dcganLayerChannels(c);
  const [cin0, c0] = layers[0]!;
  const k0 = params['layers.0.kernel']!.dataSync();
  const f0 = bnFold(params, c, 0, c0);
  // kernel[y, x, i, o] → projection[i, (y, x, o)], BatchNorm scale on o.
  const proj = new Float32Array(cin0 * 16 * c0);
  for (let yx = 0; yx < 16; yx++) {
    for (let i = 0; i < cin0; i++) {
      for (let o = 0; o < c0; o++) proj[i * 16 * c0 + yx * c0 + o] = k0[(yx * cin0 + i) * c0 + o]! * f0.scale[o]!;
    }
  }
  const projBias = new Float32Array(16 * c0);
  for (let yx = 0; yx < 16; yx++) projBias.set(f0.shift, yx * c0);
  const projection3d = tf.tensor3d(proj, [1, cin0, 16 * c0]);
  const convs = layers.slice(1).map(([cin, cout], j) => {
    const i = j + 1;
    const { scale, shift } = bnFold(params, c, i, cout);
    const kernel = subPixelKernel(params[`layers.${i}.kernel`]!.dataSync() as Float32Array, cin, cout, scale);
    const bias = new Float32Array(4 * cout);
    for (let q = 0; q < 4; q++) bias.set(shift, q * cout);
    return makeConstConv(tf.tensor4d(kernel, [3, 3, cin, 4 * cout]), tf.tensor1d(bias), i < DCGAN_LAYERS - 1);
  });
  const projectionT = tf.tidy(() => tf.transpose(tf.reshape(projection3d, [cin0, 16 * c0]))) as tf.Tensor2D;
  // Kept: prepared lazily, possibly inside a caller's tf.tidy.
  return { projection3d: tf.keep(projection3d), projectionT: tf.keep(projectionT), projectionBias: tf.keep(tf.tensor1d(projBias)), convs };
}

/** The standard DCGAN generator as a prior: generate(z) = (G(z) + 1)/2, NHWC. Owns its weight tensors. */
export class DcganGenerator implements LatentPrior {
  readonly kind = 'dcgan' as const;
  readonly name: string;
  readonly config: DcganConfig;
  readonly latentDim: number;
  readonly imageShape: ImageShape;
  readonly params: DcganParams;
  private prepared: PreparedDcgan | null = null;

  constructor(config: DcganConfig, params: DcganParams, opts: { name?: string } = {}) {
    this.config = validateDcganConfig({ ...config });
    checkDcganParams(this.config, params);
    this.params = params;
    this.name = opts.name ?? 'dcgan';
    this.latentDim = this.config.latentDim;
    this.imageShape = [this.config.size, this.config.size, this.config.channels];
  }

  private get weights(): PreparedDcgan {
    this.prepared ??= prepare(this.params, this.config);
    return this.prepared;
  }

  /** z [B, latentDim] → image in [0,1], NHWC. Differentiable with respect to z. */
  generate(z: tf.Tensor2D): tf.Tensor4D {
    if (z.shape[1] !== this.latentDim) throw new Error(`dcgan: latent must be [B, ${this.latentDim}], got [${z.shape.join(', ')}]`);
    const w = this.weights;
    return tf.tidy(() => {
      const B = z.shape[0];
      const projectWithMask = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
        const [x, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
        // runKernel directly: tf.fused.matMul unfuses the ReLU whenever a tape is recording.
        // The kernel works on rank-3 batches, as tf.fused.matMul would reshape them.
        const y3 = tf.engine().runKernel(
          '_FusedMatMul',
          { a: tf.reshape(x, [1, B, x.shape[1]]), b: w.projection3d, bias: w.projectionBias } as unknown as tf.NamedTensorMap,
          { transposeA: false, transposeB: false, activation: 'relu', leakyreluAlpha: 0 } as unknown as tf.NamedAttrMap,
        ) as tf.Tensor3D;
        const y = tf.reshape(y3, [B, y3.shape[2]]);
        save([y]);
        return {
          value: y,
          gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.matMul(tf.mul(dy, tf.step(saved[0]!)), w.projectionT)],
        };
      });
      let h = tf.reshape(projectWithMask(z), [B, 4, 4, this.config.ngf * 8]) as tf.Tensor4D;
      for (const conv of w.convs) h = pixelShuffle(applyConstConv(conv, h));
      return tf.sigmoid(h) as tf.Tensor4D;
    });
  }

  /** n images from z ~ N(0, temperature²·I), reproducible from the seed. */
  sample(n: number, temperature = 1, seed = 0): tf.Tensor4D {
    const z = new SeededRandom(seed).normals(n * this.latentDim, temperature);
    return tf.tidy(() => this.generate(tf.tensor2d(z, [n, this.latentDim])));
  }

  dispose(): void {
    if (this.prepared) {
      this.prepared.projection3d.dispose();
      this.prepared.projectionT.dispose();
      this.prepared.projectionBias.dispose();
      this.prepared.convs.forEach(disposeConstConv);
      this.prepared = null;
    }
    disposeRecord(this.params);
  }
}
