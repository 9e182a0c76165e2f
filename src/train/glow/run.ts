import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { initEngine, tf } from '../../engine/index.ts';
import { validateGlowConfig, type GlowConfig } from '../../models/glow/config.ts';
import { glowConfig } from '../../models/glow/random_glow.ts';
import { countGlowParams } from '../../models/glow/params.ts';
import { saveModel } from '../../models/store.ts';
import { tensorsToArrays } from '../../models/tensor_data.ts';
import { BatchOrder, dequantizeBatch, type DataPosition } from '../batches.ts';
import { readCheckpoint, writeCheckpoint } from '../checkpoint.ts';
import { TrainSetupError } from '../errors.ts';
import { loadImageFolder, type ImageSet } from '../image_folder.ts';
import { formatBytes, glowBytesPerSample, maxGlowBatch, WASM_BATCH_BUDGET_BYTES } from '../memory.ts';
import { formatMinutes, JsonlLog, ProgressLine, RunningMean, Throughput } from '../progress.ts';
import { epochPermutation, TrainRandom, type RngState } from '../rng.ts';
import { describePath, type TrainHooks } from '../run_common.ts';
import { glowSampleGridPng, glowValidationBitsPerDim } from './evaluate.ts';
import { GlowTrainer } from './trainer.ts';

/** Settings that define the optimisation; saved in the checkpoint and reused on resume. */
export interface GlowHyperParams {
  K: number;
  L: number;
  hidden: number;
  nBits: number;
  batch: number;
  /** Images for the data-dependent ActNorm initialisation. */
  initBatch: number;
  lr: number;
  /** Steps of linear learning-rate warm-up. */
  warmup: number;
  seed: number;
  flip: boolean;
  /** Decay of the weight average that is validated and exported (0: the raw weights). */
  ema: number;
  clipValue: number;
  clipNorm: number;
  /** Train on the first n images of the folder only (0: all). */
  trainLimit: number;
}

/** Settings of one invocation. */
export interface GlowRunSettings {
  data: string;
  val: string | null;
  out: string;
  resume: boolean;
  /** Stop when the total step count reaches this (0: no limit). */
  steps: number;
  /** Stop after this much training time in this invocation (0: no limit). */
  minutes: number;
  valEvery: number;
  valLimit: number;
  valBatch: number;
  sampleEvery: number;
  samples: number;
  temperature: number;
  checkpointMinutes: number;
  logEvery: number;
}

export const GLOW_HYPER_DEFAULTS: GlowHyperParams = {
  K: 8,
  L: 4,
  hidden: 128,
  nBits: 5,
  batch: 16,
  initBatch: 16,
  lr: 1e-3,
  warmup: 500,
  seed: 0,
  flip: true,
  ema: 0.999,
  clipValue: 5,
  clipNorm: 100,
  trainLimit: 0,
};

export const GLOW_RUN_DEFAULTS: Omit<GlowRunSettings, 'data' | 'out'> = {
  val: null,
  resume: false,
  steps: 0,
  minutes: 0,
  valEvery: 500,
  valLimit: 200,
  valBatch: 16,
  sampleEvery: 1000,
  samples: 32,
  temperature: 0.7,
  checkpointMinutes: 10,
  logEvery: 20,
};

export type GlowTrainRequest = Partial<GlowHyperParams> & Partial<GlowRunSettings> & Pick<GlowRunSettings, 'data' | 'out'>;

/** Everything besides the tensors that a checkpoint must hold for an exact continuation. */
export interface GlowCheckpointState {
  config: GlowConfig;
  hyper: GlowHyperParams;
  step: number;
  adamSteps: number;
  position: DataPosition;
  rng: RngState;
  wallSeconds: number;
  dataImages: number;
  lastValidation: { step: number; bitsPerDim: number } | null;
}

export interface GlowTrainSummary {
  step: number;
  stepsThisRun: number;
  wallSeconds: number;
  valBitsPerDim: number | null;
  stoppedBy: 'steps' | 'minutes' | 'signal';
  out: string;
}

const ARCHITECTURE_KEYS = ['K', 'L', 'hidden', 'nBits'] as const;

