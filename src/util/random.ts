// Seeded, counter-based random numbers that any client can regenerate bit for bit (docs/operators.md has a
// NumPy version). Counter-based rather than sequential: the k-th number is a pure function of (seed, stream, k),
// so a client can vectorise it and we can fill large arrays in any order.

/** Independent streams: the same user seed used for two purposes must not give correlated numbers. */
export const Stream = {
  gaussianOperator: 0,
  noise: 1,
  mask: 2,
  latentInit: 3,
  general: 4,
} as const;

const TWO_POW_32 = 4294967296;

/** lowbias32 (C. Wellons): a bijective 32-bit integer mixer with low avalanche bias. */
export function mix32(x: number): number {
  x >>>= 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** The two 32-bit keys derived from a (seed, stream) pair. */
export function streamKeys(seed: number, stream: number): [number, number] {
  checkSeed(seed);
  const k1 = mix32((seed ^ mix32(stream)) >>> 0);
  const k2 = mix32((k1 ^ 0x68e31da4) >>> 0);
  return [k1, k2];
}

/** The k-th 32-bit word of a stream (0 ≤ k < 2³²). */
export function bitsAt(k1: number, k2: number, k: number): number {
  return mix32((mix32((k + k1) >>> 0) ^ k2) >>> 0);
}

export function checkSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0 || seed >= TWO_POW_32) {
    throw new RangeError(`seed must be an integer in [0, 2^32), got ${seed}`);
  }
}

/**
 * Standard normals number `start` … `start + out.length − 1` of a stream, times `scale`, written to `out`.
 * Normal 2p and 2p+1 come from one Box–Muller pair built from words 2p and 2p+1:
 * u1 = (w(2p) + 1)/2³², u2 = w(2p+1)/2³², r = √(−2 ln u1), normals r·cos(2πu2), r·sin(2πu2) — float64, then
 * stored in `out` (rounded to float32 when `out` is a Float32Array).
 */
export function fillNormal(
  out: Float32Array | Float64Array,
  seed: number,
  stream: number,
  scale = 1,
  start = 0,
): void {
  const [k1, k2] = streamKeys(seed, stream);
  const end = start + out.length;
  if (end > TWO_POW_32) throw new RangeError('stream exhausted: more than 2^32 normals requested');
  let i = 0;
  let k = start;
  if (k & 1) {
    out[i++] = normalPair(k1, k2, k - 1, true) * scale;
    k++;
  }
  const TWO_PI = 2 * Math.PI;
  for (; k + 1 < end; k += 2) {
    const u1 = (bitsAt(k1, k2, k) + 1) / TWO_POW_32;
    const u2 = bitsAt(k1, k2, k + 1) / TWO_POW_32;
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i++] = r * Math.cos(TWO_PI * u2) * scale;
    out[i++] = r * Math.sin(TWO_PI * u2) * scale;
  }
  if (k < end) out[i] = normalPair(k1, k2, k, false) * scale;
}

/** One normal: the cos (second=false) or sin (second=true) half of the pair whose first word index is k (even). */
function normalPair(k1: number, k2: number, k: number, second: boolean): number {
  const u1 = (bitsAt(k1, k2, k) + 1) / TWO_POW_32;
  const u2 = bitsAt(k1, k2, k + 1) / TWO_POW_32;
  const r = Math.sqrt(-2 * Math.log(u1));
  return second ? r * Math.sin(2 * Math.PI * u2) : r * Math.cos(2 * Math.PI * u2);
}

/** The k-th standard normal of a stream (same value fillNormal writes at position k). */
export function normalAt(seed: number, stream: number, k: number): number {
  const [k1, k2] = streamKeys(seed, stream);
  return normalPair(k1, k2, k - (k & 1), (k & 1) === 1);
}

/** A sequential view of one stream, for code that just wants "the next random number". */
export class Rng {
  private readonly k1: number;
  private readonly k2: number;
  private counter = 0;

  constructor(seed: number, stream: number = Stream.general) {
    [this.k1, this.k2] = streamKeys(seed, stream);
  }

  /** Next 32-bit word. */
  nextUint32(): number {
    if (this.counter >= TWO_POW_32) throw new RangeError('stream exhausted');
    return bitsAt(this.k1, this.k2, this.counter++);
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** Uniform integer in [0, n), n ≤ 2³², by rejection (no modulo bias). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > TWO_POW_32) throw new RangeError(`int(n) needs 1 ≤ n ≤ 2^32, got ${n}`);
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    for (;;) {
      const w = this.nextUint32();
      if (w < limit) return w % n;
    }
  }

  /** Standard normal (Box–Muller on two consecutive words; the sine half is discarded for simplicity). */
  normal(): number {
    const u1 = (this.nextUint32() + 1) / TWO_POW_32;
    const u2 = this.nextUint32() / TWO_POW_32;
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
}

/**
 * k distinct indices from [0, n), in the order a partial Fisher–Yates shuffle draws them
 * (swap position i with i + rng.int(n − i), for i = 0 … k−1).
 */
export function sampleWithoutReplacement(n: number, k: number, rng: Rng): Uint32Array {
  if (k > n) throw new RangeError(`cannot draw ${k} of ${n}`);
  const perm = new Uint32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(n - i);
    const t = perm[i] as number;
    perm[i] = perm[j] as number;
    perm[j] = t;
  }
  return perm.slice(0, k);
}
