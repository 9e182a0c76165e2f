import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Spawns a process and resolves once its stdout shows `ready`; rejects if it exits first or takes too long. */
function spawnUntil(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string }, ready: RegExp, timeoutMs: number): Promise<ChildProcess> {
  const p = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`${cmd} not ready after ${timeoutMs} ms: ${out.slice(-800)}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve(p);
      }
    };
    p.stdout?.on('data', onData);
    p.stderr?.on('data', onData);
    p.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} exited early (${code ?? signal}): ${out.slice(-800)}`));
    });
  });
}

export function exited(p: ChildProcess): Promise<number | null> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve(p.exitCode);
  return new Promise((r) => p.once('exit', (code) => r(code)));
}

/** A Redis of the test's own on a free port, without persistence: the shared one is never restarted or flushed. */
export class PrivateRedis {
  private proc: ChildProcess | null = null;
  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.proc = await spawnUntil('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {}, /Ready to accept connections/, 15_000);
  }

  /** SIGKILL: an outage, not a clean shutdown. */
  async kill(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (!p) return;
    p.kill('SIGKILL');
    await exited(p);
  }
}

/** A worker process (test/reliability/fixtures/worker.ts) with the given environment. */
export function startWorkerProcess(env: Record<string, string>, timeoutMs = 60_000): Promise<ChildProcess> {
  return spawnUntil(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test/reliability/fixtures/worker.ts')], { cwd: REPO_ROOT, env: { ...process.env, ...env } }, /worker-ready/, timeoutMs);
}
