import { tf } from '../engine/index.ts';
import type { WeightArrays } from '../models/tensor_data.ts';

let instances = 0;

/**
 * Trainable weights as tf.Variables keyed by parameter name. tfjs registers variables under globally unique
 * names, so each set gets its own prefix; gradients come back keyed by those names and are mapped back here.
 */
export class VariableSet {
  readonly vars: Record<string, tf.Variable> = {};
  private readonly prefix: string;

  constructor(arrays: WeightArrays, label: string) {
    this.prefix = `train${++instances}_${label}/`;
    // Inside tidy: the variable takes over the buffer and the temporary tensor is released.
    for (const [name, a] of arrays) this.vars[name] = tf.tidy(() => tf.variable(tf.tensor(a.data, a.shape, 'float32'), true, this.prefix + name));
  }

  get names(): string[] {
    return Object.keys(this.vars);
  }

  /** Value and gradients of f with respect to every variable, keyed by parameter name. */
  valueAndGrads(f: () => tf.Scalar): { value: tf.Scalar; grads: Record<string, tf.Tensor> } {
    const { value, grads } = tf.variableGrads(f, Object.values(this.vars));
    const out: Record<string, tf.Tensor> = {};
    for (const [vname, g] of Object.entries(grads)) out[vname.slice(this.prefix.length)] = g;
    return { value, grads: out };
  }

  arrays(): WeightArrays {
    const out: WeightArrays = new Map();
    for (const name of Object.keys(this.vars).sort()) {
      const v = this.vars[name]!;
      out.set(name, { shape: v.shape.slice(), data: new Float32Array(v.dataSync()) });
    }
    return out;
  }

  /** Overwrites every variable from arrays with the same names and shapes. */
  load(arrays: WeightArrays): void {
    const missing = Object.keys(this.vars).filter((n) => !arrays.has(n));
    if (missing.length) throw new Error(`weights: missing ${missing.slice(0, 3).join(', ')}`);
    for (const [name, a] of arrays) {
      const v = this.vars[name];
      if (!v) throw new Error(`weights: unexpected ${name}`);
      if (v.shape.join() !== a.shape.join()) throw new Error(`weights: ${name} has shape [${a.shape}], expected [${v.shape}]`);
      tf.tidy(() => v.assign(tf.tensor(a.data, a.shape, 'float32')));
    }
  }

  dispose(): void {
    for (const v of Object.values(this.vars)) v.dispose();
  }
}

/** An exponential moving average of a variable set (the weights a trainer exports and validates). */
export class WeightAverage {
  readonly values: Record<string, tf.Tensor> = {};

  constructor(source: Record<string, tf.Tensor>) {
    for (const [k, t] of Object.entries(source)) this.values[k] = tf.keep(tf.clone(t));
  }

  /** avg ← decay·avg + (1 − decay)·current, as PyTorch's in-place mul_/add_. */
  update(current: Record<string, tf.Tensor>, decay: number): void {
    for (const [k, t] of Object.entries(current)) {
      const old = this.values[k]!;
      this.values[k] = tf.tidy(() => tf.add(tf.mul(old, decay), tf.mul(t, 1 - decay)));
      old.dispose();
    }
  }

  arrays(): WeightArrays {
    const out: WeightArrays = new Map();
    for (const name of Object.keys(this.values).sort()) {
      const t = this.values[name]!;
      out.set(name, { shape: t.shape.slice(), data: new Float32Array(t.dataSync()) });
    }
    return out;
  }

  load(arrays: WeightArrays): void {
    for (const [name, a] of arrays) {
      if (!(name in this.values)) throw new Error(`weight average: unexpected ${name}`);
      this.values[name]!.dispose();
      this.values[name] = tf.tensor(a.data, a.shape, 'float32');
    }
  }

  dispose(): void {
    for (const t of Object.values(this.values)) t.dispose();
  }
}
