// A labelled grid of images (rows: truth, measurements, one per prior; columns: images), as one PNG.
// Labels are SVG text rendered by sharp; tiles are composited pixel-exact (nearest-neighbour scaling).
import sharp from 'sharp';
import type { OverlayOptions } from 'sharp';
import { escapeXml } from './plot.ts';

export interface GridTile {
  /** An encoded image, or null for an empty cell. */
  png: Buffer | null;
  /** Text under the tile (e.g. PSNR). */
  caption?: string;
}

export interface GridRow {
  label: string;
  tiles: GridTile[];
}

export interface GridSpec {
  title: string;
  columns: string[];
  rows: GridRow[];
  tileSize?: number;
}

const LABEL_W = 170;
const GAP = 4;
const CAPTION_H = 14;
const TITLE_H = 26;
const HEADER_H = 16;

/** Splits a label into lines of at most `width` characters at spaces. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

function shorten(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

export async function gridPng(spec: GridSpec): Promise<Buffer> {
  const tile = spec.tileSize ?? 96;
  const cols = Math.max(1, spec.columns.length);
  const rowH = tile + CAPTION_H + GAP;
  const width = Math.max(LABEL_W + cols * (tile + GAP), Math.ceil(8.5 * spec.title.length) + 12);
  const height = TITLE_H + HEADER_H + spec.rows.length * rowH + GAP;
  const text: string[] = [`<rect width="${width}" height="${height}" fill="white"/>`];
  text.push(`<text x="6" y="18" font-size="13" font-weight="bold">${escapeXml(shorten(spec.title, Math.floor(width / 7.5)))}</text>`);
  spec.columns.forEach((c, j) => {
    const x = LABEL_W + j * (tile + GAP) + tile / 2;
    text.push(`<text x="${x}" y="${TITLE_H + 11}" font-size="10" text-anchor="middle">${escapeXml(shorten(c, Math.floor(tile / 6)))}</text>`);
  });
  const composites: OverlayOptions[] = [];
  for (const [i, row] of spec.rows.entries()) {
    const top = TITLE_H + HEADER_H + i * rowH;
    const lines = wrap(row.label, 24).slice(0, 4);
    lines.forEach((l, k) => {
      text.push(`<text x="6" y="${top + tile / 2 + (k - (lines.length - 1) / 2) * 13}" font-size="11" dominant-baseline="middle">${escapeXml(l)}</text>`);
    });
    for (const [j, t] of row.tiles.entries()) {
      const left = LABEL_W + j * (tile + GAP);
      if (t.png) {
        const input = await sharp(t.png).resize(tile, tile, { kernel: 'nearest', fit: 'fill' }).png().toBuffer();
        composites.push({ input, left, top });
      } else {
        text.push(`<rect x="${left}" y="${top}" width="${tile}" height="${tile}" fill="#eeeeee"/>`);
      }
      if (t.caption) {
        text.push(`<text x="${left + tile / 2}" y="${top + tile + 11}" font-size="10" text-anchor="middle">${escapeXml(t.caption)}</text>`);
      }
    }
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="DejaVu Sans, Arial, sans-serif">${text.join('')}</svg>`;
  return sharp(Buffer.from(svg)).composite(composites).png().toBuffer();
}
