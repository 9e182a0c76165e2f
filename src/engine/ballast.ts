import * as tf from '@tensorflow/tfjs';

const held: tf.Tensor[] = [];

/**
 * Fault injection: occupies `mib` MiB of the wasm heap for the life of the process, so that real solves reach the
 * 4 GiB ceiling (and abort the engine) at a batch size that would otherwise fit. The memory is allocated by a wasm
 * kernel (a broadcast add), not copied from JavaScript, so it lands in linear memory. No-op off wasm. Returns the MiB held.
 */
export function holdWasmBallast(mib: number): number {
  if (!(mib > 0) || tf.getBackend() !== 'wasm') return 0;
  const COLS = 1 << 16; // 256 KiB of float32 per row
  let rows = Math.round((mib * 1024 * 1024) / (COLS * 4));
  while (rows > 0) {
    const chunk = Math.min(rows, 1024); // 256 MiB per tensor
    held.push(tf.tidy(() => tf.add(tf.zeros([chunk, 1]), tf.zeros([1, COLS]))));
    rows -= chunk;
  }
  return held.reduce((s, t) => s + t.size * 4, 0) / 2 ** 20;
}
