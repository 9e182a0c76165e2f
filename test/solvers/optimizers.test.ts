// The optimizers on textbook functions in float64 (no tensors): exact minima are known.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lbfgsMinimize } from '../../src/solvers/lbfgs.ts';
import { referenceLbfgs } from '../../src/solvers/reference_lbfgs.ts';
import { adam } from '../../src/solvers/adam.ts';
import { runSequential, type RunStats } from '../../src/solvers/optimizer.ts';
import { Rng } from '../../src/util/random.ts';

function rosenbrock(x: Float64Array): { f: number; g: Float64Array } {
  // extended Rosenbrock: Σ 100(x[i+1] − x[i]²)² + (1 − x[i])², minimum 0 at (1, …, 1)
  let f = 0;
  const g = new Float64Array(x.length);
  for (let i = 0; i + 1 < x.length; i++) {
    const a = x[i + 1]! - x[i]! * x[i]!;
    const b = 1 - x[i]!;
    f += 100 * a * a + b * b;
    g[i]! += -400 * x[i]! * a - 2 * b;
    g[i + 1]! += 200 * a;
  }
  return { f, g };
}

/** f = ½ xᵀQx − bᵀx with Q = U diag(λ) Uᵀ (λ from 1 to 10⁴), U from Householder reflections. */
function illConditionedQuadratic(n: number, seed: number) {
  const rng = new Rng(seed);
  const v = Float64Array.from({ length: n }, () => rng.normal());
  const vv = v.reduce((s, a) => s + a * a, 0);
  const lambda = Float64Array.from({ length: n }, (_, i) => 10 ** ((4 * i) / (n - 1)));
  const b = Float64Array.from({ length: n }, () => rng.normal());
  // U = I − 2vvᵀ/‖v‖² (symmetric, orthogonal): Qx = U Λ U x
  const reflect = (x: Float64Array) => {
    const c = (2 * x.reduce((s, xi, i) => s + xi * v[i]!, 0)) / vv;
    return x.map((xi, i) => xi - c * v[i]!);
  };
  const q = (x: Float64Array) => reflect(reflect(x).map((u, i) => u * lambda[i]!));
  const xStar = reflect(reflect(b).map((u, i) => u / lambda[i]!));
  const fn = (x: Float64Array) => {
    const qx = q(x);
    const f = 0.5 * x.reduce((s, xi, i) => s + xi * qx[i]!, 0) - x.reduce((s, xi, i) => s + xi * b[i]!, 0);
    return { f, g: qx.map((u, i) => u - b[i]!) };
  };
  return { fn, xStar };
}

test('L-BFGS + strong Wolfe reaches the Rosenbrock minimum (2-D from (−1.2, 1), and 10-D)', () => {
  const r2 = lbfgsMinimize(rosenbrock, Float64Array.from([-1.2, 1]), { tolerance: 1e-15, maxEvaluations: 500 });
  assert.equal(r2.reason, 'converged');
  for (const v of r2.x) assert.ok(Math.abs(v - 1) < 1e-6, `x = ${r2.x}`);
  assert.ok(r2.iterations < 60, `iterations ${r2.iterations}`);
  const x0 = Float64Array.from({ length: 10 }, (_, i) => (i % 2 ? 1 : -1.2));
  const r10 = lbfgsMinimize(rosenbrock, x0, { tolerance: 1e-15, maxEvaluations: 2000 });
  for (const v of r10.x) assert.ok(Math.abs(v - 1) < 1e-5, `x = ${r10.x}`);
});

test('L-BFGS solves an ill-conditioned quadratic (κ = 10⁴) to the closed-form minimiser', () => {
  const { fn, xStar } = illConditionedQuadratic(60, 4);
  const r = lbfgsMinimize(fn, new Float64Array(60), { tolerance: 1e-15, maxEvaluations: 3000, history: 20 });
  const err = Math.max(...r.x.map((v, i) => Math.abs(v - xStar[i]!)));
  const scale = Math.max(...xStar.map(Math.abs));
  assert.ok(err < 1e-6 * scale, `max error ${err} (scale ${scale}), ${r.evaluations} evaluations`);
});

test('budget: stops with max-evaluations and never evaluates more than allowed', () => {
  let count = 0;
  const r = lbfgsMinimize((x) => (count++, rosenbrock(x)), Float64Array.from([-1.2, 1]), { maxEvaluations: 7 });
  assert.equal(r.reason, 'max-evaluations');
  assert.equal(count, 7);
  assert.equal(r.evaluations, 7);
});

