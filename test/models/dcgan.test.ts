import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { initEngine, tf } from '../../src/engine/index.ts';
import { DcganGenerator, dcganForward } from '../../src/models/dcgan/generator.ts';
import { importDcgan } from '../../src/models/dcgan/import_dcgan.ts';
import { createRandomDcgan } from '../../src/models/dcgan/random_dcgan.ts';
import { runImportCommand } from '../../src/models/import_command.ts';
import { loadModel } from '../../src/models/store.ts';
import { SeededRandom } from '../../src/models/random.ts';
import { readTorchStateDict } from '../../src/models/torch/checkpoint.ts';
import { FIXTURES_DIR, SKIP_NO_FIXTURES, fixtureArray, maxAbsDiff, readFixtureJson } from './helpers/fixtures.ts';

before(async () => {
  await initEngine();
});

describe('DCGAN generator', () => {
  it('equals the transposed-convolution forward pass in value and latent gradient', () => {
    const g = createRandomDcgan(5, 8);
    const rng = new SeededRandom(1);
    const z = tf.tensor2d(rng.normals(3 * 100), [3, 100]);
    const w = tf.tensor4d(rng.normals(3 * 64 * 64 * 3), [3, 64, 64, 3]);
    const reference = (zz: tf.Tensor): tf.Tensor4D => tf.div(tf.add(dcganForward(g.params, g.config, zz as tf.Tensor2D), 1), 2);
    const ours = g.generate(z);
    assert.deepEqual(ours.shape, [3, 64, 64, 3]);
    assert.ok(maxAbsDiff(ours.dataSync(), reference(z).dataSync()) < 1e-5);
    const v = ours.dataSync();
    assert.ok(Math.max(...v) - Math.min(...v) > 0.01, 'images are not constant');
    const gOurs = tf.grad((zz: tf.Tensor) => tf.sum(tf.mul(g.generate(zz as tf.Tensor2D), w)))(z);
    const gRef = tf.grad((zz: tf.Tensor) => tf.sum(tf.mul(reference(zz), w)))(z);
    const scale = Math.max(...gRef.abs().dataSync());
    assert.ok(maxAbsDiff(gOurs.dataSync(), gRef.dataSync()) < 1e-4 * Math.max(1, scale));
    g.dispose();
  });

  it('uses batch statistics in training mode', () => {
    const g = createRandomDcgan(6, 4);
    const z = tf.tensor2d(new SeededRandom(2).normals(4 * 100), [4, 100]);
    const train = dcganForward(g.params, g.config, z, 'train');
    const evalMode = dcganForward(g.params, g.config, z, 'eval');
    assert.ok(maxAbsDiff(train.dataSync(), evalMode.dataSync()) > 1e-3);
    g.dispose();
  });
});

describe('DCGAN reference fixture', { skip: SKIP_NO_FIXTURES }, () => {
  it('reproduces the reference generator’s images', async () => {
    const g = await importDcgan(`${FIXTURES_DIR}dcgan_G.pt`);
    assert.deepEqual([g.config.latentDim, g.config.ngf, g.config.channels], [100, 64, 3]);
    const tv = readFixtureJson('dcgan_testvec.json') as Record<string, { shape: number[]; dtype: string; data: string }>;
    const z = fixtureArray(tv.z!);
    const ref = fixtureArray(tv.x!);
    const x = g.generate(tf.tensor2d(z.data, [z.shape[0]!, 100]));
    const nchw = tf.transpose(x, [0, 3, 1, 2]).dataSync();
    const err = maxAbsDiff(nchw, ref.data);
    console.log(`dcgan fixture: max|ΔG(z)| = ${err.toExponential(2)}`);
    assert.ok(err < 1e-4, `max |Δ| = ${err}`);
    g.dispose();
  });

  it('imports to a model directory that loads back as a DcganGenerator', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flowprior-dcgan-'));
    try {
      const cfg = await runImportCommand('dcgan', [`${FIXTURES_DIR}dcgan_G.pt`, dir]);
      assert.equal(cfg.kind, 'dcgan');
      // Every float tensor of the state_dict is kept (BatchNorm counters are not weights).
      const sd = await readTorchStateDict(`${FIXTURES_DIR}dcgan_G.pt`);
      const floats = [...sd.values()].filter((t) => t.dtype === 'float32').reduce((a, t) => a + t.data.length, 0);
      assert.equal(cfg.weights.parameters, floats);
      const g = await loadModel(dir);
      assert.ok(g instanceof DcganGenerator);
      g.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
