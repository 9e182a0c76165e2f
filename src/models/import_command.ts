import { readDcganCheckpoint } from './dcgan/import_dcgan.ts';
import { readGlowipCheckpoint } from './glow/import_glowip.ts';
import { saveModel, type ModelConfigFile } from './store.ts';

export const IMPORT_USAGE = {
  glowip: 'flowprior import-glowip <glowmodel.pt> <configs.json> <outdir>',
  dcgan: 'flowprior import-dcgan <G.pt> <outdir>',
} as const;

/**
 * `flowprior import-glowip <glowmodel.pt> <configs.json> <outdir>` / `flowprior import-dcgan <G.pt> <outdir>`:
 * converts a PyTorch checkpoint into a model directory. Needs no tfjs backend. Returns the written config.
 */
export async function runImportCommand(kind: 'glowip' | 'dcgan', args: string[]): Promise<ModelConfigFile> {
  if (kind === 'glowip') {
    if (args.length !== 3) throw new Error(`usage: ${IMPORT_USAGE.glowip}`);
    const [pt, configs, outDir] = args as [string, string, string];
    const { config, weights, metadata } = await readGlowipCheckpoint(pt, configs);
    return saveModel(outDir, 'glow', config, weights, metadata);
  }
  if (kind === 'dcgan') {
    if (args.length !== 2) throw new Error(`usage: ${IMPORT_USAGE.dcgan}`);
    const [pt, outDir] = args as [string, string];
    const { config, weights, metadata } = await readDcganCheckpoint(pt);
    return saveModel(outDir, 'dcgan', config, weights, metadata);
  }
  throw new Error(`unknown import kind ${String(kind)}`);
}
