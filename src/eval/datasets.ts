// Image folders as evaluation datasets: each folder is one dataset, named by its folder name.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ValidationError } from '../errors.ts';
import { decodeImageTo } from '../imaging/index.ts';
import type { ImageShape } from '../models/prior.ts';

export interface EvalImage {
  dataset: string;
  /** File name inside the dataset folder. */
  name: string;
  /** Ground truth at the prior's size: HWC float32 in [0,1]. */
  data: Float32Array;
  /** Notes on resizing, for the log. */
  note: string | null;
}

const IMAGE_FILE = /\.(png|jpe?g)$/i;

/** File names in natural order ("2.png" before "10.png"), so "the first 12" means what a person expects. */
export function naturalSort(names: string[]): string[] {
  return [...names].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }) || (a < b ? -1 : a > b ? 1 : 0));
}

/** Dataset names: folder names, made unique with a suffix when two folders share one. */
export function datasetNames(folders: readonly string[]): string[] {
  const count = new Map<string, number>();
  return folders.map((f) => {
    const base = path.basename(path.resolve(f)) || 'images';
    const k = (count.get(base) ?? 0) + 1;
    count.set(base, k);
    return k === 1 ? base : `${base}-${k}`;
  });
}

/**
 * Decodes the first `limit` images of each folder (one limit for all, or one per folder) to the prior's shape
 * (scaled to cover, centre-cropped).
 */
export async function loadImageFolders(folders: readonly string[], shape: ImageShape, limit?: number | readonly number[]): Promise<EvalImage[]> {
  if (folders.length === 0) throw new ValidationError('images', 'give at least one image folder');
  const limits = Array.isArray(limit) ? limit : folders.map(() => limit as number | undefined);
  if (limits.length !== folders.length) {
    throw new ValidationError('limit', `give one limit for all folders or one per folder (${folders.length}), got ${limits.length}`);
  }
  const names = datasetNames(folders);
  const out: EvalImage[] = [];
  for (const [i, folder] of folders.entries()) {
    let files: string[];
    try {
      files = naturalSort((await readdir(folder)).filter((f) => IMAGE_FILE.test(f)));
    } catch {
      throw new ValidationError('images', `cannot read image folder ${folder}`);
    }
    if (files.length === 0) throw new ValidationError('images', `no PNG/JPEG images in ${folder}`);
    for (const name of files.slice(0, limits[i] ?? files.length)) {
      const { image, note } = await decodeImageTo(await readFile(path.join(folder, name)), shape[1], shape[0], { field: name });
      out.push({ dataset: names[i]!, name, data: image.data, note });
    }
  }
  return out;
}
