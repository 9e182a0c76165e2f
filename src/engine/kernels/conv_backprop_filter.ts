// Conv2DBackpropFilter for wasm, which ships none (training a conv net fails without it).
//
// dw[a,b,c,o] = Σ_{n,i,j} x[n, i·sh + a·dh − top, j·sw + b·dw − left, c] · dy[n,i,j,o]
//
// 'im2col' (default): transpose x to [C,N,H,W] (C++ kernel), gather Pᵀ[(a,b,c), (n,i,j)] on the
// heap (runs along W), then dw = Pᵀ·dy as one XNNPACK matMul whose [fh·fw·C, Cout] result is
// already the filter layout. Any stride or padding. 1×1 stride-1 convs skip the gather (Pᵀ = xᵀ).
// 'conv': the forward-conv identity — treat Cin as batch and N as channels: conv of x transposed
// to [Cin,H,W,N] with dy transposed to [Ho,Wo,N,Cout] as the filter, giving [Cin,fh,fw,Cout].
// Stride 1 only. XNNPACK walks x through an indirection buffer (no gather) but repacks the dy
// "filter" on every call.
// 'auto' (default) weighs the gather (fh·fw·Cin values per output pixel) against the extra dy
// transpose and packing (~2·Cout): im2col when fh·fw·Cin ≤ 2·Cout (Glow's first coupling conv, and
// every 1×1), the conv form otherwise (the zero-initialised last conv, 128 → few channels).
import * as tf from '@tensorflow/tfjs';
import type { Conv2DBackpropFilterAttrs, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { conv2d, dispose, matMul, reshape, transpose, type WasmBackendLike } from './wasm_ops.ts';

export type BackpropFilterStrategy = 'auto' | 'im2col' | 'conv';

let strategy: BackpropFilterStrategy = 'auto';

export function setBackpropFilterStrategy(s: BackpropFilterStrategy): void {
  strategy = s;
}

export function getBackpropFilterStrategy(): BackpropFilterStrategy {
  return strategy;
}

type ConvInfo = ReturnType<typeof tf.backend_util.computeConv2DInfo>;

/**
 * Fills Pᵀ[(a,b,c), (n,i,j)] = x[n, i·sh + a·dh − top, j·sw + b·dw − left, c] (zero outside x) from
 * xT = x transposed to [C,N,H,W], where each (a,b,c,n,i) segment is a run along W.
 */
function im2colT(backend: WasmBackendLike, xT: TensorInfo, info: ConvInfo): TensorInfo {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: Ho, outWidth: Wo } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  const { top, left } = info.padInfo;
  const cols = N * Ho * Wo;
  const pT = backend.makeOutput([fh * fw * C, cols], 'float32');
  // Views are taken after makeOutput: allocating may grow (and replace) the heap buffer.
  const src = backend.typedArrayFromHeap(xT) as Float32Array;
  const dst = backend.typedArrayFromHeap(pT) as Float32Array;
  let d = 0;
  for (let a = 0; a < fh; a++) {
    for (let b = 0; b < fw; b++) {
      const c0 = b * dw - left;
      // Output columns j whose input column c0 + j·sw lies inside [0, W).
      const jLo = c0 >= 0 ? 0 : Math.min(Wo, Math.ceil(-c0 / sw));
      const jHi = Math.max(jLo, Math.min(Wo, Math.floor((W - 1 - c0) / sw) + 1));
      for (let c = 0; c < C; c++) {
        for (let n = 0; n < N; n++) {
          const plane = (c * N + n) * H;
          for (let i = 0; i < Ho; i++) {
            const r = i * sh + a * dh - top;
            if (r < 0 || r >= H) {
              dst.fill(0, d, d + Wo);
              d += Wo;
              continue;
            }
            const s = (plane + r) * W + c0;
            let j = 0;
            for (; j < jLo; j++) dst[d++] = 0;
            if (sw === 1) for (; j < jHi; j++) dst[d++] = src[s + j]!;
            else for (; j < jHi; j++) dst[d++] = src[s + j * sw]!;
            for (; j < Wo; j++) dst[d++] = 0;
          }
        }
      }
    }
  }
  return pT;
}

