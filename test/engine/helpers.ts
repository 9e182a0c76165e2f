import { tf, withBackend } from '../../src/engine/index.ts';

/** Deterministic N(0,1) samples (mulberry32 + Box–Muller), identical on every backend. */
export function randn(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(uniform() + 1e-12)) * Math.cos(2 * Math.PI * uniform());
  return out;
}

/** ‖a − b‖ / ‖b‖ in double precision. */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-30));
}

/**
 * Evaluates `build` (which must create its inputs from JS arrays) on the active backend and on the
 * cpu reference backend; returns both results and their shapes.
 */
export async function onActiveAndCpu(build: () => tf.Tensor): Promise<{ active: Float32Array; cpu: Float32Array; shape: number[]; cpuShape: number[] }> {
  const run = async () => {
    const t = tf.tidy(build);
    const data = (await t.data()) as Float32Array;
    const shape = t.shape;
    t.dispose();
    return { data, shape };
  };
  const a = await run();
  const c = await withBackend('cpu', run);
  return { active: a.data, cpu: c.data, shape: a.shape, cpuShape: c.shape };
}
