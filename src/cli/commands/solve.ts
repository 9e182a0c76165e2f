import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { initEngine } from '../../engine/index.ts';
import { decodeImageTo, encodePanelPng, encodePng, rasterFromShape, type RasterImage } from '../../imaging/index.ts';
import { checkMethod, isMethodName, methodNeedsModel, solveWithMethod, METHOD_NAMES, type MethodName, type MethodOptions } from '../../methods/index.ts';
import { loadModel } from '../../models/store.ts';
import type { ImageShape, LatentPrior } from '../../models/prior.ts';
import { DEFAULT_DCGAN_MODEL, DEFAULT_GLOW_MODEL } from '../../paths.ts';
import { simulateMeasurements } from '../../physics/noise.ts';
import { PROBLEM_KINDS, problemPreset } from '../../physics/presets.ts';
import { createOperator } from '../../physics/registry.ts';
import type { Penalty, Problem, OptimizerName, InitSpec, SolveResult } from '../../solvers/types.ts';
import { list, num, parse, UsageError } from '../args.ts';

const USAGE = `flowprior solve --problem cs|denoise|inpaint|superres|deblur (--image <png/jpg> | --measurements <file>) --out <dir>

  --prior glow|dcgan|lasso-dct|lasso-wvt|bm3d   method (default glow)
  --model <dir>          model directory (default: the shipped glow-celeba64 / dcgan-celeba64)
  --image <file>         ground truth: measurements are simulated from it (resized/cropped to the model's size)
  --measurements <file>  given measurements y: raw float32 little-endian (.f32/.bin) or a JSON number array
  --m <int>              cs: number of measurements (default 2500)
  --sigma <x>            noise standard deviation (denoise default 0.1; cs default: ‖η‖ = --noise-norm)
  --noise-norm <x>       cs: η = N(0, I)·x/√m (default 0.1, the paper's setting)
  --box r,c,h,w          inpaint: hole (default 22,22,19,19);  --fraction <x>: remove a random pixel fraction
  --factor <k>           superres: k×k averaging (default 4);  --blur-sigma <x>: deblur kernel σ (default 1.5)
  --gamma <x>            weight of the latent penalty (problem default: cs/inpaint 0, denoise 1)
  --penalty l2|l2sq      γ·‖z‖ (default) or γ·‖z‖²
  --optimizer lbfgs|reference|adam   (default lbfgs: strong Wolfe line search, per-problem stopping)
  --evaluations <n>      budget of objective evaluations (default 300)
  --lr <x>               reference/adam step (reference default: cs 0.1, others 1)
  --init zeros|normal:<std>   latent start (default zeros; dcgan uses normal:0.1)
  --restarts <n>         dcgan: random restarts (default 3);  --lambda <x|auto>: lasso λ
  --seed <int>           seeds A, the noise and random starts (default 0)
  --quiet                no progress on stderr`;

const OPTIONS = {
  problem: { type: 'string' }, prior: { type: 'string' }, model: { type: 'string' }, image: { type: 'string' },
  measurements: { type: 'string' }, out: { type: 'string' }, m: { type: 'string' }, sigma: { type: 'string' },
  'noise-norm': { type: 'string' }, box: { type: 'string' }, fraction: { type: 'string' }, factor: { type: 'string' },
  'blur-sigma': { type: 'string' }, gamma: { type: 'string' }, penalty: { type: 'string' }, optimizer: { type: 'string' },
  evaluations: { type: 'string' }, lr: { type: 'string' }, init: { type: 'string' }, restarts: { type: 'string' },
  lambda: { type: 'string' }, seed: { type: 'string' }, quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
} as const;

export const DEFAULT_IMAGE_SHAPE: ImageShape = [64, 64, 3];

export function parseInit(value: string | undefined, method: MethodName): InitSpec {
  const v = value ?? (method === 'dcgan' ? 'normal:0.1' : 'zeros');
  if (v === 'zeros') return { type: 'zeros' };
  const m = /^normal:([0-9.eE+-]+)$/.exec(v);
  if (m && Number.isFinite(Number(m[1])) && Number(m[1]) >= 0) return { type: 'normal', std: Number(m[1]) };
  throw new UsageError(`--init must be zeros or normal:<std>, got "${v}"`);
}

export function defaultModelDir(method: MethodName): string {
  return method === 'dcgan' ? DEFAULT_DCGAN_MODEL : DEFAULT_GLOW_MODEL;
}

