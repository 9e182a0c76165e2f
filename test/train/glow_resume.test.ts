import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initEngine, tf } from '../../src/engine/index.ts';
import { Glow } from '../../src/models/glow/glow.ts';
import { glowConfig } from '../../src/models/glow/random_glow.ts';
import { loadModel, readModelConfig } from '../../src/models/store.ts';
import { tensorsToArrays } from '../../src/models/tensor_data.ts';
import { dequantizeBatch } from '../../src/train/batches.ts';
import { CheckpointError, pickPrefix, readCheckpoint, writeCheckpoint } from '../../src/train/checkpoint.ts';
import { TrainSetupError } from '../../src/train/errors.ts';
import { glowValidationBitsPerDim } from '../../src/train/glow/evaluate.ts';
import { trainGlow, type GlowCheckpointState, type GlowTrainRequest } from '../../src/train/glow/run.ts';
import { GlowTrainer } from '../../src/train/glow/trainer.ts';
import { loadImageFolder } from '../../src/train/image_folder.ts';
import { TrainRandom } from '../../src/train/rng.ts';
import { bitwiseDifferences, checkpointTensors, tempDir, writeFixtureImages } from './helpers.ts';

let tmp: Awaited<ReturnType<typeof tempDir>>;
let base: GlowTrainRequest;

before(async () => {
  await initEngine({ log: false });
  tmp = await tempDir('glow-resume');
  await writeFixtureImages(join(tmp.path, 'train'), 8, 16, 21);
  await writeFixtureImages(join(tmp.path, 'val'), 4, 16, 22);
  base = {
    data: join(tmp.path, 'train'),
    val: join(tmp.path, 'val'),
    out: '',
    K: 1,
    L: 2,
    hidden: 8,
    batch: 4,
    initBatch: 8,
    warmup: 3,
    lr: 2e-3,
    steps: 8,
    valEvery: 4,
    checkpointMinutes: 0,
    samples: 4,
    sampleEvery: 0,
    seed: 5,
  };
});
after(async () => tmp.cleanup());

async function state(out: string): Promise<GlowCheckpointState> {
  return (await readCheckpoint<GlowCheckpointState>(join(out, 'training'), 'glow'))!.file.state;
}

