// The pieces of flowprior eval against their definitions: CSV round trips, t-intervals, seeds, the paper's
// numbers and gaps, the sweep's expansion, figures and grids.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { csvLine, parseCsv, parseCsvRecords } from '../../src/eval/csv.ts';
import { gridPng } from '../../src/eval/grid.ts';
import { PAPER_CS_PSNR, PAPER_INPAINT_M, paperPsnr } from '../../src/eval/paper_numbers.ts';
import { niceTicks, plotPng, plotSvg } from '../../src/eval/plot.ts';
import { planPlots } from '../../src/eval/plots.ts';
import { formatDuration, Progress } from '../../src/eval/progress.ts';
import { buildReport } from '../../src/eval/report.ts';
import { RESULT_COLUMNS, type ResultRow } from '../../src/eval/results.ts';
import { cellSeeds, deriveSeed } from '../../src/eval/seeds.ts';
import { initLabel, measurementSettings, solverSettings } from '../../src/eval/settings.ts';
import { ci95HalfWidth, mean, sampleSd, tQuantile975 } from '../../src/eval/stats.ts';
import { summarize, summaryCsv } from '../../src/eval/summary.ts';

function row(over: Partial<ResultRow>): ResultRow {
  const base = Object.fromEntries(RESULT_COLUMNS.map((c) => [c, ''])) as ResultRow;
  return {
    ...base, problem: 'cs', prior: 'glow', m: '2500', noiseNorm: '0.1', gamma: '0', penalty: 'l2', init: 'zeros',
    optimizer: 'lbfgs', dataset: 'faces', image: 'a.png', psnr: '30', ssim: '0.9', iterations: '10', evaluations: '20',
    zNorm: '50', diverged: 'false', stopReason: 'converged', ...over,
  };
}

describe('csv', () => {
  it('round-trips fields with commas, quotes and newlines', () => {
    const fields = ['plain', 'a,b', 'say "hi"', 'two\nlines', '', 'ü‖z‖'];
    const text = csvLine(['h1', 'h2', 'h3', 'h4', 'h5', 'h6']) + csvLine(fields) + csvLine(fields.slice().reverse());
    const rows = parseCsv(text);
    assert.deepEqual(rows, [['h1', 'h2', 'h3', 'h4', 'h5', 'h6'], fields, fields.slice().reverse()]);
    assert.equal(parseCsvRecords(text).records[0]!.h2, 'a,b');
    assert.throws(() => parseCsvRecords('a,b\n1\n'), /1 fields/);
  });
});

describe('stats', () => {
  it('gives the t-interval t·sd/√n with the tabulated and the expanded quantiles', () => {
    assert.equal(mean([1, 2, 3, 6]), 3);
    assert.ok(Math.abs(sampleSd([1, 2, 3, 6]) - Math.sqrt(14 / 3)) < 1e-12);
    assert.ok(Math.abs(ci95HalfWidth([0, 2]) - 12.706) < 1e-9); // sd √2, n 2
    assert.ok(Math.abs(ci95HalfWidth([1, 2, 3, 6]) - (3.182 * Math.sqrt(14 / 3)) / 2) < 1e-9);
    assert.ok(Number.isNaN(ci95HalfWidth([5])));
    // Beyond the table the expansion joins it smoothly and tends to the normal quantile.
    assert.ok(Math.abs(tQuantile975(31) - 2.0395) < 5e-4);
    assert.ok(Math.abs(tQuantile975(120) - 1.9799) < 5e-4);
    assert.ok(tQuantile975(30) > tQuantile975(31) && tQuantile975(10_000) > 1.95996);
  });
});

describe('seeds', () => {
  it('are pure functions of the base seed and the names, in [0, 2³²)', () => {
    assert.equal(deriveSeed(7, 'noise', 'cs-m2500', 'faces/a.png'), deriveSeed(7, 'noise', 'cs-m2500', 'faces/a.png'));
    const all = [deriveSeed(7, 'a'), deriveSeed(8, 'a'), deriveSeed(7, 'b'), deriveSeed(7, 'a', 'b'), deriveSeed(7, 'ab')];
    assert.equal(new Set(all).size, all.length);
    for (const s of all) assert.ok(Number.isInteger(s) && s >= 0 && s < 2 ** 32);
  });

  it('share A across images and noise levels, not noise or starts', () => {
    const a = cellSeeds(1, 'cs-m500', 'cs-m500-sigma0.1', 'd/a.png');
    const b = cellSeeds(1, 'cs-m500', 'cs-m500-sigma0.1', 'd/b.png');
    const c = cellSeeds(1, 'cs-m500', 'cs-m500-sigma0.2', 'd/a.png');
    assert.equal(a.operator, b.operator);
    assert.equal(a.operator, c.operator);
    assert.notEqual(a.noise, b.noise);
    assert.notEqual(a.noise, c.noise);
    assert.notEqual(a.problem, b.problem);
  });
});

