import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initEngine } from '../../../src/engine/index.ts';
import { createRandomGlow, glowConfig } from '../../../src/models/glow/random_glow.ts';
import { savePrior } from '../../../src/models/store.ts';

export const TINY_GLOW = 'tiny-glow';
export const TINY_SIZE = 16;

/** A models folder holding one tiny random-weight Glow (16×16×3, K=1, L=2, width 8): fast enough for tests. */
export async function tinyModelsDir(): Promise<{ dir: string; cleanup(): Promise<void> }> {
  await initEngine();
  const dir = await mkdtemp(join(tmpdir(), 'fp-models-'));
  const glow = createRandomGlow(glowConfig({ K: 1, L: 2, hidden: 8, size: TINY_SIZE }), 7, { name: TINY_GLOW });
  await savePrior(join(dir, TINY_GLOW), glow, { source: 'test: random weights' });
  glow.dispose();
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
