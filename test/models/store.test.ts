import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initEngine, tf } from '../../src/engine/index.ts';
import { ModelError } from '../../src/errors.ts';
import { DcganGenerator } from '../../src/models/dcgan/generator.ts';
import { createRandomDcgan } from '../../src/models/dcgan/random_dcgan.ts';
import { Glow } from '../../src/models/glow/glow.ts';
import { createRandomGlow, glowConfig } from '../../src/models/glow/random_glow.ts';
import { SeededRandom } from '../../src/models/random.ts';
import { ModelFormatError, loadModel, readModelConfig, saveModel, savePrior } from '../../src/models/store.ts';

let root: string;
before(async () => {
  await initEngine();
  root = await mkdtemp(join(tmpdir(), 'flowprior-store-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

function sameBits(a: tf.Tensor, b: tf.Tensor): boolean {
  const x = new Uint32Array((a.dataSync() as Float32Array).slice().buffer);
  const y = new Uint32Array((b.dataSync() as Float32Array).slice().buffer);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

describe('model directory', () => {
  it('saves and loads a Glow: config, metadata, bit-exact weights, same images', async () => {
    const dir = join(root, 'glow-tiny');
    const glow = createRandomGlow(glowConfig({ K: 2, L: 2, hidden: 8, size: 8, squeeze: 'legacy2019', topStepCouplingBias: 1 }), 4);
    const cfg = await savePrior(dir, glow, { trainingData: 'random', steps: 0, valBitsPerDim: 4.2, trainer: 'test' });
    assert.equal(cfg.name, glow.name);
    const onDisk = await readModelConfig(dir);
    assert.deepEqual(onDisk.architecture, glow.config);
    assert.equal(onDisk.metadata.valBitsPerDim, 4.2);
    assert.match(onDisk.weights.sha256, /^[0-9a-f]{64}$/);
    const loaded = await loadModel(dir);
    assert.ok(loaded instanceof Glow);
    assert.equal(loaded.name, glow.name);
    for (const [k, t] of Object.entries(glow.params)) assert.ok(sameBits(loaded.params[k]!, t), k);
    const z = tf.tensor2d(new SeededRandom(1).normals(2 * glow.latentDim), [2, glow.latentDim]);
    assert.ok(sameBits(loaded.generate(z), glow.generate(z)));
    loaded.dispose();
    glow.dispose();
  });

  it('saves and loads a DCGAN generator', async () => {
    const dir = join(root, 'dcgan-tiny');
    const g = createRandomDcgan(3, 4);
    await saveModel(dir, 'dcgan', g.config, g.params, { trainer: 'test' });
    const loaded = await loadModel(dir, { name: 'custom' });
    assert.ok(loaded instanceof DcganGenerator);
    assert.equal(loaded.name, 'custom');
    const z = tf.tensor2d(new SeededRandom(2).normals(100), [1, 100]);
    assert.ok(sameBits(loaded.generate(z), g.generate(z)));
    loaded.dispose();
    g.dispose();
  });

  it('refuses weights whose checksum does not match, with a clear model error', async () => {
    const dir = join(root, 'corrupt');
    const glow = createRandomGlow(glowConfig({ K: 1, L: 2, hidden: 4, size: 4 }), 1);
    await savePrior(dir, glow);
    glow.dispose();
    const path = join(dir, 'weights.safetensors');
    const buf = await readFile(path);
    buf[buf.length - 1] ^= 0x01;
    await writeFile(path, buf);
    await assert.rejects(loadModel(dir), (e: unknown) => {
      assert.ok(e instanceof ModelFormatError && e instanceof ModelError);
      assert.match((e as Error).message, /weights\.safetensors checksum mismatch/);
      return true;
    });
  });

  it('rejects missing files, foreign configs and weights of the wrong architecture', async () => {
    await assert.rejects(loadModel(join(root, 'nowhere')), /cannot read config\.json/);
    const foreign = join(root, 'foreign');
    const tiny = createRandomGlow(glowConfig({ K: 1, L: 2, hidden: 4, size: 4 }), 0);
    await saveModel(foreign, 'glow', tiny.config, tiny.params);
    tiny.dispose();
    const cfgPath = join(foreign, 'config.json');
    const cfg = JSON.parse(await readFile(cfgPath, 'utf8'));
    await writeFile(cfgPath, JSON.stringify({ ...cfg, format: 'something-else' }));
    await assert.rejects(loadModel(foreign), /not a flowprior model/);
    await writeFile(cfgPath, JSON.stringify({ ...cfg, architecture: { ...cfg.architecture, hidden: 6 } }));
    await assert.rejects(loadModel(foreign), (e: unknown) => e instanceof ModelFormatError && /has shape/.test((e as Error).message));
    await writeFile(cfgPath, JSON.stringify({ ...cfg, architecture: { ...cfg.architecture, squeeze: 'diagonal' } }));
    await assert.rejects(loadModel(foreign), /squeeze must be/);
  });
});
