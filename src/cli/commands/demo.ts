import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { initEngine } from '../../engine/index.ts';
import { decodeImageTo } from '../../imaging/index.ts';
import { solveWithMethod, type MethodName, type MethodOptions } from '../../methods/index.ts';
import { loadModel } from '../../models/store.ts';
import { DEFAULT_GLOW_MODEL, PACKAGE_ROOT } from '../../paths.ts';
import { simulateMeasurements } from '../../physics/noise.ts';
import { problemPreset, type ProblemKind } from '../../physics/presets.ts';
import { createOperator } from '../../physics/registry.ts';
import type { Problem } from '../../solvers/types.ts';
import { list, num, parse, UsageError } from '../args.ts';
import { writeOutputs } from './solve.ts';

const USAGE = `flowprior demo [--images <folder>] [--out <dir>] [--problems cs,inpaint,denoise] [--evaluations <n>] [--model <dir>]
  Solves the paper's problems on the bundled example faces (examples/) with the shipped Glow prior, next to a
  baseline (Lasso-DCT; BM3D for denoising), prints PSNR and writes panels (truth | measurements | reconstruction).`;

/** The comparison each problem gets: the paper's classical baseline for that problem. */
const BASELINE: Record<ProblemKind, MethodName> = {
  cs: 'lasso-dct', inpaint: 'lasso-dct', denoise: 'bm3d', superres: 'lasso-dct', deblur: 'lasso-dct',
};

export async function demoCommand(argv: string[]): Promise<number> {
  const { values: v } = parse(argv, {
    images: { type: 'string' }, out: { type: 'string' }, problems: { type: 'string' }, evaluations: { type: 'string' },
    model: { type: 'string' }, help: { type: 'boolean', short: 'h' },
  });
  if (v.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const folder = v.images ?? path.join(PACKAGE_ROOT, 'examples');
  const out = v.out ?? 'demo-out';
  const kinds = (list(v.problems) ?? ['cs', 'inpaint', 'denoise']) as ProblemKind[];
  const evaluations = num(v.evaluations, 'evaluations', { int: true, min: 1, max: 100_000 }) ?? 100;
  let files: string[];
  try {
    files = (await readdir(folder)).filter((f) => /\.(png|jpe?g)$/i.test(f)).sort();
  } catch {
    throw new UsageError(`cannot read --images folder ${folder}`);
  }
  if (files.length === 0) throw new UsageError(`no PNG/JPEG images in ${folder}`);

  const engine = await initEngine({ log: (l) => process.stderr.write(l + '\n') });
  const glow = await loadModel(v.model ?? DEFAULT_GLOW_MODEL);
  const shape = glow.imageShape;
  const images = await Promise.all(files.map(async (f) => (await decodeImageTo(await readFile(path.join(folder, f)), shape[1], shape[0])).image.data));
  process.stderr.write(`model ${glow.name}; ${files.length} images; ${evaluations} evaluations per solve\n`);

  const rows: string[][] = [['problem', 'image', 'measurements', 'glow', 'baseline', 'baseline PSNR']];
  for (const kind of kinds) {
    const preset = problemPreset(kind, { seed: 0 });
    const op = createOperator(preset.operator, shape);
    const problems: Problem[] = images.map((x, i) => ({
      operator: preset.operator, measurements: simulateMeasurements(op, x, { ...preset.noise, ...('seed' in preset.noise ? { seed: preset.noise.seed + i } : {}) } as typeof preset.noise),
      gamma: preset.gamma, penalty: 'l2', init: { type: 'zeros' }, seed: i, groundTruth: x,
    }));
    const options: MethodOptions & { noiseSigma?: number } = {
      optimizer: 'lbfgs', maxEvaluations: evaluations,
      noiseSigma: preset.noise.type === 'gaussian' ? preset.noise.sigma : undefined,
    };
    const t0 = Date.now();
    const glowResults = await solveWithMethod('glow', glow, problems, options);
    const glowMs = Date.now() - t0;
    const baseline = BASELINE[kind];
    // The baselines are cheap per iteration and stop on their own criterion: give them the budget they need.
    const baseResults = await solveWithMethod(baseline, null, problems, { ...options, maxEvaluations: 3000 });
    for (let i = 0; i < files.length; i++) {
      const name = path.parse(files[i]!).name;
      await writeOutputs(path.join(out, kind, name), {
        method: 'glow', problemKind: kind, shape, truth: images[i], view: op.view(problems[i]!.measurements),
        result: glowResults[i]!, wallMs: glowMs, backend: engine.backend, model: glow.name, operator: preset.operator,
        noise: preset.noise, gamma: preset.gamma, penalty: 'l2', optimizer: 'lbfgs', seed: i,
      });
      rows.push([kind, name, noisyPsnrLabel(kind, op.m), fmt(glowResults[i]!.psnr), baseline, fmt(baseResults[i]!.psnr)]);
    }
    op.dispose();
    process.stderr.write(`${kind}: glow batch of ${files.length} in ${(glowMs / 1000).toFixed(1)} s\n`);
  }
  glow.dispose();
  printTable(rows);
  process.stdout.write(`panels: ${path.join(out, '<problem>/<image>/panel.png')}\n`);
  return 0;
}

function noisyPsnrLabel(kind: ProblemKind, m: number): string {
  return kind === 'cs' ? `m=${m}` : kind === 'denoise' ? 'σ=0.1' : kind === 'inpaint' ? '19×19 hole' : `m=${m}`;
}

function fmt(v: number | undefined): string {
  return v === undefined ? '—' : `${v.toFixed(2)} dB`;
}

export function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const [i, r] of rows.entries()) {
    process.stdout.write(r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ') + '\n');
    if (i === 0) process.stdout.write(widths.map((w) => '-'.repeat(w)).join('  ') + '\n');
  }
}
