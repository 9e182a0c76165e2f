// runEval: the sweep (measurement settings × priors × solver settings × images), solved in batches, appended to
// results.csv as it goes (so an interrupted run resumes where it stopped), then summarised into summary.csv,
// figures, reconstruction grids and report.md.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { BaselineOptions } from '../baselines/options.ts';
import { initEngine, tf } from '../engine/index.ts';
import { ValidationError } from '../errors.ts';
import { encodePng, rasterFromShape } from '../imaging/index.ts';
import { checkMethod, methodNeedsModel, solveWithMethod, type MethodName, type MethodOptions } from '../methods/index.ts';
import { psnr } from '../metrics/index.ts';
import { Glow } from '../models/glow/glow.ts';
import type { ImageShape, LatentPrior } from '../models/prior.ts';
import { loadModel, readModelConfig, type Prior } from '../models/store.ts';
import { OperatorCache } from '../physics/cache.ts';
import { simulateMeasurements } from '../physics/noise.ts';
import type { LinearOperator, NoiseSpec, OperatorSpec } from '../physics/operator.ts';
import { problemPreset } from '../physics/presets.ts';
import { measurementCount } from '../physics/registry.ts';
import type { InitSpec, Problem, SolveResult } from '../solvers/types.ts';
import { fillNormal, Stream } from '../util/random.ts';
import { loadImageFolders, type EvalImage } from './datasets.ts';
import { writeGrids } from './grids.ts';
import { planPlots } from './plots.ts';
import { plotPng } from './plot.ts';
import { Progress, type ProgressSink } from './progress.ts';
import { buildReport, type RunInfo } from './report.ts';
import {
  appendRows,
  cellKey,
  readRows,
  resultRow,
  RESULT_COLUMNS,
  TIMING_COLUMNS,
  type CellFields,
  type ResultRow,
  type SettingFields,
  type TimingRow,
} from './results.ts';
import { cellSeeds, type CellSeeds } from './seeds.ts';
import {
  initLabel,
  measurementSettings,
  solverFields,
  solverSettings,
  type EvalConfig,
  type EvalInit,
  type MeasurementSetting,
  type SolverSetting,
} from './settings.ts';
import { summarize, summaryCsv, type SummaryRow } from './summary.ts';
import { measurementViewFile, reconFile } from './layout.ts';

export type SolveFn = (method: MethodName, prior: LatentPrior | null, problems: Problem[], options: MethodOptions) => Promise<SolveResult[]>;

export interface EvalDeps {
  /** The solver (default solveWithMethod); tests wrap it to count calls. */
  solve?: SolveFn;
  /** Progress line and notes (default process.stderr); null for silence. */
  stderr?: ProgressSink | null;
  /** The command line, quoted in report.md so a reader can rerun it. */
  commandLine?: string;
}

export interface EvalOutcome {
  /** Cells solved by this run. */
  solved: number;
  /** Cells found finished in results.csv and skipped. */
  skipped: number;
  summary: SummaryRow[];
  /** Written files, relative to the output folder. */
  files: string[];
}

export const RESULTS_FILE = 'results.csv';
export const TIMINGS_FILE = 'timings.csv';
export const SUMMARY_FILE = 'summary.csv';
export const REPORT_FILE = 'report.md';
export const RUN_FILE = 'run.json';
export const MAX_BATCH = 6;

/** Everything a resumed run must share with the run that started the folder (the sweep lists may grow). */
interface RunIdentity {
  format: 'flowprior-eval';
  version: 1;
  problem: string;
  seed: number;
  evaluations: number;
  baselineEvaluations: number;
  restarts: number | null;
  learningRate: number | null;
  lambda: number | 'auto' | null;
  batchSize: number;
  noiseNorm: number | null;
  box: number[] | null;
  factor: number | null;
  blurSigma: number | null;
  imageShape: number[];
}

interface RunFile extends RunIdentity {
  models: Partial<Record<'glow' | 'dcgan', { name: string; sha256: string }>>;
  /** The latest invocation's sweep, for the report. */
  sweep: Record<string, unknown>;
  command?: string;
}

