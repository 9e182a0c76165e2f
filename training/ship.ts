// Ships a PyTorch-trained prior as a model directory under models/: imports the reference-format checkpoint,
// re-measures validation bits/dim with the TypeScript model (Glow), writes a sample grid, and records provenance.
//
//   node --import tsx training/ship.ts glow  [--from training/checkpoints/glow-celeba64] [--to models/glow-celeba64] [--val <folder>] [--val-limit 200]
//   node --import tsx training/ship.ts dcgan [--from training/checkpoints/dcgan-celeba64] [--to models/dcgan-celeba64]
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { tf, initEngine } from '../src/engine/index.ts';
import { composePanel, decodeImage, encodePng, rasterFromShape, type RasterImage } from '../src/imaging/index.ts';
import { readDcganCheckpoint } from '../src/models/dcgan/import_dcgan.ts';
import { readGlowipCheckpoint } from '../src/models/glow/import_glowip.ts';
import { loadModel, saveModel } from '../src/models/store.ts';
import type { Glow } from '../src/models/glow/glow.ts';
import type { LatentPrior } from '../src/models/prior.ts';
import { SeededRandom } from '../src/models/random.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { from: { type: 'string' }, to: { type: 'string' }, val: { type: 'string' }, 'val-limit': { type: 'string' } },
});
const kind = positionals[0];
if (kind !== 'glow' && kind !== 'dcgan') throw new Error('usage: ship.ts glow|dcgan [--from dir] [--to dir]');
const from = values.from ?? `training/checkpoints/${kind}-celeba64`;
const to = values.to ?? `models/${kind}-celeba64`;
await initEngine();

async function sampleGrid(prior: LatentPrior, z: Float32Array, n: number): Promise<Buffer> {
  const x = tf.tidy(() => tf.clipByValue(prior.generate(tf.tensor2d(z, [n, prior.latentDim])), 0, 1));
  const data = (await x.data()) as Float32Array;
  x.dispose();
  const [h, w, c] = prior.imageShape;
  const tiles: RasterImage[] = [];
  for (let i = 0; i < n; i++) tiles.push(rasterFromShape(data.slice(i * h * w * c, (i + 1) * h * w * c), [h, w, c]));
  // Eight per row.
  const strips: RasterImage[] = [];
  for (let r = 0; r < n / 8; r++) strips.push(composePanel(tiles.slice(r * 8, r * 8 + 8)));
  return encodePng(composeColumn(strips));
}

function composeColumn(strips: RasterImage[]): RasterImage {
  const width = strips[0]!.width;
  const height = strips.reduce((s, r) => s + r.height, 0);
  const data = new Float32Array(width * height * 3);
  let off = 0;
  for (const s of strips) {
    data.set(s.data, off);
    off += s.data.length;
  }
  return { data, width, height, channels: 3 };
}

/** Mean bits/dim (5-bit, no +3 offset) over the first `limit` validation images, seeded dequantisation. */
async function valBitsPerDim(glow: Glow, folder: string, limit: number): Promise<number> {
  const files = (await readdir(folder)).filter((f) => f.endsWith('.png')).sort().slice(0, limit);
  const rng = new SeededRandom(1234);
  const bins = 2 ** glow.config.nBits;
  let total = 0;
  for (let i = 0; i < files.length; i += 25) {
    const batch = await Promise.all(files.slice(i, i + 25).map(async (f) => (await decodeImage(await readFile(path.join(folder, f)))).data));
    const flat = new Float32Array(batch.length * batch[0]!.length);
    batch.forEach((img, b) => {
      for (let j = 0; j < img.length; j++) {
        const k = Math.floor(Math.round(img[j]! * 255) / (256 / bins));
        flat[b * img.length + j] = k / bins + rng.next() / bins;
      }
    });
    const [h, w, c] = glow.imageShape;
    const bpd = tf.tidy(() => glow.bitsPerDim(tf.tensor4d(flat, [batch.length, h, w, c])));
    total += ((await bpd.data()) as Float32Array).reduce((s, v) => s + v, 0);
    bpd.dispose();
  }
  return total / files.length;
}

if (kind === 'glow') {
  const { config, weights, metadata } = await readGlowipCheckpoint(path.join(from, 'glowmodel.pt'), path.join(from, 'configs.json'));
  await saveModel(to, 'glow', config, weights, { ...metadata, source: 'training/torch/train_glow.py via import-glowip', trainingData: 'celeba64/train (9,500 CelebA faces, 64×64, 5-bit)' });
  const glow = (await loadModel(to)) as Glow;
  const valFolder = values.val ?? '../shared/data/celeba64/val';
  const limit = Number(values['val-limit'] ?? 200);
  const bpd = await valBitsPerDim(glow, valFolder, limit);
  const z = new SeededRandom(7).normals(32 * glow.latentDim, 0.7);
  await writeFile(path.join(to, 'samples.png'), await sampleGrid(glow, z, 32));
  await saveModel(to, 'glow', config, weights, { ...metadata, source: 'training/torch/train_glow.py via import-glowip', trainingData: 'celeba64/train (9,500 CelebA faces, 64×64, 5-bit)', valBitsPerDimTs: Number(bpd.toFixed(4)), valImages: limit, samples: 'samples.png (temperature 0.7, seed 7)' });
  process.stdout.write(`shipped ${to}: val bits/dim (TS, ${limit} images) ${bpd.toFixed(4)}; torch (${metadata.weights ?? "model"} weights) ${metadata.valBitsPerDim}\n`);
  glow.dispose();
} else {
  const { config, weights, metadata } = await readDcganCheckpoint(path.join(from, 'dcgan_G.pt'));
  const meta = JSON.parse(await readFile(path.join(from, 'meta.json'), 'utf8')) as Record<string, unknown>;
  await saveModel(to, 'dcgan', config, weights, { ...metadata, ...meta, steps: meta.trained_steps as number, wallMinutes: meta.train_minutes as number, source: 'training/torch/train_dcgan.py via import-dcgan', trainingData: 'celeba64/train (9,500 CelebA faces, 64×64)', samples: 'samples.png (z ~ N(0, I), seed 7)' });
  const g = await loadModel(to);
  const z = new SeededRandom(7).normals(32 * g.latentDim, 1);
  await writeFile(path.join(to, 'samples.png'), await sampleGrid(g, z, 32));
  process.stdout.write(`shipped ${to}\n`);
  g.dispose();
}
