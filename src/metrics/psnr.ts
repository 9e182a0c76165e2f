// PSNR as the paper reports it: on images clipped to [0,1], data range 1, MSE over all H·W·C values.

function clip(v: number): number {
  return v > 1 ? 1 : v > 0 ? v : 0;
}

/** Mean squared error between two images after clipping both to [0,1]. */
export function mseClipped(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length || x.length === 0) throw new RangeError(`images differ in size: ${x.length} vs ${y.length}`);
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    const d = clip(x[i] as number) - clip(y[i] as number);
    s += d * d;
  }
  return s / x.length;
}

/** 10·log10(1/MSE) in dB; Infinity for identical images. */
export function psnr(x: ArrayLike<number>, y: ArrayLike<number>): number {
  return -10 * Math.log10(mseClipped(x, y));
}