export function validateEvalConfig(cfg: EvalConfig): void {
  const nonEmpty = (v: readonly unknown[], field: string) => {
    if (v.length === 0) throw new ValidationError(field, 'must list at least one value');
  };
  nonEmpty(cfg.images, 'images');
  nonEmpty(cfg.priors, 'priors');
  nonEmpty(cfg.gamma, 'gamma');
  nonEmpty(cfg.penalty, 'penalty');
  nonEmpty(cfg.init, 'init');
  nonEmpty(cfg.optimizer, 'optimizer');
  if (cfg.problem === 'cs') nonEmpty(cfg.m, 'm');
  if (!Number.isInteger(cfg.batchSize) || cfg.batchSize < 1 || cfg.batchSize > MAX_BATCH) {
    throw new ValidationError('batch', `must be an integer from 1 to ${MAX_BATCH}, got ${cfg.batchSize}`);
  }
  for (const g of cfg.gamma) if (!(g >= 0 && Number.isFinite(g))) throw new ValidationError('gamma', `must be ≥ 0, got ${g}`);
}

function identityOf(cfg: EvalConfig, shape: ImageShape): RunIdentity {
  return {
    format: 'flowprior-eval',
    version: 1,
    problem: cfg.problem,
    seed: cfg.seed,
    evaluations: cfg.evaluations,
    baselineEvaluations: cfg.baselineEvaluations,
    restarts: cfg.restarts ?? null,
    learningRate: cfg.learningRate ?? null,
    lambda: cfg.lambda ?? null,
    batchSize: cfg.batchSize,
    noiseNorm: cfg.noiseNorm ?? null,
    box: cfg.box ?? null,
    factor: cfg.factor ?? null,
    blurSigma: cfg.blurSigma ?? null,
    imageShape: [...shape],
  };
}

/** Refuses to resume a folder started with other fixed parameters: its rows would not be comparable. */
async function checkRunFile(file: string, run: RunFile): Promise<RunFile> {
  let prev: RunFile;
  try {
    prev = JSON.parse(await readFile(file, 'utf8')) as RunFile;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return run;
    throw new ValidationError('out', `${file} is not readable JSON (${(err as Error).message})`);
  }
  const fields: (keyof RunIdentity)[] = [
    'format', 'version', 'problem', 'seed', 'evaluations', 'baselineEvaluations', 'restarts', 'learningRate', 'lambda',
    'batchSize', 'noiseNorm', 'box', 'factor', 'blurSigma', 'imageShape',
  ];
  for (const f of fields) {
    if (JSON.stringify(prev[f] ?? null) !== JSON.stringify(run[f] ?? null)) {
      throw new ValidationError(
        'out',
        `${path.dirname(file)} holds a run with ${f} = ${JSON.stringify(prev[f])}, this one has ${JSON.stringify(run[f])}; ` +
          'use another --out folder (or the same parameters to resume)',
      );
    }
  }
  for (const kind of ['glow', 'dcgan'] as const) {
    const a = prev.models?.[kind];
    const b = run.models[kind];
    if (a && b && a.sha256 !== b.sha256) {
      throw new ValidationError('out', `${path.dirname(file)} was run with another ${kind} model (${a.name}, sha256 ${a.sha256.slice(0, 12)}…)`);
    }
  }
  return { ...run, models: { ...prev.models, ...run.models } };
}

/** Drops a last line cut short by an interrupted append, so the table parses and the cell is solved again. */
async function repairTail(file: string): Promise<void> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return;
  }
  if (text.length === 0 || text.endsWith('\n')) return;
  await writeFile(file, text.slice(0, text.lastIndexOf('\n') + 1));
}

function noiseFields(noise: NoiseSpec): { sigma: string; noiseNorm: string } {
  if (noise.type === 'gaussian') return { sigma: String(noise.sigma), noiseNorm: '' };
  if (noise.type === 'gaussian-norm') return { sigma: '', noiseNorm: String(noise.norm) };
  return { sigma: '0', noiseNorm: '' };
}

