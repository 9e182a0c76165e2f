// Checks BM3D against published figures: CBM3D on the 18 full-size McMaster images is reported at about 34.1 dB
// (σ = 15/255) and 31.7 dB (σ = 25/255), PSNR on the 8-bit range.
//   node --import tsx src/baselines/bm3d/validate.ts --sigma 25 [--limit N] [--data DIR]
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { decodeImage } from '../../imaging/index.ts';
import { fillNormal, Stream } from '../../util/random.ts';
import { bm3dDenoise } from './bm3d.ts';

/** Published CBM3D means on McMaster (dB), by σ on the 0…255 scale (as tabulated in the FFDNet paper, 2018). */
export const PUBLISHED_MCMASTER: Record<number, number> = { 15: 34.06, 25: 31.66, 35: 29.92, 50: 28.51 };

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export function psnr8bit(estimate: Float32Array, truth: Float32Array): number {
  let se = 0;
  for (let i = 0; i < truth.length; i++) {
    const v = Math.min(1, Math.max(0, estimate[i]));
    se += (v - truth[i]) ** 2;
  }
  return 10 * Math.log10(truth.length / se);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sigma: { type: 'string', default: '25' },
      limit: { type: 'string' },
      data: { type: 'string', default: path.join(repoRoot, '../shared/data/mcmaster-full') },
      seed: { type: 'string', default: '0' },
    },
  });
  const sigma255 = Number(values.sigma);
  const sigma = sigma255 / 255;
  const files = readdirSync(values.data!)
    .filter((f) => /\.(png|jpe?g)$/i.test(f))
    .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))
    .slice(0, values.limit ? Number(values.limit) : undefined);
  const seed = Number(values.seed);
  let noisySum = 0;
  let sum = 0;
  console.log(`BM3D validation, σ = ${sigma255}/255, ${files.length} images from ${values.data}`);
  console.log('image        size      noisy dB   bm3d dB   wall s    cpu s');
  for (const [i, file] of files.entries()) {
    const img = await decodeImage(readFileSync(path.join(values.data!, file)), { limits: { maxInputBytes: 64 << 20, maxPixels: 4096 * 4096 } });
    const noise = new Float32Array(img.data.length);
    fillNormal(noise, seed + i, Stream.noise, sigma);
    const noisy = new Float32Array(img.data.length);
    for (let k = 0; k < noisy.length; k++) noisy[k] = img.data[k] + noise[k];
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const denoised = bm3dDenoise(noisy, [img.height, img.width, 3], sigma);
    const seconds = (performance.now() - started) / 1000;
    const cpuSeconds = process.cpuUsage(cpuBefore).user / 1e6;
    const pNoisy = psnr8bit(noisy, img.data);
    const p = psnr8bit(denoised, img.data);
    noisySum += pNoisy;
    sum += p;
    console.log(
      `${file.padEnd(12)} ${`${img.width}×${img.height}`.padEnd(9)} ${pNoisy.toFixed(2).padStart(8)}  ${p.toFixed(2).padStart(8)}  ${seconds.toFixed(1).padStart(8)} ${cpuSeconds.toFixed(1).padStart(8)}`,
    );
  }
  const mean = sum / files.length;
  console.log(`mean         ${''.padEnd(9)} ${(noisySum / files.length).toFixed(2).padStart(8)}  ${mean.toFixed(2).padStart(8)}`);
  const published = PUBLISHED_MCMASTER[sigma255];
  if (published !== undefined && files.length < 18) {
    console.log(`published CBM3D: ${published.toFixed(2)} dB over all 18 images (compare the full set, without --limit)`);
  } else if (published !== undefined) {
    const gap = mean - published;
    console.log(`published CBM3D: ${published.toFixed(2)} dB; difference ${gap >= 0 ? '+' : ''}${gap.toFixed(2)} dB`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
