import { tf } from '../engine/index.ts';

/**
 * A stride-1 'same' convolution whose kernel and bias are constants (inference weights), differentiable with
 * respect to its input only. Its input gradient is a *forward* convolution with the pre-flipped kernel, so the
 * hot path (value and gradient of G(z) with respect to z) never needs the backend's Conv2DBackpropInput, and
 * the bias and ReLU stay fused in one kernel launch even while a gradient tape is recording.
 */
export interface ConstConv {
  readonly kernel: tf.Tensor4D;
  /** kernel rotated 180° with input/output channels swapped: the adjoint as a correlation. */
  readonly adjointKernel: tf.Tensor4D;
  readonly bias: tf.Tensor1D | null;
  readonly relu: boolean;
}

/** Takes ownership of `kernel` and `bias` ([kh, kw, in, out] with odd kh, kw) and keeps them out of any tf.tidy. */
export function makeConstConv(kernel: tf.Tensor4D, bias: tf.Tensor1D | null, relu = false): ConstConv {
  const [kh, kw, cin, cout] = kernel.shape;
  if (kh % 2 !== 1 || kw % 2 !== 1) throw new Error('const conv: kernel size must be odd for a symmetric same padding');
  // adjoint[y, x, o, i] = kernel[kh−1−y, kw−1−x, i, o]; plain JS is much faster here than the backend's reverse.
  const k = kernel.dataSync();
  const adj = new Float32Array(k.length);
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      const src = ((kh - 1 - y) * kw + (kw - 1 - x)) * cin * cout;
      const dst = (y * kw + x) * cout * cin;
      for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) adj[dst + o * cin + i] = k[src + i * cout + o]!;
    }
  }
  // Kept: a model may prepare its weights lazily inside a caller's tf.tidy, which must not dispose them.
  const adjointKernel = tf.keep(tf.tensor4d(adj, [kh, kw, cout, cin]));
  return { kernel: tf.keep(kernel), adjointKernel, bias: bias && tf.keep(bias), relu };
}

export function disposeConstConv(c: ConstConv): void {
  c.kernel.dispose();
  c.adjointKernel.dispose();
  c.bias?.dispose();
}

function fusedConv(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor1D | null, relu: boolean): tf.Tensor4D {
  // runKernel directly: tf.fused.conv2d unfuses bias/ReLU whenever a tape is recording.
  const inputs: Record<string, tf.Tensor> = { x, filter };
  if (bias) inputs.bias = bias;
  return tf.engine().runKernel(
    'FusedConv2D',
    inputs as unknown as tf.NamedTensorMap,
    {
      strides: [1, 1],
      pad: 'same',
      dataFormat: 'NHWC',
      dilations: [1, 1],
      dimRoundingMode: undefined,
      activation: relu ? 'relu' : 'linear',
      leakyreluAlpha: 0,
    } as unknown as tf.NamedAttrMap,
  ) as tf.Tensor4D;
}

export function applyConstConv(op: ConstConv, x: tf.Tensor4D): tf.Tensor4D {
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [input, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
    const y = fusedConv(input, op.kernel, op.bias, op.relu);
    if (op.relu) save([y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const g = op.relu ? tf.mul(dy, tf.step(saved[0]!)) : dy;
        return [fusedConv(g as tf.Tensor4D, op.adjointKernel, null, false)];
      },
    };
  });
  return f(x) as tf.Tensor4D;
}
