import { loadConfig, type ServiceMode } from '../../service/config.ts';
import { parse } from '../args.ts';

const SERVE_USAGE = `flowprior serve [--standalone] [--port <n>]
  Runs the HTTP API (configuration from environment variables: docs/configuration.md).
  --standalone  API and worker in one process with an in-process queue and a local results folder
                (no Redis, no S3; API keys optional).`;

async function runUntilSignal(mode: ServiceMode, port?: string): Promise<number> {
  const env = port ? { ...process.env, PORT: port } : process.env;
  const config = loadConfig(env, { mode });
  const runtime = await import('../../service/runtime.ts');
  const start = mode === 'standalone' ? runtime.startStandalone : mode === 'worker' ? runtime.startWorker : runtime.startApi;
  const running = await start(config);
  if (running.url) process.stderr.write(`flowprior ${mode} listening on ${running.url}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  process.stderr.write(`flowprior ${mode}: draining\n`);
  await running.close();
  return 0;
}

export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, { standalone: { type: 'boolean' }, port: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    process.stdout.write(SERVE_USAGE + '\n');
    return 0;
  }
  return runUntilSignal(values.standalone ? 'standalone' : 'api', values.port);
}

export async function workerCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, { help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    process.stdout.write('flowprior worker\n  Takes jobs from the Redis queue, solves up to BATCH_MAX compatible problems per batch.\n');
    return 0;
  }
  return runUntilSignal('worker');
}