describe('the sweep', () => {
  it('expands measurement settings and per-prior solver settings', () => {
    const ms = measurementSettings({ problem: 'cs', m: [500, 2500], sigma: undefined });
    assert.deepEqual(ms.map((s) => s.key), ['cs-m500', 'cs-m2500']);
    const ds = measurementSettings({ problem: 'denoise', m: [500], sigma: [0.05, 0.1] });
    assert.deepEqual(ds.map((s) => [s.m, s.sigma]), [[undefined, 0.05], [undefined, 0.1]]);
    const cfg = { gamma: [0, 1], penalty: ['l2', 'l2sq'] as const, init: [{ type: 'zeros' as const }, { type: 'lasso' as const }], optimizer: ['lbfgs' as const] };
    const sweep = { ...cfg, penalty: [...cfg.penalty], optimizer: [...cfg.optimizer] };
    assert.equal(solverSettings('glow', sweep).length, 8);
    assert.deepEqual(solverSettings('bm3d', sweep), [{}]);
    // The DCGAN cannot start at zeros or from an encoding: both become its random restarts, once.
    const dc = solverSettings('dcgan', sweep);
    assert.equal(dc.length, 4);
    assert.ok(dc.every((s) => s.init && initLabel(s.init) === 'normal:0.1'));
  });
});

describe('paper numbers', () => {
  it('apply only to the paper settings, and summaries carry the gap', () => {
    const n = 12288;
    assert.equal(paperPsnr({ problem: 'cs', prior: 'glow', m: 2500, noiseNorm: 0.1, n }), PAPER_CS_PSNR.glow[2500]);
    assert.equal(paperPsnr({ problem: 'cs', prior: 'glow', m: 2500, noiseNorm: 0.1, n: 768 }), undefined);
    const two = [row({ psnr: '30' }), row({ psnr: '28', dataset: 'ood' })];
    const byDataset = summarize(two, n, 'faces');
    assert.equal(byDataset.find((r) => r.dataset === 'faces')!.paperPsnr, PAPER_CS_PSNR.glow[2500]);
    assert.equal(byDataset.find((r) => r.dataset === 'ood')!.paperPsnr, undefined, 'no paper column for an out-of-distribution folder');
    assert.equal(paperPsnr({ problem: 'cs', prior: 'glow', m: 2500, sigma: 0.1, n }), undefined);
    assert.equal(paperPsnr({ problem: 'cs', prior: 'glow', m: 2400, noiseNorm: 0.1, n }), undefined);
    assert.equal(paperPsnr({ problem: 'denoise', prior: 'bm3d', m: n, sigma: 0.2, n }), 25.2);
    assert.equal(paperPsnr({ problem: 'denoise', prior: 'dcgan', m: n, sigma: 0.2, n }), undefined);
    assert.equal(paperPsnr({ problem: 'inpaint', prior: 'glow', m: PAPER_INPAINT_M, sigma: 0, n }), 34.9);
    assert.equal(paperPsnr({ problem: 'inpaint', prior: 'glow', m: PAPER_INPAINT_M - 3, sigma: 0, n }), undefined);

    const rows = [row({ psnr: '30' }), row({ psnr: '32', image: 'b.png' }), row({ prior: 'lasso-dct', gamma: '', penalty: '', init: '', optimizer: '', psnr: '20', zNorm: '' })];
    const s = summarize(rows, n);
    assert.equal(s.length, 2);
    assert.equal(s[0]!.psnrMean, 31);
    assert.ok(Math.abs(s[0]!.psnrCi95 - 12.706) < 1e-9);
    assert.ok(Math.abs(s[0]!.gap! - (31 - 34.56)) < 1e-9);
    assert.ok(Math.abs(s[1]!.gap! - (20 - 21.76)) < 1e-9);
    assert.ok(summaryCsv(s).split('\n')[1]!.endsWith(',34.56,-3.56'));
    const report = buildReport({
      info: { problem: 'cs', seed: 0, evaluations: 300, baselineEvaluations: 1000, backend: 'wasm', models: {}, imageShape: [64, 64, 3], datasets: [{ name: 'faces', images: 2 }], skipped: [] },
      summary: s, plots: [], grids: [], timings: [],
    });
    assert.match(report, /\| faces \| glow \| m=2500 \| 31\.00 ± 12\.71 \| 34\.56 \| −3\.56 \|/);
    assert.match(report, /\| faces \| lasso-dct \| m=2500 \| 20\.00 \| 21\.76 \| −1\.76 \|/);
  });
});

