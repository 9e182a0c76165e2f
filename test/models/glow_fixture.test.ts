import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initEngine, tf } from '../../src/engine/index.ts';
import { Glow } from '../../src/models/glow/glow.ts';
import { importGlowip } from '../../src/models/glow/import_glowip.ts';
import { runImportCommand } from '../../src/models/import_command.ts';
import { loadModel } from '../../src/models/store.ts';
import { FIXTURES_DIR, SKIP_NO_FIXTURES, fixtureArray, maxAbsDiff, readFixtureJson, type FixtureArray } from './helpers/fixtures.ts';

type Arr = { shape: number[]; dtype: string; data: string };

/** NCHW fixture images → NHWC tensor. */
function nhwc(a: FixtureArray): tf.Tensor4D {
  return tf.tidy(() => tf.transpose(tf.tensor4d(a.data, a.shape as [number, number, number, number]), [0, 2, 3, 1]));
}

function nchwData(x: tf.Tensor4D): Float32Array {
  return tf.tidy(() => tf.transpose(x, [0, 3, 1, 2])).dataSync() as Float32Array;
}

describe('GlowIP reference fixture', { skip: SKIP_NO_FIXTURES }, () => {
  let glow: Glow;
  let tv: Record<string, Arr>;
  let x: tf.Tensor4D;
  let z: tf.Tensor2D;
  let logdet: tf.Tensor1D;

  before(async () => {
    await initEngine();
    glow = await importGlowip(`${FIXTURES_DIR}glowmodel.pt`, `${FIXTURES_DIR}configs.json`);
    tv = readFixtureJson('glow_testvec.json') as Record<string, Arr>;
    x = nhwc(fixtureArray(tv.x!));
    ({ z, logdet } = glow.encode(x));
  });
  after(() => {
    glow?.dispose();
    tf.dispose([x, z, logdet]);
  });

  it('reads the architecture from configs.json', () => {
    assert.deepEqual(glow.config, { K: 2, L: 3, hidden: 512, nBits: 5, size: 64, channels: 3, squeeze: 'spatial', topStepCouplingBias: 1 });
    assert.deepEqual(glow.latentShapes, [[6, 32, 32], [12, 16, 16], [48, 8, 8]]);
    assert.equal(glow.latentDim, 12288);
  });

  it('encodes the test images to the reference latents and log-determinants', () => {
    const zRef = fixtureArray(tv.z_flat!);
    const ldRef = fixtureArray(tv.logdet!);
    assert.deepEqual(z.shape, zRef.shape);
    const dz = maxAbsDiff(z.dataSync(), zRef.data);
    const ld = logdet.dataSync();
    const relLd = Math.max(...[...ld].map((v, i) => Math.abs(v - ldRef.data[i]!) / Math.abs(ldRef.data[i]!)));
    console.log(`fixture encode: max|Δz| = ${dz.toExponential(2)}, max relative Δlogdet = ${relLd.toExponential(2)}`);
    assert.ok(dz < 1e-4, `max |Δz| = ${dz}`);
    assert.ok(relLd < 1e-2, `relative log-det error ${relLd}`);
  });

  it('decodes the reference latents to the reference images', () => {
    const zs = fixtureArray(tv.z_sample!);
    const ref = fixtureArray(tv.x_of_z_sample!);
    const img = glow.generate(tf.tensor2d(zs.data, zs.shape as [number, number]));
    const dx = maxAbsDiff(nchwData(img), ref.data);
    console.log(`fixture decode: max|ΔG(z)| = ${dx.toExponential(2)}`);
    assert.ok(dx < 1e-4, `max |ΔG(z)| = ${dx}`);
    img.dispose();
  });

  it('inverts its own encoding of real images', () => {
    const back = glow.generate(z);
    const err = maxAbsDiff(back.dataSync(), x.dataSync());
    assert.ok(err < 1e-4, `‖G(G⁻¹(x)) − x‖∞ = ${err}`);
    back.dispose();
  });

  it('reports bits/dim consistent with the encoder and the standard normal prior', () => {
    const bpd = glow.bitsPerDim(x).dataSync();
    const zd = z.dataSync();
    const ld = logdet.dataSync();
    const n = 64 * 64 * 3;
    for (let i = 0; i < 4; i++) {
      let logpz = 0;
      for (let j = 0; j < n; j++) logpz += -0.5 * zd[i * n + j]! ** 2 - 0.5 * Math.log(2 * Math.PI);
      const expected = -(logpz + ld[i]! - n * Math.log(2 ** 5)) / (n * Math.LN2);
      assert.ok(Number.isFinite(bpd[i]!));
      assert.ok(Math.abs(bpd[i]! - expected) < 1e-3, `bits/dim ${bpd[i]} vs ${expected}`);
    }
    // Measured at 8 bits the same density costs exactly 3 more bits per dimension.
    const first = tf.slice(x, [0, 0, 0, 0], [1, 64, 64, 3]);
    const bpd8 = glow.bitsPerDim(first, 8).dataSync();
    assert.ok(Math.abs(bpd8[0]! - bpd[0]! - 3) < 1e-3);
    first.dispose();
  });

  it('imports to a model directory that loads back to the same model', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flowprior-glowip-'));
    try {
      const cfg = await runImportCommand('glowip', [`${FIXTURES_DIR}glowmodel.pt`, `${FIXTURES_DIR}configs.json`, dir]);
      assert.equal(cfg.kind, 'glow');
      assert.equal(cfg.metadata.source, 'import-glowip');
      assert.equal(typeof cfg.metadata.note, 'string', 'extra configs.json keys are kept as metadata');
      const loaded = await loadModel(dir);
      assert.ok(loaded instanceof Glow);
      for (const [k, t] of Object.entries(glow.params)) {
        assert.deepEqual(loaded.params[k]!.dataSync(), t.dataSync(), k);
      }
      loaded.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
