import { CheckpointError } from '../../train/checkpoint.ts';
import { TrainSetupError } from '../../train/errors.ts';
import { ImageFolderError } from '../../train/image_folder.ts';
import { DCGAN_HYPER_DEFAULTS, DCGAN_RUN_DEFAULTS, trainDcgan, type DcganTrainRequest } from '../../train/dcgan/run.ts';
import { GLOW_HYPER_DEFAULTS, GLOW_RUN_DEFAULTS, trainGlow, type GlowTrainRequest } from '../../train/glow/run.ts';
import { num, parse, UsageError } from '../args.ts';

const G = GLOW_HYPER_DEFAULTS;
const GR = GLOW_RUN_DEFAULTS;
const D = DCGAN_HYPER_DEFAULTS;
const DR = DCGAN_RUN_DEFAULTS;

const USAGE = `flowprior train glow|dcgan — train a prior on a folder of images (resumable)

flowprior train glow --data <folder> --out <model dir> [--val <folder>] [--resume] [options]
  --K <n> --L <n> --hidden <n>   flow steps per level, levels, coupling width (default ${G.K}, ${G.L}, ${G.hidden})
  --n-bits <n>           bit depth of the data and of bits/dim (default ${G.nBits})
  --batch <n>            images per step (default ${G.batch}); --init-batch <n>: ActNorm initialisation (default ${G.initBatch})
  --lr <x> --warmup <n>  Adam learning rate after a linear warm-up of n steps (default ${G.lr}, ${G.warmup})
  --ema <x>              decay of the exported/validated weight average, 0 = raw weights (default ${G.ema})
  --clip-value <x> --clip-norm <x>   gradient clipping (default ${G.clipValue}, ${G.clipNorm})
  --no-flip              no random horizontal flips
  --val-every <n>        validation bits/dim every n steps (default ${GR.valEvery}; 0 = only at the end)
  --val-limit <n>        first n validation images (default ${GR.valLimit}); --val-batch <n> (default ${GR.valBatch})
  --sample-every <n>     sample grid every n steps (default ${GR.sampleEvery}); --samples <n> (default ${GR.samples});
  --temperature <x>      sampling temperature (default ${GR.temperature})
  --train-limit <n>      train on the first n images only (default: all)

flowprior train dcgan --data <folder> --out <model dir> [--resume] [options]
  --latent <n> --ngf <n> --ndf <n>   latent size, generator and discriminator widths (default ${D.latent}, ${D.ngf}, ${D.ndf})
  --batch <n> --lr <x> --beta1 <x>   (default ${D.batch}, ${D.lr}, ${D.beta1})
  --no-flip  --sample-every <n> (default ${DR.sampleEvery})  --samples <n> (default ${DR.samples})  --train-limit <n>

Both:
  --steps <n>            stop when the run reaches n steps in total (default: no limit)
  --minutes <x>          stop after x minutes of training in this invocation (default: no limit)
  --checkpoint-minutes <x>   checkpoint (and model directory) every x minutes (default ${GR.checkpointMinutes}); also on
                         SIGINT/SIGTERM and at the end
  --seed <n>             seeds the weights, the data order, dequantisation and flips (default 0)
  --log-every <n>        progress/log line every n steps (default ${GR.logEvery})
  --resume               continue the checkpoint in <out>/training exactly (weights, Adam, step, RNG, data order)
  --quiet                no progress output

<out> becomes a model directory (config.json + weights.safetensors, loadable as --model) with samples.png;
<out>/training holds the checkpoint, log.jsonl and the sample grids over time.`;

