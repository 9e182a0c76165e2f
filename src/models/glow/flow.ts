import { tf } from '../../engine/index.ts';
import { applyConstConv, disposeConstConv, makeConstConv, type ConstConv } from '../const_conv.ts';
import { latentShapes, levelGeometry, type GlowConfig } from './config.ts';
import { inverse, logAbsDet } from './linalg.ts';
import { stepPrefix, type GlowParams } from './params.ts';
import { flattenChannelMajor, squeeze, unflattenChannelMajor, unsqueeze } from './squeeze.ts';

/**
 * log|det W| of a square matrix, computed in float64 in JS (tfjs has no determinant), with its gradient W⁻ᵀ
 * so a trainer can differentiate the likelihood with respect to the 1×1-convolution weights.
 */
export const logAbsDetOp: (w: tf.Tensor2D) => tf.Scalar = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [w, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
  const n = w.shape[0]!;
  const data = w.dataSync();
  const inv = inverse(data, n);
  const invT = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) invT[i * n + j] = inv[j * n + i]!;
  save([tf.tensor2d(invT, [n, n])]);
  return {
    value: tf.scalar(logAbsDet(data, n)),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.mul(dy, saved[0]!)],
  };
}) as (w: tf.Tensor2D) => tf.Scalar;

/** Even (scale) and odd (shift) entries of the last axis. */
function evenOdd<T extends tf.Tensor>(x: T): [T, T] {
  const shape = x.shape.slice();
  const last = shape.pop()!;
  const pairs = tf.reshape(x, [...shape, last / 2, 2]);
  const pick = (j: number): T => {
    const begin = new Array<number>(pairs.rank).fill(0);
    begin[pairs.rank - 1] = j;
    const size = pairs.shape.slice();
    size[pairs.rank - 1] = 1;
    return tf.reshape(tf.slice(pairs, begin, size), [...shape, last / 2]) as T;
  };
  return [pick(0), pick(1)];
}

/** Coupling network with its ActNorms, the exp(3·logs) output scale and the +2 of the scale folded in. */
interface FoldedCouplingNet {
  k1: tf.Tensor4D;
  b1: tf.Tensor1D;
  k2: tf.Tensor4D;
  b2: tf.Tensor1D;
  ks: tf.Tensor4D;
  bs: tf.Tensor1D;
  kt: tf.Tensor4D;
  bt: tf.Tensor1D;
}

function foldCouplingNet(params: GlowParams, p: string): FoldedCouplingNet {
  const w = (name: string): tf.Tensor => {
    const t = params[p + name];
    if (!t) throw new Error(`glow weights: missing ${p + name}`);
    return t;
  };
  const e1 = tf.exp(w('coupling.actnorm1.logs'));
  const e2 = tf.exp(w('coupling.actnorm2.logs'));
  const e3 = tf.exp(tf.mul(w('coupling.logs'), 3));
  const k3 = tf.mul(w('coupling.conv3.kernel'), e3) as tf.Tensor4D;
  const b3 = tf.mul(w('coupling.conv3.bias'), e3) as tf.Tensor1D;
  const [ks, kt] = evenOdd(k3);
  const [bs, bt] = evenOdd(b3);
  return {
    k1: tf.mul(w('coupling.conv1.kernel'), e1) as tf.Tensor4D,
    b1: tf.mul(tf.add(w('coupling.conv1.bias'), w('coupling.actnorm1.bias')), e1) as tf.Tensor1D,
    k2: tf.mul(w('coupling.conv2.kernel'), e2) as tf.Tensor4D,
    b2: tf.mul(tf.add(w('coupling.conv2.bias'), w('coupling.actnorm2.bias')), e2) as tf.Tensor1D,
    ks,
    bs: tf.add(bs, 2) as tf.Tensor1D,
    kt,
    // The wasm FusedConv2D checks the rank of the bias's buffer, which a reshape does not change.
    bt: tf.add(bt, 0) as tf.Tensor1D,
  };
}

