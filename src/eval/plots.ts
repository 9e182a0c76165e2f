// Which figures a sweep gets, planned from summary rows: the paper's main figure for the problem (PSNR vs m
// for compressive sensing, PSNR vs γ otherwise) and one figure per ablation that was swept (init, optimizer,
// penalty).
import { paperNoisyInputPsnr, paperPsnr } from './paper_numbers.ts';
import type { PlotHLine, PlotSeries, PlotSpec } from './plot.ts';
import type { SettingColumn } from './results.ts';
import { slug } from './settings.ts';
import type { SummaryRow } from './summary.ts';
import { groupBy } from './stats.ts';

export interface PlannedPlot {
  /** Path relative to the output folder. */
  file: string;
  spec: PlotSpec;
}

type Field = SettingColumn;

const MEASUREMENT_FIELDS: Field[] = ['m', 'sigma', 'noiseNorm'];
const SOLVER_FIELDS: Field[] = ['gamma', 'penalty', 'init', 'optimizer'];
const ABLATION_FIELDS: Field[] = ['init', 'optimizer', 'penalty'];

export const PROBLEM_TITLES: Record<string, string> = {
  cs: 'Compressive sensing',
  denoise: 'Denoising',
  inpaint: 'Inpainting',
  superres: 'Super-resolution',
  deblur: 'Deblurring',
};

/** How a field's value reads in legends and titles. */
export function fieldLabel(field: Field, value: string): string {
  switch (field) {
    case 'gamma':
      return `γ=${value}`;
    case 'penalty':
      return value === 'l2sq' ? '‖z‖²' : '‖z‖';
    case 'init':
      return `z₀=${value}`;
    case 'm':
      return `m=${value}`;
    case 'sigma':
      return `σ=${value}`;
    case 'noiseNorm':
      return `‖η‖=${value}`;
    default:
      return value;
  }
}

export function distinct(rows: readonly SummaryRow[], field: Field): string[] {
  return [...new Set(rows.map((r) => r[field]).filter((v) => v !== ''))];
}

export function varies(rows: readonly SummaryRow[], field: Field): boolean {
  return distinct(rows, field).length > 1;
}

function label(r: SummaryRow, fields: readonly Field[], withPrior = true): string {
  const parts = fields.filter((f) => r[f] !== '').map((f) => fieldLabel(f, r[f]));
  return [withPrior ? r.prior : '', ...parts].filter(Boolean).join(' ');
}

function meanOf(values: number[]): number | undefined {
  const v = values.filter(Number.isFinite);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : undefined;
}

/** The main figure(s): PSNR vs m (cs) or vs γ, one per dataset and per value of the other measurement fields. */
function mainPlots(problem: string, rows: readonly SummaryRow[], imageN: number): PlannedPlot[] {
  const xField: Field = problem === 'cs' ? 'm' : 'gamma';
  const out: PlannedPlot[] = [];
  for (const [dataset, dsRows] of groupBy(rows, (r) => r.dataset)) {
    const groupFields = MEASUREMENT_FIELDS.filter((f) => f !== xField && varies(dsRows, f));
    for (const group of groupBy(dsRows, (r) => JSON.stringify(groupFields.map((f) => r[f]))).values()) {
      const onAxis = group.filter((r) => r[xField] !== '');
      const flat = group.filter((r) => r[xField] === '');
      if (distinct(onAxis, xField).length === 0) continue;
      const seriesFields = [...MEASUREMENT_FIELDS, ...SOLVER_FIELDS].filter((f) => f !== xField && !groupFields.includes(f) && varies(onAxis, f));
      const series: PlotSeries[] = [...groupBy(onAxis, (r) => label(r, seriesFields)).entries()].map(([name, rs]) => ({
        name,
        points: rs.map((r) => ({ x: Number(r[xField]), y: r.psnrMean, err: r.psnrCi95 })),
      }));
      const hlines: PlotHLine[] = [...groupBy(flat, (r) => r.prior).entries()].map(([name, rs]) => ({
        name,
        y: meanOf(rs.map((r) => r.psnrMean)) ?? NaN,
      }));
      const first = group[0]!;
      const groupLabel = groupFields.map((f) => fieldLabel(f, first[f])).join(' ');
      if (problem === 'denoise') {
        const noisy = meanOf(group.map((r) => r.inputPsnrMean));
        if (noisy !== undefined) hlines.push({ name: 'noisy input', y: noisy });
        const paperNoisy = first.sigma !== '' ? paperNoisyInputPsnr(Number(first.sigma)) : undefined;
        if (paperNoisy !== undefined && imageN === 12288 && group.some((r) => r.paperPsnr !== undefined)) hlines.push({ name: 'paper: noisy input', y: paperNoisy, dashed: true });
      }
      // The paper's numbers for the priors on this figure.
      const xs = distinct(onAxis, xField).map(Number);
      // Paper lines only where the summary compares with the paper (not on out-of-distribution folders).
      const comparable = group.some((r) => r.paperPsnr !== undefined);
      for (const prior of comparable ? distinct(group, 'prior') : []) {
        const cellAt = (m: number) =>
          paperPsnr({ problem, prior, m, sigma: num(first.sigma), noiseNorm: num(first.noiseNorm), n: imageN });
        if (xField === 'm') {
          const points = xs.flatMap((m) => {
            const y = cellAt(m);
            return y === undefined ? [] : [{ x: m, y }];
          });
          if (points.length) series.push({ name: `paper: ${prior}`, points, dashed: true });
        } else {
          const y = cellAt(Number(first.m));
          if (y !== undefined) hlines.push({ name: `paper: ${prior}`, y: y, dashed: true });
        }
      }
      const title = `${PROBLEM_TITLES[problem] ?? problem}${groupLabel ? ` ${groupLabel}` : ''}: PSNR vs ${xField === 'm' ? 'm' : 'γ'} (${dataset})`;
      out.push({
        file: `plots/${slug(problem, `psnr-vs-${xField}`, dataset, ...groupFields.map((f) => `${f}${first[f]}`))}.png`,
        spec: {
          title,
          xLabel: xField === 'm' ? 'measurements m' : 'γ (penalty weight)',
          yLabel: 'PSNR (dB)',
          series,
          hlines,
          xScale: xField === 'm' && xs.every((x) => x > 0) ? 'log' : 'rank',
        },
      });
    }
  }
  return out;
}

