// summary.csv: per (dataset, prior, setting) the mean PSNR/SSIM over images with 95% t-intervals, next to the
// paper's number where it reports one.
import { csvLine } from './csv.ts';
import { paperPsnr } from './paper_numbers.ts';
import { numberField, SETTING_COLUMNS, settingKey, type ResultRow, type SettingFields } from './results.ts';
import { ci95HalfWidth, mean } from './stats.ts';

export interface SummaryRow extends SettingFields {
  dataset: string;
  n: number;
  psnrMean: number;
  /** Half-width of the 95% interval of the mean (NaN for one image). */
  psnrCi95: number;
  ssimMean: number;
  ssimCi95: number;
  /** Mean ‖ẑ‖ (NaN for methods without a latent). */
  zNormMean: number;
  diverged: number;
  /** Mean PSNR of the measurements themselves where they are an image (denoising). */
  inputPsnrMean: number;
  paperPsnr?: number;
  /** psnrMean − paperPsnr, dB. */
  gap?: number;
}

export const SUMMARY_COLUMNS = [
  'dataset',
  ...SETTING_COLUMNS,
  'n',
  'psnrMean',
  'psnrCi95',
  'ssimMean',
  'ssimCi95',
  'zNormMean',
  'diverged',
  'inputPsnrMean',
  'paperPsnr',
  'gap',
] as const;

function numbers(rows: ResultRow[], col: keyof ResultRow): number[] {
  return rows.map((r) => numberField(r[col])).filter((v): v is number => v !== undefined && Number.isFinite(v));
}

/** Groups rows by dataset and setting, in order of first appearance. `imageN` = H·W·C (paper numbers need 12288). */
/**
 * paperDataset: the only data set the paper's numbers are compared with (its CelebA-HQ stand-in); every data set
 * when absent. An out-of-distribution folder swept beside it gets no paper column.
 */
export function summarize(rows: readonly ResultRow[], imageN: number, paperDataset?: string): SummaryRow[] {
  const groups = new Map<string, ResultRow[]>();
  for (const r of rows) {
    const key = JSON.stringify([r.dataset, settingKey(r)]);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(r);
  }
  return [...groups.values()].map((g) => {
    const first = g[0]!;
    const setting = Object.fromEntries(SETTING_COLUMNS.map((c) => [c, first[c]])) as SettingFields;
    const psnrs = numbers(g, 'psnr');
    const ssims = numbers(g, 'ssim');
    const zs = numbers(g, 'zNorm');
    const inputs = numbers(g, 'inputPsnr');
    const row: SummaryRow = {
      ...setting,
      dataset: first.dataset,
      n: g.length,
      psnrMean: mean(psnrs),
      psnrCi95: ci95HalfWidth(psnrs),
      ssimMean: mean(ssims),
      ssimCi95: ci95HalfWidth(ssims),
      zNormMean: mean(zs),
      diverged: g.filter((r) => r.diverged === 'true').length,
      inputPsnrMean: mean(inputs),
    };
    const paper = paperDataset !== undefined && row.dataset !== paperDataset ? undefined : paperPsnr({
      problem: row.problem,
      prior: row.prior,
      m: Number(row.m),
      sigma: numberField(row.sigma),
      noiseNorm: numberField(row.noiseNorm),
      n: imageN,
    });
    if (paper !== undefined) {
      row.paperPsnr = paper;
      row.gap = row.psnrMean - paper;
    }
    return row;
  });
}

function cell(v: number | undefined, digits: number): string {
  return v === undefined || Number.isNaN(v) ? '' : v.toFixed(digits);
}

export function summaryCsv(rows: readonly SummaryRow[]): string {
  const fmt = (r: SummaryRow): string[] => [
    r.dataset,
    ...SETTING_COLUMNS.map((c) => r[c]),
    String(r.n),
    cell(r.psnrMean, 3),
    cell(r.psnrCi95, 3),
    cell(r.ssimMean, 4),
    cell(r.ssimCi95, 4),
    cell(r.zNormMean, 3),
    String(r.diverged),
    cell(r.inputPsnrMean, 3),
    cell(r.paperPsnr, 2),
    cell(r.gap, 2),
  ];
  return csvLine(SUMMARY_COLUMNS) + rows.map((r) => csvLine(fmt(r))).join('');
}
