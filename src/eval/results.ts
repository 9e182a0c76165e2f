// results.csv and timings.csv: one row per solved cell (prior × setting × image), appended batch by batch.
// results.csv holds only what the seed determines (no wall times), so the same seed gives the same bytes.
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import type { SolveResult } from '../solvers/types.ts';
import { csvLine, parseCsvRecords } from './csv.ts';

export const SETTING_COLUMNS = ['problem', 'prior', 'm', 'sigma', 'noiseNorm', 'gamma', 'penalty', 'init', 'optimizer'] as const;
export const CELL_COLUMNS = [...SETTING_COLUMNS, 'dataset', 'image'] as const;
export const RESULT_COLUMNS = [
  ...CELL_COLUMNS,
  'psnr',
  'ssim',
  'iterations',
  'evaluations',
  'zNorm',
  'diverged',
  'stopReason',
  'inputPsnr',
] as const;
/** wallMs: the problem's own time inside its batch; batchWallMs: the whole solver call (batchSize images). */
export const TIMING_COLUMNS = [...CELL_COLUMNS, 'batchSize', 'wallMs', 'batchWallMs', 'backend'] as const;

export type SettingColumn = (typeof SETTING_COLUMNS)[number];
export type CellColumn = (typeof CELL_COLUMNS)[number];
export type ResultColumn = (typeof RESULT_COLUMNS)[number];
export type TimingColumn = (typeof TIMING_COLUMNS)[number];
/** Setting fields as written: numbers in JavaScript's shortest form, '' where a field does not apply. */
export type SettingFields = Record<SettingColumn, string>;
export type CellFields = Record<CellColumn, string>;
export type ResultRow = Record<ResultColumn, string>;
export type TimingRow = Record<TimingColumn, string>;

export function settingKey(r: SettingFields): string {
  return JSON.stringify(SETTING_COLUMNS.map((c) => r[c]));
}

export function cellKey(r: CellFields): string {
  return JSON.stringify(CELL_COLUMNS.map((c) => r[c]));
}

function fixed(v: number | undefined, digits: number): string {
  if (v === undefined) return '';
  return Number.isFinite(v) ? v.toFixed(digits) : String(v);
}

export function resultRow(cell: CellFields, r: SolveResult, inputPsnr?: number): ResultRow {
  return {
    ...cell,
    psnr: fixed(r.psnr, 4),
    ssim: fixed(r.ssim, 5),
    iterations: String(r.iterations),
    evaluations: String(r.evaluations),
    // Methods without a latent report no norm.
    zNorm: r.z.length > 0 ? fixed(r.zNorm, 4) : '',
    diverged: String(r.diverged),
    stopReason: r.stopReason,
    inputPsnr: fixed(inputPsnr, 4),
  };
}

export function formatRows<C extends string>(columns: readonly C[], rows: readonly Record<C, string>[]): string {
  return rows.map((r) => csvLine(columns.map((c) => r[c]))).join('');
}

/** Appends rows, writing the header first when the file is new. */
export async function appendRows<C extends string>(file: string, columns: readonly C[], rows: readonly Record<C, string>[], isNew: boolean): Promise<void> {
  const text = formatRows(columns, rows);
  if (isNew) await writeFile(file, csvLine(columns) + text);
  else await appendFile(file, text);
}

/**
 * Rows of an existing table, or null when the file does not exist. Throws when its header is not `columns`
 * (a folder written by another version or for another table).
 */
export async function readRows<C extends string>(file: string, columns: readonly C[]): Promise<Record<C, string>[] | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const { header, records } = parseCsvRecords(text);
  if (header.join(',') !== columns.join(',')) {
    throw new Error(`${file} has columns ${header.join(',')}; expected ${columns.join(',')}`);
  }
  return records as Record<C, string>[];
}

/** Parses a numeric field; '' is undefined. */
export function numberField(v: string): number | undefined {
  if (v === '') return undefined;
  const x = Number(v);
  return Number.isNaN(x) ? undefined : x;
}
