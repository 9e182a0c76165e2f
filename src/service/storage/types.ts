import type { Readable } from 'node:stream';

export interface StoredObject {
  stream: Readable;
  contentType: string | null;
  length: number | null;
}

/**
 * Where job inputs and results live. Keys are slash-separated paths (see keys.ts).
 * Every failure to reach the backend is a StorageError; a missing key is a NotFoundError.
 */
export interface ResultStore {
  readonly kind: 's3' | 'local';
  /** Creates the bucket or folder when missing. */
  init(): Promise<void>;
  put(key: string, body: Uint8Array | string, contentType: string): Promise<void>;
  get(key: string): Promise<Buffer>;
  stream(key: string): Promise<StoredObject>;
  exists(key: string): Promise<boolean>;
  delete(key: string): Promise<void>;
  /** A time-limited URL a client can fetch directly, or null when the store cannot make one (local folder). */
  presign(key: string): Promise<string | null>;
  /** Resolves when the backend is reachable. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const CONTENT_TYPES = {
  png: 'image/png',
  json: 'application/json',
} as const;
