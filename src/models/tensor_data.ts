import { tf } from '../engine/index.ts';

/** A named weight as plain data: C-order float32 values and their shape. */
export interface TensorData {
  shape: number[];
  data: Float32Array;
}

export type WeightArrays = Map<string, TensorData>;

/** Weights as tensors, keyed by name (a trainer may pass tf.Variables here). */
export type TensorRecord = Record<string, tf.Tensor>;

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function arraysToTensors(w: WeightArrays): TensorRecord {
  const out: TensorRecord = {};
  for (const [k, v] of w) out[k] = tf.tensor(v.data, v.shape, 'float32');
  return out;
}

export function tensorsToArrays(w: TensorRecord): WeightArrays {
  const out: WeightArrays = new Map();
  for (const k of Object.keys(w).sort()) {
    const t = w[k]!;
    out.set(k, { shape: t.shape.slice(), data: new Float32Array(t.dataSync()) });
  }
  return out;
}

export function disposeRecord(w: TensorRecord): void {
  for (const t of Object.values(w)) t.dispose();
}
