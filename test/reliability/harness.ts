// What every fault test file holds: a Redis of its own, a results folder, the child processes it started and the
// things to close, all torn down after the file's tests (children killed first, then cleanups in reverse order).
import { after, before } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import type { FastifyInstance } from 'fastify';
import { createBullQueue, type BullJobQueue } from '../../src/service/jobs/index.ts';
import { LocalResultStore } from '../../src/service/storage/index.ts';
import { appFor, tempDir, testConfig } from '../service/helpers/service.ts';
import { freePort, PrivateRedis } from './helpers.ts';

export interface FaultHarness {
  /** Set once the file's before() hook has run. */
  redis: PrivateRedis;
  resultsDir: string;
  readonly cleanups: Array<() => Promise<unknown>>;
  readonly children: Set<ChildProcess>;
  /** The API app on the private Redis under a queue prefix; closed with the harness. */
  apiOnPrivateRedis(env: Record<string, string>, prefix: string): Promise<{ app: FastifyInstance; queue: BullJobQueue }>;
}

export function faultHarness(resultsPrefix: string): FaultHarness {
  let results: { dir: string; cleanup(): Promise<void> } | null = null;
  const h: FaultHarness = {
    redis: undefined as unknown as PrivateRedis,
    resultsDir: '',
    cleanups: [],
    children: new Set(),
    async apiOnPrivateRedis(env, prefix) {
      const config = testConfig(env);
      const queue = createBullQueue(config, undefined, prefix);
      const app = await appFor(config, queue, new LocalResultStore(config.resultsDir));
      h.cleanups.push(() => queue.close(), () => app.close());
      return { app, queue };
    },
  };
  before(async () => {
    h.redis = new PrivateRedis(await freePort());
    await h.redis.start();
    results = await tempDir(resultsPrefix);
    h.resultsDir = results.dir;
  });
  after(async () => {
    for (const c of h.children) c.kill('SIGKILL');
    for (const f of h.cleanups.reverse()) await f().catch(() => {});
    await h.redis?.kill();
    await results?.cleanup();
  });
  return h;
}