async function readMeasurements(file: string): Promise<Float32Array> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch {
    throw new UsageError(`cannot read --measurements file ${file}`);
  }
  if (file.endsWith('.json')) {
    let arr: unknown;
    try {
      arr = JSON.parse(buf.toString('utf8'));
    } catch {
      throw new UsageError(`--measurements ${file} is not valid JSON`);
    }
    if (!Array.isArray(arr) || !arr.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw new UsageError(`--measurements ${file} must be a JSON array of finite numbers`);
    }
    return Float32Array.from(arr as number[]);
  }
  if (buf.length % 4 !== 0) throw new UsageError(`--measurements ${file}: ${buf.length} bytes is not a whole number of float32 values`);
  const y = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  if (!y.every(Number.isFinite)) throw new UsageError(`--measurements ${file} holds non-finite values`);
  return y;
}

export async function solveCommand(argv: string[]): Promise<number> {
  const { values: v } = parse(argv, OPTIONS);
  if (v.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const method = v.prior ?? 'glow';
  if (!isMethodName(method)) throw new UsageError(`--prior must be one of ${METHOD_NAMES.join(', ')}, got "${method}"`);
  if (!v.problem) throw new UsageError(`--problem is required (${PROBLEM_KINDS.join('|')})`);
  if (!v.out) throw new UsageError('--out <dir> is required');
  if (!v.image && !v.measurements) throw new UsageError('give --image (simulate measurements) or --measurements');
  const seed = num(v.seed, 'seed', { min: 0, max: 2 ** 31 - 1, int: true }) ?? 0;
  const box = list(v.box)?.map((s) => num(s, 'box', { int: true, min: 0 }) as number);
  if (box && box.length !== 4) throw new UsageError('--box must be row,col,height,width');
  const preset = problemPreset(v.problem, {
    m: num(v.m, 'm', { int: true, min: 1 }),
    sigma: num(v.sigma, 'sigma', { min: 0 }),
    noiseNorm: num(v['noise-norm'], 'noise-norm', { min: 0 }),
    box: box as [number, number, number, number] | undefined,
    fraction: num(v.fraction, 'fraction', { min: 0, max: 1 }),
    factor: num(v.factor, 'factor', { int: true, min: 1 }),
    blurSigma: num(v['blur-sigma'], 'blur-sigma', { min: 0 }),
    seed,
  });
  const penalty = (v.penalty ?? 'l2') as Penalty;
  if (penalty !== 'l2' && penalty !== 'l2sq') throw new UsageError(`--penalty must be l2 or l2sq, got "${v.penalty}"`);
  const optimizer = (v.optimizer ?? 'lbfgs') as OptimizerName;
  if (!['lbfgs', 'reference', 'adam'].includes(optimizer)) throw new UsageError(`--optimizer must be lbfgs, reference or adam`);
  const lambdaArg = v.lambda === 'auto' ? 'auto' : num(v.lambda, 'lambda', { min: 0 });

  const quiet = v.quiet ?? false;
  const log = (s: string) => quiet || process.stderr.write(s + '\n');
  const engine = await initEngine({ log });

  let prior: LatentPrior | null = null;
  let shape: ImageShape = DEFAULT_IMAGE_SHAPE;
  if (methodNeedsModel(method)) {
    const dir = v.model ?? defaultModelDir(method);
    if (!v.model && !existsSync(path.join(dir, 'config.json'))) {
      throw new UsageError(`no shipped ${method} model in ${dir}: import one (flowprior import-${method === 'glow' ? 'glowip' : 'dcgan'} …) and pass --model <dir>`);
    }
    prior = await loadModel(dir);
    if (prior.kind !== method) throw new UsageError(`--model ${dir} is a ${prior.kind} model, but --prior is ${method}`);
    shape = prior.imageShape;
    log(`model: ${prior.name} (${dir})`);
  }
  const [h, w] = shape;

  let truth: Float32Array | undefined;
  if (v.image) {
    let bytes: Buffer;
    try {
      bytes = await readFile(v.image);
    } catch {
      throw new UsageError(`cannot read --image ${v.image}`);
    }
    const { image, note } = await decodeImageTo(bytes, w, h, { field: 'image' });
    if (note) log(`note: --image ${note}`);
    truth = image.data;
  }
  const op = createOperator(preset.operator, shape);
  let y: Float32Array;
  if (v.measurements) {
    y = await readMeasurements(v.measurements);
    if (y.length !== op.m) throw new UsageError(`--measurements has ${y.length} values; the operator expects m = ${op.m}`);
  } else {
    y = simulateMeasurements(op, truth!, preset.noise);
  }
  const gamma = num(v.gamma, 'gamma', { min: 0 }) ?? preset.gamma;
  const problem: Problem = {
    operator: preset.operator, measurements: y, gamma, penalty, init: parseInit(v.init, method), seed, groundTruth: truth,
  };
  await checkMethod(method, problem);
  const options: MethodOptions & { imageShape: ImageShape; noiseSigma?: number } = {
    optimizer,
    maxEvaluations: num(v.evaluations, 'evaluations', { int: true, min: 1, max: 100_000 }) ?? 300,
    learningRate: num(v.lr, 'lr', { min: 0 }) ?? (optimizer === 'reference' ? (v.problem === 'cs' ? 0.1 : 1) : undefined),
    restarts: num(v.restarts, 'restarts', { int: true, min: 1, max: 64 }),
    lambda: lambdaArg,
    imageShape: shape,
    noiseSigma: preset.noise.type === 'gaussian' ? preset.noise.sigma : undefined,
    onProgress: quiet ? undefined : progressPrinter(),
  };
  const t0 = Date.now();
  const [result] = await solveWithMethod(method, prior, [problem], options);
  const wallMs = Date.now() - t0;
  if (!quiet) process.stderr.write('\n');
  await writeOutputs(v.out, { method, problemKind: v.problem, shape, truth, view: op.view(y), result, wallMs, backend: engine.backend, model: prior?.name ?? null, operator: preset.operator, noise: v.measurements ? null : preset.noise, gamma, penalty, optimizer, seed });
  op.dispose();
  prior?.dispose();
  const psnr = result.psnr !== undefined ? ` PSNR ${result.psnr.toFixed(2)} dB, SSIM ${result.ssim?.toFixed(4)}` : '';
  log(`${method}: ${result.evaluations} evaluations, ${(wallMs / 1000).toFixed(1)} s, stop: ${result.stopReason}${result.diverged ? ' (diverged: best finite iterate returned)' : ''}${psnr}`);
  log(`wrote ${path.join(v.out, 'result.png')}, panel.png, metrics.json`);
  return 0;
}

function progressPrinter() {
  let last = 0;
  return (p: { iteration: number; evaluations: number; loss: number }) => {
    const now = Date.now();
    if (now - last < 500) return;
    last = now;
    process.stderr.write(`\r  iteration ${p.iteration}  evaluations ${p.evaluations}  loss ${p.loss.toPrecision(6)}   `);
  };
}

export interface SolveOutputs {
  method: MethodName; problemKind: string; shape: ImageShape; truth?: Float32Array;
  view: { data: Float32Array; shape: ImageShape } | null; result: SolveResult; wallMs: number; backend: string;
  model: string | null; operator: unknown; noise: unknown; gamma: number; penalty: Penalty; optimizer: OptimizerName; seed: number;
}

/** result.png, panel.png (truth | what the measurements show | reconstruction) and metrics.json. */
export async function writeOutputs(dir: string, o: SolveOutputs): Promise<void> {
  await mkdir(dir, { recursive: true });
  const recon = rasterFromShape(o.result.image, o.shape);
  const tiles: RasterImage[] = [];
  if (o.truth) tiles.push(rasterFromShape(o.truth, o.shape));
  if (o.view) tiles.push(rasterFromShape(o.view.data, o.view.shape));
  tiles.push(recon);
  await writeFile(path.join(dir, 'result.png'), await encodePng(recon));
  await writeFile(path.join(dir, 'panel.png'), await encodePanelPng(tiles));
  const r = o.result;
  const metrics = {
    method: o.method, problem: o.problemKind, model: o.model, operator: o.operator, noise: o.noise, gamma: o.gamma,
    penalty: o.penalty, optimizer: o.optimizer, seed: o.seed, psnr: r.psnr ?? null, ssim: r.ssim ?? null,
    iterations: r.iterations, evaluations: r.evaluations, stopReason: r.stopReason, diverged: r.diverged,
    loss: Number.isFinite(r.loss) ? r.loss : null, dataFit: Number.isFinite(r.dataFit) ? r.dataFit : null, zNorm: r.zNorm,
    wallMs: o.wallMs, backend: o.backend,
  };
  await writeFile(path.join(dir, 'metrics.json'), JSON.stringify(metrics, null, 2) + '\n');
}
