import type { ServiceConfig } from '../config.ts';
import { LocalResultStore } from './local.ts';
import { S3ResultStore } from './s3.ts';
import type { ResultStore } from './types.ts';

export type { ResultStore, StoredObject } from './types.ts';
export { LocalResultStore } from './local.ts';
export { S3ResultStore } from './s3.ts';
export { jobKeys, resultKey, RESULT_FILES } from './keys.ts';
export type { JobKeys, ResultFile } from './keys.ts';

export function createResultStore(config: Pick<ServiceConfig, 'storage' | 'resultsDir' | 's3'>): ResultStore {
  return config.storage === 's3' ? new S3ResultStore(config.s3) : new LocalResultStore(config.resultsDir);
}
