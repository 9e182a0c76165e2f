// Line plots as SVG, rendered to PNG by sharp (librsvg). Enough for PSNR-vs-setting figures: lines with
// markers and 95% error bars, horizontal reference lines, linear / log / rank (evenly spaced) x axes.
import sharp from 'sharp';

export interface PlotPoint {
  x: number;
  y: number;
  /** Half-width of an error bar. */
  err?: number;
}

export interface PlotSeries {
  name: string;
  points: PlotPoint[];
  dashed?: boolean;
}

export interface PlotHLine {
  name: string;
  y: number;
  dashed?: boolean;
}

export interface PlotSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: PlotSeries[];
  hlines?: PlotHLine[];
  /** 'rank': distinct x values evenly spaced (sweeps like γ = 0, 0.01, 1, 10). Default 'linear'. */
  xScale?: 'linear' | 'log' | 'rank';
  /** Tick labels for x values (e.g. names of categories); default: the number. */
  xLabels?: ReadonlyMap<number, string>;
}

const WIDTH = 820;
const HEIGHT = 460;
const M = { left: 64, right: 230, top: 42, bottom: 56 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Round tick values covering [lo, hi]: steps of 1, 2 or 5 × 10^k, about `count` of them. */
export function niceTicks(lo: number, hi: number, count = 6): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * p).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

export function formatNumber(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}

/**
 * Colours by name; a "paper: X" line takes the colour of the first of our entries that is X or starts with
 * "X " (e.g. "paper: glow" draws like "glow ‖z‖").
 */
function colorOf(name: string, names: string[]): string {
  let i = names.indexOf(name);
  const paper = /^paper: (.*)$/.exec(name);
  if (paper) {
    const own = names.findIndex((n) => n === paper[1] || n.startsWith(`${paper[1]} `));
    if (own >= 0) i = own;
  }
  return COLORS[(i < 0 ? 0 : i) % COLORS.length]!;
}

