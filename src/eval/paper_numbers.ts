// The numbers reported by Asim et al. (ICML 2020) on 12 CelebA-HQ 64×64 test images, PSNR in dB.
// They apply only to the paper's exact measurement settings, which `paperPsnr` checks.

/** 64·64·3: the paper's image size; its m values mean nothing for another n. */
export const PAPER_N = 12288;

/** Compressive sensing with A ~ N(0, 1/m) and noise ‖η‖ ≈ 0.1, by m. */
export const PAPER_CS_NOISE_NORM = 0.1;
export const PAPER_CS_PSNR: Readonly<Record<'glow' | 'dcgan' | 'lasso-dct' | 'lasso-wvt', Readonly<Record<number, number>>>> = {
  glow: { 12288: 38.65, 7500: 37.84, 5000: 36.95, 2500: 34.56, 1000: 30.09, 500: 27.0, 200: 22.77, 50: 18.09 },
  dcgan: { 12288: 22.27, 7500: 22.12, 5000: 22.13, 2500: 22.03, 1000: 21.57, 500: 20.75, 200: 19.05, 50: 14.09 },
  'lasso-dct': { 12288: 36.56, 7500: 30.72, 5000: 26.44, 2500: 21.76, 1000: 17.77, 500: 15.7, 200: 13.77, 50: 12.13 },
  'lasso-wvt': { 12288: 33.89, 7500: 27.56, 5000: 22.73, 2500: 18.11, 1000: 14.6, 500: 12.96, 200: 12.17, 50: 11.81 },
};

/** Denoising, y = x + N(0, σ²): Glow at its best γ (‖z‖ penalty), BM3D, DCGAN, and the noisy input itself. */
export interface PaperDenoiseRow {
  sigma: number;
  noisyInput: number;
  glow: number;
  bm3d: number;
  dcgan?: number;
}
export const PAPER_DENOISE: readonly PaperDenoiseRow[] = [
  { sigma: 0.05, noisyInput: 26.2, glow: 34.0, bm3d: 33.9 },
  { sigma: 0.1, noisyInput: 20.5, glow: 30.5, bm3d: 29.9, dcgan: 21.9 },
  { sigma: 0.2, noisyInput: 15.1, glow: 27.1, bm3d: 25.2 },
];

/** Inpainting a 19×19 hole at rows/columns 22–40, no noise (Glow at γ ≈ 0.05). */
export const PAPER_INPAINT_PSNR: Readonly<Record<'glow' | 'dcgan', number>> = { glow: 34.9, dcgan: 22.1 };
/** Observed values with the paper's hole: 12288 − 19·19·3. */
export const PAPER_INPAINT_M = PAPER_N - 19 * 19 * 3;

/** A measurement setting as results.csv records it (numbers as numbers; absent = not applicable). */
export interface PaperCell {
  problem: string;
  prior: string;
  /** Number of measurements. */
  m: number;
  /** Gaussian noise σ (0 = no noise); absent when the noise is given by its norm. */
  sigma?: number;
  /** ‖η‖ of compressive-sensing noise; absent for σ noise. */
  noiseNorm?: number;
  /** Image size n = H·W·C. */
  n: number;
}

const close = (a: number | undefined, b: number): boolean => a !== undefined && Math.abs(a - b) < 1e-9;

/** The paper's PSNR for this prior and measurement setting, or undefined where the paper reports none. */
export function paperPsnr(c: PaperCell): number | undefined {
  if (c.n !== PAPER_N) return undefined;
  switch (c.problem) {
    case 'cs': {
      if (!close(c.noiseNorm, PAPER_CS_NOISE_NORM) || c.sigma !== undefined) return undefined;
      const table = PAPER_CS_PSNR[c.prior as keyof typeof PAPER_CS_PSNR];
      return table?.[c.m];
    }
    case 'denoise': {
      const row = PAPER_DENOISE.find((r) => close(c.sigma, r.sigma));
      if (!row || c.m !== PAPER_N) return undefined;
      return c.prior === 'glow' ? row.glow : c.prior === 'bm3d' ? row.bm3d : c.prior === 'dcgan' ? row.dcgan : undefined;
    }
    case 'inpaint':
      if (c.m !== PAPER_INPAINT_M || !(c.sigma === 0)) return undefined;
      return PAPER_INPAINT_PSNR[c.prior as keyof typeof PAPER_INPAINT_PSNR];
    default:
      return undefined;
  }
}

/** The paper's noisy-input PSNR for denoising at σ, where it gives one. */
export function paperNoisyInputPsnr(sigma: number): number | undefined {
  return PAPER_DENOISE.find((r) => close(sigma, r.sigma))?.noisyInput;
}
