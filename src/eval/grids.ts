// One reconstruction grid per dataset and measurement setting: a truth row, the measurements (when they are a
// picture), then a row per prior and solver setting, with each tile's PSNR.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { encodePng, rasterFromShape } from '../imaging/index.ts';
import type { ImageShape } from '../models/prior.ts';
import type { EvalImage } from './datasets.ts';
import { gridPng, type GridRow } from './grid.ts';
import { measurementSlug, measurementViewFile, reconFile } from './layout.ts';
import { fieldLabel, PROBLEM_TITLES } from './plots.ts';
import type { ResultRow } from './results.ts';
import { slug } from './settings.ts';
import { groupBy } from './stats.ts';

export interface WrittenGrid {
  /** Relative to the output folder. */
  file: string;
  title: string;
}

async function readOrNull(file: string): Promise<Buffer | null> {
  try {
    return await readFile(file);
  } catch {
    return null;
  }
}

const SOLVER_FIELDS = ['gamma', 'penalty', 'init', 'optimizer'] as const;

export function measurementTitle(r: ResultRow): string {
  const parts = [PROBLEM_TITLES[r.problem] ?? r.problem];
  if (r.problem === 'cs') parts.push(`m=${r.m}`);
  if (r.sigma !== '' && r.sigma !== '0') parts.push(`σ=${r.sigma}`);
  if (r.noiseNorm !== '') parts.push(`‖η‖=${r.noiseNorm}`);
  return parts.join(' ');
}

/** Writes grids/<measurement>_<dataset>.png for every dataset × measurement setting in the rows. */
export async function writeGrids(
  out: string,
  rows: readonly ResultRow[],
  images: readonly EvalImage[],
  shape: ImageShape,
  columns: number,
): Promise<WrittenGrid[]> {
  const written: WrittenGrid[] = [];
  const tile = shape[1] >= 64 ? shape[1] : shape[1] * Math.ceil(64 / shape[1]);
  const truthByKey = new Map(images.map((img) => [`${img.dataset}/${img.name}`, img]));
  const groups = groupBy(rows, (r) => JSON.stringify([r.dataset, measurementSlug(r)]));
  for (const group of groups.values()) {
    const first = group[0]!;
    const names = [...new Set(group.map((r) => r.image))].slice(0, columns);
    const combos = groupBy(group, (r) => JSON.stringify([r.prior, ...SOLVER_FIELDS.map((f) => r[f])]));
    const varying = SOLVER_FIELDS.filter((f) => new Set(group.filter((r) => r[f] !== '').map((r) => r[f])).size > 1);
    const gridRows: GridRow[] = [];
    gridRows.push({
      label: 'truth',
      tiles: await Promise.all(
        names.map(async (name) => {
          const img = truthByKey.get(`${first.dataset}/${name}`);
          return { png: img ? await encodePng(rasterFromShape(img.data, shape)) : null };
        }),
      ),
    });
    const views = await Promise.all(names.map((name) => readOrNull(path.join(out, measurementViewFile(first, first.dataset, name)))));
    if (views.some((v) => v !== null)) gridRows.push({ label: 'measurements', tiles: views.map((png) => ({ png })) });
    for (const combo of combos.values()) {
      const c = combo[0]!;
      const label = [c.prior, ...varying.filter((f) => c[f] !== '').map((f) => fieldLabel(f, c[f]))].join(' ');
      const byImage = new Map(combo.map((r) => [r.image, r]));
      gridRows.push({
        label,
        tiles: await Promise.all(
          names.map(async (name) => {
            const r = byImage.get(name);
            if (!r) return { png: null };
            return { png: await readOrNull(path.join(out, reconFile(r))), caption: r.psnr ? `${Number(r.psnr).toFixed(2)} dB` : undefined };
          }),
        ),
      });
    }
    const title = `${measurementTitle(first)} (${first.dataset})`;
    const file = path.join('grids', `${slug(measurementSlug(first), first.dataset)}.png`);
    // A folder published without recon/ (as docs/results is) keeps its grids when the report is rebuilt.
    const missing = gridRows.slice(1).some((r) => r.label !== 'measurements' && r.tiles.some((t) => t.png === null && t.caption !== undefined));
    if (missing && (await readOrNull(path.join(out, file))) !== null) {
      written.push({ file, title });
      continue;
    }
    await mkdir(path.join(out, 'grids'), { recursive: true });
    await writeFile(path.join(out, file), await gridPng({ title, columns: names.map((n) => path.parse(n).name), rows: gridRows, tileSize: tile }));
    written.push({ file, title });
  }
  return written;
}
