import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The reference fixtures live beside the repository: <repo>/../shared/fixtures/glowip. */
export const FIXTURES_DIR = fileURLToPath(new URL('../../../../shared/fixtures/glowip/', import.meta.url));
export const HAVE_FIXTURES = existsSync(`${FIXTURES_DIR}glowmodel.pt`);
export const SKIP_NO_FIXTURES = HAVE_FIXTURES ? false : `reference fixtures not found at ${FIXTURES_DIR}`;

export interface FixtureArray {
  shape: number[];
  data: Float32Array;
}

/** `{shape, dtype: 'float32', data: base64 little-endian}` → Float32Array. */
export function fixtureArray(v: { shape: number[]; dtype: string; data: string }): FixtureArray {
  if (v.dtype !== 'float32') throw new Error(`fixture dtype ${v.dtype}`);
  const bytes = Buffer.from(v.data, 'base64');
  return { shape: v.shape, data: new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)) };
}

export function readFixtureJson(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(`${FIXTURES_DIR}${name}`, 'utf8')) as Record<string, unknown>;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
