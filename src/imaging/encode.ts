import sharp from 'sharp';
import type { RasterImage } from './types.ts';

/** Quantises [0,1] floats to 8 bits (clipping; NaN becomes 0). */
export function toUint8(data: Float32Array): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    out[i] = v > 0 ? (v < 1 ? Math.round(v * 255) : 255) : 0;
  }
  return out;
}

/** Encodes an HWC [0,1] image (1, 3 or 4 channels) as a PNG. */
export async function encodePng(image: RasterImage): Promise<Buffer> {
  const { width, height, channels } = image;
  if (![1, 3, 4].includes(channels)) throw new RangeError(`cannot encode ${channels} channels as PNG`);
  if (image.data.length !== width * height * channels) {
    throw new RangeError(`image data has ${image.data.length} values, ${height}×${width}×${channels} needs ${width * height * channels}`);
  }
  return sharp(toUint8(image.data), { raw: { width, height, channels: channels as 1 | 3 | 4 } })
    .png({ compressionLevel: 6 })
    .toBuffer();
}