/** Learning rate at (0-based) step: linear warm-up to lr over `warmup` steps, then constant (the reference's schedule). */
export function warmupLr(lr: number, warmup: number, step: number): number {
  return warmup > 0 ? lr * Math.min(1, (step + 1) / warmup) : lr;
}

function trainingDir(out: string): string {
  return join(out, 'training');
}

function mergeHyper(given: Partial<GlowHyperParams>, saved: GlowHyperParams | null, note: (s: string) => void): GlowHyperParams {
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as Partial<GlowHyperParams>;
  if (!saved) return { ...GLOW_HYPER_DEFAULTS, ...defined };
  for (const k of ARCHITECTURE_KEYS) {
    if (defined[k] !== undefined && defined[k] !== saved[k]) {
      throw new TrainSetupError(`--${k} ${defined[k]} differs from the checkpoint's ${saved[k]}: the architecture of a resumed run cannot change`);
    }
  }
  const changed = (Object.keys(defined) as Array<keyof GlowHyperParams>).filter((k) => defined[k] !== saved[k]);
  if (changed.length) {
    note(`resume with changed settings (no longer an exact continuation): ${changed.map((k) => `${k} ${saved[k]} → ${defined[k]}`).join(', ')}`);
  }
  return { ...GLOW_HYPER_DEFAULTS, ...saved, ...defined };
}

function checkMemory(config: GlowConfig, hyper: GlowHyperParams, run: GlowRunSettings, backend: string): void {
  if (backend !== 'wasm') return;
  const per = glowBytesPerSample(config);
  const max = maxGlowBatch(config);
  const batches: Array<[string, number]> = [['batch', hyper.batch], ['init-batch', hyper.initBatch], ['val-batch', run.valBatch]];
  for (const [name, b] of batches) {
    if (b > max) {
      throw new TrainSetupError(
        `--${name} ${b} needs about ${formatBytes(b * per)} of activations (${formatBytes(per)} per image for this model); ` +
          `the wasm heap allows ${formatBytes(WASM_BATCH_BUDGET_BYTES)}: use --${name} ≤ ${max}`,
      );
    }
  }
}

function toTensor(x: Float32Array, set: ImageSet, n: number): tf.Tensor4D {
  return tf.tensor4d(x, [n, set.height, set.width, set.channels]);
}

/**
 * Maximum-likelihood training of a Glow on an image folder, resumable: see docs/training.md. Writes into `out`:
 * config.json + weights.safetensors (a model directory for loadModel), samples.png, and training/ (checkpoint,
 * log.jsonl, sample grids over time).
 */
