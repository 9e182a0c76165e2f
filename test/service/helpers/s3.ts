import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

const run = promisify(execFile);
export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const RGW_SCRIPT = resolve(REPO_ROOT, '../shared/scripts/rgw.sh');

export interface S3Server {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  /** Stops the server when this process started it. */
  stop(): Promise<void>;
}

/**
 * A real S3 server for tests: the one named by S3_ENDPOINT (CI, scripts/with-rgw.sh), or else a Ceph RGW
 * started here through ../shared/scripts/rgw.sh. Never skips: no server is a test failure.
 */
export async function ensureS3(): Promise<S3Server> {
  const env = process.env;
  if (env.S3_ENDPOINT) {
    return {
      endpoint: env.S3_ENDPOINT,
      accessKey: env.S3_ACCESS_KEY ?? 'flowprior-test',
      secretKey: env.S3_SECRET_KEY ?? 'flowprior-test-secret',
      stop: async () => {},
    };
  }
  if (!existsSync(RGW_SCRIPT)) throw new Error(`no S3_ENDPOINT and no ${RGW_SCRIPT} to start one`);
  let stdout = '';
  // A start right after another process's stop occasionally fails ("wrong fsid"); a second start succeeds.
  for (let attempt = 1; ; attempt++) {
    try {
      stdout = (await run('bash', [RGW_SCRIPT, 'start'], { maxBuffer: 1 << 20, timeout: 300_000 })).stdout;
      break;
    } catch (e) {
      if (attempt >= 3) throw e;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
  const line = stdout.trim().split('\n').pop() ?? '';
  const vars = Object.fromEntries(line.split(/\s+/).map((kv) => kv.split('=', 2) as [string, string]));
  if (!vars.S3_ENDPOINT) throw new Error(`rgw.sh printed no endpoint: ${line}`);
  return {
    endpoint: vars.S3_ENDPOINT,
    accessKey: vars.S3_ACCESS_KEY,
    secretKey: vars.S3_SECRET_KEY,
    stop: async () => {
      await run('bash', [RGW_SCRIPT, 'stop'], { timeout: 60_000 });
    },
  };
}