describe('Glow training runs', () => {
  it('an interrupted and resumed run ends bit-identical to an uninterrupted one', async () => {
    const straight = join(tmp.path, 'straight');
    const split = join(tmp.path, 'split');
    const a = await trainGlow({ ...base, out: straight }, { stream: null });
    assert.deepEqual([a.step, a.stoppedBy], [8, 'steps']);

    const controller = new AbortController();
    const first = await trainGlow({ ...base, out: split }, {
      stream: null,
      signal: controller.signal,
      onStep: ({ step }) => step === 3 && controller.abort(),
    });
    assert.deepEqual([first.step, first.stoppedBy], [3, 'signal']);
    // The interrupted run left a loadable model directory and a checkpoint at step 3.
    assert.equal((await readModelConfig(split)).metadata.steps, 3);
    assert.equal((await state(split)).step, 3);

    const second = await trainGlow({ ...base, out: split, resume: true }, { stream: null });
    assert.deepEqual([second.step, second.stepsThisRun], [8, 5]);

    const [ta, tb] = [await checkpointTensors(straight), await checkpointTensors(split)];
    assert.ok([...ta.keys()].some((k) => k.startsWith('adam/m/')) && [...ta.keys()].some((k) => k.startsWith('ema/')));
    assert.deepEqual(bitwiseDifferences(ta, tb), [], 'weights, Adam moments and weight average agree bit for bit');
    const [sa, sb] = [await state(straight), await state(split)];
    assert.deepEqual([sb.step, sb.adamSteps, sb.position, sb.rng], [sa.step, sa.adamSteps, sa.position, sa.rng]);
    assert.equal(sb.lastValidation?.bitsPerDim, sa.lastValidation?.bitsPerDim);
    const log = (await readFile(join(split, 'training', 'log.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { event?: string });
    assert.deepEqual(log.filter((e) => e.event).map((e) => e.event), ['start', 'stop', 'resume', 'stop']);

    // The model directory holds the weight average, and its metadata's validation bits/dim is that of those weights.
    const model = await loadModel(straight);
    assert.ok(model instanceof Glow);
    assert.deepEqual(bitwiseDifferences(tensorsToArrays(model.params), pickPrefix(ta, 'ema')), []);
    const meta = (await readModelConfig(straight)).metadata;
    assert.equal(meta.steps, 8);
    assert.match(String(meta.trainer), /flowprior train glow/);
    const val = await loadImageFolder(join(tmp.path, 'val'));
    const bpd = glowValidationBitsPerDim(model.params, model.config, val, 4);
    assert.ok(Math.abs(bpd - meta.valBitsPerDim!) < 1e-4, `${bpd} vs metadata ${meta.valBitsPerDim}`);
    assert.ok(Math.abs(bpd - a.valBitsPerDim!) < 1e-6);
    assert.ok((await readdir(straight)).includes('samples.png'));
    model.dispose();
  });

  it('refuses to overwrite a checkpoint without --resume, and to change the architecture on resume', async () => {
    const out = join(tmp.path, 'straight');
    await assert.rejects(trainGlow({ ...base, out }, { stream: null }), (e: Error) => e instanceof TrainSetupError && /--resume/.test(e.message));
    await assert.rejects(trainGlow({ ...base, out, resume: true, hidden: 16 }, { stream: null }), (e: Error) => e instanceof TrainSetupError && /--hidden/.test(e.message));
  });
});

describe('Glow checkpoints', () => {
  it('round-trip the whole training state bit for bit, and detect corruption', async () => {
    const config = glowConfig({ K: 1, L: 2, hidden: 8, size: 16 });
    const images = await loadImageFolder(join(tmp.path, 'train'));
    const trainer = new GlowTrainer(config, { seed: 9 });
    const rng = new TrainRandom(1);
    const x = (): tf.Tensor4D => tf.tensor4d(dequantizeBatch(images, [0, 1, 2, 3], 5, rng), [4, 16, 16, 3]);
    trainer.initActNorm(x());
    trainer.step(x(), 1e-3);
    trainer.step(x(), 1e-3);
    const arrays = trainer.stateArrays();
    const dir = join(tmp.path, 'ckpt');
    await writeCheckpoint(dir, 'glow', 2, arrays, { note: 'first' });
    await writeCheckpoint(dir, 'glow', 7, arrays, { note: 'second' });
    assert.deepEqual((await readdir(dir)).sort(), ['checkpoint.json', 'state-00000007.safetensors'], 'older tensor files are removed');
    const back = (await readCheckpoint<{ note: string }>(dir, 'glow'))!;
    assert.equal(back.file.step, 7);
    assert.deepEqual(back.file.state, { note: 'second' });
    assert.deepEqual(bitwiseDifferences(arrays, back.tensors), []);
    const restored = new GlowTrainer(config, { seed: 123 });
    restored.loadState(back.tensors, trainer.adam.t);
    assert.deepEqual(bitwiseDifferences(restored.stateArrays(), arrays), []);
    // Same state in, same update out.
    const batch = tf.tensor4d(dequantizeBatch(images, [4, 5, 6, 7], 5, new TrainRandom(2)), [4, 16, 16, 3]);
    trainer.step(batch, 1e-3);
    restored.step(batch, 1e-3);
    assert.deepEqual(bitwiseDifferences(restored.stateArrays(), trainer.stateArrays()), []);
    trainer.dispose();
    restored.dispose();

    const file = join(dir, back.file.tensors.file);
    const buf = await readFile(file);
    buf[buf.length - 1] ^= 1;
    await writeFile(file, buf);
    await assert.rejects(readCheckpoint(dir, 'glow'), (e: Error) => e instanceof CheckpointError && /checksum/.test(e.message));
    await assert.rejects(readCheckpoint(dir, 'dcgan'), CheckpointError);
    assert.equal(await readCheckpoint(join(tmp.path, 'nowhere'), 'glow'), null);
  });
});
