import type { RasterImage } from './types.ts';
import { encodePng } from './encode.ts';

export interface PanelOptions {
  /** Every tile is scaled (nearest neighbour) to tileSize×tileSize. */
  tileSize?: number;
  /** Pixels between tiles. */
  gap?: number;
  /** Gap colour, grey level in [0,1]. */
  background?: number;
}

/** Nearest-neighbour resample to size×size, grey tiles replicated to RGB. */
export function resampleNearest(image: RasterImage, width: number, height: number): RasterImage {
  const { channels } = image;
  if (channels !== 1 && channels !== 3) throw new RangeError(`panel tiles need 1 or 3 channels, got ${channels}`);
  const out = new Float32Array(width * height * 3);
  for (let r = 0; r < height; r++) {
    const sr = Math.min(image.height - 1, Math.floor(((r + 0.5) * image.height) / height));
    for (let c = 0; c < width; c++) {
      const sc = Math.min(image.width - 1, Math.floor(((c + 0.5) * image.width) / width));
      const src = (sr * image.width + sc) * channels;
      const dst = (r * width + c) * 3;
      for (let k = 0; k < 3; k++) out[dst + k] = image.data[src + (channels === 1 ? 0 : k)];
    }
  }
  return { data: out, width, height, channels: 3 };
}

/** Places tiles left to right (e.g. truth | measurement view | reconstruction) with gaps between them. */
export function composePanel(tiles: RasterImage[], opts: PanelOptions = {}): RasterImage {
  if (tiles.length === 0) throw new RangeError('a panel needs at least one tile');
  const size = opts.tileSize ?? 64;
  const gap = opts.gap ?? 2;
  const bg = opts.background ?? 1;
  const width = tiles.length * size + (tiles.length - 1) * gap;
  const height = size;
  const data = new Float32Array(width * height * 3).fill(bg);
  tiles.forEach((tile, t) => {
    const fitted = tile.width === size && tile.height === size && tile.channels === 3 ? tile : resampleNearest(tile, size, size);
    const x0 = t * (size + gap);
    for (let r = 0; r < size; r++) {
      data.set(fitted.data.subarray(r * size * 3, (r + 1) * size * 3), (r * width + x0) * 3);
    }
  });
  return { data, width, height, channels: 3 };
}

export async function encodePanelPng(tiles: RasterImage[], opts: PanelOptions = {}): Promise<Buffer> {
  return encodePng(composePanel(tiles, opts));
}
