import { fromPlanes, toPlanes } from './color.ts';
import { matchBlocks, matchBuffers } from './matching.ts';
import { BlockSpectra } from './spectra.ts';
import { dctMatrix, haarAlongGroup, inverseBlockTransform, inverseHaarAlongGroup, kaiserWindow } from './transforms.ts';

/** Parameters of one BM3D stage, in Dabov et al.'s terms (pixel values on the 0…255 scale). */
export interface Bm3dStageParams {
  /** N1: block side. */
  blockSize: number;
  /** N2: most blocks per group (a power of two). */
  maxGroup: number;
  /** Nstep: distance between reference blocks (the last row and column are always included). */
  step: number;
  /** Ns = 2·halfWindow + 1: side of the full-search window. */
  halfWindow: number;
  /** τ_match: largest block distance ‖Z_R − Z_x‖²/N1² on the luminance (R+G+B)/3 for a block to join a group. */
  matchThreshold: number;
  /** β of the Kaiser aggregation window. */
  kaiserBeta: number;
}

export interface Bm3dParams {
  hard: Bm3dStageParams & { /** λ_3D: hard threshold in units of σ. */ lambda3d: number };
  wiener: Bm3dStageParams;
}

/**
 * Dabov et al.'s published profile (IEEE TIP 2007; CBM3D, ICIP 2007) for σ ≤ 40 (0…255 scale): 8×8 blocks, groups
 * of up to 16 (hard thresholding) and 32 (Wiener), step 3, 39×39 search, λ_3D = 2.7, τ_match 3000 and 400, β = 2.
 * Stage 1 uses the 2-D DCT here where they use bior1.5 (both are allowed in Lebrun's IPOL description; see
 * docs/baselines.md for the measured effect).
 */
export const BM3D_PARAMS_LOW_NOISE: Bm3dParams = {
  hard: { blockSize: 8, maxGroup: 16, step: 3, halfWindow: 19, matchThreshold: 3000, kaiserBeta: 2, lambda3d: 2.7 },
  wiener: { blockSize: 8, maxGroup: 32, step: 3, halfWindow: 19, matchThreshold: 400, kaiserBeta: 2 },
};

/**
 * Dabov et al.'s profile for σ > 40 ('vn', from Hou et al.'s comment on the TIP paper, the default of their code for
 * strong noise): groups of 32 and λ_3D = 2.8 in stage 1 with a loose τ_match, 11×11 blocks every 6 pixels in stage 2.
 */
export const BM3D_PARAMS_HIGH_NOISE: Bm3dParams = {
  hard: { blockSize: 8, maxGroup: 32, step: 4, halfWindow: 19, matchThreshold: 25000, kaiserBeta: 2, lambda3d: 2.8 },
  wiener: { blockSize: 11, maxGroup: 32, step: 6, halfWindow: 19, matchThreshold: 3500, kaiserBeta: 2 },
};

export function bm3dParamsFor(sigma: number): Bm3dParams {
  return sigma * 255 > 40 ? BM3D_PARAMS_HIGH_NOISE : BM3D_PARAMS_LOW_NOISE;
}

/** Smallest image side BM3D accepts (one block of the high-noise profile, plus room to match). */
export const BM3D_MIN_SIDE = 16;

/**
 * Colour BM3D (CBM3D) of an HWC image with values on the [0,1] scale and additive white Gaussian noise of standard
 * deviation `sigma` (same scale). Colour images are filtered in the opponent space with groups formed once on the
 * luminance and shared by all three channels; other channel counts are filtered channel by channel, matched on
 * the first. Returns the estimate, HWC, not clipped.
 */
export function bm3dDenoise(
  noisy: Float32Array,
  shape: readonly [number, number, number],
  sigma: number,
  params: Bm3dParams = bm3dParamsFor(sigma),
): Float32Array {
  return bm3dStages(noisy, shape, sigma, params).final;
}

/** Both estimates: `basic` after hard thresholding (stage 1), `final` after Wiener filtering (stage 2). */
export function bm3dStages(
  noisy: Float32Array,
  shape: readonly [number, number, number],
  sigma: number,
  params: Bm3dParams = bm3dParamsFor(sigma),
): { basic: Float32Array; final: Float32Array } {
  const [h, w, channels] = shape;
  if (noisy.length !== h * w * channels) throw new Error(`expected ${h * w * channels} values, got ${noisy.length}`);
  if (h < BM3D_MIN_SIDE || w < BM3D_MIN_SIDE) throw new Error(`bm3d needs images of at least ${BM3D_MIN_SIDE}×${BM3D_MIN_SIDE}`);
  if (!(sigma > 0)) return { basic: noisy.slice(), final: noisy.slice() };
  const s = sigma * 255;
  const planes = toPlanes(noisy, h, w, channels, 255);
  // The opponent luminance is √3 times the mean (R+G+B)/3 the thresholds were published for: squared distances 3×.
  const distanceScale = channels === 3 ? 3 : 1;
  const basic = runStage(planes, planes, h, w, s, params.hard, distanceScale, 'hard', params.hard.lambda3d);
  const final = runStage(planes, basic, h, w, s, params.wiener, distanceScale, 'wiener', 0);
  return { basic: fromPlanes(basic, h, w, 255), final: fromPlanes(final, h, w, 255) };
}