/** Pre-sigmoid scale u (s = sigmoid(u) + topBias) and shift t of the affine coupling, from the passive half c. */
function couplingUT(net: FoldedCouplingNet, c: tf.Tensor4D): { u: tf.Tensor4D; t: tf.Tensor4D } {
  const conv = (x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor1D, relu: boolean): tf.Tensor4D =>
    tf.fused.conv2d({ x, filter, bias, strides: 1, pad: 'same', activation: relu ? 'relu' : 'linear' });
  const h1 = conv(c, net.k1, net.b1, true);
  const h2 = conv(h1, net.k2, net.b2, true);
  return { u: conv(h2, net.ks, net.bs, false), t: conv(h2, net.kt, net.bt, false) };
}

/** log s, summed per sample; log σ(u) is evaluated stably when there is no bias. */
function sumLogScale(u: tf.Tensor4D, s: tf.Tensor4D, topBias: number): tf.Tensor1D {
  const logS = topBias === 0 ? tf.logSigmoid(u) : tf.log(s);
  return tf.sum(logS, [1, 2, 3]) as tf.Tensor1D;
}

function channelStats(h: tf.Tensor4D): { mean: tf.Tensor1D; std: tf.Tensor1D } {
  const [n, hh, ww] = h.shape;
  const count = n * hh * ww;
  const mean = tf.mean(h, [0, 1, 2]) as tf.Tensor1D;
  // Unbiased, like torch.std in the reference initialisation.
  const variance = tf.div(tf.sum(tf.square(tf.sub(h, mean)), [0, 1, 2]), Math.max(count - 1, 1));
  return { mean, std: tf.sqrt(variance) as tf.Tensor1D };
}

/** ActNorm parameters that make `h` zero-mean, unit-std per channel: b = −mean, logs = log(1/(std + 1e-6)). */
function actnormInit(h: tf.Tensor4D): { bias: tf.Tensor1D; logs: tf.Tensor1D } {
  const { mean, std } = channelStats(h);
  return { bias: tf.neg(mean), logs: tf.neg(tf.log(tf.add(std, 1e-6))) as tf.Tensor1D };
}

/** Replaces one step's three ActNorms by their data-dependent initialisation on input h. */
function initStepActnorms(params: GlowParams, p: string, h: tf.Tensor4D, out: Map<string, tf.Tensor>): GlowParams {
  const set = (cur: GlowParams, name: string, v: tf.Tensor): GlowParams => {
    out.set(p + name, v);
    return { ...cur, [p + name]: v };
  };
  let cur = params;
  const a0 = actnormInit(h);
  cur = set(cur, 'actnorm.bias', a0.bias);
  cur = set(cur, 'actnorm.logs', a0.logs);
  const [, c] = stepInputHalves(cur, p, h);
  const pre1 = tf.add(tf.conv2d(c, cur[p + 'coupling.conv1.kernel'] as tf.Tensor4D, 1, 'same'), cur[p + 'coupling.conv1.bias']!) as tf.Tensor4D;
  const a1 = actnormInit(pre1);
  cur = set(cur, 'coupling.actnorm1.bias', a1.bias);
  cur = set(cur, 'coupling.actnorm1.logs', a1.logs);
  const h1 = tf.relu(tf.mul(tf.add(pre1, a1.bias), tf.exp(a1.logs))) as tf.Tensor4D;
  const pre2 = tf.add(tf.conv2d(h1, cur[p + 'coupling.conv2.kernel'] as tf.Tensor4D, 1, 'same'), cur[p + 'coupling.conv2.bias']!) as tf.Tensor4D;
  const a2 = actnormInit(pre2);
  cur = set(cur, 'coupling.actnorm2.bias', a2.bias);
  cur = set(cur, 'coupling.actnorm2.logs', a2.logs);
  return cur;
}

