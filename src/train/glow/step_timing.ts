import { memoryStats, tf } from '../../engine/index.ts';
import type { GlowConfig } from '../../models/glow/config.ts';
import { TrainRandom } from '../rng.ts';
import { GlowTrainer } from './trainer.ts';

export interface StepTiming {
  /** Seconds per step (clipping, Adam and weight average included), in the order measured. */
  seconds: number[];
  median: number;
  /** wasm heap after the steps, bytes (null off wasm). */
  heapBytes: number | null;
}

/**
 * Times full training steps of a Glow on random model-space batches (after the ActNorm initialisation and
 * `warmup` untimed steps): the number docs/training.md compares with the PyTorch trainer.
 */
export function timeGlowTrainingStep(config: GlowConfig, batch: number, steps = 5, warmup = 1): StepTiming {
  const trainer = new GlowTrainer(config, { seed: 0 });
  const rng = new TrainRandom(0);
  const n = batch * config.size * config.size * config.channels;
  const x = tf.tensor4d(Float32Array.from({ length: n }, () => rng.next() - 0.5), [batch, config.size, config.size, config.channels]);
  try {
    trainer.initActNorm(x);
    for (let i = 0; i < warmup; i++) trainer.step(x, 1e-4);
    const seconds: number[] = [];
    for (let i = 0; i < steps; i++) {
      const t = performance.now();
      trainer.step(x, 1e-4);
      seconds.push((performance.now() - t) / 1000);
    }
    const sorted = [...seconds].sort((a, b) => a - b);
    const heap = memoryStats().wasmHeapBytes;
    return { seconds, median: sorted[Math.floor(sorted.length / 2)]!, heapBytes: heap };
  } finally {
    x.dispose();
    trainer.dispose();
  }
}
