import { levelGeometry, type GlowConfig } from '../models/glow/config.ts';

/**
 * The wasm backend's heap is capped at 4 GiB and an allocation beyond it aborts the process, so the trainer
 * refuses batch sizes that would not fit instead of crashing hours into a run.
 *
 * A training step keeps every activation of the forward pass for the backward pass: per flow step roughly
 * `ACTIVATION_FACTOR` float32 tensors of `pixels × (hidden + channels)` values per sample. The factor was
 * measured (wasm heap high-water mark, 64×64 inputs, batch 2 → 8): K=8 L=4 hidden=128 grows 84.7 MiB per sample
 * (estimate 85.8), K=4 L=3 hidden=128 ~36 MB (estimate 43). The data-dependent initialisation (83 MiB per sample
 * at K=8) and validation hold a whole forward pass too and are held to the same bound.
 */
const ACTIVATION_FACTOR = 14.5;

/** What one more sample in a batch costs on the heap, in bytes. */
export function glowBytesPerSample(config: GlowConfig): number {
  let floats = 0;
  for (const g of levelGeometry(config)) floats += g.steps * g.size * g.size * (config.hidden + g.channels);
  return ACTIVATION_FACTOR * 4 * floats;
}

/** Heap a batch may use: the 4 GiB ceiling less room for weights, optimiser state and the allocator's slack. */
export const WASM_BATCH_BUDGET_BYTES = 3.2 * 1024 ** 3;

/** The largest batch whose activations fit the budget (at least 0). */
export function maxGlowBatch(config: GlowConfig, budget = WASM_BATCH_BUDGET_BYTES): number {
  return Math.floor(budget / glowBytesPerSample(config));
}

export function formatBytes(n: number): string {
  return n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(2)} GiB` : `${(n / 1024 ** 2).toFixed(0)} MiB`;
}
