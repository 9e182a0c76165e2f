// Reference mode against the paper's own code: torch.optim.LBFGS(lr=1) defaults on a denoising problem with
// an imported GlowIP checkpoint, loss ‖G(z) − y‖² + 1·‖z‖ from z₀ = 0, recorded at each of 20 closure calls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initEngine } from '../../src/engine/index.ts';
import { solveBatch } from '../../src/solvers/solve_batch.ts';
import { psnr } from '../../src/metrics/psnr.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const FIXTURES = resolve(ROOT, '../shared/fixtures/glowip');
const IMPORTER = resolve(ROOT, 'src/models/glow/import_glowip.ts');

interface Arr {
  shape: number[];
  data: string;
}

function floats(a: Arr): Float32Array {
  const buf = Buffer.from(a.data, 'base64');
  return new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4).slice();
}

/** [1, C, H, W] → HWC. */
function nchwToHwc(a: Float32Array, c: number, h: number, w: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let ch = 0; ch < c; ch++) for (let p = 0; p < h * w; p++) out[p * c + ch] = a[ch * h * w + p]!;
  return out;
}

const missing = !existsSync(resolve(FIXTURES, 'denoise_trajectory.json'))
  ? 'GlowIP fixtures not found'
  : !existsSync(IMPORTER)
    ? 'GlowIP importer not available'
    : false;

test('reference mode reproduces the 20 reference L-BFGS losses within 1 % (GlowIP denoising trajectory)', { skip: missing }, async () => {
  await initEngine();
  const { importGlowip } = (await import(IMPORTER)) as typeof import('../../src/models/glow/import_glowip.ts');
  const prior = await importGlowip(resolve(FIXTURES, 'glowmodel.pt'), resolve(FIXTURES, 'configs.json'));
  try {
    const traj = JSON.parse(readFileSync(resolve(FIXTURES, 'denoise_trajectory.json'), 'utf8')) as {
      gamma: number;
      y: Arr;
      losses: number[];
      z_final: Arr;
      psnr_final_clipped: number;
    };
    const vec = JSON.parse(readFileSync(resolve(FIXTURES, 'glow_testvec.json'), 'utf8')) as { x: Arr };
    const [h, w, c] = prior.imageShape;
    const y = nchwToHwc(floats(traj.y), c, h, w);
    const truth = nchwToHwc(floats(vec.x).subarray(0, c * h * w), c, h, w);
    const losses: number[] = [];
    const [res] = await solveBatch(
      prior,
      [{ operator: { type: 'identity' }, measurements: y, gamma: traj.gamma, penalty: 'l2', init: { type: 'zeros' }, seed: 0, groundTruth: truth }],
      { optimizer: 'reference', learningRate: 1, history: 100, maxEvaluations: 20, onProgress: (p) => losses.push(p.loss) },
    );
    assert.equal(losses.length, traj.losses.length);
    traj.losses.forEach((ref, k) => {
      const rel = Math.abs(losses[k]! - ref) / Math.abs(ref);
      assert.ok(rel < 0.01, `evaluation ${k + 1}: ${losses[k]} vs reference ${ref} (${(100 * rel).toFixed(3)} %)`);
    });
    // the returned iterate is torch's final parameter vector (its last move is not evaluated, as in torch)
    const zRef = floats(traj.z_final);
    let dz = 0;
    let zn = 0;
    for (let j = 0; j < zRef.length; j++) {
      dz += (res!.z[j]! - zRef[j]!) ** 2;
      zn += zRef[j]! ** 2;
    }
    assert.ok(Math.sqrt(dz / zn) < 0.02, `relative ‖z − z_ref‖ = ${Math.sqrt(dz / zn)}`);
    assert.ok(Math.abs(res!.psnr! - traj.psnr_final_clipped) < 0.1, `PSNR ${res!.psnr} vs ${traj.psnr_final_clipped}`);
    assert.equal(res!.psnr, psnr(res!.image, truth));
    console.log(`parity: max rel loss error ${Math.max(...traj.losses.map((r, k) => Math.abs(losses[k]! - r) / r)).toExponential(2)}, ` +
      `‖Δz‖/‖z‖ ${Math.sqrt(dz / zn).toExponential(2)}, PSNR ${res!.psnr!.toFixed(3)} vs ${traj.psnr_final_clipped.toFixed(3)}`);
  } finally {
    prior.dispose();
  }
});
