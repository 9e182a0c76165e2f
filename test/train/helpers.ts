import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { decodeSafetensors } from '../../src/models/safetensors.ts';
import type { WeightArrays } from '../../src/models/tensor_data.ts';
import { SeededRandom } from '../../src/models/random.ts';
import { CHECKPOINT_FILE } from '../../src/train/checkpoint.ts';

/**
 * Writes n small synthetic RGB PNGs (smooth colour ramps with a bright disc at a random place): structured enough
 * that a model learns them within a few steps, varied enough that the batches differ.
 */
export async function writeFixtureImages(dir: string, n: number, size: number, seed: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  const rng = new SeededRandom(seed);
  for (let k = 0; k < n; k++) {
    const base = [rng.uniform(0.1, 0.6), rng.uniform(0.1, 0.6), rng.uniform(0.1, 0.6)];
    const ramp = [rng.uniform(-0.3, 0.3), rng.uniform(-0.3, 0.3), rng.uniform(-0.3, 0.3)];
    const cy = rng.uniform(0.25, 0.75) * size;
    const cx = rng.uniform(0.25, 0.75) * size;
    const r = rng.uniform(0.15, 0.3) * size;
    const px = new Uint8Array(size * size * 3);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const inside = (y - cy) ** 2 + (x - cx) ** 2 < r * r;
        for (let c = 0; c < 3; c++) {
          const v = inside ? 0.9 - 0.2 * c : base[c]! + (ramp[c]! * (x + y)) / (2 * size);
          px[(y * size + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v * 255)));
        }
      }
    }
    await sharp(px, { raw: { width: size, height: size, channels: 3 } }).png().toFile(join(dir, `img${String(k).padStart(3, '0')}.png`));
  }
}

export async function tempDir(prefix: string): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `flowprior-${prefix}-`));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/** The tensors of the checkpoint in `<out>/training`. */
export async function checkpointTensors(out: string): Promise<WeightArrays> {
  const dir = join(out, 'training');
  const ckpt = JSON.parse(await readFile(join(dir, CHECKPOINT_FILE), 'utf8')) as { tensors: { file: string } };
  return decodeSafetensors(await readFile(join(dir, ckpt.tensors.file))).tensors;
}

/** Names whose values differ in any bit (NaN payloads included), plus names present in only one. */
export function bitwiseDifferences(a: WeightArrays, b: WeightArrays): string[] {
  const out: string[] = [];
  for (const name of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(name);
    const y = b.get(name);
    if (!x || !y || x.shape.join() !== y.shape.join()) {
      out.push(name);
      continue;
    }
    const bx = new Uint32Array(x.data.buffer, x.data.byteOffset, x.data.length);
    const by = new Uint32Array(y.data.buffer, y.data.byteOffset, y.data.length);
    if (bx.some((v, i) => v !== by[i])) out.push(name);
  }
  return out;
}