/** ActNorm then the 1×1 convolution, folded into one convolution: W·diag(e^logs)·(h + b); returns the halves. */
function stepInputHalves(params: GlowParams, p: string, h: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] {
  const C = h.shape[3];
  const logs = params[p + 'actnorm.logs']!;
  const b = params[p + 'actnorm.bias']!;
  const W = params[p + 'invconv.weight'] as tf.Tensor2D;
  const Ws = tf.mul(W, tf.exp(logs)) as tf.Tensor2D;
  const filter = tf.reshape(tf.transpose(Ws), [1, 1, C, C]) as tf.Tensor4D;
  const bias = tf.sum(tf.mul(Ws, b), 1) as tf.Tensor1D; // (W·b), computed so the bias owns a rank-1 buffer
  const y = tf.fused.conv2d({ x: h, filter, bias, strides: 1, pad: 'valid' });
  return tf.split(y, 2, 3) as [tf.Tensor4D, tf.Tensor4D];
}

export interface EncodeResult {
  /** Flat latent [B, latentDim]: level blocks, each flattened channel-major like the reference. */
  z: tf.Tensor2D;
  /** Σ log|det ∂f/∂x| per sample [B]. */
  logdet: tf.Tensor1D;
}

function encodeImpl(params: GlowParams, config: GlowConfig, x: tf.Tensor4D, init: Map<string, tf.Tensor> | null): EncodeResult {
  const geo = levelGeometry(config);
  const B = x.shape[0];
  let logdet = tf.zeros([B]) as tf.Tensor1D;
  const latents: tf.Tensor2D[] = [];
  let h = x;
  geo.forEach((g, l) => {
    h = squeeze(h, config.squeeze);
    const top = l === config.L - 1;
    const topBias = top ? config.topStepCouplingBias : 0;
    const pixels = g.size * g.size;
    for (let k = 0; k < g.steps; k++) {
      const p = stepPrefix(l, k);
      if (init) params = initStepActnorms(params, p, h, init);
      const [a, c] = stepInputHalves(params, p, h);
      const perPixel = tf.add(tf.sum(params[p + 'actnorm.logs']!), logAbsDetOp(params[p + 'invconv.weight'] as tf.Tensor2D));
      const { u, t } = couplingUT(foldCouplingNet(params, p), c);
      const sig = tf.sigmoid(u) as tf.Tensor4D;
      const s = topBias === 0 ? sig : (tf.add(sig, topBias) as tf.Tensor4D);
      const aNew = tf.add(tf.mul(s, a), t) as tf.Tensor4D;
      logdet = tf.add(logdet, tf.add(sumLogScale(u, s, topBias), tf.mul(perPixel, pixels))) as tf.Tensor1D;
      if (k === g.steps - 1 && !top) {
        latents.push(flattenChannelMajor(c));
        h = aNew;
      } else {
        h = tf.concat([aNew, c], 3);
      }
    }
    if (top) latents.push(flattenChannelMajor(h));
  });
  return { z: tf.concat(latents, 1) as tf.Tensor2D, logdet };
}

/**
 * x (model space: image − 0.5, NHWC) → (z, log-det). A pure function of the weights: with tf.Variables in
 * `params` it is differentiable with respect to every weight (the training path).
 */
export function glowEncode(params: GlowParams, config: GlowConfig, x: tf.Tensor4D): EncodeResult {
  const [z, logdet] = tf.tidy(() => {
    const r = encodeImpl(params, config, x, null);
    return [r.z, r.logdet];
  });
  return { z: z as tf.Tensor2D, logdet: logdet as tf.Tensor1D };
}

/**
 * Data-dependent ActNorm initialisation (the reference's first-batch rule, applied step by step in flow order):
 * returns new tensors for every ActNorm bias/logs name, to assign to the trainer's variables.
 */