function num(v: string): number | undefined {
  return v === '' ? undefined : Number(v);
}

/**
 * One figure per swept ablation field: PSNR by init / optimizer / penalty, a series per prior and per value of
 * the other swept fields. Where γ was swept too, each point is the best γ (the paper compares penalties and
 * starts at their best weights).
 */
function ablationPlots(problem: string, rows: readonly SummaryRow[]): PlannedPlot[] {
  const out: PlannedPlot[] = [];
  for (const field of ABLATION_FIELDS) {
    for (const [dataset, dsRows] of groupBy(rows, (r) => r.dataset)) {
      const swept = dsRows.filter((r) => r[field] !== '');
      const values = distinct(swept, field);
      // Swept means several values for one prior: the DCGAN's random starts beside the Glow's z₀ = 0 are not an ablation.
      if (values.length < 2 || ![...groupBy(swept, (r) => r.prior).values()].some((rs) => distinct(rs, field).length > 1)) continue;
      const bestGamma = field !== 'gamma' && varies(swept, 'gamma');
      const seriesFields = [...MEASUREMENT_FIELDS, ...SOLVER_FIELDS].filter(
        (f) => f !== field && !(bestGamma && f === 'gamma') && varies(swept, f),
      );
      const numeric = field === 'init' && values.every((v) => /^norm:/.test(v));
      const xOf = (v: string) => (numeric ? Number(v.slice('norm:'.length)) : values.indexOf(v));
      const series: PlotSeries[] = [];
      for (const [name, rs] of groupBy(swept, (r) => label(r, seriesFields))) {
        const points = [...groupBy(rs, (r) => r[field]).entries()].map(([v, cands]) => {
          const best = cands.reduce((a, b) => (b.psnrMean > a.psnrMean ? b : a));
          return { x: xOf(v), y: best.psnrMean, err: best.psnrCi95 };
        });
        series.push({ name, points });
      }
      const what = field === 'init' ? (numeric ? 'initial norm ‖z₀‖' : 'initialisation') : field;
      out.push({
        file: `plots/${slug(problem, `ablation-${field}`, dataset)}.png`,
        spec: {
          title: `${PROBLEM_TITLES[problem] ?? problem}: PSNR by ${what}${bestGamma ? ' (best γ)' : ''} (${dataset})`,
          xLabel: what,
          yLabel: 'PSNR (dB)',
          series,
          xScale: numeric ? 'linear' : 'rank',
          xLabels: numeric ? undefined : new Map(values.map((v, i) => [i, field === 'penalty' ? fieldLabel('penalty', v) : v])),
        },
      });
    }
  }
  return out;
}

export function planPlots(problem: string, rows: readonly SummaryRow[], imageN: number): PlannedPlot[] {
  return [...mainPlots(problem, rows, imageN), ...ablationPlots(problem, rows)];
}
