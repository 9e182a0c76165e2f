// What a distributed deployment (API + workers, Redis, S3) must set, and the check that every variable a
// deployment file sets is one the service documents.
import assert from 'node:assert/strict';
import { CONFIG_VARIABLES } from '../../src/service/config.ts';
import { fileExists, readRepoFile } from './support.ts';

/**
 * Variables whose defaults are only right for the embedded mode (local store, Redis on 127.0.0.1, no keys),
 * so a compose or cluster deployment must set them explicitly.
 */
export const REQUIRED_BY_ROLE = {
  api: ['REDIS_URL', 'QUEUE_NAME', 'STORAGE', 'S3_ENDPOINT', 'S3_BUCKET', 'S3_ACCESS_KEY', 'S3_SECRET_KEY', 'API_KEYS', 'PORT', 'HOST'],
  worker: ['REDIS_URL', 'QUEUE_NAME', 'STORAGE', 'S3_ENDPOINT', 'S3_BUCKET', 'S3_ACCESS_KEY', 'S3_SECRET_KEY', 'FLOWPRIOR_BACKEND', 'MODELS_DIR', 'BATCH_MAX'],
} as const;

/** Set by the images for Node itself, not read by flowprior's configuration. */
const RUNTIME_VARIABLES = new Set(['NODE_ENV']);

/**
 * A pessimistic bound on one batch: every evaluation as slow as a batch-6 solve step measured on the
 * 2-core wasm backend (326 ms, ENGINE.md), times a factor 2 for priors larger than the measured one.
 */
export function WORST_CASE_BATCH_SECONDS(maxEvaluations: number): number {
  return maxEvaluations * 0.326 * 2;
}

export function assertDeploymentVariables(label: string, env: Record<string, string>, required: readonly string[]): void {
  const known = new Set<string>(CONFIG_VARIABLES);
  for (const name of required) assert.ok(known.has(name), `${name} (required) is not a configuration variable`);
  for (const name of Object.keys(env)) {
    if (RUNTIME_VARIABLES.has(name)) continue;
    assert.ok(known.has(name), `${label} sets ${name}, which the service does not read (not in CONFIG_VARIABLES)`);
  }
  for (const name of required) assert.ok(name in env, `${label} must set ${name}`);
  if (fileExists('docs/configuration.md')) {
    const doc = readRepoFile('docs/configuration.md');
    for (const name of Object.keys(env)) {
      if (RUNTIME_VARIABLES.has(name)) continue;
      assert.ok(doc.includes(name), `${label} sets ${name}, which docs/configuration.md does not describe`);
    }
  }
}
