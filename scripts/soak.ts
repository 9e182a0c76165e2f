// Soak test (npm run soak): the standalone service (API + worker in this process) on loopback, fed at a steady rate
// for a bounded time. Reports request latencies, jobs completed and the memory of the process over time; memory must
// stay flat (first-third vs last-third medians). Not part of npm test.
//
//   node --import tsx scripts/soak.ts [--seconds 180] [--rate 2] [--evals 20] [--out soak.json]
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { initEngine } from '../src/engine/index.ts';
import { encodePng } from '../src/imaging/index.ts';
import { createRandomGlow, glowConfig } from '../src/models/glow/random_glow.ts';
import { savePrior } from '../src/models/store.ts';
import { loadConfig } from '../src/service/config.ts';
import { startStandalone } from '../src/service/runtime.ts';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '180' },
    rate: { type: 'string', default: '2' },
    evals: { type: 'string', default: '20' },
    out: { type: 'string' },
  },
});
const seconds = Number(args.seconds);
const rate = Number(args.rate);
const evals = Number(args.evals);
if (!(seconds > 0 && rate > 0 && evals >= 1)) throw new Error('--seconds and --rate must be > 0, --evals ≥ 1');

const SHIPPED = 'glow-celeba64';
const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}
const median = (xs: number[]) => quantile(xs, 0.5);
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

async function testImage(size: number, phase: number): Promise<string> {
  const data = new Float32Array(size * size * 3);
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      for (let k = 0; k < 3; k++) data[(r * size + c) * 3 + k] = 0.5 + 0.35 * Math.sin((r + 2 * c) / 5 + k + phase);
    }
  }
  return (await encodePng({ data, width: size, height: size, channels: 3 })).toString('base64');
}

/** The shipped Glow when the repository has it, else a small random-weight Glow in a temp folder. */
async function modelsFolder(temp: string): Promise<{ dir: string; name: string; size: number }> {
  const shipped = resolve('models');
  if (existsSync(join(shipped, SHIPPED, 'config.json'))) return { dir: shipped, name: SHIPPED, size: 64 };
  await initEngine();
  const size = 16;
  const glow = createRandomGlow(glowConfig({ K: 1, L: 2, hidden: 8, size }), 7, { name: 'soak-glow' });
  await savePrior(join(temp, 'soak-glow'), glow, { source: 'soak: random weights' });
  glow.dispose();
  return { dir: temp, name: 'soak-glow', size };
}

const temp = await mkdtemp(join(tmpdir(), 'flowprior-soak-'));
const model = await modelsFolder(temp);
const config = loadConfig(
  {
    PORT: '0',
    HOST: '127.0.0.1',
    MODELS_DIR: model.dir,
    GLOW_MODEL: model.name,
    RESULTS_DIR: join(temp, 'results'),
    WORKER_METHODS: 'glow',
    LOG_LEVEL: 'warn',
    RATE_LIMIT_PER_MIN: '1000000',
    MAX_QUEUED_PER_KEY: '1000000',
    // Finished jobs are kept this long; short, so that the retained set reaches its steady size early in the run.
    KEEP_JOBS_SECONDS: '10',
  },
  { mode: 'standalone' },
);
const service = await startStandalone(config);
const url = service.url as string;
const images = await Promise.all([0, 1, 2, 3].map((p) => testImage(model.size, p)));

const submitMs: number[] = [];
const pollMs: number[] = [];
const jobMs: number[] = [];
const outcomes = new Map<string, number>();
const httpErrors = new Map<string, number>();
const memory: { t: number; rss: number; heap: number }[] = [];
const count = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

async function timed(path: string, init?: RequestInit): Promise<{ ms: number; status: number; body: Record<string, unknown> }> {
  const t0 = performance.now();
  const res = await fetch(`${url}${path}`, init);
  const body = (await res.json()) as Record<string, unknown>;
  return { ms: performance.now() - t0, status: res.status, body };
}

async function oneJob(i: number): Promise<void> {
  const started = performance.now();
  const sub = await timed('/v1/solve', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      operator: { type: 'identity' },
      groundTruth: images[i % images.length],
      noise: { type: 'gaussian', sigma: 0.1, seed: i },
      options: { gamma: 0.1, maxEvaluations: evals, seed: i },
    }),
  });
  submitMs.push(sub.ms);
  if (sub.status !== 202) {
    count(httpErrors, `POST ${sub.status}`);
    return;
  }
  const id = String(sub.body.jobId);
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    const poll = await timed(`/v1/jobs/${id}`);
    pollMs.push(poll.ms);
    if (poll.status !== 200) {
      count(httpErrors, `GET ${poll.status}`);
      return;
    }
    if (TERMINAL.has(String(poll.body.status))) {
      count(outcomes, String(poll.body.status));
      jobMs.push(performance.now() - started);
      return;
    }
  }
}

const t0 = performance.now();
const sampler = setInterval(() => {
  const m = process.memoryUsage();
  memory.push({ t: (performance.now() - t0) / 1000, rss: m.rss / 2 ** 20, heap: m.heapUsed / 2 ** 20 });
}, 1000);
const inFlight = new Set<Promise<void>>();
let submitted = 0;
console.log(`soak: ${seconds} s at ${rate} jobs/s, model ${model.name} (${model.size}×${model.size}), ${evals} evaluations per job, ${url}`);
// Open loop: the schedule does not wait for answers, so a slow service shows as growing latency, not a lower rate.
while (performance.now() - t0 < seconds * 1000) {
  const due = t0 + (submitted / rate) * 1000;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const p = oneJob(submitted++).catch((e: Error) => void count(httpErrors, `exception ${e.message}`));
  inFlight.add(p);
  void p.finally(() => inFlight.delete(p));
}
const drainEnd = Date.now() + 120_000;
while (inFlight.size > 0 && Date.now() < drainEnd) await new Promise((r) => setTimeout(r, 200));
clearInterval(sampler);
const unfinished = inFlight.size;
await service.close();
await rm(temp, { recursive: true, force: true });

const third = Math.floor(memory.length / 3);
const first = memory.slice(0, third);
const last = memory.slice(memory.length - third);
const mem = (key: 'rss' | 'heap') => {
  const a = median(first.map((s) => s[key]));
  const b = median(last.map((s) => s[key]));
  return { firstThirdMedianMiB: round(a), lastThirdMedianMiB: round(b), growthPercent: round(((b - a) / a) * 100), maxMiB: round(Math.max(...memory.map((s) => s[key]))) };
};
const report = {
  seconds,
  ratePerSecond: rate,
  model: model.name,
  evaluationsPerJob: evals,
  submitted,
  outcomes: Object.fromEntries(outcomes),
  httpErrors: Object.fromEntries(httpErrors),
  unfinished,
  latencyMs: {
    submit: { p50: round(quantile(submitMs, 0.5)), p99: round(quantile(submitMs, 0.99)), n: submitMs.length },
    poll: { p50: round(quantile(pollMs, 0.5)), p99: round(quantile(pollMs, 0.99)), n: pollMs.length },
    jobEndToEnd: { p50: round(quantile(jobMs, 0.5)), p99: round(quantile(jobMs, 0.99)), n: jobMs.length },
  },
  memory: { samples: memory.length, rss: mem('rss'), heapUsed: mem('heap') },
};
console.log(JSON.stringify(report, null, 2));
if (args.out) await writeFile(args.out, `${JSON.stringify({ ...report, samples: memory }, null, 2)}\n`);
process.exit(unfinished === 0 && httpErrors.size === 0 ? 0 : 1);
