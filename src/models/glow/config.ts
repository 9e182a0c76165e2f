/** Architecture of a Glow prior (the GlowIP reference layout). */
export type SqueezeVariant = 'spatial' | 'legacy2019';

export interface GlowConfig {
  /** Flow steps on each of the levels 1..L−1 (the top level has one). */
  K: number;
  /** Number of levels. */
  L: number;
  /** Width of the coupling networks. */
  hidden: number;
  /** Bit depth the likelihood is measured at (bits/dim). */
  nBits: number;
  /** Image height = width. */
  size: number;
  channels: number;
  squeeze: SqueezeVariant;
  /** Added to the top step's coupling scale: 1 in the current reference code, 0 in its 2019 code. */
  topStepCouplingBias: number;
}

/** One level's geometry inside the flow (after its squeeze). */
export interface LevelGeometry {
  /** Channels flowing through the level's steps. */
  channels: number;
  /** Spatial size (height = width). */
  size: number;
  steps: number;
}

/** A latent block as the reference flattens it: channel-major [C, H, W]. */
export type LatentShape = readonly [channels: number, height: number, width: number];

export function validateGlowConfig(c: GlowConfig): GlowConfig {
  const int = (v: number, name: string, min: number): void => {
    if (!Number.isInteger(v) || v < min) throw new Error(`glow config: ${name} must be an integer ≥ ${min} (got ${v})`);
  };
  int(c.K, 'K', 1);
  int(c.L, 'L', 1);
  int(c.hidden, 'hidden', 1);
  int(c.nBits, 'nBits', 1);
  int(c.size, 'size', 2);
  int(c.channels, 'channels', 1);
  if (c.squeeze !== 'spatial' && c.squeeze !== 'legacy2019') {
    throw new Error(`glow config: squeeze must be 'spatial' or 'legacy2019' (got ${String(c.squeeze)})`);
  }
  if (!Number.isFinite(c.topStepCouplingBias) || c.topStepCouplingBias < 0) {
    throw new Error('glow config: topStepCouplingBias must be a finite number ≥ 0');
  }
  // Each squeeze halves the size; the 2019 squeeze also reads rows in quarters.
  const unit = c.squeeze === 'legacy2019' ? 4 : 2;
  if (c.size % (2 ** (c.L - 1) * unit) !== 0) {
    throw new Error(`glow config: size ${c.size} is not divisible by ${2 ** (c.L - 1) * unit} (needed by L=${c.L}, squeeze ${c.squeeze})`);
  }
  return c;
}

export function levelGeometry(c: GlowConfig): LevelGeometry[] {
  const out: LevelGeometry[] = [];
  let ch = c.channels;
  let s = c.size;
  for (let l = 0; l < c.L; l++) {
    ch *= 4;
    s /= 2;
    const top = l === c.L - 1;
    out.push({ channels: ch, size: s, steps: top ? 1 : c.K });
    if (!top) ch /= 2;
  }
  return out;
}

/** Latent blocks in the order of the flat z: one per split, then the top level. */
export function latentShapes(c: GlowConfig): LatentShape[] {
  return levelGeometry(c).map((g, l) =>
    l === c.L - 1 ? ([g.channels, g.size, g.size] as const) : ([g.channels / 2, g.size, g.size] as const),
  );
}

export function latentDim(c: GlowConfig): number {
  return latentShapes(c).reduce((a, [ch, h, w]) => a + ch * h * w, 0);
}
