// report.md: the sweep's tables, figures and grids in one page, with the paper's numbers and the gap in dB
// beside every cell the paper reports.
import type { WrittenGrid } from './grids.ts';
import { PAPER_N } from './paper_numbers.ts';
import { distinct, fieldLabel, PROBLEM_TITLES, varies, type PlannedPlot } from './plots.ts';
import { numberField, type SettingColumn, type TimingRow } from './results.ts';
import type { SummaryRow } from './summary.ts';
import { groupBy } from './stats.ts';

export interface RunInfo {
  problem: string;
  seed: number;
  evaluations: number;
  baselineEvaluations: number;
  backend: string;
  models: Partial<Record<'glow' | 'dcgan', { name: string; sha256: string }>>;
  imageShape: readonly number[];
  datasets: { name: string; images: number }[];
  /** Priors left out of a setting they cannot solve, with the reason. */
  skipped: string[];
  command?: string;
}

export interface ReportInput {
  info: RunInfo;
  summary: readonly SummaryRow[];
  plots: readonly PlannedPlot[];
  grids: readonly WrittenGrid[];
  timings: readonly TimingRow[];
}

const MEASUREMENT_FIELDS: SettingColumn[] = ['m', 'sigma', 'noiseNorm'];
const SOLVER_FIELDS: SettingColumn[] = ['gamma', 'penalty', 'init', 'optimizer'];

export function mdTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [
    `| ${header.map(esc).join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

function f(v: number | undefined, digits = 2): string {
  return v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits);
}

function signed(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? '—' : `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(2)}`;
}

function pm(mean: number, ci: number, digits = 2): string {
  return Number.isFinite(ci) ? `${mean.toFixed(digits)} ± ${ci.toFixed(digits)}` : f(mean, digits);
}

function labelOf(r: SummaryRow, fields: readonly SettingColumn[]): string {
  return fields.filter((x) => r[x] !== '').map((x) => fieldLabel(x, r[x])).join(' ') || '—';
}

function best(rows: readonly SummaryRow[]): SummaryRow {
  return rows.reduce((a, b) => (b.psnrMean > a.psnrMean ? b : a));
}

/** Measurement fields worth naming in this sweep (m for cs, σ where swept, …). */
function measurementColumns(problem: string, summary: readonly SummaryRow[]): SettingColumn[] {
  return MEASUREMENT_FIELDS.filter((x) => (x === 'm' && problem === 'cs') || varies(summary, x) || (x === 'sigma' && problem === 'denoise'));
}

function paperSection(info: RunInfo, summary: readonly SummaryRow[]): string {
  const lines = ['## Comparison with the paper', ''];
  const withPaper = summary.filter((r) => r.paperPsnr !== undefined);
  if (withPaper.length === 0) {
    const why =
      info.imageShape.reduce((a, b) => a * b, 1) !== PAPER_N
        ? `its images are ${info.imageShape.join('×')}, the paper's 64×64×3`
        : 'none of its settings is one the paper reports (CS with ‖η‖ = 0.1 at the paper\'s m; denoising at σ = 0.05, 0.1, 0.2; the 19×19 inpainting hole without noise)';
    lines.push(`No cell of this sweep has a number in the paper: ${why}.`, '');
    return lines.join('\n');
  }
  const mcols = measurementColumns(info.problem, summary);
  lines.push(
    'Paper: Asim et al. (ICML 2020), 12 CelebA-HQ 64×64 test images. Ours: the best mean PSNR over the swept solver',
    'settings (γ, penalty, init, optimizer) for each prior and measurement setting, with its 95% interval; gap = ours − paper.',
    '',
  );
  const rows: string[][] = [];
  for (const g of groupBy(withPaper, (r) => JSON.stringify([r.dataset, r.prior, ...MEASUREMENT_FIELDS.map((x) => r[x])])).values()) {
    const b = best(g);
    rows.push([b.dataset, b.prior, labelOf(b, mcols), pm(b.psnrMean, b.psnrCi95), f(b.paperPsnr), signed(b.gap), String(b.n), labelOf(b, SOLVER_FIELDS)]);
  }
  lines.push(mdTable(['dataset', 'prior', 'setting', 'ours (dB)', 'paper (dB)', 'gap (dB)', 'images', 'at'], rows), '');
  return lines.join('\n');
}

