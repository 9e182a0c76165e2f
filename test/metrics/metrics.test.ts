import { test } from 'node:test';
import assert from 'node:assert/strict';
import { psnr, ssim } from '../../src/metrics/index.ts';
import { Rng } from '../../src/util/random.ts';

test('PSNR: hand-computed values, clipping to [0,1]', () => {
  const n = 8 * 8 * 3;
  const a = new Float32Array(n).fill(0.5);
  assert.ok(Math.abs(psnr(a, new Float32Array(n).fill(0.6)) - 20) < 1e-5); // MSE 0.01
  assert.ok(Math.abs(psnr(a, new Float32Array(n).fill(0.55)) - 26.0206) < 1e-3); // MSE 0.0025
  // half the values off by 0.2: MSE 0.02 → 16.9897 dB
  const b = a.map((v, i) => (i % 2 ? v + 0.2 : v));
  assert.ok(Math.abs(psnr(a, b) - 10 * Math.log10(1 / 0.02)) < 1e-4);
  // 1.3 clips to 1 and −0.2 to 0: identical after clipping
  assert.equal(psnr(Float32Array.from([1.3, -0.2]), Float32Array.from([1, 0])), Infinity);
  assert.ok(Math.abs(psnr(Float32Array.from([1.5, 0]), Float32Array.from([0.5, 0])) - 10 * Math.log10(1 / 0.125)) < 1e-9);
  assert.throws(() => psnr(a, new Float32Array(3)), /differ in size/);
});

test('SSIM: identical images give 1; constant images give the closed form (2ab+C1)/(a²+b²+C1)', () => {
  const shape = [16, 16, 3] as const;
  const rng = new Rng(3);
  const x = Float32Array.from({ length: 16 * 16 * 3 }, () => rng.uniform());
  assert.ok(Math.abs(ssim(x, x, shape) - 1) < 1e-12);
  const a = 0.3;
  const b = 0.7;
  const c1 = 0.01 ** 2;
  const expected = (2 * a * b + c1) / (a * a + b * b + c1);
  const got = ssim(new Float32Array(768).fill(a), new Float32Array(768).fill(b), shape);
  assert.ok(Math.abs(got - expected) < 1e-6, `${got} vs ${expected}`);
  // halving the contrast: per window σy = σx/2 and cov = σx²/2, so SSIM < 1 but stays well above 0
  const s = ssim(x, x.map((v) => v * 0.5 + 0.25), shape);
  assert.ok(s > 0.5 && s < 1, `${s}`);
});

test('SSIM matches a direct 2-D window evaluation in float64', () => {
  const [h, w, ch] = [14, 13, 2];
  const rng = new Rng(8);
  const x = Float32Array.from({ length: h * w * ch }, () => rng.uniform());
  const y = x.map((v) => v + 0.2 * (rng.uniform() - 0.5));
  const g = Array.from({ length: 11 }, (_, i) => Math.exp(-((i - 5) ** 2) / (2 * 1.5 * 1.5)));
  const gs = g.reduce((p, q) => p + q);
  const c1 = 1e-4;
  const c2 = 9e-4;
  let total = 0;
  for (let c = 0; c < ch; c++) {
    let sum = 0;
    let count = 0;
    for (let r0 = 0; r0 + 11 <= h; r0++)
      for (let q0 = 0; q0 + 11 <= w; q0++) {
        let ux = 0, uy = 0, xx = 0, yy = 0, xy = 0;
        for (let i = 0; i < 11; i++)
          for (let j = 0; j < 11; j++) {
            const wt = (g[i]! * g[j]!) / (gs * gs);
            const p = ((r0 + i) * w + q0 + j) * ch + c;
            const a = Math.min(1, Math.max(0, x[p]!));
            const b = Math.min(1, Math.max(0, y[p]!));
            ux += wt * a; uy += wt * b; xx += wt * a * a; yy += wt * b * b; xy += wt * a * b;
          }
        const num = (2 * ux * uy + c1) * (2 * (xy - ux * uy) + c2);
        const den = (ux * ux + uy * uy + c1) * (xx - ux * ux + yy - uy * uy + c2);
        sum += num / den;
        count++;
      }
    total += sum / count;
  }
  const expected = total / ch;
  const got = ssim(x, y, [h, w, ch]);
  assert.ok(Math.abs(got - expected) < 1e-10, `${got} vs ${expected}`);
  assert.ok(expected > 0.3 && expected < 0.99);
});

test('SSIM on images smaller than the window uses the largest odd window that fits', () => {
  const rng = new Rng(5);
  const x = Float32Array.from({ length: 8 * 8 * 3 }, () => rng.uniform());
  const s = ssim(x, x.map((v) => 1 - v), [8, 8, 3]);
  assert.ok(Number.isFinite(s) && s < 0, `anti-correlated images: ${s}`);
  const y = x.map((v) => v * 0.9);
  assert.equal(ssim(x, y, [8, 8, 3]), ssim(x, y, [8, 8, 3], { windowSize: 7 }));
  assert.notEqual(ssim(x, y, [8, 8, 3]), ssim(x, y, [8, 8, 3], { windowSize: 5 }));
});
