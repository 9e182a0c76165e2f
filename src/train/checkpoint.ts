import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors } from '../models/safetensors.ts';
import type { WeightArrays } from '../models/tensor_data.ts';

/**
 * A training checkpoint: every tensor of the training state (weights, optimiser moments, averages) in one
 * safetensors file `state-<step>.safetensors`, and `checkpoint.json` (step, RNG, data position, options, the
 * file's sha256). Each file is written to a temporary name and renamed; checkpoint.json goes last and names
 * its tensor file, so a crash at any moment leaves the previous checkpoint or the new one, never a mix.
 */
export const CHECKPOINT_FILE = 'checkpoint.json';

export interface CheckpointFile<S> {
  format: 'flowprior-checkpoint';
  version: 1;
  kind: string;
  step: number;
  savedAt: string;
  tensors: { file: string; sha256: string };
  state: S;
}

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

async function writeAtomic(path: string, data: Buffer | string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

export async function writeCheckpoint<S>(dir: string, kind: string, step: number, tensors: WeightArrays, state: S): Promise<CheckpointFile<S>> {
  await mkdir(dir, { recursive: true });
  const buf = encodeSafetensors(tensors, { kind, step: String(step) });
  const file = `state-${String(step).padStart(8, '0')}.safetensors`;
  await writeAtomic(join(dir, file), buf);
  const ckpt: CheckpointFile<S> = {
    format: 'flowprior-checkpoint',
    version: 1,
    kind,
    step,
    savedAt: new Date().toISOString(),
    tensors: { file, sha256: createHash('sha256').update(buf).digest('hex') },
    state,
  };
  await writeAtomic(join(dir, CHECKPOINT_FILE), `${JSON.stringify(ckpt, null, 1)}\n`);
  // Older tensor files are no longer referenced.
  for (const f of await readdir(dir)) {
    if (/^state-\d+\.safetensors$/.test(f) && f !== file) await unlink(join(dir, f)).catch(() => undefined);
  }
  return ckpt;
}

/** The checkpoint in `dir`, or null when there is none; throws when it is unreadable or corrupt. */
export async function readCheckpoint<S>(dir: string, kind: string): Promise<{ file: CheckpointFile<S>; tensors: WeightArrays } | null> {
  let raw: string;
  try {
    raw = await readFile(join(dir, CHECKPOINT_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CheckpointError(`cannot read ${join(dir, CHECKPOINT_FILE)} (${(e as Error).message})`);
  }
  let file: CheckpointFile<S>;
  try {
    file = JSON.parse(raw) as CheckpointFile<S>;
  } catch {
    throw new CheckpointError(`${join(dir, CHECKPOINT_FILE)} is not valid JSON`);
  }
  if (file.format !== 'flowprior-checkpoint' || file.version !== 1) throw new CheckpointError(`${join(dir, CHECKPOINT_FILE)} is not a flowprior checkpoint`);
  if (file.kind !== kind) throw new CheckpointError(`${join(dir, CHECKPOINT_FILE)} is a ${file.kind} checkpoint, not ${kind}`);
  if (!/^state-\d+\.safetensors$/.test(file.tensors?.file ?? '')) throw new CheckpointError(`${join(dir, CHECKPOINT_FILE)} names no valid tensor file`);
  let buf: Buffer;
  try {
    buf = await readFile(join(dir, file.tensors.file));
  } catch (e) {
    throw new CheckpointError(`cannot read ${join(dir, file.tensors.file)} (${(e as Error).message})`);
  }
  const sha = createHash('sha256').update(buf).digest('hex');
  if (sha !== file.tensors.sha256) throw new CheckpointError(`${join(dir, file.tensors.file)}: checksum mismatch, the checkpoint is corrupt`);
  return { file, tensors: decodeSafetensors(buf).tensors };
}

/** Entries under `prefix/` with the prefix removed. */
export function pickPrefix(arrays: WeightArrays, prefix: string): WeightArrays {
  const out: WeightArrays = new Map();
  const p = `${prefix}/`;
  for (const [k, v] of arrays) if (k.startsWith(p)) out.set(k.slice(p.length), v);
  return out;
}

export function withPrefix(arrays: WeightArrays, prefix: string, into: WeightArrays = new Map()): WeightArrays {
  for (const [k, v] of arrays) into.set(`${prefix}/${k}`, v);
  return into;
}