function viaIm2col(backend: WasmBackendLike, x: TensorInfo, dy: TensorInfo, info: ConvInfo): TensorInfo {
  const { batchSize: N, inChannels: C, outChannels: Cout, outHeight: Ho, outWidth: Wo } = info;
  const { filterHeight: fh, filterWidth: fw } = info;
  const pad = info.padInfo;
  const pointwise =
    fh === 1 && fw === 1 && info.strideHeight === 1 && info.strideWidth === 1 &&
    pad.top === 0 && pad.bottom === 0 && pad.left === 0 && pad.right === 0;
  const cols = N * Ho * Wo;
  // XNNPACK packs the right-hand operand on every call, so the big im2col matrix goes on the left:
  // dw = Pᵀ·dy with dy [N·Ho·Wo, Cout] on the right, and the product is already [fh·fw·C, Cout].
  const x2 = pointwise ? reshape(backend, x, [cols, C]) : null;
  let xT: TensorInfo | null = null;
  let pT: TensorInfo | null = null;
  let dy2: TensorInfo | null = null;
  try {
    xT = x2 ? transpose(backend, x2, [1, 0]) : transpose(backend, x, [3, 0, 1, 2]);
    pT = x2 ? xT : im2colT(backend, xT, info);
    dy2 = reshape(backend, dy, [cols, Cout]);
    const dw = matMul(backend, pT, dy2);
    dw.shape = [fh, fw, C, Cout];
    return dw;
  } finally {
    dispose(backend, x2, xT, pT === xT ? null : pT, dy2);
  }
}

function viaForwardConv(backend: WasmBackendLike, x: TensorInfo, dy: TensorInfo, info: ConvInfo): TensorInfo | null {
  const { inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo, filterHeight: fh, filterWidth: fw } = info;
  const { top, left } = info.padInfo;
  const bottom = fh - 1 - H - top + Ho;
  const right = fw - 1 - W - left + Wo;
  if (info.strideHeight !== 1 || info.strideWidth !== 1 || info.dilationHeight !== 1 || info.dilationWidth !== 1) {
    return null;
  }
  if (bottom < 0 || right < 0) return null;
  const xT = transpose(backend, x, [3, 1, 2, 0]);
  let dyT: TensorInfo | null = null;
  let out: TensorInfo | null = null;
  try {
    dyT = transpose(backend, dy, [1, 2, 0, 3]);
    out = conv2d(backend, xT, dyT, [
      [0, 0],
      [top, bottom],
      [left, right],
      [0, 0],
    ]);
    return transpose(backend, out, [1, 2, 0, 3]);
  } finally {
    dispose(backend, xT, dyT, out);
  }
}

export const conv2dBackpropFilterWasm: KernelFunc = ({ inputs, backend, attrs }) => {
  const wasm = backend as WasmBackendLike;
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const a = attrs as unknown as Conv2DBackpropFilterAttrs;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    a.filterShape,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
    false,
    tf.backend_util.convertConv2DDataFormat(a.dataFormat),
  );
  if (info.dataFormat !== 'channelsLast') {
    throw new Error("Conv2DBackpropFilter on wasm supports dataFormat 'NHWC' only");
  }
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') {
    throw new Error('Conv2DBackpropFilter on wasm supports float32 only');
  }
  if (dy.shape[1] !== info.outHeight || dy.shape[2] !== info.outWidth || dy.shape[3] !== info.outChannels) {
    throw new Error(`Conv2DBackpropFilter: dy shape ${dy.shape} does not match the convolution output ${info.outShape}`);
  }
  const pointwise = info.filterHeight === 1 && info.filterWidth === 1;
  const gatherIsCheap = info.filterHeight * info.filterWidth * info.inChannels <= 2 * info.outChannels;
  if (strategy === 'conv' || (strategy === 'auto' && !pointwise && !gatherIsCheap)) {
    const out = viaForwardConv(wasm, x, dy, info);
    if (out) return out;
  }
  return viaIm2col(wasm, x, dy, info);
};