interface PlannedMeasurement {
  setting: MeasurementSetting;
  operator: OperatorSpec;
  noise: NoiseSpec;
  fields: Pick<SettingFields, 'problem' | 'm' | 'sigma' | 'noiseNorm'>;
  jobs: { prior: MethodName; solver: SolverSetting; fields: SettingFields; todo: EvalImage[] }[];
}

function imageKey(img: EvalImage): string {
  return `${img.dataset}/${img.name}`;
}

/** A fixed random direction per problem (its normal draw, normalised) scaled to `norm`. */
function latentOfNorm(seed: number, d: number, norm: number): Float32Array {
  const u = new Float64Array(d);
  fillNormal(u, seed, Stream.latentInit);
  let s = 0;
  for (const v of u) s += v * v;
  const scale = s > 0 ? norm / Math.sqrt(s) : 0;
  return Float32Array.from(u, (v) => v * scale);
}

/** z = G⁻¹(x) for a batch of images, through the Glow's encoder. */
function encodeImages(glow: Glow, images: Float32Array[]): Float32Array[] {
  const [h, w, c] = glow.imageShape;
  const n = h * w * c;
  const flat = new Float32Array(images.length * n);
  images.forEach((x, i) => flat.set(x, i * n));
  const x = tf.tensor4d(flat, [images.length, h, w, c]);
  const { z, logdet } = glow.encode(x);
  const data = z.dataSync() as Float32Array;
  tf.dispose([x, z, logdet]);
  const d = glow.latentDim;
  return images.map((_, i) => data.slice(i * d, (i + 1) * d));
}