describe('figures and grids', () => {
  it('plans the denoising figure: γ on the axis, baselines, noisy input and the paper as lines', () => {
    const rows: ResultRow[] = [];
    for (const gamma of ['0', '1']) rows.push(row({ problem: 'denoise', m: '12288', sigma: '0.1', noiseNorm: '', gamma, psnr: gamma === '0' ? '22' : '28', inputPsnr: '20.4' }));
    rows.push(row({ problem: 'denoise', prior: 'bm3d', m: '12288', sigma: '0.1', noiseNorm: '', gamma: '', penalty: '', init: '', optimizer: '', psnr: '29', inputPsnr: '20.4' }));
    const plots = planPlots('denoise', summarize(rows, 12288), 12288);
    assert.equal(plots.length, 1);
    const spec = plots[0]!.spec;
    assert.deepEqual(spec.series.map((s) => [s.name, s.points.map((p) => [p.x, p.y])]), [['glow', [[0, 22], [1, 28]]]]);
    assert.deepEqual(spec.hlines!.map((h) => [h.name, h.y]), [['bm3d', 29], ['noisy input', 20.4], ['paper: noisy input', 20.5], ['paper: glow', 30.5], ['paper: bm3d', 29.9]]);
  });

  it('renders a plot to PNG with the series in its colour and sane ticks', async () => {
    assert.deepEqual(niceTicks(0, 10), [0, 2, 4, 6, 8, 10]);
    assert.deepEqual(niceTicks(17.3, 38.1, 5), [20, 25, 30, 35]);
    const spec = { title: 'PSNR <vs> m', xLabel: 'm', yLabel: 'PSNR', xScale: 'log' as const, series: [{ name: 'glow', points: [{ x: 200, y: 20, err: 1 }, { x: 5000, y: 35 }] }] };
    assert.match(plotSvg(spec), /PSNR &lt;vs&gt; m/);
    const { data, info } = await sharp(await plotPng(spec)).raw().toBuffer({ resolveWithObject: true });
    let blue = 0;
    for (let i = 0; i < data.length; i += info.channels) if (data[i] === 0x1f && data[i + 1] === 0x77 && data[i + 2] === 0xb4) blue++;
    assert.ok(blue > 200, `line pixels: ${blue}`);
  });

  it('composes a grid with tiles pixel-exact at their places', async () => {
    const solid = (r: number, g: number, b: number) => sharp({ create: { width: 8, height: 8, channels: 3, background: { r, g, b } } }).png().toBuffer();
    const png = await gridPng({
      title: 'test grid', columns: ['one', 'two'], tileSize: 32,
      rows: [{ label: 'truth', tiles: [{ png: await solid(255, 0, 0) }, { png: await solid(0, 255, 0) }] }, { label: 'glow', tiles: [{ png: null }, { png: await solid(0, 0, 255), caption: '30.00 dB' }] }],
    });
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    const at = (x: number, y: number) => [...data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3)];
    // Layout: label column 170 px, tiles 32 px + 4 px gap, title 26 + header 16, rows 32 + 14 + 4.
    assert.deepEqual(at(170 + 16, 42 + 16), [255, 0, 0]);
    assert.deepEqual(at(170 + 36 + 16, 42 + 16), [0, 255, 0]);
    assert.deepEqual(at(170 + 36 + 16, 42 + 50 + 16), [0, 0, 255]);
    assert.deepEqual(at(170 + 16, 42 + 50 + 16), [238, 238, 238]);
  });

  it('prints progress with an ETA from the rate so far', () => {
    assert.equal(formatDuration(65_000), '1m05s');
    assert.equal(formatDuration(3_725_000), '1h02m');
    assert.equal(Progress.line(10, 40, 60_000, 'glow m=2500'), 'eval 10/40 cells (25%) · glow m=2500 · 1m00s elapsed · ETA 3m00s');
    const lines: string[] = [];
    const p = new Progress(3, { write: (s: string) => lines.push(s) });
    p.start('x');
    p.advance(2, 'x');
    p.advance(1, 'y');
    assert.equal(lines.length, 2); // a log gets one line per finished batch
    assert.match(lines[1]!, /^eval 3\/3 cells \(100%\) · y · .* ETA 0s\n$/);
  });
});
