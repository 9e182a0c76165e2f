import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initEngine, tf } from '../../src/engine/index.ts';
import { dcganConfig } from '../../src/models/dcgan/config.ts';
import { DcganGenerator, dcganForward } from '../../src/models/dcgan/generator.ts';
import { loadModel, readModelConfig } from '../../src/models/store.ts';
import { tensorsToArrays } from '../../src/models/tensor_data.ts';
import { pickPrefix, readCheckpoint } from '../../src/train/checkpoint.ts';
import { bceWithLogits, stride2Conv4x4 } from '../../src/train/dcgan/discriminator.ts';
import { dcganTrainForward } from '../../src/train/dcgan/generator_train.ts';
import { trainDcgan, type DcganCheckpointState, type DcganTrainRequest } from '../../src/train/dcgan/run.ts';
import { DcganTrainer } from '../../src/train/dcgan/trainer.ts';
import { TrainRandom } from '../../src/train/rng.ts';
import { bitwiseDifferences, checkpointTensors, tempDir, writeFixtureImages } from './helpers.ts';

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

let tmp: Awaited<ReturnType<typeof tempDir>>;
let base: DcganTrainRequest;

before(async () => {
  await initEngine({ log: false });
  tmp = await tempDir('dcgan-train');
  await writeFixtureImages(join(tmp.path, 'train'), 8, 64, 31);
  base = { data: join(tmp.path, 'train'), out: '', latent: 8, ngf: 4, ndf: 4, batch: 4, steps: 6, checkpointMinutes: 0, samples: 4, sampleEvery: 0, seed: 2 };
});
after(async () => tmp.cleanup());

describe('DCGAN training pieces', () => {
  it('the training forward pass equals the model’s train-mode pass and reports its BatchNorm moments', () => {
    const trainer = new DcganTrainer(dcganConfig({ latentDim: 8, ngf: 4 }), 4, 1);
    const z = tf.tensor2d(new TrainRandom(3).normals(5 * 8), [5, 8]);
    const ours = dcganTrainForward(trainer.G.vars, trainer.config, z);
    const ref = dcganForward(trainer.generatorParams(), trainer.config, z, 'train');
    assert.ok(maxAbsDiff(ours.images.dataSync(), ref.dataSync()) < 1e-5);
    // Same gradient with respect to every generator weight (a random linear functional of the images).
    const w = tf.tensor4d(new TrainRandom(4).normals(5 * 64 * 64 * 3), [5, 64, 64, 3]);
    const gOurs = trainer.G.valueAndGrads(() => tf.sum(tf.mul(dcganTrainForward(trainer.G.vars, trainer.config, z).images, w)) as tf.Scalar).grads;
    const gRef = trainer.G.valueAndGrads(() => tf.sum(tf.mul(dcganForward(trainer.generatorParams(), trainer.config, z, 'train'), w)) as tf.Scalar).grads;
    for (const name of trainer.G.names) {
      const ref = gRef[name]!.dataSync();
      const scale = Math.max(1e-3, ...Array.from(ref, Math.abs));
      assert.ok(maxAbsDiff(gOurs[name]!.dataSync(), ref) < 1e-4 * scale, name);
    }
    assert.deepEqual(ours.moments.map((m) => [m.mean.shape[0], m.count]), [[32, 5 * 16], [16, 5 * 64], [8, 5 * 256], [4, 5 * 1024]]);
    trainer.dispose();
  });

  it('the discriminator’s space-to-depth convolutions equal 4×4 stride-2 convolutions, in value and gradient', () => {
    const rng = new TrainRandom(8);
    const x = tf.tensor4d(rng.normals(2 * 8 * 8 * 3), [2, 8, 8, 3]);
    const k = tf.tensor4d(rng.normals(4 * 4 * 3 * 5), [4, 4, 3, 5]);
    const w = tf.tensor4d(rng.normals(2 * 4 * 4 * 5), [2, 4, 4, 5]);
    // PyTorch's padding=1 is tfjs's 'same' for a 4×4 kernel at stride 2 on an even size.
    const f = (conv: (a: tf.Tensor4D, b: tf.Tensor4D) => tf.Tensor4D) => (a: tf.Tensor, b: tf.Tensor): tf.Scalar => tf.sum(tf.mul(conv(a as tf.Tensor4D, b as tf.Tensor4D), w));
    const reference = (a: tf.Tensor4D, b: tf.Tensor4D): tf.Tensor4D => tf.conv2d(a, b, 2, 'same');
    assert.ok(maxAbsDiff(stride2Conv4x4(x, k).dataSync(), reference(x, k).dataSync()) < 1e-5);
    const [gx, gk] = tf.grads(f(stride2Conv4x4))([x, k]);
    const [rx, rk] = tf.grads(f(reference))([x, k]);
    assert.ok(maxAbsDiff(gx!.dataSync(), rx!.dataSync()) < 1e-4);
    assert.ok(maxAbsDiff(gk!.dataSync(), rk!.dataSync()) < 1e-4);
  });

  it('BCE with logits matches −log σ(x) and −log(1 − σ(x)), also for large logits', () => {
    const x = [-30, -2, 0, 1.5, 40];
    const sig = (v: number): number => 1 / (1 + Math.exp(-v));
    const ones = bceWithLogits(tf.tensor1d(x), 1).dataSync()[0]!;
    const zeros = bceWithLogits(tf.tensor1d(x), 0).dataSync()[0]!;
    const softplus = (v: number): number => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
    const mean = (f: (v: number) => number): number => x.reduce((s, v) => s + f(v), 0) / x.length;
    assert.ok(Math.abs(ones - mean((v) => softplus(-v))) < 1e-5);
    assert.ok(Math.abs(zeros - mean((v) => softplus(v))) < 1e-5);
    assert.ok(Math.abs(bceWithLogits(tf.tensor1d([0.3]), 1).dataSync()[0]! + Math.log(sig(0.3))) < 1e-6);
  });

  it('one step updates both networks and folds the batch moments into the running statistics as PyTorch does', () => {
    const trainer = new DcganTrainer(dcganConfig({ latentDim: 8, ngf: 4 }), 4, 4);
    const z = tf.tensor2d(new TrainRandom(5).normals(4 * 8), [4, 8]);
    const real = tf.tensor4d(new TrainRandom(6).normals(4 * 64 * 64 * 3, 0.5), [4, 64, 64, 3]);
    const { moments } = dcganTrainForward(trainer.G.vars, trainer.config, z);
    const m0 = moments[0]!;
    const before = { G: trainer.G.arrays(), D: trainer.D.arrays() };
    const r = trainer.step(real, z, 2e-4);
    assert.ok(Number.isFinite(r.lossD) && Number.isFinite(r.lossG));
    assert.equal(bitwiseDifferences(before.G, trainer.G.arrays()).length, trainer.G.names.length, 'every generator weight moved');
    assert.equal(bitwiseDifferences(before.D, trainer.D.arrays()).length, trainer.D.names.length, 'every discriminator weight moved');
    // running = 0.9·running + 0.1·batch (variance unbiased), from mean 0 and variance 1.
    const mean = trainer.stats['layers.0.bn.mean']!.dataSync();
    const variance = trainer.stats['layers.0.bn.variance']!.dataSync();
    const bm = m0.mean.dataSync();
    const bv = m0.variance.dataSync();
    for (let c = 0; c < mean.length; c++) {
      assert.ok(Math.abs(mean[c]! - 0.1 * bm[c]!) < 1e-6);
      assert.ok(Math.abs(variance[c]! - (0.9 + (0.1 * bv[c]! * m0.count) / (m0.count - 1))) < 1e-6);
    }
    trainer.dispose();
  });
});

