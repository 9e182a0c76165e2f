import { isMethodName, METHOD_NAMES, type MethodName } from '../../methods/index.ts';
import { PROBLEM_KINDS, type ProblemKind } from '../../physics/presets.ts';
import type { OptimizerName, Penalty } from '../../solvers/types.ts';
import { evalDefaults, MAX_BATCH, REPORT_FILE, runEval, type EvalConfig, type EvalInit } from '../../eval/index.ts';
import { varies } from '../../eval/plots.ts';
import { list, num, parse, UsageError } from '../args.ts';
import { printTable } from './demo.ts';
import { defaultModelDir, parseInit } from './solve.ts';

const USAGE = `flowprior eval cs|denoise|inpaint|superres|deblur --images <folder>[,<folder>…] --out <dir> [options]

Runs the paper's experiments as one seeded, resumable sweep over settings × priors × images and writes
results.csv, timings.csv, summary.csv, plots/*.png, grids/*.png and report.md (docs/eval.md).

  --images a,b,…         image folders; each is a dataset (results.csv "dataset" column)
  --limit <n>[,<n>…]     first n images of each folder (natural file-name order); one n per folder or one for all
  --priors <list>        of ${METHOD_NAMES.join(', ')} (default per problem: cs glow,dcgan,lasso-dct,lasso-wvt;
                         denoise glow,dcgan,bm3d; inpaint glow,dcgan)
  --m <list>             cs: numbers of measurements (default 50,200,500,1000,2500,5000,7500,12288)
  --sigma <list>         noise σ (denoise default 0.05,0.1,0.2; cs default: ‖η‖ = --noise-norm)
  --noise-norm <x>       cs: noise norm when no --sigma (default 0.1, the paper's)
  --box r,c,h,w          inpaint hole (default 22,22,19,19);  --factor <k> superres;  --blur-sigma <x> deblur
  --gamma <list>         penalty weights (default: cs/superres 0; denoise 0,0.25,0.5,1,2,4; inpaint 0,0.05,0.1,0.5)
  --penalty <list>       l2 (γ‖z‖) and/or l2sq (γ‖z‖²) (default l2)
  --init <list>          zeros, normal:<std>, lasso (encode the Lasso-DCT solution) (default zeros)
  --init-norm <list>     starts at these norms along a fixed random direction (ablation: 0,10,50,100)
  --optimizer <list>     lbfgs, adam, reference (default lbfgs)
  --evaluations <n>      objective evaluations per glow/dcgan solve (default 300; the paper: 600 with reference)
  --baseline-evaluations <n>  iteration cap of the baselines (default 1000)
  --restarts <n>         dcgan restarts (default 3);  --lr <x> reference/adam step;  --lambda <x|auto> lasso λ
  --batch <n>            images per solver call, 1–${MAX_BATCH} (default ${MAX_BATCH})
  --glow-model <dir>     (default: the shipped glow-celeba64);  --dcgan-model <dir> (default: dcgan-celeba64)
  --seed <int>           seeds every A, noise draw and random start (default 0)
  --grid-images <n>      columns of the reconstruction grids (default 6)
  --quiet                no progress line`;

const OPTIONS = {
  images: { type: 'string' }, limit: { type: 'string' }, priors: { type: 'string' }, m: { type: 'string' },
  sigma: { type: 'string' }, 'noise-norm': { type: 'string' }, box: { type: 'string' }, factor: { type: 'string' },
  'blur-sigma': { type: 'string' }, gamma: { type: 'string' }, penalty: { type: 'string' }, init: { type: 'string' },
  'init-norm': { type: 'string' }, optimizer: { type: 'string' }, evaluations: { type: 'string' },
  'baseline-evaluations': { type: 'string' }, restarts: { type: 'string' }, lr: { type: 'string' }, lambda: { type: 'string' },
  batch: { type: 'string' }, 'glow-model': { type: 'string' }, 'dcgan-model': { type: 'string' }, seed: { type: 'string' },
  out: { type: 'string' }, 'grid-images': { type: 'string' }, quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
} as const;

function numbers(value: string | undefined, name: string, opts: { min?: number; max?: number; int?: boolean } = {}): number[] | undefined {
  const items = list(value);
  if (items && items.length === 0) throw new UsageError(`--${name} must list at least one value`);
  return items?.map((s) => num(s, name, opts) as number);
}

function oneOf<T extends string>(value: string | undefined, name: string, allowed: readonly T[]): T[] | undefined {
  const items = list(value);
  if (items && items.length === 0) throw new UsageError(`--${name} must list at least one value`);
  for (const it of items ?? []) {
    if (!allowed.includes(it as T)) throw new UsageError(`--${name}: "${it}" is not one of ${allowed.join(', ')}`);
  }
  return items as T[] | undefined;
}

/** --init items: the solver's starts (parsed as `solve --init` does) plus 'lasso'. */
export function parseEvalInit(item: string): EvalInit {
  if (item === 'lasso') return { type: 'lasso' };
  const norm = /^norm:(.+)$/.exec(item);
  if (norm) return { type: 'norm', norm: num(norm[1], 'init', { min: 0 }) as number };
  try {
    return parseInit(item, 'glow') as EvalInit;
  } catch {
    throw new UsageError(`--init items must be zeros, normal:<std>, lasso or norm:<r>, got "${item}"`);
  }
}

