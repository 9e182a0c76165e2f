// Zero-copy Identity on wasm. The stock kernel copies the buffer, and the gradient tape saves
// inputs/outputs through Identity, so every saved activation was copied once more. tfjs buffers
// are immutable (a Variable's assign swaps in a new dataId), so sharing with a reference count is
// safe — the cpu backend and the wasm Reshape kernel do the same.
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { runStock, type WasmBackendLike } from './wasm_ops.ts';

export const identityShared: KernelFunc = ({ inputs, backend, attrs }) => {
  const wasm = backend as WasmBackendLike;
  const { x } = inputs as { x: TensorInfo };
  if (x.dtype === 'string') return runStock('Identity', wasm, inputs, attrs);
  wasm.incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
};
