import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp, { type OutputInfo } from 'sharp';

/** A folder of equally sized RGB images held in memory as 8-bit values, NHWC (9,500 faces at 64×64 are 117 MB). */
export interface ImageSet {
  /** count × height × width × channels bytes. */
  data: Uint8Array;
  count: number;
  height: number;
  width: number;
  channels: 3;
  /** File names in the (sorted) order of `data`. */
  names: string[];
}

export class ImageFolderError extends Error {
  override name = 'ImageFolderError';
}

const IMAGE_FILE = /\.(png|jpe?g)$/i;

/**
 * Decodes every PNG/JPEG of a folder (sorted by name, the first `limit` when given). All images must have the
 * same size: the trainer never resamples, so what it learns is exactly the data on disk.
 */
export async function loadImageFolder(dir: string, opts: { limit?: number; concurrency?: number } = {}): Promise<ImageSet> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (e) {
    throw new ImageFolderError(`cannot read image folder ${dir} (${(e as Error).message})`);
  }
  let names = entries.filter((f) => IMAGE_FILE.test(f)).sort();
  if (opts.limit !== undefined && opts.limit > 0) names = names.slice(0, opts.limit);
  if (names.length === 0) throw new ImageFolderError(`no PNG or JPEG images in ${dir}`);
  const decoded: Buffer[] = new Array(names.length);
  let width = 0;
  let height = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < names.length) {
      const i = next++;
      const file = join(dir, names[i]!);
      let out: { data: Buffer; info: OutputInfo };
      try {
        out = await sharp(file).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
      } catch (e) {
        throw new ImageFolderError(`cannot decode ${file} (${(e as Error).message})`);
      }
      const { info } = out;
      if (info.channels !== 3) throw new ImageFolderError(`${file}: expected RGB, got ${info.channels} channels`);
      if (width === 0) (width = info.width), (height = info.height);
      if (info.width !== width || info.height !== height) {
        throw new ImageFolderError(`${file} is ${info.width}×${info.height}, other images in the folder are ${width}×${height}: all images must have one size`);
      }
      decoded[i] = out.data;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 8) }, worker));
  const per = width * height * 3;
  const data = new Uint8Array(names.length * per);
  decoded.forEach((b, i) => data.set(b, i * per));
  return { data, count: names.length, height, width, channels: 3, names };
}
