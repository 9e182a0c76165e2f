// Means and 95% confidence intervals of per-image PSNR/SSIM.

export function mean(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/** Sample standard deviation (n − 1 in the denominator); NaN below two values. */
export function sampleSd(values: readonly number[]): number {
  if (values.length < 2) return NaN;
  const mu = mean(values);
  let s = 0;
  for (const v of values) s += (v - mu) * (v - mu);
  return Math.sqrt(s / (values.length - 1));
}

// Two-sided 95% quantiles t_{0.975, df} for df = 1…30 (standard tables, 3 decimals).
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11,
  2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/**
 * t_{0.975} with df degrees of freedom: the table up to 30, then the Cornish–Fisher expansion around
 * z = 1.959964 (error < 1e-4 for df > 30).
 */
export function tQuantile975(df: number): number {
  if (!(df >= 1) || !Number.isInteger(df)) throw new RangeError(`degrees of freedom must be a positive integer, got ${df}`);
  if (df <= T975.length) return T975[df - 1]!;
  const z = 1.959964;
  const z3 = z ** 3;
  const z5 = z ** 5;
  return z + (z3 + z) / (4 * df) + (5 * z5 + 16 * z3 + 3 * z) / (96 * df * df);
}

/** Half-width of the 95% t-interval for the mean, t_{0.975,n−1}·sd/√n; NaN below two values. */
export function ci95HalfWidth(values: readonly number[]): number {
  const n = values.length;
  if (n < 2) return NaN;
  return (tQuantile975(n - 1) * sampleSd(values)) / Math.sqrt(n);
}

/** Items grouped by a string key, in first-seen order. */
export function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    let g = out.get(k);
    if (!g) out.set(k, (g = []));
    g.push(it);
  }
  return out;
}