const COMMON = {
  data: { type: 'string' },
  out: { type: 'string' },
  resume: { type: 'boolean' },
  batch: { type: 'string' },
  lr: { type: 'string' },
  steps: { type: 'string' },
  minutes: { type: 'string' },
  'sample-every': { type: 'string' },
  samples: { type: 'string' },
  'checkpoint-minutes': { type: 'string' },
  seed: { type: 'string' },
  'no-flip': { type: 'boolean' },
  'log-every': { type: 'string' },
  'train-limit': { type: 'string' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const GLOW_OPTIONS = {
  ...COMMON,
  val: { type: 'string' },
  K: { type: 'string' },
  L: { type: 'string' },
  hidden: { type: 'string' },
  'n-bits': { type: 'string' },
  'init-batch': { type: 'string' },
  warmup: { type: 'string' },
  ema: { type: 'string' },
  'clip-value': { type: 'string' },
  'clip-norm': { type: 'string' },
  'val-every': { type: 'string' },
  'val-limit': { type: 'string' },
  'val-batch': { type: 'string' },
  temperature: { type: 'string' },
} as const;

const DCGAN_OPTIONS = {
  ...COMMON,
  latent: { type: 'string' },
  ngf: { type: 'string' },
  ndf: { type: 'string' },
  beta1: { type: 'string' },
} as const;

const int = (v: string | undefined, name: string, min: number, max = 1e9): number | undefined => num(v, name, { int: true, min, max });
const pos = (v: string | undefined, name: string, max = Infinity): number | undefined => {
  const x = num(v, name, { min: 0, max });
  if (x !== undefined && x <= 0) throw new UsageError(`--${name} must be > 0, got ${v}`);
  return x;
};

function required(v: string | undefined, name: string): string {
  if (!v) throw new UsageError(`--${name} is required`);
  return v;
}

type CommonValues = { [K in keyof typeof COMMON]?: (typeof COMMON)[K]['type'] extends 'boolean' ? boolean : string };

function commonRequest(v: CommonValues) {
  return {
    data: required(v.data, 'data'),
    out: required(v.out, 'out'),
    resume: v.resume ?? false,
    batch: int(v.batch, 'batch', 1),
    lr: pos(v.lr, 'lr'),
    steps: int(v.steps, 'steps', 0),
    minutes: num(v.minutes, 'minutes', { min: 0 }),
    sampleEvery: int(v['sample-every'], 'sample-every', 0),
    samples: int(v.samples, 'samples', 0, 1024),
    checkpointMinutes: num(v['checkpoint-minutes'], 'checkpoint-minutes', { min: 0 }),
    seed: int(v.seed, 'seed', 0, 2 ** 31 - 1),
    flip: v['no-flip'] ? false : undefined,
    logEvery: int(v['log-every'], 'log-every', 1),
    trainLimit: int(v['train-limit'], 'train-limit', 0),
  };
}

export function parseGlowArgs(argv: string[]): GlowTrainRequest | 'help' {
  const { values: v } = parse(argv, GLOW_OPTIONS);
  if (v.help) return 'help';
  return {
    ...commonRequest(v),
    val: v.val,
    K: int(v.K, 'K', 1, 256),
    L: int(v.L, 'L', 1, 8),
    hidden: int(v.hidden, 'hidden', 1, 4096),
    nBits: int(v['n-bits'], 'n-bits', 1, 8),
    initBatch: int(v['init-batch'], 'init-batch', 1),
    warmup: int(v.warmup, 'warmup', 0),
    ema: num(v.ema, 'ema', { min: 0, max: 0.99999 }),
    clipValue: pos(v['clip-value'], 'clip-value'),
    clipNorm: pos(v['clip-norm'], 'clip-norm'),
    valEvery: int(v['val-every'], 'val-every', 0),
    valLimit: int(v['val-limit'], 'val-limit', 1),
    valBatch: int(v['val-batch'], 'val-batch', 1),
    temperature: num(v.temperature, 'temperature', { min: 0 }),
  };
}

export function parseDcganArgs(argv: string[]): DcganTrainRequest | 'help' {
  const { values: v } = parse(argv, DCGAN_OPTIONS);
  if (v.help) return 'help';
  return {
    ...commonRequest(v),
    latent: int(v.latent, 'latent', 1, 4096),
    ngf: int(v.ngf, 'ngf', 1, 1024),
    ndf: int(v.ndf, 'ndf', 1, 1024),
    beta1: num(v.beta1, 'beta1', { min: 0, max: 0.9999 }),
  };
}

/** Stops the run cleanly (checkpoint, model directory) on the first SIGINT/SIGTERM; a second one exits at once. */
function stopOnSignals(controller: AbortController, stream: NodeJS.WriteStream | null): () => void {
  const handler = (sig: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(130);
    stream?.write(`\n${sig}: stopping after this step and writing a checkpoint (send again to exit at once)\n`);
    controller.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

export async function trainCommand(argv: string[]): Promise<number> {
  const [kind, ...rest] = argv;
  if (!kind || kind === '--help' || kind === '-h') {
    process.stdout.write(USAGE + '\n');
    return kind ? 0 : 2;
  }
  if (kind !== 'glow' && kind !== 'dcgan') throw new UsageError(`train: unknown model kind "${kind}" (glow or dcgan)`);
  const request = kind === 'glow' ? parseGlowArgs(rest) : parseDcganArgs(rest);
  if (request === 'help') {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const quiet = rest.includes('--quiet');
  const stream = quiet ? null : process.stderr;
  const controller = new AbortController();
  const release = stopOnSignals(controller, stream);
  try {
    const hooks = { signal: controller.signal, stream };
    const summary = kind === 'glow' ? await trainGlow(request as GlowTrainRequest, hooks) : await trainDcgan(request as DcganTrainRequest, hooks);
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return 0;
  } catch (e) {
    // Problems with what was asked for are usage errors (one line, exit 2), not crashes.
    if (e instanceof TrainSetupError || e instanceof ImageFolderError || e instanceof CheckpointError) throw new UsageError(e.message);
    throw e;
  } finally {
    release();
  }
}
