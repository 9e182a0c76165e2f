import { readFile } from 'node:fs/promises';
import type { ModelMetadata } from '../store.ts';
import { arraysToTensors, type WeightArrays } from '../tensor_data.ts';
import { readTorchStateDict, type TorchTensor } from '../torch/checkpoint.ts';
import { permute, reshaped } from '../torch/permute.ts';
import { levelGeometry, validateGlowConfig, type GlowConfig, type SqueezeVariant } from './config.ts';
import { Glow } from './glow.ts';
import { stepPrefix } from './params.ts';

/** configs.json keys that describe the architecture; the rest is provenance and goes into metadata. */
const ARCHITECTURE_KEYS = new Set(['K', 'L', 'hidden', 'n_bits_x', 'size', 'channels', 'squeeze', 'top_step_coupling_bias', 'coupling', 'last_zeros']);

/** GlowIP configs.json → architecture (+ the remaining keys as metadata). */
export function glowConfigFromGlowip(cfg: Record<string, unknown>): { config: GlowConfig; metadata: ModelMetadata } {
  const num = (k: string, def?: number): number => {
    const v = cfg[k] ?? def;
    if (typeof v !== 'number') throw new Error(`configs.json: ${k} must be a number`);
    return v;
  };
  if (cfg.coupling !== undefined && cfg.coupling !== 'affine') {
    throw new Error(`configs.json: only affine coupling is supported (got ${String(cfg.coupling)})`);
  }
  const squeeze = (cfg.squeeze ?? 'spatial') as SqueezeVariant;
  const config = validateGlowConfig({
    K: num('K'),
    L: num('L'),
    hidden: num('hidden'),
    nBits: num('n_bits_x', 5),
    size: num('size', 64),
    channels: num('channels', 3),
    squeeze,
    topStepCouplingBias: num('top_step_coupling_bias', 0),
  });
  const metadata: ModelMetadata = {};
  for (const [k, v] of Object.entries(cfg)) if (!ARCHITECTURE_KEYS.has(k)) metadata[k] = v;
  if (typeof cfg.trained_steps === 'number') metadata.steps = cfg.trained_steps;
  if (typeof cfg.train_minutes === 'number') metadata.wallMinutes = cfg.train_minutes;
  if (typeof cfg.val_bits_per_dim === 'number') metadata.valBitsPerDim = cfg.val_bits_per_dim;
  if (typeof cfg.trainer === 'string') metadata.trainer = cfg.trainer;
  return { config, metadata };
}

/** Reference state_dict (module list: per level squeeze, K steps, split; top: squeeze, one step) → flowprior weights. */
export function glowWeightsFromStateDict(sd: Map<string, TorchTensor>, config: GlowConfig): WeightArrays {
  const out: WeightArrays = new Map();
  const used = new Set<string>();
  const take = (key: string): TorchTensor => {
    const t = sd.get(key);
    if (!t) throw new Error(`glowip checkpoint: missing ${key} (does configs.json match the checkpoint?)`);
    used.add(key);
    return t;
  };
  const vector = (key: string, n: number): { shape: number[]; data: Float32Array } => {
    const t = take(key);
    if (t.data.length !== n) throw new Error(`glowip checkpoint: ${key} has ${t.data.length} values, expected ${n}`);
    return reshaped(t, [n]);
  };
  const conv = (key: string, shape: [number, number, number, number]): { shape: number[]; data: Float32Array } => {
    const t = take(key);
    if (t.shape.join() !== shape.join()) throw new Error(`glowip checkpoint: ${key} has shape [${t.shape}], expected [${shape}]`);
    return permute(t, [2, 3, 1, 0]); // [out, in, kh, kw] → [kh, kw, in, out]
  };
  let index = 0;
  const H = config.hidden;
  levelGeometry(config).forEach((g, l) => {
    index++; // squeeze
    const C = g.channels;
    for (let k = 0; k < g.steps; k++, index++) {
      const src = `glow_modules.${index}.`;
      const dst = stepPrefix(l, k);
      out.set(`${dst}actnorm.bias`, vector(`${src}actnorm.b`, C));
      out.set(`${dst}actnorm.logs`, vector(`${src}actnorm.logs`, C));
      const W = take(`${src}invconv.W`);
      if (W.data.length !== C * C) throw new Error(`glowip checkpoint: ${src}invconv.W is not ${C}×${C}`);
      out.set(`${dst}invconv.weight`, reshaped(W, [C, C]));
      const net = `${src}coupling.net.`;
      out.set(`${dst}coupling.conv1.kernel`, conv(`${net}conv1.weight`, [H, C / 2, 3, 3]));
      out.set(`${dst}coupling.conv1.bias`, vector(`${net}conv1.bias`, H));
      out.set(`${dst}coupling.actnorm1.bias`, vector(`${net}actnorm1.b`, H));
      out.set(`${dst}coupling.actnorm1.logs`, vector(`${net}actnorm1.logs`, H));
      out.set(`${dst}coupling.conv2.kernel`, conv(`${net}conv2.weight`, [H, H, 1, 1]));
      out.set(`${dst}coupling.conv2.bias`, vector(`${net}conv2.bias`, H));
      out.set(`${dst}coupling.actnorm2.bias`, vector(`${net}actnorm2.b`, H));
      out.set(`${dst}coupling.actnorm2.logs`, vector(`${net}actnorm2.logs`, H));
      out.set(`${dst}coupling.conv3.kernel`, conv(`${net}conv3.weight`, [C, H, 3, 3]));
      out.set(`${dst}coupling.conv3.bias`, vector(`${net}conv3.bias`, C));
      out.set(`${dst}coupling.logs`, vector(`${net}logs`, C));
    }
    if (l < config.L - 1) index++; // split
  });
  // ActNorm 'initialized' flags and the like carry no weights; anything else means a different architecture.
  const extra = [...sd.keys()].filter((k) => !used.has(k) && !k.endsWith('initialized'));
  if (extra.length) throw new Error(`glowip checkpoint: unexpected keys for this config: ${extra.slice(0, 5).join(', ')}`);
  return out;
}

export interface GlowipImport {
  config: GlowConfig;
  weights: WeightArrays;
  metadata: ModelMetadata;
}

export async function readGlowipCheckpoint(ptPath: string, configsPath: string): Promise<GlowipImport> {
  const cfg = JSON.parse(await readFile(configsPath, 'utf8')) as Record<string, unknown>;
  const { config, metadata } = glowConfigFromGlowip(cfg);
  const weights = glowWeightsFromStateDict(await readTorchStateDict(ptPath), config);
  return { config, weights, metadata: { source: 'import-glowip', ...metadata } };
}

/** Loads a GlowIP-format checkpoint (glowmodel.pt + configs.json) as a Glow prior. */
export async function importGlowip(ptPath: string, configsPath: string, opts: { name?: string } = {}): Promise<Glow> {
  const { config, weights } = await readGlowipCheckpoint(ptPath, configsPath);
  return new Glow(config, arraysToTensors(weights), { name: opts.name ?? 'glowip' });
}
