import * as tf from '@tensorflow/tfjs';
import { flippedFilterCache } from './kernels/conv_backprop_input.ts';

/** wasm32 linear memory cannot exceed 4 GiB (and never shrinks once grown). */
export const WASM_HEAP_LIMIT_BYTES = 4 * 1024 ** 3;

export interface MemoryStats {
  backend: string;
  numTensors: number;
  numDataBuffers: number;
  /** Bytes held by live tensors, as tfjs counts them. */
  numBytes: number;
  /** Set when tfjs cannot account memory exactly (e.g. strings). */
  unreliable: boolean;
  /** Current wasm linear memory (the high-water mark: it never shrinks); null off wasm. */
  wasmHeapBytes: number | null;
  /** Hard ceiling of the wasm heap; an allocation beyond it aborts the backend. */
  wasmHeapLimitBytes: number | null;
  /** Derived filters held by the backprop-input cache (not counted in numBytes). */
  kernelCacheBytes: number;
  /** Node process resident set size. */
  rssBytes: number;
}

function wasmHeapBytes(): number | null {
  if (tf.getBackend() !== 'wasm') return null;
  const backend = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array; wasmMemory?: WebAssembly.Memory } };
  const memory = backend.wasm?.wasmMemory;
  if (memory) return memory.buffer.byteLength;
  return backend.wasm?.HEAPU8?.buffer.byteLength ?? null;
}

export function memoryStats(): MemoryStats {
  const m = tf.memory() as tf.MemoryInfo & { unreliable?: boolean };
  const heap = wasmHeapBytes();
  return {
    backend: tf.getBackend(),
    numTensors: m.numTensors,
    numDataBuffers: m.numDataBuffers,
    numBytes: m.numBytes,
    unreliable: Boolean(m.unreliable),
    wasmHeapBytes: heap,
    wasmHeapLimitBytes: heap === null ? null : WASM_HEAP_LIMIT_BYTES,
    kernelCacheBytes: flippedFilterCache.sizeBytes,
    rssBytes: process.memoryUsage().rss,
  };
}