/** The sweep an argument list asks for (defaults per problem from evalDefaults). */
export function evalConfigFromArgs(argv: string[]): EvalConfig | 'help' {
  const { values: v, positionals } = parse(argv, OPTIONS, true);
  if (v.help) return 'help';
  const [problem, ...extra] = positionals;
  if (!problem || !(PROBLEM_KINDS as readonly string[]).includes(problem)) {
    throw new UsageError(`give the problem first: flowprior eval ${PROBLEM_KINDS.join('|')} …`);
  }
  if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`);
  if (!v.images) throw new UsageError('--images <folder>[,<folder>…] is required');
  if (!v.out) throw new UsageError('--out <dir> is required');
  const d = evalDefaults(problem as ProblemKind);

  const priors = list(v.priors) ?? d.priors;
  for (const p of priors) if (!isMethodName(p)) throw new UsageError(`--priors: "${p}" is not one of ${METHOD_NAMES.join(', ')}`);
  const box = numbers(v.box, 'box', { int: true, min: 0 });
  if (box && box.length !== 4) throw new UsageError('--box must be row,col,height,width');
  const inits = list(v.init)?.map(parseEvalInit);
  const norms = numbers(v['init-norm'], 'init-norm', { min: 0 })?.map((r): EvalInit => ({ type: 'norm', norm: r }));
  const init = inits || norms ? [...(inits ?? []), ...(norms ?? [])] : d.init;
  if (init.length === 0) throw new UsageError('--init must list at least one value');
  const limit = numbers(v.limit, 'limit', { int: true, min: 1 });
  const folders = list(v.images) ?? [];
  if (limit && limit.length !== 1 && limit.length !== folders.length) {
    throw new UsageError(`--limit: give one value or one per --images folder (${folders.length}), got ${limit.length}`);
  }
  if (problem !== 'cs' && v.m !== undefined) throw new UsageError('--m applies to cs only');
  const lambda = v.lambda === 'auto' ? 'auto' : num(v.lambda, 'lambda', { min: 0 });
  const priorList = priors as MethodName[];

  return {
    ...d,
    problem: problem as ProblemKind,
    images: folders,
    out: v.out,
    limit: limit && limit.length === 1 ? limit[0] : limit,
    priors: priorList,
    m: numbers(v.m, 'm', { int: true, min: 1 }) ?? d.m,
    sigma: numbers(v.sigma, 'sigma', { min: 0 }) ?? d.sigma,
    noiseNorm: num(v['noise-norm'], 'noise-norm', { min: 0 }),
    box: box as [number, number, number, number] | undefined,
    factor: num(v.factor, 'factor', { int: true, min: 1 }),
    blurSigma: num(v['blur-sigma'], 'blur-sigma', { min: 0 }),
    gamma: numbers(v.gamma, 'gamma', { min: 0 }) ?? d.gamma,
    penalty: oneOf<Penalty>(v.penalty, 'penalty', ['l2', 'l2sq']) ?? d.penalty,
    init,
    optimizer: oneOf<OptimizerName>(v.optimizer, 'optimizer', ['lbfgs', 'adam', 'reference']) ?? d.optimizer,
    evaluations: num(v.evaluations, 'evaluations', { int: true, min: 1, max: 100_000 }) ?? d.evaluations,
    baselineEvaluations: num(v['baseline-evaluations'], 'baseline-evaluations', { int: true, min: 1, max: 100_000 }) ?? d.baselineEvaluations,
    restarts: num(v.restarts, 'restarts', { int: true, min: 1, max: 64 }),
    learningRate: num(v.lr, 'lr', { min: 0 }),
    lambda,
    batchSize: num(v.batch, 'batch', { int: true, min: 1, max: MAX_BATCH }) ?? d.batchSize,
    glowModel: priorList.includes('glow') ? (v['glow-model'] ?? defaultModelDir('glow')) : undefined,
    dcganModel: priorList.includes('dcgan') ? (v['dcgan-model'] ?? defaultModelDir('dcgan')) : undefined,
    seed: num(v.seed, 'seed', { int: true, min: 0, max: 2 ** 32 - 1 }) ?? d.seed,
    gridImages: num(v['grid-images'], 'grid-images', { int: true, min: 1, max: 64 }) ?? d.gridImages,
  };
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export async function evalCommand(argv: string[]): Promise<number> {
  const cfg = evalConfigFromArgs(argv);
  if (cfg === 'help') {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const quiet = argv.includes('--quiet');
  const outcome = await runEval(cfg, {
    stderr: quiet ? null : process.stderr,
    commandLine: ['flowprior', 'eval', ...argv.filter((a) => a !== '--quiet')].map(quote).join(' '),
  });
  // The console table names only what the sweep varied.
  const cols = (['m', 'sigma', 'noiseNorm', 'gamma', 'penalty', 'init', 'optimizer'] as const).filter((c) => varies(outcome.summary, c));
  const manyDatasets = new Set(outcome.summary.map((r) => r.dataset)).size > 1;
  const rows: string[][] = [[...(manyDatasets ? ['dataset'] : []), 'prior', ...cols, 'images', 'PSNR', 'paper', 'gap']];
  for (const r of outcome.summary) {
    rows.push([
      ...(manyDatasets ? [r.dataset] : []), r.prior, ...cols.map((c) => r[c] || '—'), String(r.n),
      Number.isFinite(r.psnrMean) ? r.psnrMean.toFixed(2) : '—',
      r.paperPsnr !== undefined ? r.paperPsnr.toFixed(2) : '',
      r.gap !== undefined ? `${r.gap >= 0 ? '+' : ''}${r.gap.toFixed(2)}` : '',
    ]);
  }
  printTable(rows);
  process.stdout.write(`${outcome.solved} cells solved, ${outcome.skipped} already done; report: ${cfg.out}/${REPORT_FILE}\n`);
  return 0;
}