export async function runEval(cfg: EvalConfig, deps: EvalDeps = {}): Promise<EvalOutcome> {
  validateEvalConfig(cfg);
  const solve = deps.solve ?? solveWithMethod;
  const sink = deps.stderr === undefined ? process.stderr : deps.stderr;
  const note = (s: string) => sink?.write(s + '\n');
  const engine = await initEngine();

  // Models.
  const priors: Partial<Record<'glow' | 'dcgan', Prior>> = {};
  const models: RunFile['models'] = {};
  for (const kind of ['glow', 'dcgan'] as const) {
    if (!cfg.priors.includes(kind)) continue;
    const dir = kind === 'glow' ? cfg.glowModel : cfg.dcganModel;
    if (!dir) throw new ValidationError(`${kind}-model`, `the ${kind} prior needs a model directory`);
    const prior = await loadModel(dir);
    if (prior.kind !== kind) throw new ValidationError(`${kind}-model`, `${dir} holds a ${prior.kind} model, not a ${kind}`);
    priors[kind] = prior;
    const mc = await readModelConfig(dir);
    models[kind] = { name: prior.name, sha256: mc.weights.sha256 };
  }
  try {
    const shape: ImageShape = priors.glow?.imageShape ?? priors.dcgan?.imageShape ?? [64, 64, 3];
    if (priors.glow && priors.dcgan && priors.glow.imageShape.join() !== priors.dcgan.imageShape.join()) {
      throw new ValidationError('priors', `the glow works on ${priors.glow.imageShape.join('×')} images, the dcgan on ${priors.dcgan.imageShape.join('×')}`);
    }
    const n = shape[0] * shape[1] * shape[2];
    if (cfg.problem === 'cs') {
      for (const m of cfg.m) {
        if (!Number.isInteger(m) || m < 1 || m > n) throw new ValidationError('m', `must be an integer from 1 to n = ${n}, got ${m}`);
      }
    }
    const images = await loadImageFolders(cfg.images, shape, cfg.limit);
    for (const img of images) if (img.note) note(`note: ${img.dataset}/${img.name} ${img.note}`);

    const out = cfg.out;
    await mkdir(out, { recursive: true });
    const runFile = await checkRunFile(path.join(out, RUN_FILE), {
      ...identityOf(cfg, shape),
      models,
      sweep: {
        images: cfg.images.map((f) => path.basename(path.resolve(f))),
        limit: cfg.limit ?? null,
        priors: cfg.priors,
        m: cfg.problem === 'cs' ? cfg.m : null,
        sigma: cfg.sigma ?? null,
        gamma: cfg.gamma,
        penalty: cfg.penalty,
        init: cfg.init.map(initLabel),
        optimizer: cfg.optimizer,
      },
      command: deps.commandLine,
    });
    await writeFile(path.join(out, RUN_FILE), JSON.stringify(runFile, null, 2) + '\n');

    const resultsPath = path.join(out, RESULTS_FILE);
    const timingsPath = path.join(out, TIMINGS_FILE);
    await repairTail(resultsPath);
    await repairTail(timingsPath);
    const previous = (await readRows(resultsPath, RESULT_COLUMNS)) ?? null;
    const hasTimings = (await readRows(timingsPath, TIMING_COLUMNS)) !== null;
    const done = new Set((previous ?? []).map((r) => cellKey(r)));

    // Plan every cell; keep those not yet in results.csv.
    const skippedPriors: string[] = [];
    const plan: PlannedMeasurement[] = [];
    let total = 0;
    let skipped = 0;
    for (const setting of measurementSettings(cfg)) {
      // The operator seed does not depend on the image: one A per measurement setting, shared by a batch.
      const opSeed = cellSeeds(cfg.seed, setting.operatorKey, setting.key, '').operator;
      const preset = problemPreset(cfg.problem, {
        m: setting.m,
        sigma: setting.sigma,
        noiseNorm: cfg.noiseNorm,
        box: cfg.box,
        factor: cfg.factor,
        blurSigma: cfg.blurSigma,
        seed: opSeed,
      });
      const fields = { problem: cfg.problem, m: String(measurementCount(preset.operator, shape)), ...noiseFields(preset.noise) };
      const pm: PlannedMeasurement = { setting, operator: preset.operator, noise: preset.noise, fields, jobs: [] };
      for (const prior of cfg.priors) {
        try {
          await checkMethod(prior, {
            operator: preset.operator, measurements: new Float32Array(Number(fields.m)), gamma: 0, penalty: 'l2',
            init: { type: 'zeros' }, seed: 0,
          });
        } catch (err) {
          if (!(err instanceof ValidationError)) throw err;
          const msg = `${prior} (${setting.key}): ${err.message}`;
          if (!skippedPriors.includes(msg)) skippedPriors.push(msg);
          note(`skipping ${msg}`);
          continue;
        }
        for (const solver of solverSettings(prior, cfg)) {
          const sf: SettingFields = { ...fields, prior, ...solverFields(solver) };
          const todo = images.filter((img) => !done.has(cellKey({ ...sf, dataset: img.dataset, image: img.name })));
          skipped += images.length - todo.length;
          total += todo.length;
          if (todo.length > 0) pm.jobs.push({ prior, solver, fields: sf, todo });
        }
      }
      plan.push(pm);
    }
    if (skipped > 0) note(`resuming: ${skipped} finished cells in ${resultsPath} are skipped`);

    const progress = new Progress(total, sink);
    let resultsNew = previous === null;
    let timingsNew = !hasTimings;
    let solved = 0;

    for (const pm of plan) {
      if (pm.jobs.length === 0) continue;
      const cache = new OperatorCache({ maxBytes: 2 ** 31 });
      const lease = cache.acquire(pm.operator, shape);
      const op = lease.op;
      try {
        const measured = new Map<EvalImage, { y: Float32Array; seeds: CellSeeds; inputPsnr?: number }>();
        const lassoImages = new Map<EvalImage, Float32Array>();
        const measure = async (img: EvalImage) => {
          let m = measured.get(img);
          if (m) return m;
          const seeds = cellSeeds(cfg.seed, pm.setting.operatorKey, pm.setting.key, imageKey(img));
          const noise: NoiseSpec = pm.noise.type === 'none' ? pm.noise : { ...pm.noise, seed: seeds.noise };
          const y = simulateMeasurements(op, img.data, noise);
          m = { y, seeds, inputPsnr: op.spec.type === 'identity' ? psnr(y, img.data) : undefined };
          measured.set(img, m);
          await saveMeasurementView(out, pm.fields, img, op, y);
          return m;
        };
        const baseOptions = { operatorCache: cache, imageShape: shape };
        const baselineOptions = (): BaselineOptions => ({
          ...baseOptions,
          optimizer: 'lbfgs',
          maxEvaluations: cfg.baselineEvaluations,
          lambda: cfg.lambda,
          noiseSigma: pm.noise.type === 'gaussian' ? pm.noise.sigma : undefined,
        });
        const toProblem = async (img: EvalImage, solver: SolverSetting, init: InitSpec): Promise<Problem> => {
          const { y, seeds } = await measure(img);
          return {
            id: imageKey(img), operator: pm.operator, measurements: y, gamma: solver.gamma ?? 0, penalty: solver.penalty ?? 'l2',
            init, seed: seeds.problem, groundTruth: img.data,
          };
        };
        const lassoSolutions = async (batch: EvalImage[]): Promise<Float32Array[]> => {
          const missing = batch.filter((img) => !lassoImages.has(img));
          if (missing.length > 0) {
            const problems = await Promise.all(missing.map((img) => toProblem(img, {}, { type: 'zeros' })));
            const rs = await solve('lasso-dct', null, problems, baselineOptions());
            missing.forEach((img, i) => lassoImages.set(img, rs[i]!.image));
          }
          return batch.map((img) => lassoImages.get(img)!);
        };
        const initsFor = async (prior: MethodName, init: EvalInit | undefined, batch: EvalImage[]): Promise<InitSpec[]> => {
          if (!init || init.type === 'zeros') return batch.map(() => ({ type: 'zeros' }));
          if (init.type === 'normal') return batch.map(() => ({ type: 'normal', std: init.std }));
          const model = priors[prior as 'glow' | 'dcgan'];
          if (!model) throw new Error(`init ${initLabel(init)} needs a model prior`);
          if (init.type === 'norm') {
            const seeds = await Promise.all(batch.map(async (img) => (await measure(img)).seeds.problem));
            return seeds.map((s) => ({ type: 'given', z: latentOfNorm(s, model.latentDim, init.norm) }));
          }
          if (!(model instanceof Glow)) throw new Error('init lasso needs the Glow encoder');
          const zs = encodeImages(model, await lassoSolutions(batch));
          return zs.map((z) => ({ type: 'given', z }));
        };

        for (const job of pm.jobs) {
          const model = methodNeedsModel(job.prior) ? priors[job.prior as 'glow' | 'dcgan']! : null;
          const optimizer = job.solver.optimizer ?? 'lbfgs';
          const options: MethodOptions = model
            ? {
                ...baseOptions,
                optimizer,
                maxEvaluations: cfg.evaluations,
                learningRate: cfg.learningRate ?? (optimizer === 'reference' ? (cfg.problem === 'cs' ? 0.1 : 1) : undefined),
                restarts: cfg.restarts,
              }
            : baselineOptions();
          const label = describe(job.fields);
          for (let b = 0; b < job.todo.length; b += cfg.batchSize) {
            const batch = job.todo.slice(b, b + cfg.batchSize);
            progress.start(label);
            const inits = await initsFor(job.prior, job.solver.init, batch);
            const problems = await Promise.all(batch.map((img, i) => toProblem(img, job.solver, inits[i]!)));
            const t0 = performance.now();
            const results = await solve(job.prior, model, problems, options);
            const batchMs = performance.now() - t0;
            if (job.prior === 'lasso-dct') batch.forEach((img, i) => lassoImages.set(img, results[i]!.image));
            const rows: ResultRow[] = [];
            const timings: TimingRow[] = [];
            for (const [i, img] of batch.entries()) {
              const r = results[i]!;
              const cell: CellFields = { ...job.fields, dataset: img.dataset, image: img.name };
              rows.push(resultRow(cell, r, measured.get(img)?.inputPsnr));
              timings.push({
                ...cell,
                batchSize: String(batch.length),
                wallMs: r.wallMs.toFixed(1),
                batchWallMs: batchMs.toFixed(1),
                backend: engine.backend,
              });
              await saveImage(path.join(out, reconFile(cell)), r.image, shape);
            }
            await appendRows(resultsPath, RESULT_COLUMNS, rows, resultsNew);
            await appendRows(timingsPath, TIMING_COLUMNS, timings, timingsNew);
            resultsNew = false;
            timingsNew = false;
            solved += batch.length;
            progress.advance(batch.length, label);
          }
        }
      } finally {
        lease.release();
        cache.clear();
      }
    }
    progress.finish();

    // Everything below is derived from the tables, so a resumed run reports on all cells, old and new.
    const allRows = (await readRows(resultsPath, RESULT_COLUMNS)) ?? [];
    const timingRows = (await readRows(timingsPath, TIMING_COLUMNS)) ?? [];
    // With several folders, the first is the in-distribution one that the paper's numbers describe.
    const datasetOrder = [...new Set(images.map((i) => i.dataset))];
    const summary = summarize(allRows, n, datasetOrder.length > 1 ? datasetOrder[0] : undefined);
    const files: string[] = [RESULTS_FILE, TIMINGS_FILE, RUN_FILE];
    await writeFile(path.join(out, 'summary.csv'), summaryCsv(summary));
    files.push(SUMMARY_FILE);
    const plots = planPlots(cfg.problem, summary, n);
    if (plots.length > 0) await mkdir(path.join(out, 'plots'), { recursive: true });
    for (const p of plots) {
      await writeFile(path.join(out, p.file), await plotPng(p.spec));
      files.push(p.file);
    }
    const grids = await writeGrids(out, allRows, images, shape, cfg.gridImages);
    files.push(...grids.map((g) => g.file));
    const info: RunInfo = {
      problem: cfg.problem,
      seed: cfg.seed,
      evaluations: cfg.evaluations,
      baselineEvaluations: cfg.baselineEvaluations,
      backend: `${engine.backend} (${engine.threads} thread${engine.threads === 1 ? '' : 's'})`,
      models: runFile.models,
      imageShape: shape,
      datasets: [...new Set(images.map((i) => i.dataset))].map((d) => ({ name: d, images: images.filter((i) => i.dataset === d).length })),
      skipped: skippedPriors,
      command: deps.commandLine,
    };
    await writeFile(path.join(out, REPORT_FILE), buildReport({ info, summary, plots, grids, timings: timingRows }));
    files.push(REPORT_FILE);
    return { solved, skipped, summary, files };
  } finally {
    for (const p of Object.values(priors)) p?.dispose();
  }
}

function describe(f: SettingFields): string {
  const parts = [f.prior, f.problem === 'cs' ? `m=${f.m}` : '', f.sigma ? `σ=${f.sigma}` : '', f.gamma ? `γ=${f.gamma}` : '', f.penalty === 'l2sq' ? '‖z‖²' : '', f.init && f.init !== 'zeros' ? `init ${f.init}` : '', f.optimizer && f.optimizer !== 'lbfgs' ? f.optimizer : ''];
  return parts.filter(Boolean).join(' ');
}

async function saveImage(file: string, data: Float32Array, shape: ImageShape): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, await encodePng(rasterFromShape(data, shape)));
}

/** What the measurements look like (the noisy or masked image), for the grids; nothing when there is no picture. */
async function saveMeasurementView(
  out: string,
  fields: Pick<SettingFields, 'problem' | 'm' | 'sigma' | 'noiseNorm'>,
  img: EvalImage,
  op: LinearOperator,
  y: Float32Array,
): Promise<void> {
  const view = op.view(y);
  if (!view) return;
  await saveImage(path.join(out, measurementViewFile(fields, img.dataset, img.name)), view.data, view.shape);
}
