// Where a sweep's images live in the output folder, as functions of the fields results.csv records (so the
// report can find the images of cells solved by an earlier, resumed run).
import path from 'node:path';
import type { CellFields, SettingFields } from './results.ts';
import { slug } from './settings.ts';

type MeasurementFields = Pick<SettingFields, 'problem' | 'm' | 'sigma' | 'noiseNorm'>;

export function measurementSlug(f: MeasurementFields): string {
  return slug(f.problem, `m${f.m}`, f.sigma !== '' ? `sigma${f.sigma}` : '', f.noiseNorm !== '' ? `norm${f.noiseNorm}` : '');
}

export function imageFile(name: string): string {
  return `${path.parse(name).name}.png`;
}

/** recon/<measurement>/<prior and solver setting>/<dataset>/<image>.png */
export function reconFile(c: CellFields): string {
  const setting = slug(c.prior, c.gamma !== '' ? `g${c.gamma}` : '', c.penalty, c.init, c.optimizer);
  return path.join('recon', measurementSlug(c), setting, slug(c.dataset), imageFile(c.image));
}

/** recon/<measurement>/measurements/<dataset>/<image>.png: what the measurements show (noisy / masked image). */
export function measurementViewFile(f: MeasurementFields, dataset: string, image: string): string {
  return path.join('recon', measurementSlug(f), 'measurements', slug(dataset), imageFile(image));
}
