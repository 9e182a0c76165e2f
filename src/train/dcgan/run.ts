import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { initEngine, tf } from '../../engine/index.ts';
import { encodePng } from '../../imaging/index.ts';
import { dcganConfig, type DcganConfig } from '../../models/dcgan/config.ts';
import { saveModel } from '../../models/store.ts';
import { tensorsToArrays } from '../../models/tensor_data.ts';
import { BatchOrder, scaledBatch, type DataPosition } from '../batches.ts';
import { readCheckpoint, writeCheckpoint } from '../checkpoint.ts';
import { TrainSetupError } from '../errors.ts';
import { imageGrid } from '../grid.ts';
import { loadImageFolder } from '../image_folder.ts';
import { formatBytes } from '../memory.ts';
import { formatMinutes, JsonlLog, ProgressLine, RunningMean, Throughput } from '../progress.ts';
import { TrainRandom, type RngState } from '../rng.ts';
import { describePath, type TrainHooks } from '../run_common.ts';
import { DcganTrainer } from './trainer.ts';

export interface DcganHyperParams {
  latent: number;
  ngf: number;
  ndf: number;
  batch: number;
  lr: number;
  beta1: number;
  seed: number;
  flip: boolean;
  trainLimit: number;
}

export interface DcganRunSettings {
  data: string;
  out: string;
  resume: boolean;
  steps: number;
  minutes: number;
  sampleEvery: number;
  samples: number;
  checkpointMinutes: number;
  logEvery: number;
}

export const DCGAN_HYPER_DEFAULTS: DcganHyperParams = {
  latent: 100,
  ngf: 64,
  ndf: 64,
  batch: 64,
  lr: 2e-4,
  beta1: 0.5,
  seed: 0,
  flip: true,
  trainLimit: 0,
};

export const DCGAN_RUN_DEFAULTS: Omit<DcganRunSettings, 'data' | 'out'> = {
  resume: false,
  steps: 0,
  minutes: 0,
  sampleEvery: 500,
  samples: 64,
  checkpointMinutes: 10,
  logEvery: 20,
};

export type DcganTrainRequest = Partial<DcganHyperParams> & Partial<DcganRunSettings> & Pick<DcganRunSettings, 'data' | 'out'>;

export interface DcganCheckpointState {
  config: DcganConfig;
  hyper: DcganHyperParams;
  step: number;
  adamSteps: number;
  position: DataPosition;
  rng: RngState;
  wallSeconds: number;
  dataImages: number;
}

export interface DcganTrainSummary {
  step: number;
  stepsThisRun: number;
  wallSeconds: number;
  lossD: number;
  lossG: number;
  stoppedBy: 'steps' | 'minutes' | 'signal';
  out: string;
}

const ARCHITECTURE_KEYS = ['latent', 'ngf', 'ndf'] as const;

/** Seed of the latents of the sample grids: the same faces at every checkpoint. */
const SAMPLE_SEED = 7;

/**
 * Heap one more image in a batch costs during a step (generator twice, discriminator three times), in bytes, for
 * the wasm heap check: 7 float32 values per activation value. Measured at ngf = ndf = 64: 14.5 MiB per image
 * (heap at batch 8 and 24); this estimate gives 18.1 MiB.
 */
export function dcganBytesPerSample(c: DcganConfig, ndf: number): number {
  const g = 1920 * c.ngf + 64 * 64 * c.channels;
  const d = 1920 * ndf + 64 * 64 * c.channels;
  return 7 * 4 * (2 * g + 3 * d);
}

