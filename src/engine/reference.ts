import * as tf from '@tensorflow/tfjs';

/**
 * The cpu backend prints an "install tfjs-node" banner on first use under Node. Here cpu is chosen
 * deliberately (as a fallback we already log, or as a reference), so the banner is only noise.
 */
export function silenceCpuBanner(): void {
  if (tf.getBackend() !== 'cpu') return;
  const backend = tf.backend() as unknown as { firstUse?: boolean };
  if (typeof backend.firstUse === 'boolean') backend.firstUse = false;
}

/**
 * Runs `fn` with another registered backend active (typically 'cpu', the reference implementation
 * used to verify kernels), then switches back. Tensors created inside belong to that backend:
 * read them inside `fn` and dispose them there.
 */
export async function withBackend<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
  const previous = tf.getBackend();
  if (previous === name) return fn();
  if (!(await tf.setBackend(name))) throw new Error(`backend ${name} is not available`);
  silenceCpuBanner();
  try {
    return await fn();
  } finally {
    await tf.setBackend(previous);
  }
}
