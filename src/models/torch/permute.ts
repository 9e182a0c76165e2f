import type { TensorData } from '../tensor_data.ts';

/** out = transpose(x, perm) in C order (perm[d] = input axis of output axis d), in plain JS. */
export function permute(x: TensorData, perm: readonly number[]): TensorData {
  const { shape, data } = x;
  const rank = shape.length;
  if (perm.length !== rank) throw new Error(`permute: perm of length ${perm.length} for rank ${rank}`);
  const outShape = perm.map((p) => shape[p]!);
  const inStrides = new Array<number>(rank);
  for (let d = rank - 1, s = 1; d >= 0; d--) (inStrides[d] = s), (s *= shape[d]!);
  const strides = perm.map((p) => inStrides[p]!);
  const out = new Float32Array(data.length);
  const idx = new Array<number>(rank).fill(0);
  for (let i = 0; i < out.length; i++) {
    let src = 0;
    for (let d = 0; d < rank; d++) src += idx[d]! * strides[d]!;
    out[i] = data[src]!;
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d]! < outShape[d]!) break;
      idx[d] = 0;
    }
  }
  return { shape: outShape, data: out };
}

export function reshaped(x: TensorData, shape: number[]): TensorData {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== x.data.length) throw new Error(`reshape: ${x.data.length} values into [${shape.join(', ')}]`);
  return { shape, data: x.data };
}
