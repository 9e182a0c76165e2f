import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { MethodName } from '../methods/types.ts';
import { readModelConfig, type ModelConfigFile, type ModelKind } from '../models/store.ts';
import type { DcganConfig } from '../models/dcgan/config.ts';
import type { GlowConfig } from '../models/glow/config.ts';

/** What the API tells clients about a model, read from its config.json (the weights are not loaded). */
export interface ModelInfo {
  name: string;
  kind: ModelKind;
  imageShape: [number, number, number];
  n: number;
  latentDim: number;
  parameters: number;
  /** The model a request for this kind's method uses when it names none. */
  isDefault: boolean;
  metadata: Record<string, unknown>;
}

export interface ModelCatalog {
  list(): Promise<ModelInfo[]>;
  get(name: string): Promise<ModelInfo | null>;
  /** Name of the default model for a method with a prior; null for the baselines. */
  defaultFor(method: MethodName): string | null;
}

function describe(cfg: ModelConfigFile, isDefault: boolean): ModelInfo {
  let imageShape: [number, number, number];
  let latentDim: number;
  if (cfg.kind === 'glow') {
    const a = cfg.architecture as GlowConfig;
    imageShape = [a.size, a.size, a.channels];
    latentDim = a.size * a.size * a.channels;
  } else {
    const a = cfg.architecture as DcganConfig;
    imageShape = [a.size, a.size, a.channels];
    latentDim = a.latentDim;
  }
  return {
    name: cfg.name,
    kind: cfg.kind,
    imageShape,
    n: imageShape[0] * imageShape[1] * imageShape[2],
    latentDim,
    parameters: cfg.weights.parameters,
    isDefault,
    metadata: cfg.metadata ?? {},
  };
}

/** Models are the subfolders of MODELS_DIR holding a flowprior config.json; rescanned at most every few seconds. */
export class DirectoryModelCatalog implements ModelCatalog {
  private cache: { at: number; models: Map<string, ModelInfo> } | null = null;

  constructor(
    private readonly dir: string,
    private readonly defaults: { glow: string; dcgan: string },
    private readonly logger?: Logger,
    private readonly ttlMs = 5000,
  ) {}

  defaultFor(method: MethodName): string | null {
    return method === 'glow' ? this.defaults.glow : method === 'dcgan' ? this.defaults.dcgan : null;
  }

  private async scan(): Promise<Map<string, ModelInfo>> {
    if (this.cache && Date.now() - this.cache.at < this.ttlMs) return this.cache.models;
    const models = new Map<string, ModelInfo>();
    let entries: string[] = [];
    try {
      entries = (await readdir(this.dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch (e) {
      this.logger?.warn({ dir: this.dir, err: (e as Error).message }, 'models folder unreadable');
    }
    for (const name of entries.sort()) {
      try {
        const cfg = await readModelConfig(join(this.dir, name));
        // The folder name is the model's name in requests (config.name may differ after a copy).
        const info = describe({ ...cfg, name }, this.defaults[cfg.kind] === name);
        models.set(name, info);
      } catch (e) {
        this.logger?.debug({ model: name, err: (e as Error).message }, 'skipping folder without a valid model');
      }
    }
    this.cache = { at: Date.now(), models };
    return models;
  }

  async list(): Promise<ModelInfo[]> {
    return [...(await this.scan()).values()];
  }

  async get(name: string): Promise<ModelInfo | null> {
    return (await this.scan()).get(name) ?? null;
  }
}
