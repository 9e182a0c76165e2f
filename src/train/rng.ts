/**
 * The trainer's random numbers: mulberry32 with a state that can be saved and restored, so a resumed run draws
 * exactly the numbers the uninterrupted run would have drawn.
 */
import { SeededRandom } from '../models/random.ts';

export interface RngState {
  /** Generator state (uint32). */
  state: number;
  /** The second Box–Muller value not yet handed out, or null. */
  spare: number | null;
}

/** SeededRandom's generator (uniforms, normals) plus a state that checkpoints can save and restore. */
export class TrainRandom extends SeededRandom {
  static fromState(s: RngState): TrainRandom {
    const r = new TrainRandom(0);
    r.setState(s);
    return r;
  }

  getState(): RngState {
    return { state: this.state, spare: this.spare };
  }

  setState(s: RngState): void {
    if (!Number.isInteger(s.state) || s.state < 0 || s.state > 0xffffffff) throw new Error(`rng state must be a uint32, got ${s.state}`);
    if (s.spare !== null && !Number.isFinite(s.spare)) throw new Error('rng spare value must be finite or null');
    this.state = s.state;
    this.spare = s.spare;
  }

  /** Fisher–Yates shuffle of 0..n−1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    return p;
  }
}

/**
 * The visiting order of epoch `epoch`, a function of (seed, epoch) only: a checkpoint needs to store only the
 * epoch and the position in it, not the permutation.
 */
export function epochPermutation(n: number, seed: number, epoch: number): Int32Array {
  // A separate stream per epoch; the multiplier spreads neighbouring (seed, epoch) pairs apart.
  return new TrainRandom((Math.imul(seed + 1, 0x85ebca6b) ^ Math.imul(epoch + 1, 0xc2b2ae35)) >>> 0).permutation(n);
}
