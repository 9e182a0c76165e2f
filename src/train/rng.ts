/**
 * The trainer's random numbers: mulberry32 with a state that can be saved and restored, so a resumed run draws
 * exactly the numbers the uninterrupted run would have drawn (the same generator as models/random.ts).
 */
export interface RngState {
  /** Generator state (uint32). */
  state: number;
  /** The second Box–Muller value not yet handed out, or null. */
  spare: number | null;
}

export class TrainRandom {
  private state: number;
  private spare: number | null = null;

  constructor(seed: number) {
    this.state = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0;
  }

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

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Standard normal (Box–Muller, both values used). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  normals(n: number, std = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = std * this.normal();
    return out;
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
