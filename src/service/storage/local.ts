import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { randomUUID } from 'node:crypto';
import { NotFoundError, StorageError } from '../../errors.ts';
import type { ResultStore, StoredObject } from './types.ts';

const TYPES: Record<string, string> = { png: 'image/png', json: 'application/json' };

function contentTypeOf(key: string): string | null {
  const ext = key.slice(key.lastIndexOf('.') + 1);
  return TYPES[ext] ?? null;
}

function isMissing(e: unknown): boolean {
  return (e as NodeJS.ErrnoException)?.code === 'ENOENT';
}

/** Results in a folder on disk; writes go to a temp file first and are renamed, so readers never see half a file. */
export class LocalResultStore implements ResultStore {
  readonly kind = 'local' as const;
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  private path(key: string): string {
    if (!/^[A-Za-z0-9._/-]+$/.test(key) || key.split('/').some((p) => p === '' || p === '.' || p === '..')) {
      throw new StorageError(`invalid key ${JSON.stringify(key)}`);
    }
    const p = resolve(this.root, key);
    if (!p.startsWith(this.root + sep)) throw new StorageError(`invalid key ${JSON.stringify(key)}`);
    return p;
  }

  async init(): Promise<void> {
    try {
      await mkdir(this.root, { recursive: true });
    } catch (e) {
      throw new StorageError(`cannot create results folder: ${(e as Error).message}`);
    }
  }

  async put(key: string, body: Uint8Array | string, _contentType: string): Promise<void> {
    const p = this.path(key);
    const tmp = `${p}.${randomUUID()}.tmp`;
    try {
      await mkdir(dirname(p), { recursive: true });
      await writeFile(tmp, body);
      await rename(tmp, p);
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => {});
      throw new StorageError(`cannot write ${key}: ${(e as Error).message}`);
    }
  }

  async get(key: string): Promise<Buffer> {
    try {
      return await readFile(this.path(key));
    } catch (e) {
      if (isMissing(e)) throw new NotFoundError(`${key} does not exist`);
      if (e instanceof StorageError) throw e;
      throw new StorageError(`cannot read ${key}: ${(e as Error).message}`);
    }
  }

  async stream(key: string): Promise<StoredObject> {
    const p = this.path(key);
    let size: number;
    try {
      size = (await stat(p)).size;
    } catch (e) {
      if (isMissing(e)) throw new NotFoundError(`${key} does not exist`);
      throw new StorageError(`cannot read ${key}: ${(e as Error).message}`);
    }
    return { stream: createReadStream(p), contentType: contentTypeOf(key), length: size };
  }

  async exists(key: string): Promise<boolean> {
    try {
      await stat(this.path(key));
      return true;
    } catch (e) {
      if (isMissing(e)) return false;
      if (e instanceof StorageError) throw e;
      throw new StorageError(`cannot stat ${key}: ${(e as Error).message}`);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await rm(this.path(key), { force: true });
    } catch (e) {
      throw new StorageError(`cannot delete ${key}: ${(e as Error).message}`);
    }
  }

  async presign(_key: string): Promise<string | null> {
    return null;
  }

  async ping(): Promise<void> {
    try {
      await stat(this.root);
    } catch (e) {
      throw new StorageError(`results folder unavailable: ${(e as Error).message}`);
    }
  }

  async close(): Promise<void> {}
}
