// A small synchronous PNG reader for mask images. Operators are built synchronously (createOperator is called
// inside solve loops and validators), and sharp only decodes asynchronously; masks are tiny, so decoding them
// here with node:zlib is simpler than threading a Promise through every operator factory.
import { inflateSync } from 'node:zlib';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const ALLOWED_DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
const ADAM7: ReadonlyArray<readonly [x0: number, y0: number, dx: number, dy: number]> = [
  [0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2],
];

export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  interlace: number;
}

export class PngError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PngError';
  }
}

/** Reads width/height/format from the IHDR chunk without decoding pixels. */
export function readPngHeader(buf: Uint8Array): PngHeader {
  if (buf.length < 33 || SIGNATURE.some((b, i) => buf[i] !== b)) throw new PngError('not a PNG file');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (String.fromCharCode(...buf.subarray(12, 16)) !== 'IHDR') throw new PngError('first chunk is not IHDR');
  const header: PngHeader = {
    width: view.getUint32(16),
    height: view.getUint32(20),
    bitDepth: buf[24] as number,
    colorType: buf[25] as number,
    interlace: buf[28] as number,
  };
  const depths = ALLOWED_DEPTHS[header.colorType];
  if (!depths || !depths.includes(header.bitDepth)) {
    throw new PngError(`unsupported colour type ${header.colorType} / bit depth ${header.bitDepth}`);
  }
  if (header.width === 0 || header.height === 0) throw new PngError('empty image');
  if (buf[26] !== 0 || buf[27] !== 0 || header.interlace > 1) throw new PngError('unknown compression/filter/interlace method');
  return header;
}

/** Decodes a PNG to per-pixel luminance in [0,1] (mean of R, G, B; alpha ignored), row-major [height·width]. */
export function decodePngLuminance(buf: Uint8Array): { width: number; height: number; data: Float32Array } {
  const header = readPngHeader(buf);
  const { width, height, bitDepth, colorType } = header;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const idat: Uint8Array[] = [];
  let palette: Uint8Array | null = null;
  let pos = 8;
  while (pos + 8 <= buf.length) {
    const len = view.getUint32(pos);
    const type = String.fromCharCode(...buf.subarray(pos + 4, pos + 8));
    const body = buf.subarray(pos + 8, pos + 8 + len);
    if (body.length !== len) throw new PngError(`truncated ${type} chunk`);
    if (type === 'IDAT') idat.push(body);
    else if (type === 'PLTE') palette = body;
    else if (type === 'IEND') break;
    pos += 12 + len;
  }
  if (idat.length === 0) throw new PngError('no image data');
  if (colorType === 3 && !palette) throw new PngError('palette image without PLTE chunk');
  let raw: Uint8Array;
  try {
    raw = inflateSync(Buffer.concat(idat));
  } catch {
    throw new PngError('corrupt image data');
  }

  const channels = CHANNELS[colorType] as number;
  const bitsPerPixel = channels * bitDepth;
  const bpp = Math.max(1, bitsPerPixel >> 3);
  const maxValue = 2 ** bitDepth - 1;
  const out = new Float32Array(width * height);
  const passes = header.interlace === 1 ? ADAM7 : ([[0, 0, 1, 1]] as const);
  let offset = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const pw = Math.ceil((width - x0) / dx);
    const ph = Math.ceil((height - y0) / dy);
    if (pw <= 0 || ph <= 0) continue;
    const stride = Math.ceil((pw * bitsPerPixel) / 8);
    let prev = new Uint8Array(stride);
    for (let r = 0; r < ph; r++) {
      if (offset + 1 + stride > raw.length) throw new PngError('image data too short');
      const filter = raw[offset] as number;
      const line = raw.slice(offset + 1, offset + 1 + stride);
      offset += 1 + stride;
      unfilter(filter, line, prev, bpp);
      prev = line;
      const y = y0 + r * dy;
      for (let c = 0; c < pw; c++) {
        out[y * width + x0 + c * dx] = luminance(line, c, channels, bitDepth, maxValue, palette);
      }
    }
  }
  return { width, height, data: out };
}

function sample(line: Uint8Array, index: number, bitDepth: number): number {
  if (bitDepth === 8) return line[index] as number;
  if (bitDepth === 16) return ((line[2 * index] as number) << 8) | (line[2 * index + 1] as number);
  const bit = index * bitDepth;
  const byte = line[bit >> 3] as number;
  return (byte >> (8 - bitDepth - (bit & 7))) & ((1 << bitDepth) - 1);
}

function luminance(
  line: Uint8Array,
  pixel: number,
  channels: number,
  bitDepth: number,
  maxValue: number,
  palette: Uint8Array | null,
): number {
  if (palette) {
    const i = sample(line, pixel, bitDepth);
    if (3 * i + 2 >= palette.length) throw new PngError('palette index out of range');
    return ((palette[3 * i] as number) + (palette[3 * i + 1] as number) + (palette[3 * i + 2] as number)) / (3 * 255);
  }
  const base = pixel * channels;
  if (channels <= 2) return sample(line, base, bitDepth) / maxValue;
  return (sample(line, base, bitDepth) + sample(line, base + 1, bitDepth) + sample(line, base + 2, bitDepth)) / (3 * maxValue);
}

function unfilter(filter: number, line: Uint8Array, prev: Uint8Array, bpp: number): void {
  const n = line.length;
  switch (filter) {
    case 0:
      return;
    case 1:
      for (let i = bpp; i < n; i++) line[i] = ((line[i] as number) + (line[i - bpp] as number)) & 255;
      return;
    case 2:
      for (let i = 0; i < n; i++) line[i] = ((line[i] as number) + (prev[i] as number)) & 255;
      return;
    case 3:
      for (let i = 0; i < n; i++) {
        const left = i >= bpp ? (line[i - bpp] as number) : 0;
        line[i] = ((line[i] as number) + ((left + (prev[i] as number)) >> 1)) & 255;
      }
      return;
    case 4:
      for (let i = 0; i < n; i++) {
        const a = i >= bpp ? (line[i - bpp] as number) : 0;
        const b = prev[i] as number;
        const c = i >= bpp ? (prev[i - bpp] as number) : 0;
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        const pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
        line[i] = ((line[i] as number) + pred) & 255;
      }
      return;
    default:
      throw new PngError(`unknown filter type ${filter}`);
  }
}
