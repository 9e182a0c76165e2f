import type { TensorRecord } from '../tensor_data.ts';
import { levelGeometry, type GlowConfig } from './config.ts';

/**
 * Glow weights by name, in tfjs layouts (NHWC convolutions: kernels [kh, kw, in, out]).
 * Per flow step, under `level{l}.step{k}.`:
 *   actnorm.bias, actnorm.logs               [C]      h ← (h + bias)·exp(logs)
 *   invconv.weight                           [C, C]   h ← W·h per pixel (row = output channel)
 *   coupling.conv1.kernel / .bias            [3, 3, C/2, hidden] / [hidden]
 *   coupling.actnorm1.bias / .logs           [hidden]
 *   coupling.conv2.kernel / .bias            [1, 1, hidden, hidden] / [hidden]
 *   coupling.actnorm2.bias / .logs           [hidden]
 *   coupling.conv3.kernel / .bias            [3, 3, hidden, C] / [C]   output channel 2j → scale, 2j+1 → shift
 *   coupling.logs                            [C]      conv3 output × exp(3·logs)
 * A trainer may pass tf.Variables: every function of the weights is differentiable with respect to them.
 */
export type GlowParams = TensorRecord;

export function stepPrefix(level: number, step: number): string {
  return `level${level}.step${step}.`;
}

/** Every parameter name with its shape, in a stable order. */
export function glowParamShapes(c: GlowConfig): Map<string, number[]> {
  const out = new Map<string, number[]>();
  levelGeometry(c).forEach((g, l) => {
    const C = g.channels;
    const H = c.hidden;
    for (let k = 0; k < g.steps; k++) {
      const p = stepPrefix(l, k);
      out.set(`${p}actnorm.bias`, [C]);
      out.set(`${p}actnorm.logs`, [C]);
      out.set(`${p}invconv.weight`, [C, C]);
      out.set(`${p}coupling.conv1.kernel`, [3, 3, C / 2, H]);
      out.set(`${p}coupling.conv1.bias`, [H]);
      out.set(`${p}coupling.actnorm1.bias`, [H]);
      out.set(`${p}coupling.actnorm1.logs`, [H]);
      out.set(`${p}coupling.conv2.kernel`, [1, 1, H, H]);
      out.set(`${p}coupling.conv2.bias`, [H]);
      out.set(`${p}coupling.actnorm2.bias`, [H]);
      out.set(`${p}coupling.actnorm2.logs`, [H]);
      out.set(`${p}coupling.conv3.kernel`, [3, 3, H, C]);
      out.set(`${p}coupling.conv3.bias`, [C]);
      out.set(`${p}coupling.logs`, [C]);
    }
  });
  return out;
}

/** Throws unless `params` holds exactly the expected names and shapes. */
export function checkGlowParams(c: GlowConfig, params: GlowParams): void {
  const expected = glowParamShapes(c);
  for (const [name, shape] of expected) {
    const t = params[name];
    if (!t) throw new Error(`glow weights: missing ${name}`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`glow weights: ${name} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
  }
  for (const name of Object.keys(params)) {
    if (!expected.has(name)) throw new Error(`glow weights: unexpected ${name}`);
  }
}

export function countGlowParams(c: GlowConfig): number {
  let n = 0;
  for (const s of glowParamShapes(c).values()) n += s.reduce((a, b) => a * b, 1);
  return n;
}