/** 0, step, 2·step, … and always the last position, so every pixel is covered by some reference block. */
function referencePositions(count: number, step: number): number[] {
  const out: number[] = [];
  for (let p = 0; p < count; p += step) out.push(p);
  if (out[out.length - 1] !== count - 1) out.push(count - 1);
  return out;
}

/**
 * One stage over the whole image. 'hard': group the noisy blocks (matched on the noisy luminance), 3-D transform,
 * hard-threshold at λ_3D·σ, weight 1/(σ²·N_kept). 'wiener': group by matching on the basic estimate, shrink the
 * noisy group's 3-D spectrum by |B|²/(|B|² + σ²) of the basic estimate's, weight 1/(σ²·‖shrinkage‖²). Both
 * aggregate the inverse-transformed blocks with a Kaiser window.
 */
function runStage(
  noisy: Float32Array[],
  pilot: Float32Array[],
  h: number,
  w: number,
  sigma: number,
  p: Bm3dStageParams,
  distanceScale: number,
  mode: 'hard' | 'wiener',
  lambda3d: number,
): Float32Array[] {
  const n = p.blockSize;
  const nn = n * n;
  const channels = noisy.length;
  const d = dctMatrix(n);
  const kaiser = kaiserWindow(n, p.kaiserBeta);
  const noisySpectra = noisy.map((plane) => new BlockSpectra(plane, h, w, d, n));
  const pilotSpectra = mode === 'wiener' ? pilot.map((plane) => new BlockSpectra(plane, h, w, d, n)) : null;
  const matchPlane = pilot[0];
  const maxSsd = p.matchThreshold * nn * distanceScale;
  const num = noisy.map(() => new Float32Array(h * w));
  const den = noisy.map(() => new Float32Array(h * w));
  const group = new Float32Array(nn * p.maxGroup);
  const pilotGroup = new Float32Array(nn * p.maxGroup);
  const haarTmp = new Float32Array(nn * p.maxGroup);
  const estimate = new Float32Array(nn);
  const tmp = new Float64Array(nn);
  const match = matchBuffers(p.maxGroup);
  const sigma2 = sigma * sigma;
  const threshold = lambda3d * sigma;
  const positionsH = h - n + 1;
  const positionsW = w - n + 1;
  const refCols = referencePositions(positionsW, p.step);

  for (const r0 of referencePositions(positionsH, p.step)) {
    for (const s of noisySpectra) s.dropRowsBelow(r0 - p.halfWindow);
    pilotSpectra?.forEach((s) => s.dropRowsBelow(r0 - p.halfWindow));
    for (const c0 of refCols) {
      const count = matchBlocks(matchPlane, h, w, n, r0, c0, p.halfWindow, p.maxGroup, maxSsd, match);
      for (let ch = 0; ch < channels; ch++) {
        gatherGroup(noisySpectra[ch], match.rows, match.cols, count, nn, group);
        haarAlongGroup(group, nn, count, haarTmp);
        const size = nn * count;
        let weight: number;
        if (mode === 'hard') {
          let kept = 0;
          for (let i = 0; i < size; i++) {
            if (Math.abs(group[i]) > threshold) kept++;
            else group[i] = 0;
          }
          weight = kept > 0 ? 1 / (sigma2 * kept) : 1;
        } else {
          gatherGroup(pilotSpectra![ch], match.rows, match.cols, count, nn, pilotGroup);
          haarAlongGroup(pilotGroup, nn, count, haarTmp);
          let energy = 0;
          for (let i = 0; i < size; i++) {
            const b2 = pilotGroup[i] * pilotGroup[i];
            const shrink = b2 / (b2 + sigma2);
            group[i] *= shrink;
            energy += shrink * shrink;
          }
          weight = energy > 0 ? 1 / (sigma2 * energy) : 1;
        }
        inverseHaarAlongGroup(group, nn, count, haarTmp);
        const numC = num[ch];
        const denC = den[ch];
        for (let j = 0; j < count; j++) {
          inverseBlockTransform(group, j * nn, estimate, 0, d, n, tmp);
          const r = match.rows[j];
          const c = match.cols[j];
          for (let x = 0; x < n; x++) {
            const rowBase = (r + x) * w + c;
            for (let y = 0; y < n; y++) {
              const kw = weight * kaiser[x * n + y];
              numC[rowBase + y] += kw * estimate[x * n + y];
              denC[rowBase + y] += kw;
            }
          }
        }
      }
    }
  }
  return num.map((nu, ch) => {
    const out = new Float32Array(h * w);
    const de = den[ch];
    for (let i = 0; i < out.length; i++) out[i] = de[i] > 0 ? nu[i] / de[i] : noisy[ch][i];
    return out;
  });
}

/** Block-major group: g[j·nn + k] = coefficient k of matched block j. */
function gatherGroup(
  spectra: BlockSpectra,
  rows: Int32Array,
  cols: Int32Array,
  count: number,
  nn: number,
  g: Float32Array,
): void {
  for (let j = 0; j < count; j++) {
    const off = cols[j] * nn;
    g.set(spectra.row(rows[j]).subarray(off, off + nn), j * nn);
  }
}
