/** The standard DCGAN generator: z [B, latentDim] → 4×4 → 8×8 → 16×16 → 32×32 → 64×64 images, tanh output. */
export interface DcganConfig {
  latentDim: number;
  /** Feature maps of the last hidden layer (widths 8·ngf, 4·ngf, 2·ngf, ngf). */
  ngf: number;
  channels: number;
  size: number;
  /** BatchNorm epsilon (PyTorch default 1e-5). */
  bnEps: number;
}

export const DCGAN_LAYERS = 5;

export function validateDcganConfig(c: DcganConfig): DcganConfig {
  for (const [k, v] of Object.entries({ latentDim: c.latentDim, ngf: c.ngf, channels: c.channels })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`dcgan config: ${k} must be a positive integer (got ${v})`);
  }
  if (c.size !== 64) throw new Error(`dcgan config: only 64×64 generators are supported (got ${c.size})`);
  if (!(c.bnEps > 0)) throw new Error('dcgan config: bnEps must be > 0');
  return c;
}

export function dcganConfig(c: Partial<DcganConfig> = {}): DcganConfig {
  return validateDcganConfig({ latentDim: 100, ngf: 64, channels: 3, size: 64, bnEps: 1e-5, ...c });
}

/** [in, out] channels of each transposed convolution. */
export function dcganLayerChannels(c: DcganConfig): Array<[number, number]> {
  const widths = [c.latentDim, 8 * c.ngf, 4 * c.ngf, 2 * c.ngf, c.ngf, c.channels];
  return widths.slice(0, -1).map((w, i) => [w, widths[i + 1]!]);
}

/**
 * Weight names and shapes (tfjs layout):
 *   layers.{i}.kernel          [4, 4, in, out]   transposed-convolution taps: out[y·s − p + ky] += in[y]·kernel[ky]
 *   layers.{i}.bn.gamma / .beta / .mean / .variance   [out]   for i < 4 (running statistics used in eval mode)
 */
export function dcganParamShapes(c: DcganConfig): Map<string, number[]> {
  const out = new Map<string, number[]>();
  dcganLayerChannels(c).forEach(([cin, cout], i) => {
    out.set(`layers.${i}.kernel`, [4, 4, cin, cout]);
    if (i < DCGAN_LAYERS - 1) {
      for (const s of ['gamma', 'beta', 'mean', 'variance']) out.set(`layers.${i}.bn.${s}`, [cout]);
    }
  });
  return out;
}
