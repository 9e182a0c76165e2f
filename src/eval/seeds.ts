// Every random thing in a sweep (the matrix A, the noise, random starts) gets its seed from the run's --seed and
// the names of what it belongs to, so any single cell can be regenerated without replaying the sweep.
import { mix32 } from '../util/random.ts';

/** FNV-1a over the UTF-8 bytes of a string, 32 bits. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(s, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** A seed in [0, 2³²) that is a pure function of the base seed and the parts (order matters). */
export function deriveSeed(base: number, ...parts: readonly (string | number)[]): number {
  let h = mix32(base >>> 0);
  for (const p of parts) h = mix32((h ^ fnv1a(String(p))) >>> 0);
  return h;
}

export interface CellSeeds {
  /** Seeds the operator (the Gaussian A): shared by every image of a measurement setting, so a batch holds one A. */
  operator: number;
  /** Seeds this image's measurement noise. */
  noise: number;
  /** The problem's seed: random starts (normal:σ, and the direction of norm:r). */
  problem: number;
}

/**
 * Seeds of one image under one measurement setting. They do not depend on the prior or the solver setting, so
 * every prior, γ, init and optimizer sees the same y for the same image; A depends on the operator only (the
 * same A at every noise level).
 */
export function cellSeeds(base: number, operatorKey: string, measurementKey: string, imageKey: string): CellSeeds {
  return {
    operator: deriveSeed(base, 'operator', operatorKey),
    noise: deriveSeed(base, 'noise', measurementKey, imageKey),
    problem: deriveSeed(base, 'problem', measurementKey, imageKey),
  };
}
