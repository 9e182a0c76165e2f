import sharp from 'sharp';
import type { Metadata, OutputInfo, Sharp } from 'sharp';
import { PayloadTooLargeError, ValidationError } from '../errors.ts';
import type { RasterImage } from './types.ts';

export interface DecodeLimits {
  /** Largest encoded file accepted, in bytes. */
  maxInputBytes: number;
  /** Largest width·height accepted; checked from the header before any pixel is decoded (decompression bombs). */
  maxPixels: number;
}

export const DEFAULT_DECODE_LIMITS: DecodeLimits = { maxInputBytes: 8 * 1024 * 1024, maxPixels: 4096 * 4096 };

export interface DecodeOptions {
  limits?: DecodeLimits;
  /** Name of the request field the bytes came from, used in error messages. */
  field?: string;
}

export interface DecodedImage extends RasterImage {
  channels: 3;
  format: 'png' | 'jpeg';
}

const FORMATS = new Set(['png', 'jpeg']);

/** Reads the header only, enforcing the format and the byte and pixel limits. */
async function inspect(input: Uint8Array, opts: DecodeOptions): Promise<{ width: number; height: number; format: 'png' | 'jpeg' }> {
  const field = opts.field ?? 'image';
  const limits = opts.limits ?? DEFAULT_DECODE_LIMITS;
  if (input.length === 0) throw new ValidationError(field, 'empty image');
  if (input.length > limits.maxInputBytes) throw new PayloadTooLargeError(field, limits.maxInputBytes);
  let meta: Metadata;
  try {
    // metadata() parses the header only, so the pixel limit below is checked before anything is decoded.
    meta = await sharp(input, { limitInputPixels: false, failOn: 'error' }).metadata();
  } catch {
    throw new ValidationError(field, 'not a decodable PNG or JPEG image');
  }
  if (!meta.format || !FORMATS.has(meta.format)) {
    throw new ValidationError(field, `unsupported image format ${meta.format ?? 'unknown'} (PNG or JPEG expected)`);
  }
  const width = meta.autoOrient?.width ?? meta.width;
  const height = meta.autoOrient?.height ?? meta.height;
  if (!width || !height) throw new ValidationError(field, 'image has no size');
  if (width * height > limits.maxPixels) {
    throw new ValidationError(field, `${width}×${height} pixels exceeds the limit of ${limits.maxPixels} pixels`);
  }
  return { width, height, format: meta.format as 'png' | 'jpeg' };
}

async function toRaster(pipeline: Sharp, field: string, format: 'png' | 'jpeg'): Promise<DecodedImage> {
  let out: { data: Buffer; info: OutputInfo };
  try {
    // Transparent pixels are composited on black; grey images become RGB, so every caller sees 3 channels.
    out = await pipeline.flatten({ background: '#000000' }).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  } catch {
    throw new ValidationError(field, 'image data is truncated or corrupt');
  }
  const { data, info } = out;
  if (info.channels !== 3) throw new ValidationError(field, `expected 3 colour channels after conversion, got ${info.channels}`);
  const f = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) f[i] = data[i] / 255;
  return { data: f, width: info.width, height: info.height, channels: 3, format };
}

/** Decodes a PNG or JPEG (EXIF orientation applied) to HWC float32 RGB in [0,1]. */
export async function decodeImage(input: Uint8Array, opts: DecodeOptions = {}): Promise<DecodedImage> {
  const field = opts.field ?? 'image';
  const limits = opts.limits ?? DEFAULT_DECODE_LIMITS;
  const { format } = await inspect(input, opts);
  return toRaster(sharp(input, { limitInputPixels: limits.maxPixels, failOn: 'error' }).autoOrient(), field, format);
}

/**
 * Decodes and brings an image to exactly width×height: scaled so it covers the target, then centre-cropped.
 * `note` says what was done when the input had another size (null when it already fit).
 */
export async function decodeImageTo(
  input: Uint8Array,
  width: number,
  height: number,
  opts: DecodeOptions = {},
): Promise<{ image: DecodedImage; note: string | null; original: { width: number; height: number } }> {
  const field = opts.field ?? 'image';
  const limits = opts.limits ?? DEFAULT_DECODE_LIMITS;
  const info = await inspect(input, opts);
  let pipeline = sharp(input, { limitInputPixels: limits.maxPixels, failOn: 'error' }).autoOrient();
  let note: string | null = null;
  if (info.width !== width || info.height !== height) {
    pipeline = pipeline.resize(width, height, { fit: 'cover', position: 'centre', kernel: 'lanczos3' });
    const scale = Math.max(width / info.width, height / info.height);
    const cropped = Math.round(info.width * scale) !== width || Math.round(info.height * scale) !== height;
    note =
      `resized from ${info.width}×${info.height} to ${width}×${height} (scale ${scale.toPrecision(3)}` +
      (cropped ? ', centre-cropped)' : ')');
  }
  const image = await toRaster(pipeline, field, info.format);
  return { image, note, original: { width: info.width, height: info.height } };
}