export async function trainDcgan(request: DcganTrainRequest, hooks: TrainHooks = {}): Promise<DcganTrainSummary> {
  const stream = hooks.stream === undefined ? process.stderr : hooks.stream;
  const given = Object.fromEntries(Object.entries(request).filter(([, v]) => v !== undefined)) as DcganTrainRequest;
  const run: DcganRunSettings = { ...DCGAN_RUN_DEFAULTS, ...given } as DcganRunSettings;
  const progress = new ProgressLine(stream, run.logEvery);
  const note = (s: string): void => progress.note(s);
  const engine = await initEngine();
  const dir = join(run.out, 'training');

  const existing = await readCheckpoint<DcganCheckpointState>(dir, 'dcgan');
  if (existing && !run.resume) {
    throw new TrainSetupError(`${run.out} already holds a training checkpoint (step ${existing.file.step}): pass --resume to continue it, or choose another --out`);
  }
  if (!existing && run.resume) note(`no checkpoint in ${run.out}: starting a new run`);
  const saved = existing?.file.state ?? null;
  const hyperGiven: Partial<DcganHyperParams> = {};
  for (const k of Object.keys(DCGAN_HYPER_DEFAULTS) as Array<keyof DcganHyperParams>) {
    if (given[k] !== undefined) (hyperGiven as Record<string, unknown>)[k] = given[k];
  }
  if (saved) {
    for (const k of ARCHITECTURE_KEYS) {
      if (hyperGiven[k] !== undefined && hyperGiven[k] !== saved.hyper[k]) {
        throw new TrainSetupError(`--${k} ${hyperGiven[k]} differs from the checkpoint's ${saved.hyper[k]}: the architecture of a resumed run cannot change`);
      }
    }
    const changed = (Object.keys(hyperGiven) as Array<keyof DcganHyperParams>).filter((k) => hyperGiven[k] !== saved.hyper[k]);
    if (changed.length) note(`resume with changed settings (no longer an exact continuation): ${changed.map((k) => `${k} ${saved.hyper[k]} → ${hyperGiven[k]}`).join(', ')}`);
  }
  const hyper: DcganHyperParams = { ...DCGAN_HYPER_DEFAULTS, ...saved?.hyper, ...hyperGiven };

  const train = await loadImageFolder(run.data, { limit: hyper.trainLimit });
  let config: DcganConfig;
  try {
    config = saved?.config ?? dcganConfig({ latentDim: hyper.latent, ngf: hyper.ngf, size: train.height });
  } catch (e) {
    throw new TrainSetupError((e as Error).message);
  }
  if (train.height !== config.size || train.width !== config.size) {
    throw new TrainSetupError(`the DCGAN makes ${config.size}×${config.size} images, the training images are ${train.width}×${train.height}`);
  }
  if (hyper.batch > train.count) throw new TrainSetupError(`--batch ${hyper.batch} is larger than the training set (${train.count} images)`);
  if (hyper.batch < 2) throw new TrainSetupError('--batch must be at least 2 (BatchNorm needs more than one image)');
  if (engine.backend === 'wasm') {
    const per = dcganBytesPerSample(config, hyper.ndf);
    const budget = 3.2 * 1024 ** 3;
    if (hyper.batch * per > budget) {
      throw new TrainSetupError(`--batch ${hyper.batch} needs about ${formatBytes(hyper.batch * per)}; the wasm heap allows ${formatBytes(budget)}: use --batch ≤ ${Math.floor(budget / per)}`);
    }
  }

  const trainer = new DcganTrainer(config, hyper.ndf, hyper.seed, { beta1: hyper.beta1 });
  let step = 0;
  let wallSeconds = 0;
  let rng: TrainRandom;
  let order: BatchOrder;
  const log = new JsonlLog(join(dir, 'log.jsonl'));
  try {
    if (existing && saved) {
      trainer.loadState(existing.tensors, saved.adamSteps);
      step = saved.step;
      wallSeconds = saved.wallSeconds;
      rng = TrainRandom.fromState(saved.rng);
      order = new BatchOrder(train.count, hyper.seed, saved.position);
      note(`resumed at step ${step} (${formatMinutes(wallSeconds)} of training)`);
      await log.write({ event: 'resume', step, minutes: +(wallSeconds / 60).toFixed(2) });
    } else {
      // Offset from the weight initialisation's stream (which uses the seed itself).
      rng = new TrainRandom(hyper.seed + 1);
      order = new BatchOrder(train.count, hyper.seed);
      await log.write({ event: 'start', step: 0, config, hyper, images: train.count, backend: engine.backend, threads: engine.threads });
    }
    note(`dcgan latent ${config.latentDim} ngf ${config.ngf} ndf ${hyper.ndf}, ${train.count} images, batch ${hyper.batch}, engine ${engine.backend} ×${engine.threads}`);

    const state = (): DcganCheckpointState => ({
      config,
      hyper,
      step,
      adamSteps: trainer.adamG.t,
      position: order.position,
      rng: rng.getState(),
      wallSeconds,
      dataImages: train.count,
    });
    const checkpoint = async (): Promise<void> => {
      await writeCheckpoint(dir, 'dcgan', step, trainer.stateArrays(), state());
      await saveModel(
        run.out,
        'dcgan',
        config,
        tensorsToArrays(trainer.generatorParams()),
        {
          source: 'flowprior train dcgan',
          trainer: `flowprior train dcgan (TypeScript, tfjs ${engine.backend})`,
          trainingData: describePath(run.data),
          trainingImages: train.count,
          steps: step,
          epochs: +order.epochs().toFixed(3),
          wallMinutes: +(wallSeconds / 60).toFixed(2),
          batch: hyper.batch,
          lr: hyper.lr,
          beta1: hyper.beta1,
          ndf: hyper.ndf,
        },
        { name: basename(resolve(run.out)) },
      );
    };
    const sample = async (): Promise<void> => {
      if (run.samples <= 0) return;
      const z = new TrainRandom(SAMPLE_SEED).normals(run.samples * config.latentDim);
      const x = tf.tidy(() => trainer.generate(tf.tensor2d(z, [run.samples, config.latentDim])));
      const png = await encodePng(imageGrid(x.dataSync() as Float32Array, run.samples, config.size, config.size, config.channels));
      x.dispose();
      await mkdir(join(dir, 'samples'), { recursive: true });
      await writeFile(join(dir, 'samples', `step-${String(step).padStart(8, '0')}.png`), png);
      await writeFile(join(run.out, 'samples.png'), png);
    };

    const lossD = new RunningMean(run.logEvery);
    const lossG = new RunningMean(run.logEvery);
    const speed = new Throughput();
    const runStart = wallSeconds;
    const stepsAtStart = step;
    let last = { lossD: Number.NaN, lossG: Number.NaN };
    let lastCheckpoint = performance.now();
    let stoppedBy: DcganTrainSummary['stoppedBy'] = 'signal';
    speed.mark(0);
    for (;;) {
      if (hooks.signal?.aborted) break;
      if (run.steps > 0 && step >= run.steps) {
        stoppedBy = 'steps';
        break;
      }
      if (run.minutes > 0 && wallSeconds - runStart >= run.minutes * 60) {
        stoppedBy = 'minutes';
        break;
      }
      const t0 = performance.now();
      const idx = order.next(hyper.batch);
      const b = idx.length;
      const real = tf.tensor4d(scaledBatch(train, idx, rng, { flip: hyper.flip }), [b, train.height, train.width, train.channels]);
      const z = tf.tensor2d(rng.normals(b * config.latentDim), [b, config.latentDim]);
      last = trainer.step(real, z, hyper.lr);
      real.dispose();
      z.dispose();
      step += 1;
      const t1 = performance.now();
      wallSeconds += (t1 - t0) / 1000;
      speed.mark(b, t1);
      lossD.push(last.lossD);
      lossG.push(last.lossG);
      progress.update(
        step,
        `step ${step} | epoch ${order.epochs().toFixed(2)} | D ${lossD.value.toFixed(3)} G ${lossG.value.toFixed(3)} | ` +
          `${speed.perSecond().toFixed(1)} img/s | ${formatMinutes(wallSeconds)}`,
      );
      if (step % run.logEvery === 0) {
        await log.write({ step, minutes: +(wallSeconds / 60).toFixed(2), lossD: +last.lossD.toFixed(4), lossG: +last.lossG.toFixed(4), images_per_s: +speed.perSecond().toFixed(2) });
      }
      hooks.onStep?.({ step, loss: last.lossD + last.lossG });
      let paused = false;
      if (run.sampleEvery > 0 && step % run.sampleEvery === 0) await sample(), (paused = true);
      if (run.checkpointMinutes > 0 && performance.now() - lastCheckpoint >= run.checkpointMinutes * 60_000) {
        await checkpoint();
        note(`step ${step}: checkpoint written`);
        lastCheckpoint = performance.now();
        paused = true;
      }
      if (paused) speed.reset();
      await yieldToEventLoop();
    }
    if (stoppedBy !== 'signal' && step > stepsAtStart && (run.sampleEvery <= 0 || step % run.sampleEvery !== 0)) await sample();
    await checkpoint();
    await log.write({ event: 'stop', step, minutes: +(wallSeconds / 60).toFixed(2), reason: stoppedBy });
    note(`stopped (${stoppedBy}) at step ${step} after ${formatMinutes(wallSeconds)} of training; checkpoint and model written to ${run.out}`);
    return { step, stepsThisRun: step - stepsAtStart, wallSeconds, lossD: last.lossD, lossG: last.lossG, stoppedBy, out: run.out };
  } finally {
    trainer.dispose();
  }
}
