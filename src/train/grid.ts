import type { RasterImage } from '../imaging/index.ts';

/**
 * n images (NHWC values in [0,1], clipped here) on a white sheet, `columns` per row, 2-pixel gaps and border
 * (the layout of the reference trainers' sample grids).
 */
export function imageGrid(images: Float32Array, n: number, height: number, width: number, channels: number, columns = 8): RasterImage {
  if (images.length !== n * height * width * channels) throw new RangeError(`grid: ${images.length} values for ${n}×${height}×${width}×${channels}`);
  const gap = 2;
  const cols = Math.min(columns, n);
  const rows = Math.ceil(n / cols);
  const W = cols * (width + gap) + gap;
  const H = rows * (height + gap) + gap;
  const out = new Float32Array(W * H * 3).fill(1);
  for (let i = 0; i < n; i++) {
    const y0 = gap + Math.floor(i / cols) * (height + gap);
    const x0 = gap + (i % cols) * (width + gap);
    for (let r = 0; r < height; r++) {
      for (let c = 0; c < width; c++) {
        const src = ((i * height + r) * width + c) * channels;
        const dst = ((y0 + r) * W + x0 + c) * 3;
        for (let k = 0; k < 3; k++) {
          const v = images[src + (channels === 1 ? 0 : k)]!;
          out[dst + k] = v > 0 ? (v < 1 ? v : 1) : 0;
        }
      }
    }
  }
  return { data: out, width: W, height: H, channels: 3 };
}
