import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { ModelError } from '../errors.ts';
import { dcganConfig, validateDcganConfig, type DcganConfig } from './dcgan/config.ts';
import { DcganGenerator } from './dcgan/generator.ts';
import { validateGlowConfig, type GlowConfig } from './glow/config.ts';
import { Glow } from './glow/glow.ts';
import { decodeSafetensors, encodeSafetensors } from './safetensors.ts';
import { arraysToTensors, sizeOf, tensorsToArrays, type TensorRecord, type WeightArrays } from './tensor_data.ts';

/**
 * A model directory: `config.json` (kind, architecture, provenance metadata, sha256 of the weights) and
 * `weights.safetensors` (float32, flowprior's own weight names and tfjs layouts).
 */
export type ModelKind = 'glow' | 'dcgan';

export interface ModelMetadata {
  /** Where the weights came from, e.g. 'import-glowip' or 'flowprior train'. */
  source?: string;
  trainer?: string;
  trainingData?: string;
  steps?: number;
  wallMinutes?: number;
  valBitsPerDim?: number;
  createdAt?: string;
  [key: string]: unknown;
}

export interface ModelConfigFile {
  format: 'flowprior-model';
  version: 1;
  kind: ModelKind;
  name: string;
  architecture: GlowConfig | DcganConfig;
  metadata: ModelMetadata;
  weights: { file: string; sha256: string; parameters: number };
}

export type Prior = Glow | DcganGenerator;

/** Raised for unreadable, inconsistent or corrupt model directories (a ModelError for the service). */
export class ModelFormatError extends ModelError {
  constructor(message: string) {
    super(message);
    this.name = 'ModelFormatError';
  }
}

export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = 'weights.safetensors';

function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

async function writeAtomic(path: string, data: Buffer | string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

function validateArchitecture(kind: ModelKind, config: unknown): GlowConfig | DcganConfig {
  if (kind === 'glow') return validateGlowConfig({ ...(config as GlowConfig) });
  if (kind === 'dcgan') return validateDcganConfig(dcganConfig(config as Partial<DcganConfig>));
  throw new ModelFormatError(`unknown model kind ${String(kind)}`);
}

export async function saveModel(
  dir: string,
  kind: ModelKind,
  config: GlowConfig | DcganConfig,
  weights: WeightArrays | TensorRecord,
  metadata: ModelMetadata = {},
  opts: { name?: string } = {},
): Promise<ModelConfigFile> {
  const architecture = validateArchitecture(kind, config);
  const arrays = weights instanceof Map ? weights : tensorsToArrays(weights);
  const file = encodeSafetensors(arrays, { format: 'pt', kind });
  let parameters = 0;
  for (const t of arrays.values()) parameters += sizeOf(t.shape);
  const cfg: ModelConfigFile = {
    format: 'flowprior-model',
    version: 1,
    kind,
    name: opts.name ?? basename(resolve(dir)),
    architecture,
    metadata: { createdAt: new Date().toISOString(), ...metadata },
    weights: { file: WEIGHTS_FILE, sha256: sha256(file), parameters },
  };
  await mkdir(dir, { recursive: true });
  await writeAtomic(join(dir, WEIGHTS_FILE), file);
  await writeAtomic(join(dir, CONFIG_FILE), `${JSON.stringify(cfg, null, 2)}\n`);
  return cfg;
}

/** Saves a loaded prior with its own config and weights. */
export async function savePrior(dir: string, prior: Prior, metadata: ModelMetadata = {}): Promise<ModelConfigFile> {
  return saveModel(dir, prior.kind, prior.config, prior.params, metadata, { name: prior.name });
}

export async function readModelConfig(dir: string): Promise<ModelConfigFile> {
  let raw: string;
  try {
    raw = await readFile(join(dir, CONFIG_FILE), 'utf8');
  } catch (e) {
    throw new ModelFormatError(`model ${dir}: cannot read ${CONFIG_FILE} (${(e as Error).message})`);
  }
  let cfg: ModelConfigFile;
  try {
    cfg = JSON.parse(raw) as ModelConfigFile;
  } catch {
    throw new ModelFormatError(`model ${dir}: ${CONFIG_FILE} is not valid JSON`);
  }
  if (cfg.format !== 'flowprior-model' || cfg.version !== 1) {
    throw new ModelFormatError(`model ${dir}: ${CONFIG_FILE} is not a flowprior model (format/version)`);
  }
  if (cfg.kind !== 'glow' && cfg.kind !== 'dcgan') throw new ModelFormatError(`model ${dir}: unknown kind ${String(cfg.kind)}`);
  try {
    cfg.architecture = validateArchitecture(cfg.kind, cfg.architecture);
  } catch (e) {
    throw new ModelFormatError(`model ${dir}: ${(e as Error).message}`);
  }
  if (!cfg.weights || typeof cfg.weights.sha256 !== 'string') throw new ModelFormatError(`model ${dir}: no weights checksum in ${CONFIG_FILE}`);
  return cfg;
}

/** Config and raw weights, checksum verified. */
export async function readModelDir(dir: string): Promise<{ config: ModelConfigFile; weights: WeightArrays }> {
  const config = await readModelConfig(dir);
  const file = config.weights.file ?? WEIGHTS_FILE;
  if (file.includes('/') || file.includes('\\')) throw new ModelFormatError(`model ${dir}: weights file must be in the model directory`);
  let buf: Buffer;
  try {
    buf = await readFile(join(dir, file));
  } catch (e) {
    throw new ModelFormatError(`model ${dir}: cannot read ${file} (${(e as Error).message})`);
  }
  const actual = sha256(buf);
  if (actual !== config.weights.sha256) {
    throw new ModelFormatError(
      `model ${dir}: ${file} checksum mismatch (config.json says sha256 ${config.weights.sha256}, file has ${actual}); ` +
        'the weights are corrupt or belong to another model',
    );
  }
  try {
    return { config, weights: decodeSafetensors(buf).tensors };
  } catch (e) {
    throw new ModelFormatError(`model ${dir}: ${(e as Error).message}`);
  }
}

/** Loads a model directory as the prior its kind names (Glow or DcganGenerator). */
export async function loadModel(dir: string, opts: { name?: string } = {}): Promise<Prior> {
  const { config, weights } = await readModelDir(dir);
  const params = arraysToTensors(weights);
  const name = opts.name ?? config.name;
  try {
    if (config.kind === 'glow') return new Glow(config.architecture as GlowConfig, params, { name });
    return new DcganGenerator(config.architecture as DcganConfig, params, { name });
  } catch (e) {
    for (const t of Object.values(params)) t.dispose();
    throw new ModelFormatError(`model ${dir}: ${(e as Error).message}`);
  }
}