test('NaN guard: a function undefined beyond ‖x‖ > 2 is minimised over its domain; no NaN escapes', () => {
  // f = ‖x − (3, 0)‖² inside the disc of radius 2, NaN outside: the constrained minimum is (2, 0)
  const fn = (x: Float64Array) => {
    if (Math.hypot(x[0]!, x[1]!) > 2) return { f: NaN, g: Float64Array.from([NaN, NaN]) };
    return { f: (x[0]! - 3) ** 2 + x[1]! ** 2, g: Float64Array.from([2 * (x[0]! - 3), 2 * x[1]!]) };
  };
  let best = Infinity;
  let nonFinite = 0;
  const r = lbfgsMinimize(fn, Float64Array.from([0, 0.5]), { maxEvaluations: 200 }, (_x, ev) => {
    if (ev.finite) best = Math.min(best, ev.f);
    else nonFinite++;
  });
  assert.ok(nonFinite > 0);
  assert.ok(r.x.every(Number.isFinite));
  assert.ok(Math.hypot(r.x[0]!, r.x[1]!) <= 2);
  assert.ok(fn(r.x).f < 1.2, `f = ${fn(r.x).f} (constrained minimum 1)`);
  // everywhere undefined except the start: the problem is reported diverged at its start point
  const nowhere = (x: Float64Array) =>
    x[0] === 0 && x[1] === 0 ? { f: 1, g: Float64Array.from([1, 1]) } : { f: NaN, g: Float64Array.from([NaN, NaN]) };
  const d = lbfgsMinimize(nowhere, new Float64Array(2), { maxEvaluations: 100 });
  assert.equal(d.reason, 'diverged');
  assert.deepEqual(Array.from(d.x), [0, 0]);
  assert.ok(d.evaluations <= 1 + 7 + 1);
});

test('reference mode (torch.optim.LBFGS semantics): evaluations per step() and convergence on a quadratic', () => {
  const { fn, xStar } = illConditionedQuadratic(20, 9);
  const stats: RunStats = { iterations: 0, evaluations: 0, nonFinite: 0 };
  const losses: number[] = [];
  const out = runSequential(referenceLbfgs(new Float64Array(20), { lr: 1, maxEvaluations: 45 }, stats), fn, (_x, ev) =>
    losses.push(ev.f),
  );
  assert.equal(stats.evaluations, 45);
  // 20 evaluations per step() (iteration 20 of each step moves without evaluating); the third step's 5th
  // iteration moved and then found the budget spent
  assert.equal(stats.iterations, 20 + 20 + 5);
  assert.equal(out.reason, 'max-evaluations');
  const { f: fStar } = fn(xStar);
  assert.ok(losses.at(-1)! - fStar < 1e-3 * Math.abs(fStar), `${losses.at(-1)} vs ${fStar}`);
  // on f = ½‖x − c‖² the first step is min(1, 1/‖g‖₁)·lr along −g, then the BFGS step lands on c
  const c = Float64Array.from([0.3, -0.2, 0.1]);
  const seen: Float64Array[] = [];
  const s2: RunStats = { iterations: 0, evaluations: 0, nonFinite: 0 };
  const simple = (x: Float64Array) => ({ f: 0.5 * x.reduce((s, v, i) => s + (v - c[i]!) ** 2, 0), g: x.map((v, i) => v - c[i]!) });
  const res = runSequential(referenceLbfgs(new Float64Array(3), { lr: 1, maxEvaluations: 100 }, s2), simple, (x) =>
    seen.push(Float64Array.from(x)),
  );
  const t1 = Math.min(1, 1 / 0.6);
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(seen[1]![i]! - t1 * c[i]!) < 1e-15);
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(seen[2]![i]! - c[i]!) < 1e-12);
  assert.equal(res.reason, 'converged');
});

test('Adam descends a quadratic and respects the budget', () => {
  const { fn, xStar } = illConditionedQuadratic(10, 2);
  const stats: RunStats = { iterations: 0, evaluations: 0, nonFinite: 0 };
  const f0 = fn(new Float64Array(10)).f;
  const out = runSequential(adam(new Float64Array(10), { lr: 0.05, maxEvaluations: 400, tolerance: 0 }, stats), fn);
  assert.equal(stats.evaluations, 400);
  const fStar = fn(xStar).f;
  assert.ok(fn(out.x).f - fStar < 0.05 * (f0 - fStar), `${fn(out.x).f} vs ${fStar} (f0 ${f0})`);
});
