import { tf } from '../engine/index.ts';
import type { WeightArrays } from '../models/tensor_data.ts';

export interface AdamOptions {
  beta1: number;
  beta2: number;
  eps: number;
}

export const ADAM_DEFAULTS: AdamOptions = { beta1: 0.9, beta2: 0.999, eps: 1e-8 };

/**
 * Adam (PyTorch's formulation: p ← p − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε)) with its moments as plain tensors,
 * so a checkpoint can save and restore them bit for bit (tf.train.adam keeps them behind its own variables).
 */
export class Adam {
  readonly options: AdamOptions;
  /** Updates applied so far (t in the bias corrections). */
  t = 0;
  private m = new Map<string, tf.Tensor>();
  private v = new Map<string, tf.Tensor>();

  constructor(opts: Partial<AdamOptions> = {}) {
    this.options = { ...ADAM_DEFAULTS, ...opts };
  }

  /** One update of every variable that has a gradient (`grads` keyed like `vars`). */
  update(vars: Record<string, tf.Variable>, grads: Record<string, tf.Tensor>, lr: number): void {
    const { beta1: b1, beta2: b2, eps } = this.options;
    this.t += 1;
    const stepSize = lr / (1 - b1 ** this.t);
    const sqrtBc2 = Math.sqrt(1 - b2 ** this.t);
    for (const [name, p] of Object.entries(vars)) {
      const g = grads[name];
      if (!g) continue;
      const m0 = this.m.get(name);
      const v0 = this.v.get(name);
      const [m, v] = tf.tidy(() => {
        const m1 = m0 ? tf.add(tf.mul(m0, b1), tf.mul(g, 1 - b1)) : tf.mul(g, 1 - b1);
        const v1 = v0 ? tf.add(tf.mul(v0, b2), tf.mul(tf.square(g), 1 - b2)) : tf.mul(tf.square(g), 1 - b2);
        const denom = tf.add(tf.div(tf.sqrt(v1), sqrtBc2), eps);
        p.assign(tf.sub(p, tf.mul(tf.div(m1, denom), stepSize)));
        return [m1, v1];
      });
      m0?.dispose();
      v0?.dispose();
      this.m.set(name, m!);
      this.v.set(name, v!);
    }
  }

  /** Moments as plain arrays, keyed `m/<name>` and `v/<name>` (absent before the first update). */
  stateArrays(): WeightArrays {
    const out: WeightArrays = new Map();
    for (const [kind, map] of [['m', this.m], ['v', this.v]] as const) {
      for (const [name, t] of map) out.set(`${kind}/${name}`, { shape: t.shape.slice(), data: new Float32Array(t.dataSync()) });
    }
    return out;
  }

  /** Restores the moments written by stateArrays() and the update count. */
  loadState(arrays: WeightArrays, t: number): void {
    this.dispose();
    this.t = t;
    for (const [key, a] of arrays) {
      const slash = key.indexOf('/');
      const kind = key.slice(0, slash);
      const name = key.slice(slash + 1);
      if (kind !== 'm' && kind !== 'v') throw new Error(`adam state: unexpected entry ${key}`);
      (kind === 'm' ? this.m : this.v).set(name, tf.tensor(a.data, a.shape, 'float32'));
    }
    if (this.m.size !== this.v.size) throw new Error('adam state: first and second moments do not match');
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}
