// Conv2DBackpropInput on wasm as a *forward* convolution (XNNPACK, multi-threaded) instead of the
// stock scalar loop (1–2 GFLOP/s).
//
// For stride 1: dx[n,p,q,c] = Σ_{i,j,o} dy[n,i,j,o] · w[p−i+top, q−j+left, c, o]. Substituting
// a = fh−1−(p−i+top) turns this into a correlation of dy with w'[a,b,o,c] = w[fh−1−a, fw−1−b, c, o]
// (spatially rotated by 180°, in/out channels swapped) under padding top' = fh−1−top,
// bottom' = fh−1−bottom (and likewise for width). Other cases keep the stock kernel.
import * as tf from '@tensorflow/tfjs';
import type { Conv2DBackpropInputAttrs, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import { DerivedFilterCache } from './filter_cache.ts';
import { conv2d, dispose, runStock, transpose, type WasmBackendLike } from './wasm_ops.ts';

/** 256 MB of flipped filters: a 64×64 Glow with width 512 (K=32, L=4) needs ~150 MB. */
export const flippedFilterCache = new DerivedFilterCache(256 * 1024 * 1024);

export function flipFilter(backend: WasmBackendLike, filter: TensorInfo): TensorInfo {
  const [fh, fw] = filter.shape as [number, number, number, number];
  if (fh === 1 && fw === 1) return transpose(backend, filter, [0, 1, 3, 2]);
  const rotated = runStock('Reverse', backend, { x: filter }, { dims: [0, 1] });
  try {
    return transpose(backend, rotated, [0, 1, 3, 2]);
  } finally {
    dispose(backend, rotated);
  }
}

export const conv2dBackpropInputViaForward: KernelFunc = ({ inputs, backend, attrs }) => {
  const wasm = backend as WasmBackendLike;
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const a = attrs as unknown as Conv2DBackpropInputAttrs;
  const info = tf.backend_util.computeConv2DInfo(
    a.inputShape,
    filter.shape as [number, number, number, number],
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
    false,
    tf.backend_util.convertConv2DDataFormat(a.dataFormat),
  );
  const { top, bottom, left, right } = info.padInfo;
  const { filterHeight: fh, filterWidth: fw } = info;
  const supported =
    info.dataFormat === 'channelsLast' &&
    info.strideHeight === 1 &&
    info.strideWidth === 1 &&
    dy.dtype === 'float32' &&
    filter.dtype === 'float32' &&
    top <= fh - 1 &&
    bottom <= fh - 1 &&
    left <= fw - 1 &&
    right <= fw - 1;
  if (!supported) return runStock('Conv2DBackpropInput', wasm, inputs, attrs as NamedAttrMap);

  const flipped = flippedFilterCache.getOrCreate(wasm, filter, () => flipFilter(wasm, filter));
  try {
    const out = conv2d(wasm, dy, flipped, [
      [0, 0],
      [fh - 1 - top, fh - 1 - bottom],
      [fw - 1 - left, fw - 1 - right],
      [0, 0],
    ]);
    if (out.shape.join() !== a.inputShape.join()) {
      dispose(wasm, out);
      throw new Error(`Conv2DBackpropInput: got ${out.shape}, expected ${a.inputShape}`);
    }
    return out;
  } finally {
    if (!flippedFilterCache.owns(flipped)) dispose(wasm, flipped);
  }
};