export function glowInitActNorm(params: GlowParams, config: GlowConfig, x: tf.Tensor4D): Map<string, tf.Tensor> {
  const init = new Map<string, tf.Tensor>();
  tf.tidy(() => {
    encodeImpl(params, config, x, init);
    for (const t of init.values()) tf.keep(t);
  });
  return init;
}

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** log p(x) per sample for the continuous density of the model-space input (no dequantisation offset). */
export function glowLogProb(params: GlowParams, config: GlowConfig, x: tf.Tensor4D): tf.Tensor1D {
  return tf.tidy(() => {
    const { z, logdet } = encodeImpl(params, config, x, null);
    const logpz = tf.sub(tf.mul(tf.sum(tf.square(z), 1), -0.5), z.shape[1] * HALF_LOG_2PI);
    return tf.add(logpz, logdet) as tf.Tensor1D;
  });
}

/**
 * Bits per dimension of the discrete nBits data: −(log p(x) − n·ln 2^nBits)/(n·ln 2), no +3 offset.
 * x is model space (dequantised image − 0.5). Differentiable with respect to the weights (the training loss).
 */
export function glowBitsPerDim(params: GlowParams, config: GlowConfig, x: tf.Tensor4D, nBits = config.nBits): tf.Tensor1D {
  return tf.tidy(() => {
    const n = x.shape[1] * x.shape[2] * x.shape[3];
    const logp = glowLogProb(params, config, x);
    return tf.div(tf.sub(n * nBits * Math.LN2, logp), n * Math.LN2) as tf.Tensor1D;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Decoder: inference weights precomputed once (W⁻¹ in float64, ActNorm folded in), gradients only for z.

interface DecoderStep {
  conv1: ConstConv;
  conv2: ConstConv;
  convS: ConstConv;
  convT: ConstConv;
  topBias: number;
  /** Inverse of ActNorm ∘ 1×1 conv as one 1×1 convolution: to the two halves, or (first step of a level) to all. */
  invA: ConstConv | null;
  invC: ConstConv | null;
  invFull: ConstConv | null;
}

export interface GlowDecoder {
  readonly config: GlowConfig;
  readonly levels: DecoderStep[][];
  /** Added to the output (folded into the last bias): 0.5 turns model space into image space. */
  readonly outputOffset: number;
}

function inverseStepTransform(params: GlowParams, p: string, offset: number): { kernel: Float32Array; bias: Float32Array; C: number } {
  const W = params[p + 'invconv.weight']!;
  const C = W.shape[0]!;
  const inv = inverse(W.dataSync(), C);
  const logs = params[p + 'actnorm.logs']!.dataSync();
  const b = params[p + 'actnorm.bias']!.dataSync();
  // h = diag(e^−logs)·W⁻¹·y − b, as a [1, 1, in, out] kernel: kernel[in, out] = e^−logs[out]·W⁻¹[out, in].
  const kernel = new Float32Array(C * C);
  for (let o = 0; o < C; o++) {
    const e = Math.exp(-logs[o]!);
    for (let i = 0; i < C; i++) kernel[i * C + o] = e * inv[o * C + i]!;
  }
  const bias = new Float32Array(C);
  for (let o = 0; o < C; o++) bias[o] = -b[o]! + offset;
  return { kernel, bias, C };
}

function columns(kernel: Float32Array, C: number, from: number, to: number): Float32Array {
  const out = new Float32Array(C * (to - from));
  for (let i = 0; i < C; i++) for (let o = from; o < to; o++) out[i * (to - from) + (o - from)] = kernel[i * C + o]!;
  return out;
}

export function prepareGlowDecoder(params: GlowParams, config: GlowConfig, outputOffset = 0.5): GlowDecoder {
  const levels = levelGeometry(config).map((g, l) => {
    const steps: DecoderStep[] = [];
    for (let k = 0; k < g.steps; k++) {
      const p = stepPrefix(l, k);
      const f = tf.tidy(() => {
        const n = foldCouplingNet(params, p);
        return [n.k1, n.b1, n.k2, n.b2, n.ks, n.bs, n.kt, n.bt];
      }) as [tf.Tensor4D, tf.Tensor1D, tf.Tensor4D, tf.Tensor1D, tf.Tensor4D, tf.Tensor1D, tf.Tensor4D, tf.Tensor1D];
      const net = {
        conv1: makeConstConv(f[0], f[1], true),
        conv2: makeConstConv(f[2], f[3], true),
        convS: makeConstConv(f[4], f[5]),
        convT: makeConstConv(f[6], f[7]),
      };
      const offset = l === 0 && k === 0 ? outputOffset : 0;
      const { kernel, bias, C } = inverseStepTransform(params, p, offset);
      const half = C / 2;
      const conv1x1 = (from: number, to: number): ConstConv =>
        makeConstConv(tf.tensor4d(columns(kernel, C, from, to), [1, 1, C, to - from]), tf.tensor1d(bias.slice(from, to)));
      steps.push({
        ...net,
        topBias: l === config.L - 1 ? config.topStepCouplingBias : 0,
        invA: k > 0 ? conv1x1(0, half) : null,
        invC: k > 0 ? conv1x1(half, C) : null,
        invFull: k === 0 ? conv1x1(0, C) : null,
      });
    }
    return steps;
  });
  return { config, levels, outputOffset };
}

export function disposeGlowDecoder(d: GlowDecoder): void {
  for (const steps of d.levels) {
    for (const s of steps) {
      for (const c of [s.conv1, s.conv2, s.convS, s.convT, s.invA, s.invC, s.invFull]) if (c) disposeConstConv(c);
    }
  }
}

/** z [B, latentDim] → image (model space + outputOffset), NHWC. Differentiable with respect to z. */
export function glowDecode(dec: GlowDecoder, z: tf.Tensor2D): tf.Tensor4D {
  const config = dec.config;
  return tf.tidy(() => {
    const shapes = latentShapes(config);
    const offsets: number[] = [];
    let off = 0;
    for (const [c, h, w] of shapes) offsets.push(off), (off += c * h * w);
    if (z.shape[1] !== off) throw new Error(`glow: latent has ${z.shape[1]} values, the model needs ${off}`);
    const B = z.shape[0];
    // Channel halves of a channel-major block are contiguous ranges of z: no split needed.
    const block = (l: number, from: number, channels: number): tf.Tensor4D => {
      const [, h, w] = shapes[l]!;
      const part = tf.slice(z, [0, offsets[l]! + from * h * w], [B, channels * h * w]) as tf.Tensor2D;
      return unflattenChannelMajor(part, channels, h, w);
    };
    const topLevel = config.L - 1;
    const Ctop = shapes[topLevel]![0];
    let aOut = block(topLevel, 0, Ctop / 2);
    let c = block(topLevel, Ctop / 2, Ctop / 2);
    let h: tf.Tensor4D | null = null;
    for (let l = topLevel; l >= 0; l--) {
      if (l < topLevel) {
        aOut = h!;
        c = block(l, 0, shapes[l]![0]);
      }
      const steps = dec.levels[l]!;
      for (let k = steps.length - 1; k >= 0; k--) {
        const st = steps[k]!;
        const h1 = applyConstConv(st.conv1, c);
        const h2 = applyConstConv(st.conv2, h1);
        const u = applyConstConv(st.convS, h2);
        const t = applyConstConv(st.convT, h2);
        const sig = tf.sigmoid(u);
        const s = st.topBias === 0 ? sig : tf.add(sig, st.topBias);
        const a = tf.div(tf.sub(aOut, t), s) as tf.Tensor4D;
        const both = tf.concat([a, c], 3);
        if (k > 0) {
          aOut = applyConstConv(st.invA!, both);
          c = applyConstConv(st.invC!, both);
        } else {
          h = applyConstConv(st.invFull!, both);
        }
      }
      h = unsqueeze(h!, config.squeeze);
    }
    return h!;
  });
}
