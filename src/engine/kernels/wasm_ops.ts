// Thin typed calls into the *stock* wasm kernels, on TensorInfos, inside another kernel.
// Kernel overrides must not call tf ops (those would create engine-tracked tensors inside a kernel);
// they compose backend-level kernels and free their intermediates with disposeData.
import * as tf from '@tensorflow/tfjs';
import type { DataId, KernelConfig, KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';

/** The BackendWasm members the overrides use (the class's own typings pull in Emscripten types). */
export interface WasmBackendLike {
  dataIdMap: { has(dataId: DataId): boolean; get(dataId: DataId): { id: number; memoryOffset: number | null } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  disposeData(dataId: DataId, force?: boolean): boolean;
  incRef(dataId: DataId): void;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

const stock = new Map<string, KernelConfig>();

/** Captures the stock wasm kernel before it is overridden (idempotent). */
export function captureStock(kernelName: string): KernelConfig | undefined {
  const existing = stock.get(kernelName);
  if (existing) return existing;
  const cfg = tf.getKernel(kernelName, 'wasm');
  if (cfg) stock.set(kernelName, cfg);
  return cfg;
}

export function stockKernel(kernelName: string): KernelConfig | undefined {
  return stock.get(kernelName) ?? tf.getKernel(kernelName, 'wasm');
}

export function runStock(
  kernelName: string,
  backend: WasmBackendLike,
  inputs: NamedTensorInfoMap | TensorInfo[],
  attrs: NamedAttrMap = {},
): TensorInfo {
  const cfg = stockKernel(kernelName);
  if (!cfg) throw new Error(`wasm kernel ${kernelName} is not registered`);
  const out = (cfg.kernelFunc as KernelFunc)({ inputs: inputs as NamedTensorInfoMap, backend, attrs });
  if (Array.isArray(out)) throw new Error(`wasm kernel ${kernelName} returned several outputs`);
  return out;
}

export function dispose(backend: WasmBackendLike, ...infos: (TensorInfo | null | undefined)[]): void {
  for (const info of infos) if (info) backend.disposeData(info.dataId);
}

/** Zero-copy: shares the buffer (as the wasm Reshape kernel does). */
export function reshape(backend: WasmBackendLike, x: TensorInfo, shape: number[]): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape, dtype: x.dtype };
}

export function transpose(backend: WasmBackendLike, x: TensorInfo, perm: number[]): TensorInfo {
  return runStock('Transpose', backend, { x }, { perm });
}

/** Swaps the last two axes. */
export function transposeLast2(backend: WasmBackendLike, x: TensorInfo): TensorInfo {
  const r = x.shape.length;
  const perm = [...Array(r).keys()];
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  return transpose(backend, x, perm);
}

export function matMul(backend: WasmBackendLike, a: TensorInfo, b: TensorInfo): TensorInfo {
  return runStock('BatchMatMul', backend, { a, b }, { transposeA: false, transposeB: false });
}

export function conv2d(
  backend: WasmBackendLike,
  x: TensorInfo,
  filter: TensorInfo,
  pad: [[number, number], [number, number], [number, number], [number, number]],
): TensorInfo {
  return runStock(
    'Conv2D',
    backend,
    { x, filter },
    { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [1, 1] } as unknown as NamedAttrMap,
  );
}
