import type { ModelMetadata } from '../store.ts';
import { arraysToTensors, type WeightArrays } from '../tensor_data.ts';
import { readTorchStateDict, type TorchTensor } from '../torch/checkpoint.ts';
import { permute } from '../torch/permute.ts';
import { DCGAN_LAYERS, dcganConfig, dcganLayerChannels, type DcganConfig } from './config.ts';
import { DcganGenerator } from './generator.ts';

/**
 * The reference DCGAN generator's state_dict (nn.Sequential `main`: ConvTranspose2d at 3i, BatchNorm2d at 3i+1,
 * ReLU, …, Tanh) → flowprior weights. ngf and the latent size are read from the first kernel.
 */
export function dcganFromStateDict(sd: Map<string, TorchTensor>, opts: { bnEps?: number } = {}): { config: DcganConfig; weights: WeightArrays } {
  const first = sd.get('main.0.weight');
  if (!first || first.shape.length !== 4) throw new Error('dcgan checkpoint: no main.0.weight (not a DCGAN generator state_dict?)');
  const last = sd.get(`main.${3 * (DCGAN_LAYERS - 1)}.weight`);
  const config = dcganConfig({
    latentDim: first.shape[0]!,
    ngf: first.shape[1]! / 8,
    channels: last?.shape[1] ?? 3,
    bnEps: opts.bnEps ?? 1e-5,
  });
  const out: WeightArrays = new Map();
  const used = new Set<string>();
  const take = (key: string, shape: number[]): TorchTensor => {
    const t = sd.get(key);
    if (!t) throw new Error(`dcgan checkpoint: missing ${key}`);
    if (t.shape.join() !== shape.join()) throw new Error(`dcgan checkpoint: ${key} has shape [${t.shape}], expected [${shape}]`);
    used.add(key);
    return t;
  };
  dcganLayerChannels(config).forEach(([cin, cout], i) => {
    // ConvTranspose2d weight [in, out, kh, kw] → [kh, kw, in, out].
    out.set(`layers.${i}.kernel`, permute(take(`main.${3 * i}.weight`, [cin, cout, 4, 4]), [2, 3, 0, 1]));
    if (i < DCGAN_LAYERS - 1) {
      const bn = `main.${3 * i + 1}.`;
      const vec = (k: string): { shape: number[]; data: Float32Array } => ({ shape: [cout], data: take(bn + k, [cout]).data });
      out.set(`layers.${i}.bn.gamma`, vec('weight'));
      out.set(`layers.${i}.bn.beta`, vec('bias'));
      out.set(`layers.${i}.bn.mean`, vec('running_mean'));
      out.set(`layers.${i}.bn.variance`, vec('running_var'));
      if (sd.has(bn + 'num_batches_tracked')) used.add(bn + 'num_batches_tracked');
    }
  });
  const extra = [...sd.keys()].filter((k) => !used.has(k));
  if (extra.length) throw new Error(`dcgan checkpoint: unexpected keys: ${extra.slice(0, 5).join(', ')}`);
  return { config, weights: out };
}

export async function readDcganCheckpoint(ptPath: string, opts: { bnEps?: number; key?: string } = {}): Promise<{ config: DcganConfig; weights: WeightArrays; metadata: ModelMetadata }> {
  const sd = await readTorchStateDict(ptPath, opts.key !== undefined ? { key: opts.key } : {});
  return { ...dcganFromStateDict(sd, opts), metadata: { source: 'import-dcgan' } };
}

/** Loads a reference DCGAN generator checkpoint (PyTorch state_dict) as a prior. */
export async function importDcgan(ptPath: string, opts: { name?: string; bnEps?: number; key?: string } = {}): Promise<DcganGenerator> {
  const { config, weights } = await readDcganCheckpoint(ptPath, opts);
  return new DcganGenerator(config, arraysToTensors(weights), { name: opts.name ?? 'dcgan' });
}