function resultsSection(info: RunInfo, summary: readonly SummaryRow[]): string {
  const lines = ['## Results', '', 'Mean over images ± half-width of the 95% t-interval. Full per-image rows: `results.csv`; these means: `summary.csv`.', ''];
  const cols = [...measurementColumns(info.problem, summary), ...SOLVER_FIELDS.filter((x) => varies(summary, x))];
  const hasInput = summary.some((r) => Number.isFinite(r.inputPsnrMean));
  const hasPaper = summary.some((r) => r.paperPsnr !== undefined);
  for (const [dataset, rows] of groupBy(summary, (r) => r.dataset)) {
    lines.push(`### ${dataset}`, '');
    const header = ['prior', ...cols.map(columnTitle), 'images', 'PSNR (dB)', 'SSIM', '‖ẑ‖', 'diverged'];
    if (hasInput) header.push('input PSNR');
    if (hasPaper) header.push('paper', 'gap');
    const body = rows.map((r) => {
      const cells = [r.prior, ...cols.map((c) => r[c] || '—'), String(r.n), pm(r.psnrMean, r.psnrCi95), pm(r.ssimMean, r.ssimCi95, 3), f(r.zNormMean, 1), String(r.diverged)];
      if (hasInput) cells.push(f(r.inputPsnrMean));
      if (hasPaper) cells.push(f(r.paperPsnr), signed(r.gap));
      return cells;
    });
    lines.push(mdTable(header, body), '');
  }
  return lines.join('\n');
}

function columnTitle(c: SettingColumn): string {
  return ({ gamma: 'γ', sigma: 'σ', noiseNorm: '‖η‖', m: 'm' } as Record<string, string>)[c] ?? c;
}

/** For each swept ablation (init, optimizer, penalty): best PSNR per value, side by side. */
function ablationSection(summary: readonly SummaryRow[]): string {
  const parts: string[] = [];
  for (const field of ['init', 'optimizer', 'penalty'] as const) {
    const swept = summary.filter((r) => r[field] !== '');
    const values = distinct(swept, field);
    if (values.length < 2) continue;
    const others = [...MEASUREMENT_FIELDS.filter((x) => varies(swept, x)), ...(['init', 'optimizer', 'penalty'] as const).filter((x) => x !== field && varies(swept, x))];
    const rows: string[][] = [];
    for (const g of groupBy(swept, (r) => JSON.stringify([r.dataset, r.prior, ...others.map((x) => r[x])])).values()) {
      const r0 = g[0]!;
      rows.push([
        r0.dataset,
        r0.prior,
        labelOf(r0, others),
        ...values.map((v) => {
          const cands = g.filter((r) => r[field] === v);
          if (cands.length === 0) return '—';
          const b = best(cands);
          return varies(g, 'gamma') ? `${f(b.psnrMean)} (γ=${b.gamma})` : pm(b.psnrMean, b.psnrCi95);
        }),
      ]);
    }
    const name = field === 'init' ? 'Initialisation' : field === 'optimizer' ? 'Optimizer' : 'Penalty ‖z‖ vs ‖z‖²';
    const note = varies(swept, 'gamma') ? ' Each cell is the best γ (in brackets).' : '';
    parts.push(`### ${name}`, '', `Mean PSNR (dB) by ${field}.${note}`, '');
    parts.push(mdTable(['dataset', 'prior', 'setting', ...values.map((v) => (field === 'penalty' ? fieldLabel('penalty', v) : v))], rows), '');
  }
  return parts.length ? ['## Ablations', '', ...parts].join('\n') : '';
}