export function plotSvg(spec: PlotSpec): string {
  const hlines = spec.hlines ?? [];
  const xs = [...new Set(spec.series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const scale = spec.xScale ?? 'linear';
  const plotW = WIDTH - M.left - M.right;
  const plotH = HEIGHT - M.top - M.bottom;

  let xPos: (x: number) => number;
  if (scale === 'rank' || xs.length <= 1) {
    const n = Math.max(1, xs.length - 1);
    xPos = (x) => M.left + (xs.length <= 1 ? plotW / 2 : (xs.indexOf(x) / n) * plotW);
  } else if (scale === 'log') {
    const lo = Math.log10(xs[0]!);
    const hi = Math.log10(xs[xs.length - 1]!);
    xPos = (x) => M.left + ((Math.log10(x) - lo) / (hi - lo)) * plotW;
  } else {
    const lo = xs[0]!;
    const hi = xs[xs.length - 1]!;
    xPos = (x) => M.left + ((x - lo) / (hi - lo)) * plotW;
  }

  const ys = [
    ...spec.series.flatMap((s) => s.points.flatMap((p) => [p.y - (p.err ?? 0), p.y + (p.err ?? 0)])),
    ...hlines.map((h) => h.y),
  ].filter(Number.isFinite);
  // PSNR is positive: error bars of tiny samples (t = 12.7 at n = 2) must not stretch the axis below 0.
  const allPositive = spec.series.every((s) => s.points.every((p) => !(p.y < 0))) && hlines.every((h) => !(h.y < 0));
  let yLo = ys.length ? Math.min(...ys) : 0;
  if (allPositive) yLo = Math.max(0, yLo);
  let yHi = ys.length ? Math.max(...ys) : 1;
  if (yHi - yLo < 1) {
    yLo -= 0.5;
    yHi += 0.5;
  }
  const pad = (yHi - yLo) * 0.06;
  yLo -= pad;
  yHi += pad;
  const yPos = (y: number) => M.top + plotH - ((y - yLo) / (yHi - yLo)) * plotH;

  const names = [...new Set([...spec.series.map((s) => s.name), ...hlines.map((h) => h.name)])];
  const parts: string[] = [];
  parts.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`);
  parts.push(`<text x="${M.left}" y="24" font-size="16" font-weight="bold">${escapeXml(spec.title)}</text>`);
  // Grid and y ticks.
  for (const t of niceTicks(yLo, yHi)) {
    const y = yPos(t).toFixed(1);
    parts.push(`<line x1="${M.left}" x2="${M.left + plotW}" y1="${y}" y2="${y}" stroke="#e4e4e4"/>`);
    parts.push(`<text x="${M.left - 6}" y="${y}" font-size="11" text-anchor="end" dominant-baseline="middle">${formatNumber(t)}</text>`);
  }
  for (const x of xs) {
    const px = xPos(x).toFixed(1);
    parts.push(`<line x1="${px}" x2="${px}" y1="${M.top + plotH}" y2="${M.top + plotH + 5}" stroke="#333"/>`);
    const label = spec.xLabels?.get(x) ?? formatNumber(x);
    parts.push(`<text x="${px}" y="${M.top + plotH + 18}" font-size="11" text-anchor="middle">${escapeXml(label)}</text>`);
  }
  parts.push(`<rect x="${M.left}" y="${M.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${M.left + plotW / 2}" y="${HEIGHT - 12}" font-size="13" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`);
  parts.push(
    `<text x="16" y="${M.top + plotH / 2}" font-size="13" text-anchor="middle" transform="rotate(-90 16 ${M.top + plotH / 2})">${escapeXml(spec.yLabel)}</text>`,
  );

  for (const h of hlines) {
    const y = yPos(h.y).toFixed(1);
    const c = colorOf(h.name, names);
    parts.push(`<line x1="${M.left}" x2="${M.left + plotW}" y1="${y}" y2="${y}" stroke="${c}" stroke-width="1.5" stroke-dasharray="${h.dashed ? '2,3' : '7,4'}"/>`);
  }
  for (const s of spec.series) {
    const c = colorOf(s.name, names);
    const pts = [...s.points].filter((p) => Number.isFinite(p.y)).sort((a, b) => a.x - b.x);
    if (pts.length > 1) {
      const d = pts.map((p) => `${xPos(p.x).toFixed(1)},${yPos(p.y).toFixed(1)}`).join(' ');
      parts.push(`<polyline points="${d}" fill="none" stroke="${c}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5,4" stroke-opacity="0.7"' : ''}/>`);
    }
    for (const p of pts) {
      const px = xPos(p.x).toFixed(1);
      if (p.err !== undefined && Number.isFinite(p.err) && p.err > 0) {
        const lo = Math.max(yLo, p.y - p.err);
        parts.push(`<line x1="${px}" x2="${px}" y1="${yPos(lo).toFixed(1)}" y2="${yPos(p.y + p.err).toFixed(1)}" stroke="${c}" stroke-width="1"/>`);
      }
      parts.push(
        s.dashed
          ? `<rect x="${(Number(px) - 3).toFixed(1)}" y="${(yPos(p.y) - 3).toFixed(1)}" width="6" height="6" fill="white" stroke="${c}"/>`
          : `<circle cx="${px}" cy="${yPos(p.y).toFixed(1)}" r="3.5" fill="${c}"/>`,
      );
    }
  }
  // Legend.
  const entries = [
    ...spec.series.map((s) => ({ name: s.name, dash: s.dashed ? '5,4' : '', line: true })),
    ...hlines.map((h) => ({ name: h.name, dash: h.dashed ? '2,3' : '7,4', line: true })),
  ];
  entries.forEach((e, i) => {
    const y = M.top + 10 + i * 18;
    const x = M.left + plotW + 14;
    const c = colorOf(e.name, names);
    parts.push(`<line x1="${x}" x2="${x + 24}" y1="${y}" y2="${y}" stroke="${c}" stroke-width="2"${e.dash ? ` stroke-dasharray="${e.dash}"` : ''}/>`);
    parts.push(`<text x="${x + 30}" y="${y}" font-size="11" dominant-baseline="middle">${escapeXml(e.name)}</text>`);
  });

  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" font-family="DejaVu Sans, Arial, sans-serif">${parts.join('')}</svg>`;
}

export async function plotPng(spec: PlotSpec): Promise<Buffer> {
  return sharp(Buffer.from(plotSvg(spec))).png().toBuffer();
}
