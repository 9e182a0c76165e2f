// Installs / removes the wasm kernel overrides. Must run after the wasm backend is initialised:
// stock kernels are wired to the wasm module by their setupFunc at backend initialisation, and the
// overrides call those stock kernels.
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs';
import { conv2dBackpropFilterWasm } from './conv_backprop_filter.ts';
import { conv2dBackpropInputViaForward, flippedFilterCache } from './conv_backprop_input.ts';
import { identityShared } from './identity.ts';
import { batchMatMulTransposed, fusedMatMulTransposed } from './matmul_transposed.ts';
import { captureStock } from './wasm_ops.ts';

export type WasmPatchName = 'Conv2DBackpropInput' | 'Conv2DBackpropFilter' | 'Identity' | 'BatchMatMul' | '_FusedMatMul';

const PATCHES: Record<WasmPatchName, KernelFunc> = {
  Conv2DBackpropInput: conv2dBackpropInputViaForward,
  Conv2DBackpropFilter: conv2dBackpropFilterWasm,
  Identity: identityShared,
  BatchMatMul: batchMatMulTransposed,
  _FusedMatMul: fusedMatMulTransposed,
};

export const ALL_WASM_PATCHES = Object.keys(PATCHES) as WasmPatchName[];

/** Stock configs replaced by an override, or null where wasm had no kernel at all. */
const replaced = new Map<WasmPatchName, KernelConfig | null>();

/** Kernels the overrides call; captured while they are still the stock ones. */
const DEPENDENCIES = ['Conv2D', 'Transpose', 'Reverse', 'BatchMatMul', '_FusedMatMul', 'Identity', 'Conv2DBackpropInput'];

function silentlyRegister(config: KernelConfig): void {
  if (tf.getKernel(config.kernelName, config.backendName)) tf.unregisterKernel(config.kernelName, config.backendName);
  tf.registerKernel(config);
}

/** Replaces the named wasm kernels (default: all) with the overrides; idempotent. */
export function installWasmPatches(names: readonly WasmPatchName[] = ALL_WASM_PATCHES): WasmPatchName[] {
  if (!tf.findBackend('wasm')) throw new Error('installWasmPatches: the wasm backend is not initialised');
  for (const dep of DEPENDENCIES) if (!replaced.has(dep as WasmPatchName)) captureStock(dep);
  for (const name of names) {
    if (replaced.has(name)) continue;
    replaced.set(name, tf.getKernel(name, 'wasm') ?? null);
    silentlyRegister({ kernelName: name, backendName: 'wasm', kernelFunc: PATCHES[name] });
  }
  return activeWasmPatches();
}

/** Restores the stock kernels (and unregisters those wasm never had); frees cached filters. */
export function removeWasmPatches(names: readonly WasmPatchName[] = ALL_WASM_PATCHES): void {
  for (const name of names) {
    if (!replaced.has(name)) continue;
    const original = replaced.get(name) ?? null;
    replaced.delete(name);
    tf.unregisterKernel(name, 'wasm');
    if (original) tf.registerKernel(original);
  }
  if (!replaced.has('Conv2DBackpropInput')) flippedFilterCache.clear();
}

export function activeWasmPatches(): WasmPatchName[] {
  return ALL_WASM_PATCHES.filter((n) => replaced.has(n));
}