/** With several datasets: PSNR per dataset side by side and the change from the first (in-distribution) one. */
function datasetSection(info: RunInfo, summary: readonly SummaryRow[]): string {
  const datasets = info.datasets.map((d) => d.name).filter((d) => summary.some((r) => r.dataset === d));
  if (datasets.length < 2) return '';
  const cols = [...measurementColumns(info.problem, summary), ...SOLVER_FIELDS.filter((x) => varies(summary, x))];
  const rows: string[][] = [];
  for (const g of groupBy(summary, (r) => JSON.stringify([r.prior, ...cols.map((x) => r[x])])).values()) {
    const by = new Map(g.map((r) => [r.dataset, r]));
    const base = by.get(datasets[0]!);
    rows.push([
      g[0]!.prior,
      labelOf(g[0]!, cols),
      ...datasets.map((d) => (by.has(d) ? pm(by.get(d)!.psnrMean, by.get(d)!.psnrCi95) : '—')),
      ...datasets.slice(1).map((d) => (base && by.has(d) ? signed(by.get(d)!.psnrMean - base.psnrMean) : '—')),
    ]);
  }
  return [
    '## Datasets',
    '',
    `Mean PSNR (dB) per dataset; Δ = change from ${datasets[0]} (the paper's dataset-bias claim: an invertible prior degrades`,
    'gracefully out of distribution, a GAN prior stays at its representation limit).',
    '',
    mdTable(['prior', 'setting', ...datasets, ...datasets.slice(1).map((d) => `Δ ${d}`)], rows),
    '',
  ].join('\n');
}

function timingSection(timings: readonly TimingRow[]): string {
  if (timings.length === 0) return '';
  const rows: string[][] = [];
  for (const [prior, g] of groupBy(timings, (t) => t.prior)) {
    const perImage = g.map((t) => (numberField(t.batchWallMs) ?? NaN) / Math.max(1, Number(t.batchSize)));
    const total = perImage.reduce((a, b) => a + b, 0);
    rows.push([prior, String(g.length), f(total / g.length / 1000, 2), f(total / 1000, 1), [...new Set(g.map((t) => t.backend))].join(', ')]);
  }
  return [
    '## Timing',
    '',
    'Wall time per image = the solver call\'s time divided by its batch size (from `timings.csv`; not part of `results.csv`).',
    '',
    mdTable(['prior', 'cells', 's per image', 'total s', 'backend'], rows),
    '',
  ].join('\n');
}

export function buildReport(input: ReportInput): string {
  const { info, summary } = input;
  const title = PROBLEM_TITLES[info.problem] ?? info.problem;
  const models = Object.entries(info.models)
    .map(([k, m]) => `${k}: \`${m!.name}\` (weights sha256 ${m!.sha256.slice(0, 12)}…)`)
    .join('; ');
  const head: string[] = [
    `# flowprior eval: ${title}`,
    '',
    `Images: ${info.datasets.map((d) => `${d.name} (${d.images})`).join(', ')}, at ${info.imageShape.join('×')}. ` +
      `Priors: ${distinct(summary, 'prior').join(', ') || '—'}. Seed ${info.seed}; ${info.evaluations} objective evaluations per ` +
      `latent solve, ${info.baselineEvaluations} iterations at most for the baselines. Backend: ${info.backend}.`,
    '',
  ];
  if (models) head.push(`Models: ${models}.`, '');
  if (info.command) head.push('Command:', '', '```', info.command, '```', '');
  if (info.skipped.length) head.push(...info.skipped.map((s) => `- skipped: ${s}`), '');
  const figures = input.plots.length
    ? ['## Figures', '', ...input.plots.map((p) => `![${p.spec.title}](${p.file.split('\\').join('/')})\n`)].join('\n')
    : '';
  const grids = input.grids.length
    ? ['## Reconstructions', '', ...input.grids.map((g) => `### ${g.title}\n\n![${g.title}](${g.file.split('\\').join('/')})\n`)].join('\n')
    : '';
  const notes = [
    '## Reproducibility',
    '',
    '`results.csv` holds only seeded quantities (no wall times): the same command with the same seed writes a byte-identical',
    '`results.csv` on the same backend. Every problem\'s A, noise and random start are derived from the seed, the measurement',
    'setting and the image (see docs/eval.md); rerunning into the same folder resumes and skips finished cells.',
    '',
  ].join('\n');
  return (
    [
      head.join('\n'),
      paperSection(info, summary),
      resultsSection(info, summary),
      figures,
      ablationSection(summary),
      datasetSection(info, summary),
      grids,
      timingSection(input.timings),
      notes,
    ]
      .filter(Boolean)
      .join('\n') + '\n'
  );
}
