import { basename, dirname, isAbsolute, relative, resolve } from 'node:path';

export interface TrainHooks {
  /** Aborting stops the run after the current step, with a checkpoint (what SIGINT/SIGTERM do in the CLI). */
  signal?: AbortSignal;
  /** Called after every step. */
  onStep?: (info: { step: number; loss: number }) => void;
  /** Progress and notes; null for silence. Default: process.stderr. */
  stream?: NodeJS.WriteStream | null;
}

/** A data path for provenance metadata: relative to the working directory, never a machine's absolute path. */
export function describePath(p: string): string {
  const abs = resolve(p);
  const rel = relative(process.cwd(), abs);
  if (rel !== '' && !rel.startsWith('..') && !isAbsolute(rel)) return rel;
  // Outside the working directory: the folder and its parent (e.g. celeba64/train) say enough.
  return [basename(dirname(abs)), basename(abs)].filter(Boolean).join('/');
}
