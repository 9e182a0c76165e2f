import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type Row = { name: string; unit: string; median: number; [k: string]: unknown };

export const RESULTS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function printRows(title: string, rows: Row[]): void {
  const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(3));
  const w = Math.max(...rows.map((r) => r.name.length), 10);
  process.stdout.write(`\n== ${title} ==\n`);
  for (const r of rows) process.stdout.write(`${r.name.padEnd(w)}  ${fmt(r.median).padStart(9)} ${r.unit}\n`);
}

export function writeRows(name: string, rows: Row[]): string {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), rows }, null, 2) + '\n');
  return file;
}