describe('DCGAN training runs', () => {
  it('an interrupted and resumed run ends bit-identical to an uninterrupted one, with finite losses', async () => {
    const straight = join(tmp.path, 'straight');
    const split = join(tmp.path, 'split');
    const a = await trainDcgan({ ...base, out: straight }, { stream: null });
    assert.equal(a.step, 6);
    assert.ok(Number.isFinite(a.lossD) && Number.isFinite(a.lossG), `losses ${a.lossD}, ${a.lossG}`);
    const controller = new AbortController();
    const first = await trainDcgan({ ...base, out: split }, { stream: null, signal: controller.signal, onStep: ({ step }) => step === 2 && controller.abort() });
    assert.deepEqual([first.step, first.stoppedBy], [2, 'signal']);
    const second = await trainDcgan({ ...base, out: split, resume: true }, { stream: null });
    assert.deepEqual([second.step, second.lossD, second.lossG], [6, a.lossD, a.lossG]);
    const ta = await checkpointTensors(straight);
    assert.deepEqual(bitwiseDifferences(ta, await checkpointTensors(split)), []);
    const sa = (await readCheckpoint<DcganCheckpointState>(join(straight, 'training'), 'dcgan'))!.file.state;
    const sb = (await readCheckpoint<DcganCheckpointState>(join(split, 'training'), 'dcgan'))!.file.state;
    assert.deepEqual([sb.rng, sb.position, sb.adamSteps], [sa.rng, sa.position, sa.adamSteps]);

    // The model directory is the generator with its running statistics.
    const g = await loadModel(straight);
    assert.ok(g instanceof DcganGenerator);
    const expected = new Map([...pickPrefix(ta, 'G/param'), ...pickPrefix(ta, 'G/stats')]);
    assert.deepEqual(bitwiseDifferences(tensorsToArrays(g.params), expected), []);
    assert.equal((await readModelConfig(straight)).metadata.steps, 6);
    const img = g.sample(2, 1, 0).dataSync();
    assert.ok(img.every((v) => Number.isFinite(v) && v >= 0 && v <= 1), 'samples are finite images');
    g.dispose();
  });
});
