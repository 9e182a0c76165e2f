// Service benchmark on loopback:
//  1. enqueue: POST /v1/solve (2500 float32 measurements, base64) against the API with Redis + BullMQ and no worker,
//     at a fixed concurrency — requests/s and latency percentiles;
//  2. end to end: the standalone service with the shipped Glow, six CS jobs (m = 2500) submitted together, at
//     BATCH_MAX = 1 and 6 — jobs/minute, and the batch sizes the worker reported.
//
//   node --import tsx bench/service.ts [--quick]   prints a table, writes bench/results/service.json
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadConfig } from '../src/service/config.ts';
import { startApi, startStandalone } from '../src/service/runtime.ts';
import { SHIPPED_MODELS_DIR } from '../src/paths.ts';
import { printRows, writeRows, type Row } from './table.ts';

const KEY = 'bench-key-0123456789abcdef';

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

function csBody(seed: number, extra: Record<string, unknown> = {}) {
  const y = new Float32Array(2500);
  for (let i = 0; i < y.length; i++) y[i] = Math.sin(i * 0.37 + seed) * 0.3;
  return {
    method: 'glow',
    operator: { type: 'gaussian', m: 2500, seed },
    measurements: Buffer.from(y.buffer).toString('base64'),
    ...extra,
  };
}

async function benchEnqueue(total: number, concurrency: number): Promise<Row[]> {
  const env = { ...process.env, API_KEYS: KEY, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', RATE_LIMIT_PER_MIN: '1000000', MAX_QUEUED_PER_KEY: '1000000', MODELS_DIR: SHIPPED_MODELS_DIR };
  const config = loadConfig(env, { mode: 'api' });
  const prefix = `bench-${process.pid}-${Date.now()}`;
  const api = await startApi(config, { queuePrefix: prefix });
  const body = JSON.stringify(csBody(1, { options: { maxEvaluations: 5 } }));
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        const t = performance.now();
        const r = await fetch(`${api.url}/v1/solve`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body });
        await r.arrayBuffer();
        latencies.push(performance.now() - t);
        if (r.status !== 202) errors++;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  await api.close();
  // Leave Redis as it was: the bench queue's keys go.
  const { Redis } = await import('ioredis');
  const redis = new Redis(config.redisUrl);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
  const common = { requests: total, concurrency, non202: errors };
  return [
    { name: `enqueue POST /v1/solve (Redis+BullMQ), c=${concurrency}`, unit: 'req/s', median: total / seconds, ...common },
    { name: 'enqueue latency p50', unit: 'ms', median: percentile(latencies, 50), ...common },
    { name: 'enqueue latency p90', unit: 'ms', median: percentile(latencies, 90), ...common },
    { name: 'enqueue latency p99', unit: 'ms', median: percentile(latencies, 99), ...common },
  ];
}

async function benchEndToEnd(batchMax: number, jobs: number, evaluations: number): Promise<Row> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'flowprior-bench-'));
  const env = { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', RATE_LIMIT_PER_MIN: '1000000', RESULTS_DIR: dir, BATCH_MAX: String(batchMax), BATCH_WAIT_MS: '500', MODELS_DIR: SHIPPED_MODELS_DIR, WORKER_METHODS: 'glow' };
  const config = loadConfig(env, { mode: 'standalone' });
  const svc = await startStandalone(config);
  const t0 = performance.now();
  const ids: string[] = [];
  for (let i = 0; i < jobs; i++) {
    // One sensing matrix for all jobs (seed 0), as a client imaging many scenes with one device would; the
    // measurements differ per job.
    const body = { ...csBody(i, { options: { maxEvaluations: evaluations } }), operator: { type: 'gaussian', m: 2500, seed: 0 } };
    const r = await fetch(`${svc.url}/v1/solve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    ids.push(((await r.json()) as { jobId: string }).jobId);
  }
  const sizes = new Set<number>();
  for (const id of ids) {
    for (;;) {
      const j = (await (await fetch(`${svc.url}/v1/jobs/${id}`)).json()) as { status: string; metrics?: { batchSize?: number } };
      if (j.status === 'completed' || j.status === 'failed') {
        if (j.metrics?.batchSize) sizes.add(j.metrics.batchSize);
        break;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  const minutes = (performance.now() - t0) / 60000;
  await svc.close();
  await rm(dir, { recursive: true, force: true });
  return { name: `end to end, standalone, ${jobs} CS jobs (m=2500, ${evaluations} evaluations), BATCH_MAX=${batchMax}`, unit: 'jobs/min', median: jobs / minutes, batchSizes: [...sizes] };
}

export async function benchService(opts: { quick: boolean }): Promise<Row[]> {
  const rows = await benchEnqueue(opts.quick ? 200 : 1000, 16);
  const evaluations = opts.quick ? 10 : 30;
  const one = await benchEndToEnd(1, 6, evaluations);
  const six = await benchEndToEnd(6, 6, evaluations);
  rows.push(one, six, { name: 'batching speed-up (BATCH_MAX 6 vs 1)', unit: '×', median: six.median / one.median });
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rows = await benchService({ quick: process.argv.includes('--quick') });
  printRows('service', rows);
  writeRows('service', rows);
}