export async function trainGlow(request: GlowTrainRequest, hooks: TrainHooks = {}): Promise<GlowTrainSummary> {
  const stream = hooks.stream === undefined ? process.stderr : hooks.stream;
  const given = Object.fromEntries(Object.entries(request).filter(([, v]) => v !== undefined)) as GlowTrainRequest;
  const run: GlowRunSettings = { ...GLOW_RUN_DEFAULTS, ...given } as GlowRunSettings;
  const progress = new ProgressLine(stream, run.logEvery);
  const note = (s: string): void => progress.note(s);
  const engine = await initEngine();
  const dir = trainingDir(run.out);

  const existing = await readCheckpoint<GlowCheckpointState>(dir, 'glow');
  if (existing && !run.resume) {
    throw new TrainSetupError(`${run.out} already holds a training checkpoint (step ${existing.file.step}): pass --resume to continue it, or choose another --out`);
  }
  if (!existing && run.resume) note(`no checkpoint in ${run.out}: starting a new run`);
  const saved = existing?.file.state ?? null;
  const hyperGiven: Partial<GlowHyperParams> = {};
  for (const k of Object.keys(GLOW_HYPER_DEFAULTS) as Array<keyof GlowHyperParams>) {
    if (given[k] !== undefined) (hyperGiven as Record<string, unknown>)[k] = given[k];
  }
  const hyper = mergeHyper(hyperGiven, saved?.hyper ?? null, note);

  const train = await loadImageFolder(run.data, { limit: hyper.trainLimit });
  if (train.height !== train.width) throw new TrainSetupError(`training images must be square, got ${train.width}×${train.height}`);
  let config: GlowConfig;
  try {
    config = saved ? validateGlowConfig(saved.config) : glowConfig({ K: hyper.K, L: hyper.L, hidden: hyper.hidden, nBits: hyper.nBits, size: train.height });
  } catch (e) {
    throw new TrainSetupError((e as Error).message);
  }
  if (config.size !== train.height) throw new TrainSetupError(`the checkpoint's model is ${config.size}×${config.size}, the images are ${train.width}×${train.height}`);
  checkMemory(config, hyper, run, engine.backend);
  if (hyper.batch > train.count) throw new TrainSetupError(`--batch ${hyper.batch} is larger than the training set (${train.count} images)`);
  const val = run.val ? await loadImageFolder(run.val, { limit: run.valLimit }) : null;
  if (val && (val.height !== train.height || val.width !== train.width)) {
    throw new TrainSetupError(`validation images are ${val.width}×${val.height}, training images ${train.width}×${train.height}`);
  }

  const trainer = new GlowTrainer(config, { seed: hyper.seed }, { ema: hyper.ema, clipValue: hyper.clipValue, clipNorm: hyper.clipNorm });
  let step = 0;
  let wallSeconds = 0;
  let rng: TrainRandom;
  let order: BatchOrder;
  let lastValidation: GlowCheckpointState['lastValidation'] = null;
  const log = new JsonlLog(join(dir, 'log.jsonl'));
  try {
    if (existing && saved) {
      trainer.loadState(existing.tensors, saved.adamSteps);
      step = saved.step;
      wallSeconds = saved.wallSeconds;
      rng = TrainRandom.fromState(saved.rng);
      order = new BatchOrder(train.count, hyper.seed, saved.position);
      lastValidation = saved.lastValidation;
      if (saved.dataImages !== train.count) note(`the training folder now has ${train.count} images (checkpoint: ${saved.dataImages})`);
      note(`resumed at step ${step} (${formatMinutes(wallSeconds)} of training)`);
      await log.write({ event: 'resume', step, minutes: +(wallSeconds / 60).toFixed(2) });
    } else {
      rng = new TrainRandom(hyper.seed);
      order = new BatchOrder(train.count, hyper.seed);
      // The initialisation batch comes from its own permutation, so the training order is the same for any initBatch.
      const n = Math.min(hyper.initBatch, train.count);
      const idx = epochPermutation(train.count, hyper.seed, -1).slice(0, n);
      const x = toTensor(dequantizeBatch(train, idx, config.nBits, rng), train, n);
      trainer.initActNorm(x);
      x.dispose();
      await log.write({
        event: 'start',
        step: 0,
        config,
        hyper,
        parameters: countGlowParams(config),
        images: train.count,
        backend: engine.backend,
        threads: engine.threads,
      });
    }
    note(
      `glow K=${config.K} L=${config.L} hidden=${config.hidden} (${countGlowParams(config).toLocaleString('en-US')} parameters), ` +
        `${train.count} training images ${train.width}×${train.height}${val ? `, ${val.count} validation` : ''}, batch ${hyper.batch}, ` +
        `engine ${engine.backend} ×${engine.threads}`,
    );

    const state = (): GlowCheckpointState => ({
      config,
      hyper,
      step,
      adamSteps: trainer.adam.t,
      position: order.position,
      rng: rng.getState(),
      wallSeconds,
      dataImages: train.count,
      lastValidation,
    });
    const metadata = (): Record<string, unknown> => ({
      source: 'flowprior train glow',
      trainer: `flowprior train glow (TypeScript, tfjs ${engine.backend})`,
      trainingData: describePath(run.data),
      trainingImages: train.count,
      steps: step,
      epochs: +order.epochs().toFixed(3),
      wallMinutes: +(wallSeconds / 60).toFixed(2),
      ...(lastValidation ? { valBitsPerDim: +lastValidation.bitsPerDim.toFixed(4), valStep: lastValidation.step } : {}),
      ...(val ? { validationData: describePath(run.val!), validationImages: val.count } : {}),
      weights: trainer.average ? `exponential moving average (decay ${hyper.ema})` : 'raw',
      batch: hyper.batch,
      lr: hyper.lr,
      warmup: hyper.warmup,
      flip: hyper.flip,
    });
    const checkpoint = async (): Promise<void> => {
      await writeCheckpoint(dir, 'glow', step, trainer.stateArrays(), state());
      await saveModel(run.out, 'glow', config, tensorsToArrays(trainer.exportWeights()), metadata(), { name: basename(resolve(run.out)) });
    };
    const validate = async (): Promise<void> => {
      if (!val) return;
      const bpd = glowValidationBitsPerDim(trainer.exportWeights(), config, val, run.valBatch);
      lastValidation = { step, bitsPerDim: bpd };
      await log.write({ step, minutes: +(wallSeconds / 60).toFixed(2), [trainer.average ? 'val_bpd_ema' : 'val_bpd']: +bpd.toFixed(4) });
      note(`step ${step} validation ${bpd.toFixed(4)} bits/dim${trainer.average ? ' (weight average)' : ''}`);
    };
    const sample = async (): Promise<void> => {
      if (run.samples <= 0) return;
      const png = await glowSampleGridPng(trainer.exportWeights(), config, run.samples, run.temperature);
      await mkdir(join(dir, 'samples'), { recursive: true });
      await writeFile(join(dir, 'samples', `step-${String(step).padStart(8, '0')}.png`), png);
      await writeFile(join(run.out, 'samples.png'), png);
    };

    const loss = new RunningMean(run.logEvery);
    const speed = new Throughput();
    const runStart = wallSeconds;
    const stepsAtStart = step;
    let lastCheckpoint = performance.now();
    let stoppedBy: GlowTrainSummary['stoppedBy'] = 'signal';
    speed.mark(0);
    for (;;) {
      if (hooks.signal?.aborted) {
        stoppedBy = 'signal';
        break;
      }
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
      const x = toTensor(dequantizeBatch(train, idx, config.nBits, rng, { flip: hyper.flip }), train, idx.length);
      const lr = warmupLr(hyper.lr, hyper.warmup, step);
      const r = trainer.step(x, lr);
      x.dispose();
      step += 1;
      const t1 = performance.now();
      wallSeconds += (t1 - t0) / 1000;
      speed.mark(idx.length, t1);
      loss.push(r.loss);
      if (r.skipped) note(`step ${step}: non-finite loss or gradient (${r.loss}), update skipped`);
      progress.update(
        step,
        `step ${step} | epoch ${order.epochs().toFixed(2)} | ${loss.value.toFixed(3)} bits/dim | ${speed.perSecond().toFixed(1)} img/s | ` +
          `lr ${lr.toExponential(1)} | ${formatMinutes(wallSeconds)}`,
      );
      if (step % run.logEvery === 0) {
        await log.write({
          step,
          minutes: +(wallSeconds / 60).toFixed(2),
          train_bpd: +r.loss.toFixed(4),
          grad_norm: +r.gradNorm.toFixed(3),
          lr,
          images_per_s: +speed.perSecond().toFixed(2),
        });
      }
      hooks.onStep?.({ step, loss: r.loss });
      let paused = false;
      if (run.valEvery > 0 && step % run.valEvery === 0) await validate(), (paused = true);
      if (run.sampleEvery > 0 && step % run.sampleEvery === 0) await sample(), (paused = true);
      if (run.checkpointMinutes > 0 && performance.now() - lastCheckpoint >= run.checkpointMinutes * 60_000) {
        await checkpoint();
        note(`step ${step}: checkpoint written`);
        lastCheckpoint = performance.now();
        paused = true;
      }
      if (paused) speed.reset();
      // Lets signal handlers run between steps.
      await yieldToEventLoop();
    }
    // A signal asks for a quick exit: skip the final validation and samples, keep the checkpoint.
    if (stoppedBy !== 'signal' && step > stepsAtStart) {
      if (lastValidation?.step !== step) await validate();
      if (run.sampleEvery <= 0 || step % run.sampleEvery !== 0) await sample();
    }
    await checkpoint();
    await log.write({ event: 'stop', step, minutes: +(wallSeconds / 60).toFixed(2), reason: stoppedBy });
    note(`stopped (${stoppedBy}) at step ${step} after ${formatMinutes(wallSeconds)} of training; checkpoint and model written to ${run.out}`);
    return {
      step,
      stepsThisRun: step - stepsAtStart,
      wallSeconds,
      valBitsPerDim: lastValidation?.bitsPerDim ?? null,
      stoppedBy,
      out: run.out,
    };
  } finally {
    trainer.dispose();
  }
}
