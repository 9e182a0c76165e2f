// BatchMatMul / _FusedMatMul with transposeA/transposeB on wasm. The stock kernel handles the
// transposed cases in a naive loop (~30× slower than the plain product, which goes to XNNPACK), and
// every matMul gradient needs them (da = dy·bᵀ, db = aᵀ·dy). We materialise transposes with the
// Transpose kernel and run the plain product, choosing the cheaper of two equivalent forms:
//   C = op(a)·op(b)                       — copies the flagged operands;
//   C = (op(b)ᵀ·op(a)ᵀ)ᵀ                  — copies the unflagged operands and C.
// For x·Aᵀ with a large A (the measurement operator) the second form copies only x and C.
import type { KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import { dispose, runStock, transposeLast2, type WasmBackendLike } from './wasm_ops.ts';

const size = (t: TensorInfo) => t.shape.reduce((p, d) => p * d, 1);

export function productShape(a: TensorInfo, b: TensorInfo, tA: boolean, tB: boolean): number {
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = tA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const n = tB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  const batch = Math.max(size(a) / (a.shape[ra - 1]! * a.shape[ra - 2]!), size(b) / (b.shape[rb - 1]! * b.shape[rb - 2]!));
  return batch * m * n;
}

export const batchMatMulTransposed: KernelFunc = ({ inputs, backend, attrs }) => {
  const wasm = backend as WasmBackendLike;
  const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
  const tA = Boolean((attrs as NamedAttrMap).transposeA);
  const tB = Boolean((attrs as NamedAttrMap).transposeB);
  if ((!tA && !tB) || a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) {
    return runStock('BatchMatMul', wasm, inputs, attrs);
  }
  const plain = { transposeA: false, transposeB: false };
  const costDirect = (tA ? size(a) : 0) + (tB ? size(b) : 0);
  const costSwapped = (tA ? 0 : size(a)) + (tB ? 0 : size(b)) + productShape(a, b, tA, tB);
  const owned: TensorInfo[] = [];
  try {
    if (costDirect <= costSwapped) {
      const a2 = tA ? transposeLast2(wasm, a) : a;
      const b2 = tB ? transposeLast2(wasm, b) : b;
      if (tA) owned.push(a2);
      if (tB) owned.push(b2);
      return runStock('BatchMatMul', wasm, { a: a2, b: b2 }, plain);
    }
    // op(b)ᵀ is b itself when tB, op(a)ᵀ is a itself when tA.
    const left = tB ? b : transposeLast2(wasm, b);
    const right = tA ? a : transposeLast2(wasm, a);
    if (!tB) owned.push(left);
    if (!tA) owned.push(right);
    const cT = runStock('BatchMatMul', wasm, { a: left, b: right }, plain);
    owned.push(cT);
    return transposeLast2(wasm, cT);
  } finally {
    dispose(wasm, ...owned);
  }
};

/** Fused (bias/activation) variant: only the direct form keeps the bias broadcast intact. */
export const fusedMatMulTransposed: KernelFunc = ({ inputs, backend, attrs }) => {
  const wasm = backend as WasmBackendLike;
  const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
  const at = attrs as NamedAttrMap;
  const tA = Boolean(at.transposeA);
  const tB = Boolean(at.transposeB);
  if ((!tA && !tB) || a.dtype !== 'float32' || b.dtype !== 'float32') {
    return runStock('_FusedMatMul', wasm, inputs, attrs);
  }
  const a2 = tA ? transposeLast2(wasm, a) : a;
  const b2 = tB ? transposeLast2(wasm, b) : b;
  try {
    return runStock('_FusedMatMul', wasm, { ...inputs, a: a2, b: b2 }, { ...at, transposeA: false, transposeB: false });
  } finally {
    if (tA) dispose(wasm, a2);
    if (tB) dispose(wasm, b2);
  }
};
